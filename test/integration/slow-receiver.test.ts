/** A receiver that stops reading must not hold up others nor make the server's memory grow without bound. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { readMessages, receiversOf, startHarness } from '../helpers/backchannel.js';
import { until } from '../helpers/events.js';

/**
 * A sender paced at 8 Mbit/s (1 MB/s): the live receiver drains that with ease, so its queue on the server
 * stays near empty, while the frozen one passes its bound a quarter of a second in.
 */
const RATE_KBPS = 8000;
const BOUND = 256 * 1024;
const SCTP_SEND_BUFFER = 1024 * 1024;

describe('slow receivers', () => {
  it('drops Durable copies for a frozen receiver past its bound while the others receive everything', async () => {
    const h = await startHarness({ limits: { durableMaxKbps: RATE_KBPS }, receiverBufferBytes: { durable: BOUND, lossy: BOUND / 4 } });
    const slowUser = await h.createUser();
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../helpers/slowReceiverProcess.ts', import.meta.url)), h.server.url, slowUser.token, 'slow'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const [ready] = (await once(child.stdout!, 'data')) as [Buffer];
      assert.equal(String(ready).trim(), 'ready');
      const sender = await h.join('slow');
      const fast = await h.join('slow');
      for (const p of [sender, fast]) await until(p.call, 'remoteParticipantsUpdated', () => p.call.remoteParticipants.length === 2);
      child.kill('SIGSTOP'); // the slow participant stops reading: its SCTP window closes

      const out = sender.dataChannel.createDataChannelSender({
        channelId: 60,
        bitrateInKbps: RATE_KBPS,
        participants: [{ communicationUserId: slowUser.identity }, { communicationUserId: fast.identity }],
      });
      const count = 400; // 1.6 MB: 1.6 s at the sender's pace, six times the frozen receiver's bound
      const payload = new Uint8Array(4096);
      await Promise.all(Array.from({ length: count }, () => out.sendMessage(payload)));
      const messages = await readMessages((await receiversOf(fast, 1))[0]!, count);
      assert.deepEqual(
        messages.map((m) => m.sequenceNumber),
        Array.from({ length: count }, (_, i) => i + 1),
        'the fast receiver gets every message, in order',
      );
      const drops = h.server.stats.drops.SlowReceiverDurable;
      assert.ok(drops > 0, 'copies for the frozen receiver are dropped and counted once its bound is reached');
      // What the server accepted for the frozen receiver is bounded: usrsctp's own send buffer (1 MiB in
      // libdatachannel) plus the configured bound on top of it; everything else was dropped.
      const queued = (count - drops) * (payload.byteLength + 16);
      assert.ok(queued <= SCTP_SEND_BUFFER + BOUND + 64 * 1024, `${count - drops} copies (${queued} bytes) were queued for the frozen receiver`);
    } finally {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await once(child, 'exit');
      await h.close();
    }
  });
});
