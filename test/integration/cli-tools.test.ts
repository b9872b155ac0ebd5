/**
 * The client-side CLI tools (`backchannel token | chat | send-file | receive-file | stats`), run as real
 * processes (the built CLI, packages/cli/bin/backchannel.js) against a server started in this process,
 * next to real SDK participants. Interactive tools are driven through stdin/stdout: a test writes lines and
 * waits for the lines it expects, never for time.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { CallClient, CommunicationTokenCredential, receiveStreams, sendStream, type DataChannelReceiver } from '@backchannel/client';

import { connected, readMessages, rosterSettled, startHarness, userIdOf, utf8, type Harness, type Participant } from '../helpers/backchannel.js';
import { until, within } from '../helpers/events.js';

const CLI = fileURLToPath(new URL('../../packages/cli/bin/backchannel.js', import.meta.url));
const ACCESS_KEY = 'cli-tools-access-key-0123456789';
const MESSAGE_CHANNEL = 1000;
const FILE_CHANNEL = 1001;
const LINE_TIMEOUT_MS = 15_000;

/** Lines of one output stream of a child, and waiting for the next line that matches. */
class LineLog {
  readonly lines: string[] = [];
  #cursor = 0;
  #waiter: (() => void) | undefined;

  push(line: string): void {
    this.lines.push(line);
    this.#waiter?.();
  }

  /** Resolves with the first line after the last one matched that matches `pattern`. */
  next(pattern: RegExp | string, timeoutMs = LINE_TIMEOUT_MS): Promise<string> {
    const matches = (line: string): boolean => (typeof pattern === 'string' ? line === pattern : pattern.test(line));
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const index = this.lines.findIndex((line, i) => i >= this.#cursor && matches(line));
        if (index < 0) return false;
        this.#cursor = index + 1;
        clearTimeout(timer);
        this.#waiter = undefined;
        resolve(this.lines[index]!);
        return true;
      };
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new Error(`no line matching ${String(pattern)} within ${timeoutMs} ms; got:\n${this.lines.join('\n')}`));
      }, timeoutMs);
      if (!check()) this.#waiter = () => void check();
    });
  }

  get text(): string {
    return this.lines.join('\n');
  }
}

interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  stdout: LineLog;
  stderr: LineLog;
  /** The exit code once the process has ended and its output is read (null if killed by a signal). */
  closed: Promise<number | null>;
  write(line: string): void;
}

const running = new Set<ChildProcessWithoutNullStreams>();

/** Starts the CLI with `args`; the environment carries no BACKCHANNEL_* of the test's own, only `env`. */
function startCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('BACKCHANNEL_')));
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...base, ...env } });
  running.add(child);
  const stdout = new LineLog();
  const stderr = new LineLog();
  createInterface({ input: child.stdout }).on('line', (line) => stdout.push(line));
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const closed = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return { child, stdout, stderr, closed, write: (line) => child.stdin.write(`${line}\n`) };
}

/** Runs the CLI to its end (stdin closed at once) and returns its exit code and output. */
async function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = startCli(args, env);
  cli.child.stdin.end();
  const code = await within(cli.closed, `backchannel ${args.join(' ')} to exit`, 30_000);
  return { code, stdout: cli.stdout.text, stderr: cli.stderr.text };
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The first receiver on `channelId` that `participant` has, waiting for it if needed. */
async function receiverOn(participant: Participant, channelId: number): Promise<DataChannelReceiver> {
  const find = (): DataChannelReceiver | undefined => participant.receivers.find((r) => r.channelId === channelId);
  await until(participant.dataChannel, 'dataChannelReceiverCreated', () => find() !== undefined);
  return find()!;
}

const identityOf = (participant: Participant, displayName: string): string =>
  userIdOf(participant.call.remoteParticipants.find((p) => p.displayName === displayName)!.identifier);

afterEach(() => {
  // A failed test may leave a tool running: end it so that the harness's leak check can pass.
  for (const child of running) child.kill('SIGKILL');
});

describe('backchannel token', () => {
  let h: Harness;
  before(async () => (h = await startHarness({ accessKey: ACCESS_KEY })));
  after(() => h.close());

  it('prints only a token on stdout, and createCallAgent accepts it for a call', async () => {
    const { code, stdout, stderr } = await runCli(['token', '--server', h.server.url, '--access-key', ACCESS_KEY]);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
    assert.match(stdout, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'one line: the JWT alone');

    const agent = await new CallClient({ serverUrl: h.server.url }).createCallAgent(new CommunicationTokenCredential(stdout), { displayName: 'from-cli' });
    try {
      const call = agent.join({ groupId: 'token-check' });
      await connected(call);
    } finally {
      await agent.dispose();
    }
  });

  it('prints the whole answer with --json, taking the server and key from the environment', async () => {
    const { code, stdout } = await runCli(['token', '--json'], { BACKCHANNEL_URL: h.server.url, BACKCHANNEL_ACCESS_KEY: ACCESS_KEY });
    assert.equal(code, 0);
    const answer = JSON.parse(stdout) as { identity: { id: string }; accessToken: { token: string; expiresOn: string } };
    assert.match(answer.identity.id, /^8:backchannel:/);
    assert.match(answer.accessToken.token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.ok(Date.parse(answer.accessToken.expiresOn) > Date.now());
  });

  it('exits 2 with the refusal on stderr when the access key is wrong, and when no server listens', async () => {
    const refused = await runCli(['token', '--server', h.server.url, '--access-key', 'not-the-access-key-at-all']);
    assert.equal(refused.code, 2);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /^backchannel token: the server refused the access key \(401\)/);

    const unreachable = await runCli(['token', '--server', `http://127.0.0.1:${await closedPort()}`, '--access-key', ACCESS_KEY]);
    assert.equal(unreachable.code, 2);
    assert.match(unreachable.stderr, /cannot reach the server at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  });
});

describe('bad command lines', () => {
  const cases: { args: string[]; message: RegExp }[] = [
    { args: ['token', '--bogus'], message: /unknown option '--bogus'/ },
    { args: ['token'], message: /needs the server's access key: --access-key or BACKCHANNEL_ACCESS_KEY/ },
    { args: ['token', '--access-key', ACCESS_KEY, '--server', 'ftp://example.org'], message: /expected an http:\/\/ or https:\/\/ URL/ },
    { args: ['chat', '--access-key', ACCESS_KEY], message: /required option '--group <id>' not specified/ },
    { args: ['chat', '--group', 'g'], message: /needs --token .* or the access key/ },
    { args: ['chat', '--group', 'g', '--channel', '70000', '--token', 'x'], message: /--channel <id>.*expected an integer from 1 to 65535/ },
    { args: ['send-file', '--group', 'g', '--to', 'Bob'], message: /missing required argument 'file'/ },
    { args: ['send-file', 'no-such-file.bin', '--group', 'g', '--to', 'Bob', '--token', 'x'], message: /cannot read no-such-file\.bin: ENOENT/ },
    { args: ['stats', '--access-key', ACCESS_KEY, '--interval', '0'], message: /expected seconds from 0\.1 to 3600/ },
  ];
  for (const { args, message } of cases) {
    it(`exits 1 with a message on stderr: backchannel ${args.join(' ')}`, async () => {
      const { code, stdout, stderr } = await runCli(args);
      assert.equal(code, 1, stderr);
      assert.equal(stdout, '');
      assert.match(stderr, message);
    });
  }

  it('prints --help for every tool and exits 0', async () => {
    for (const tool of ['token', 'chat', 'send-file', 'receive-file', 'stats']) {
      const { code, stdout } = await runCli([tool, '--help']);
      assert.equal(code, 0);
      assert.match(stdout, new RegExp(`^Usage: backchannel ${tool} `));
      assert.match(stdout, /env: BACKCHANNEL_/);
    }
  });
});

describe('backchannel chat', () => {
  let h: Harness;
  before(async () => (h = await startHarness({ accessKey: ACCESS_KEY })));
  after(() => h.close());

  it('exchanges messages with SDK participants, follows the roster, and sends /to one participant', async () => {
    const alice = await h.join('chat', { displayName: 'Alice' });
    const chat = startCli(['chat', '--group', 'chat', '--name', 'Bob', '--server', h.server.url, '--access-key', ACCESS_KEY]);
    await chat.stdout.next(/^joined group chat as Bob \(call [\w-]+\)$/);
    await chat.stdout.next('participants: Alice');
    await until(alice.call, 'remoteParticipantsUpdated', () => alice.call.remoteParticipants.length === 1);
    const bob = identityOf(alice, 'Bob');

    // Terminal → SDK: the demo page's chat message, from Bob as the server stamps it.
    chat.write('hello from the terminal');
    const fromBob = await receiverOn(alice, MESSAGE_CHANNEL);
    assert.equal(userIdOf(fromBob.senderParticipantIdentifier), bob);
    const [first] = await readMessages(fromBob, 1);
    assert.deepEqual(JSON.parse(utf8.decode(first!.data)), { type: 'chat', text: 'hello from the terminal', to: 'everyone' });

    // SDK → terminal: demo chat messages and plain text, with sender, channel and sequence number.
    const aliceSender = alice.dataChannel.createDataChannelSender({ channelId: MESSAGE_CHANNEL });
    await aliceSender.sendMessage(utf8.encode(JSON.stringify({ type: 'chat', text: 'hi Bob', to: 'everyone' })));
    await aliceSender.sendMessage(utf8.encode('plain text\nwith a newline'));
    await chat.stdout.next('[channel 1000 #1] Alice: hi Bob');
    await chat.stdout.next('[channel 1000 #2] Alice: plain text\\nwith a newline');

    const carol = await h.join('chat', { displayName: 'Carol' });
    await chat.stdout.next('Carol joined');
    await chat.stdout.next('participants: Alice, Carol');
    await until(carol.call, 'remoteParticipantsUpdated', () => carol.call.remoteParticipants.length === 2);

    // Bob's sequence numbers count every message; Alice, left out of the direct one, sees a gap.
    chat.write('/to Carol just for you');
    chat.write('to everyone again');
    const [again] = await readMessages(fromBob, 1);
    assert.equal(again!.sequenceNumber, 3);
    assert.equal(JSON.parse(utf8.decode(again!.data)).text, 'to everyone again');
    const atCarol = await readMessages(await receiverOn(carol, MESSAGE_CHANNEL), 2);
    assert.deepEqual(
      atCarol.map((m) => [m.sequenceNumber, JSON.parse(utf8.decode(m.data))]),
      [
        [2, { type: 'chat', text: 'just for you', to: [carol.identity] }],
        [3, { type: 'chat', text: 'to everyone again', to: 'everyone' }],
      ],
    );

    const carolSender = carol.dataChannel.createDataChannelSender({ channelId: MESSAGE_CHANNEL, participants: [{ communicationUserId: bob }] });
    await carolSender.sendMessage(utf8.encode(JSON.stringify({ type: 'chat', text: 'thanks', to: [bob] })));
    await chat.stdout.next('[channel 1000 #1] Carol (direct): thanks');

    chat.write('/who');
    await chat.stdout.next('participants: Alice, Carol');
    chat.write('/to Nobody hello?');
    await chat.stderr.next("nobody called 'Nobody' in the call; participants: Alice, Carol");

    await carol.call.hangUp();
    await chat.stdout.next('Carol left');
    await chat.stdout.next('participants: Alice');

    chat.write('/quit');
    assert.equal(await within(chat.closed, 'chat to exit'), 0);
    assert.deepEqual(chat.stderr.lines, ["nobody called 'Nobody' in the call; participants: Alice, Carol"]);
    await until(alice.call, 'remoteParticipantsUpdated', () => alice.call.remoteParticipants.length === 0);
  });

  it('sends what is piped in and leaves at the end of input, exit 0', async () => {
    const alice = await h.join('piped', { displayName: 'Alice' });
    const token = (await h.createUser()).token;
    const chat = startCli(['chat', '--group', 'piped', '--name', 'Script', '--plain'], { BACKCHANNEL_URL: h.server.url, BACKCHANNEL_TOKEN: token });
    chat.write('first');
    chat.write('second');
    chat.child.stdin.end();
    const messages = await readMessages(await receiverOn(alice, MESSAGE_CHANNEL), 2);
    assert.deepEqual(
      messages.map((m) => utf8.decode(m.data)),
      ['first', 'second'],
    );
    assert.equal(await within(chat.closed, 'chat to exit'), 0);
  });

  it('exits 2 when the server refuses its token', async () => {
    const { token } = await h.createUser();
    const forged = `${token.slice(0, token.lastIndexOf('.') + 1)}${'A'.repeat(43)}`;
    const { code, stderr } = await runCli(['chat', '--group', 'g', '--server', h.server.url, '--token', forged]);
    assert.equal(code, 2);
    assert.match(stderr, /\(InvalidToken\)$/);
  });
});

describe('backchannel send-file and receive-file', () => {
  let h: Harness;
  let dir: string;
  before(async () => {
    h = await startHarness({ accessKey: ACCESS_KEY, limits: { durableMaxKbps: 100_000 } });
    dir = await mkdtemp(join(tmpdir(), 'backchannel-cli-'));
  });
  after(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('moves a random 3 MiB file byte-identically, with progress, and both exit 0', async () => {
    const content = randomBytes(3 * 1024 * 1024);
    const source = join(dir, 'random.bin');
    await writeFile(source, content);
    const out = join(dir, 'received');
    const env = { BACKCHANNEL_URL: h.server.url, BACKCHANNEL_ACCESS_KEY: ACCESS_KEY };

    const receiver = startCli(['receive-file', '--group', 'files', '--name', 'Rita', '--out', out], env);
    await receiver.stderr.next(/^waiting for a file in group files as Rita/);
    const sent = await runCli(['send-file', source, '--group', 'files', '--to', 'Rita', '--name', 'Sam'], env);
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /^sent random\.bin \(3145728 bytes\) to Rita in [\d.]+ s, verified \(hash list [0-9a-f]{64}\)$/);
    assert.match(sent.stderr, /^sending random\.bin to Rita: 100% \(3\.0 MiB of 3\.0 MiB\)$/m);
    assert.doesNotMatch(sent.stderr, /note: the server paces/, 'no slowness note at 100000 kbps');

    assert.equal(await within(receiver.closed, 'receive-file to exit'), 0, receiver.stderr.text);
    assert.deepEqual(receiver.stdout.lines, [`received random.bin (3145728 bytes) from Sam, saved as ${join(out, 'random.bin')}`]);
    assert.match(receiver.stderr.text, /^receiving random\.bin from Sam: 100% \(3\.0 MiB of 3\.0 MiB\)$/m);
    assert.equal(sha256(await readFile(join(out, 'random.bin'))), sha256(content));
  });

  it('saves under the announced name stripped of its path, and confirms to an SDK sender', async () => {
    const out = join(dir, 'traversal');
    const receiver = startCli(['receive-file', '--group', 'names', '--name', 'Rita', '--out', out, '--server', h.server.url, '--access-key', ACCESS_KEY]);
    await receiver.stderr.next(/^waiting for a file/);
    const sam = await h.join('names', { displayName: 'Sam' });
    await until(sam.call, 'remoteParticipantsUpdated', () => sam.call.remoteParticipants.length === 1);
    const rita = identityOf(sam, 'Rita');
    const content = randomBytes(100_000);
    const sender = sam.dataChannel.createDataChannelSender({ channelId: FILE_CHANNEL, participants: [{ communicationUserId: rita }] });
    const sent = await sendStream(sender, content, { metadata: { transferId: 't-1', name: '../../.escape\u001b.txt', type: 'text/plain' } });

    const [receipt] = await readMessages(await receiverOn(sam, MESSAGE_CHANNEL), 1);
    assert.deepEqual(JSON.parse(utf8.decode(receipt!.data)), { type: 'file-received', transferId: 't-1', digest: sent.digest });
    await sam.call.hangUp();
    assert.equal(await within(receiver.closed, 'receive-file to exit'), 0, receiver.stderr.text);
    assert.deepEqual(await readdir(out), ['escape_.txt']);
    assert.equal(sha256(await readFile(join(out, 'escape_.txt'))), sha256(content));
    assert.deepEqual(await readdir(dir).then((names) => names.filter((name) => name.includes('escape'))), [], 'nothing written outside --out');
  });

  it('with --keep-going saves each file without overwriting, until interrupted (exit 0)', async () => {
    const out = join(dir, 'many');
    const receiver = startCli(['receive-file', '--group', 'many', '--name', 'Rita', '--out', out, '--keep-going', '--server', h.server.url, '--access-key', ACCESS_KEY]);
    await receiver.stderr.next(/^waiting for files/);
    const sam = await h.join('many', { displayName: 'Sam' });
    await until(sam.call, 'remoteParticipantsUpdated', () => sam.call.remoteParticipants.length === 1);
    const sender = sam.dataChannel.createDataChannelSender({ channelId: FILE_CHANNEL, participants: [{ communicationUserId: identityOf(sam, 'Rita') }] });
    await sendStream(sender, utf8.encode('one'), { metadata: { transferId: 'a', name: 'same.txt' } });
    await sendStream(sender, utf8.encode('two'), { metadata: { transferId: 'b', name: 'same.txt' } });
    await receiver.stdout.next(/^received same\.txt \(3 bytes\) from Sam, saved as .*same\.txt$/);
    await receiver.stdout.next(/^received same\.txt \(3 bytes\) from Sam, saved as .*same \(1\)\.txt$/);
    receiver.child.kill('SIGINT');
    assert.equal(await within(receiver.closed, 'receive-file to exit'), 0);
    assert.equal(await readFile(join(out, 'same.txt'), 'utf8'), 'one');
    assert.equal(await readFile(join(out, 'same (1).txt'), 'utf8'), 'two');
  });

  it('send-file exits 3 when nobody by that name joins in time', async () => {
    const source = join(dir, 'small.txt');
    await writeFile(source, 'hello');
    const { code, stderr } = await runCli(['send-file', source, '--group', 'empty', '--to', 'Nobody', '--wait', '0', '--server', h.server.url, '--access-key', ACCESS_KEY]);
    assert.equal(code, 3);
    assert.match(stderr, /nobody called 'Nobody' joined within 0 s/);
  });
});

describe('backchannel send-file on a server with the default Durable limit', () => {
  let h: Harness;
  before(async () => (h = await startHarness({ accessKey: ACCESS_KEY })));
  after(() => h.close());

  it('says how long the transfer will take at 64 kbps, and the receiver sees the stream fail when the sender is interrupted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backchannel-cli-'));
    try {
      const source = join(dir, 'large.bin');
      await writeFile(source, randomBytes(1024 * 1024));
      const rita = await h.join('slow', { displayName: 'Rita' });
      const streamFailed = new Promise<string>((resolve) => {
        rita.dataChannel.on('dataChannelReceiverCreated', (receiver) => {
          if (receiver.channelId === FILE_CHANNEL) receiveStreams(receiver, (stream) => stream.done.catch((error: Error) => resolve(error.message)));
        });
      });
      const sender = startCli(['send-file', source, '--group', 'slow', '--to', 'Rita', '--server', h.server.url, '--access-key', ACCESS_KEY]);
      await sender.stderr.next(/^note: the server paces Durable senders to 64 kbps, so 1\.0 MiB takes about 2 min 11 s\. .*--durable-max-kbps/);
      await sender.stderr.next(/^sending large\.bin to Rita: 0%/);
      sender.child.kill('SIGINT');
      assert.equal(await within(sender.closed, 'send-file to exit'), 130);
      await sender.stderr.next('backchannel send-file: SIGINT: transfer cancelled');
      assert.match(await within(streamFailed, 'the stream to fail at Rita'), /cancelled|ended before the stream did/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('backchannel stats', () => {
  let h: Harness;
  before(async () => (h = await startHarness({ accessKey: ACCESS_KEY })));
  after(() => h.close());

  it("prints the figures of a scripted call: calls, endpoints, connections, routed messages and bytes by class, drops", async () => {
    const alice = await h.join('stats', { displayName: 'Alice' });
    const bob = await h.join('stats', { displayName: 'Bob' });
    await rosterSettled([alice, bob]);
    const toBob = [{ communicationUserId: bob.identity }];
    const durable = alice.dataChannel.createDataChannelSender({ channelId: 1, participants: toBob });
    const lossyHigh = alice.dataChannel.createDataChannelSender({ channelId: 2, participants: toBob, reliability: 'Lossy', priority: 'High' });
    for (let i = 0; i < 3; i++) await durable.sendMessage(new Uint8Array(100));
    await lossyHigh.sendMessage(new Uint8Array(50));
    const receivers = await Promise.all([receiverOn(bob, 1), receiverOn(bob, 2)]);
    await readMessages(receivers[0], 3);
    await readMessages(receivers[1], 1);

    const { code, stdout, stderr } = await runCli(['stats', '--server', h.server.url, '--access-key', ACCESS_KEY]);
    assert.equal(code, 0, stderr);
    const row = (label: string): string[] => {
      const line = stdout.split('\n').find((l) => l.startsWith(`${label}  `));
      assert.ok(line, `a '${label}' row in\n${stdout}`);
      return line.slice(label.length).trim().split(/\s+/);
    };
    assert.deepEqual(row('calls'), ['1']);
    assert.deepEqual(row('endpoints'), ['2']);
    assert.deepEqual(row('connections'), ['2']);
    assert.deepEqual(row('Durable Normal'), ['3', '300']);
    assert.deepEqual(row('Durable High'), ['0', '0']);
    assert.deepEqual(row('Lossy High'), ['1', '50']);
    assert.deepEqual(row('Lossy Normal'), ['0', '0']);
    assert.deepEqual(row('all').slice(0, 2), ['4', '350']);
    assert.deepEqual(row('deliveries (copies)'), ['4']);
    assert.deepEqual(row('MessageTooLarge'), ['0']);

    const json = await runCli(['stats', '--json'], { BACKCHANNEL_URL: h.server.url, BACKCHANNEL_ACCESS_KEY: ACCESS_KEY });
    assert.deepEqual(JSON.parse(json.stdout), { ...h.server.snapshot(), ...JSON.parse(JSON.stringify(h.server.stats)) });
  });

  it('with --watch refreshes with rates until interrupted, then exits 0', async () => {
    const watch = startCli(['stats', '--watch', '--interval', '0.2', '--server', h.server.url, '--access-key', ACCESS_KEY]);
    await watch.stdout.next(/^Backchannel at /);
    await watch.stdout.next(/^routed\s+messages\s+bytes$/);
    await watch.stdout.next(/^Backchannel at /);
    await watch.stdout.next(/^routed\s+messages\s+bytes\s+msg\/s\s+kbit\/s$/);
    watch.child.kill('SIGINT');
    assert.equal(await within(watch.closed, 'stats --watch to exit'), 0);
  });

  it('exits 2 when the access key is refused', async () => {
    const { code, stderr } = await runCli(['stats', '--server', h.server.url, '--access-key', 'wrong-key-wrong-key-wrong']);
    assert.equal(code, 2);
    assert.match(stderr, /refused the access key \(401\)/);
  });
});
