/** SPEC §4 "Sessions" and "Receiving", over real WebRTC through the real server. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import { DataChannelError, DataChannelErrorCode } from '@backchannel/client';

import { readMessages, receiversOf, rosterSettled, startHarness, utf8, type Harness } from '../helpers/backchannel.js';
import { waitForEvent, within } from '../helpers/events.js';

function rejectsWith(code: DataChannelErrorCode): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof DataChannelError, `expected a DataChannelError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  };
}

describe('sender sessions', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('close() ends the session: receivers see close, and sendMessage rejects with DataChannelSenderClosed', async () => {
    h = await startHarness();
    const [a, b] = [await h.join('close'), await h.join('close')];
    await rosterSettled([a, b]);
    const sender = a.dataChannel.createDataChannelSender({ channelId: 20 });
    await sender.sendMessage(utf8.encode('hi'));
    const [receiver] = await receiversOf(b, 1);
    const closed = waitForEvent(receiver!, 'close');
    sender.close();
    sender.close(); // idempotent
    await closed;
    assert.equal(receiver!.closed, true);
    // The buffered message is still readable after close.
    assert.equal(utf8.decode(receiver!.readMessage()!.data), 'hi');
    await assert.rejects(sender.sendMessage(utf8.encode('late')), rejectsWith(DataChannelErrorCode.SenderClosed));
  });

  it('a second sender on the same channelId closes the first and starts a new receiver on the far side', async () => {
    h = await startHarness();
    const [a, b] = [await h.join('replace'), await h.join('replace')];
    await rosterSettled([a, b]);
    const first = a.dataChannel.createDataChannelSender({ channelId: 21 });
    await first.sendMessage(utf8.encode('old'));
    const [oldReceiver] = await receiversOf(b, 1);
    const oldClosed = waitForEvent(oldReceiver!, 'close');
    const second = a.dataChannel.createDataChannelSender({ channelId: 21 });
    await assert.rejects(first.sendMessage(utf8.encode('x')), rejectsWith(DataChannelErrorCode.SenderClosed));
    await second.sendMessage(utf8.encode('new'));
    await oldClosed;
    const receivers = await receiversOf(b, 2);
    assert.notEqual(receivers[1], receivers[0]);
    assert.equal(receivers[1]!.channelId, 21);
    const [message] = await readMessages(receivers[1]!, 1);
    assert.deepEqual([message!.sequenceNumber, utf8.decode(message!.data)], [1, 'new'], 'a new session counts from 1');
  });

  it('closes a receiver idle for receiverIdleCloseMs; a later message of the session creates a new receiver', async () => {
    h = await startHarness({ limits: { receiverIdleCloseMs: 300 } });
    const [a, b] = [await h.join('idle'), await h.join('idle')];
    await rosterSettled([a, b]);
    const sender = a.dataChannel.createDataChannelSender({ channelId: 22 });
    await sender.sendMessage(utf8.encode('one'));
    const [receiver] = await receiversOf(b, 1);
    await waitForEvent(receiver!, 'close'); // nothing more is sent: the idle timeout closes it
    await sender.sendMessage(utf8.encode('two'));
    const receivers = await receiversOf(b, 2);
    const [message] = await readMessages(receivers[1]!, 1);
    assert.deepEqual([message!.sequenceNumber, utf8.decode(message!.data)], [2, 'two']);
  });

  it("closes a departed sender's receivers", async () => {
    h = await startHarness();
    const [a, b] = [await h.join('leave'), await h.join('leave')];
    await rosterSettled([a, b]);
    await a.dataChannel.createDataChannelSender({ channelId: 23 }).sendMessage(utf8.encode('bye'));
    const [receiver] = await receiversOf(b, 1);
    const closed = waitForEvent(receiver!, 'close');
    const updated = waitForEvent(b.call, 'remoteParticipantsUpdated');
    await a.call.hangUp();
    await closed;
    const [event] = (await updated) as [{ removed: { displayName: string; state: string }[] }];
    assert.deepEqual(
      event.removed.map((p) => [p.displayName, p.state]),
      [[a.displayName, 'Disconnected']],
    );
  });

  it('the call ending closes senders: queued messages reject with DataChannelSenderClosed, new senders fail to start', async () => {
    h = await startHarness();
    const [a, b] = [await h.join('end'), await h.join('end')];
    await rosterSettled([a, b]);
    // 64 kbps Durable: the first 8 KiB message leaves at once, the next ones wait for their pace.
    const sender = a.dataChannel.createDataChannelSender({ channelId: 24 });
    const big = new Uint8Array(8 * 1024);
    const sends = [sender.sendMessage(big), sender.sendMessage(big), sender.sendMessage(big)];
    await sends[0];
    await a.call.hangUp();
    await assert.rejects(within(sends[1]!, 'queued message'), rejectsWith(DataChannelErrorCode.SenderClosed));
    await assert.rejects(sends[2]!, rejectsWith(DataChannelErrorCode.SenderClosed));
    await assert.rejects(sender.sendMessage(big), rejectsWith(DataChannelErrorCode.SenderClosed));
    assert.throws(() => a.dataChannel.createDataChannelSender({ channelId: 25 }), rejectsWith(DataChannelErrorCode.FailedToStart));
  });
});
