/**
 * `backchannel receive-file --group G`: joins the call and saves the files sent to it on the demo's file
 * channel (by send-file or the demo page), reassembled and checked by the SDK's stream helper, under the
 * name the sender announced, made safe (fileNames.ts). Each file is confirmed to its sender with a
 * `file-received` receipt, or a `file-failed` one (@backchannel/protocol's appMessages.ts). Exits after one file, or with
 * --keep-going when interrupted.
 */
import { mkdir, rm } from 'node:fs/promises';

import { Features, receiveStreams, StreamError, StreamErrorCode, type Call, type DataChannelSender, type IncomingStream } from '@backchannel/client';
import { APP_FILE_CHANNEL, APP_MESSAGE_CHANNEL, encodeAppMessage, readFileMetadata, type FileReplyMessage } from '@backchannel/protocol';
import { Option, type Command } from 'commander';

import { ended, joinGroupCall, type CallSession, type JoinFlags } from './callSession.js';
import { printable } from './chatView.js';
import { CliError, ExitCode, note, onInterrupt, result, runAction } from './common.js';
import { createUniqueFile, safeFileName } from './fileNames.js';
import { accessKeyOption, channelOption, groupOption, integerIn, nameOption, serverOption, tokenOption, toolCommand } from './options.js';
import { progressReporter } from './progress.js';
import { identityOf, isPresent, onDeparture } from './roster.js';

interface ReceiveFileFlags extends JoinFlags {
  out: string;
  keepGoing: boolean;
  channel: number;
  maxBytes: number;
}

/** A file is held in memory until it is verified; larger ones are refused. */
const DEFAULT_MAX_BYTES = 1024 ** 3;
/**
 * After the last receipt, how long to stay in the call so that the sender, not this tool leaving, ends
 * the exchange: the sender leaves once it has the receipt, which ends the wait early.
 */
const RECEIPT_LINGER_MS = 5000;

export function receiveFileCommand(): Command {
  return toolCommand('receive-file', 'save the files sent to you in a group call (by send-file or the demo page)')
    .addOption(groupOption())
    .addOption(new Option('--out <dir>', 'directory to save into (created if missing)').env('BACKCHANNEL_OUT').default('.'))
    .addOption(new Option('--keep-going', 'receive files until interrupted, instead of exiting after the first').env('BACKCHANNEL_KEEP_GOING').default(false))
    .addOption(nameOption('receive-file'))
    .addOption(serverOption())
    .addOption(tokenOption())
    .addOption(accessKeyOption())
    .addOption(channelOption('BACKCHANNEL_FILE_CHANNEL', APP_FILE_CHANNEL, "the channel files arrive on (the demo page's)"))
    .addOption(
      new Option('--max-bytes <n>', 'refuse larger files (each is held in memory until verified)')
        .env('BACKCHANNEL_MAX_BYTES')
        .default(DEFAULT_MAX_BYTES)
        .argParser(integerIn(1, Number.MAX_SAFE_INTEGER)),
    )
    .action(runAction('receive-file', (flags: ReceiveFileFlags) => receiveFiles(flags)));
}

async function receiveFiles(flags: ReceiveFileFlags): Promise<ExitCode> {
  try {
    await mkdir(flags.out, { recursive: true });
  } catch (error) {
    throw new CliError(ExitCode.Usage, `cannot use ${flags.out} as the output directory: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const session = await joinGroupCall(flags);
  try {
    return await receive(session, flags);
  } finally {
    await session.leave();
  }
}

interface Outcome {
  ok: boolean;
  /** Identity of the file's sender. */
  from: string;
}

function receive(session: CallSession, flags: ReceiveFileFlags): Promise<ExitCode> {
  const { call } = session;
  note(`waiting for ${flags.keepGoing ? 'files' : 'a file'} in group ${flags.group} as ${flags.name} (channel ${flags.channel})`);
  const dataChannel = call.feature(Features.DataChannel);
  const receipts = dataChannel.createDataChannelSender({ channelId: APP_MESSAGE_CHANNEL });
  let failures = 0;
  let settled = false;

  return new Promise<ExitCode>((resolve, reject) => {
    const finish = (settle: () => void): void => {
      if (settled) return;
      settled = true;
      interrupt.dispose();
      settle();
    };
    const interrupt = onInterrupt(() => finish(() => resolve(flags.keepGoing ? (failures > 0 ? ExitCode.TransferFailed : ExitCode.Ok) : ExitCode.Interrupted)));
    void ended(call).then((reason) => finish(() => reject(new CliError(ExitCode.Connection, `the call ended: ${reason.code}: ${reason.message}`))));

    const finished = (outcome: Outcome): void => {
      if (!outcome.ok) failures++;
      if (flags.keepGoing || settled) return;
      settled = true;
      interrupt.dispose();
      void lingerFor(call, outcome.from).then(() => resolve(outcome.ok ? ExitCode.Ok : ExitCode.TransferFailed));
    };
    dataChannel.on('dataChannelReceiverCreated', (receiver) => {
      if (receiver.channelId !== flags.channel) return;
      const reader = receiveStreams(receiver, {
        maxStreamBytes: flags.maxBytes,
        onStream: (stream) => void saveStream(stream, call, receipts, flags).then((outcome) => finished(outcome)),
      });
      reader.on('error', (error) => note(`ignored a message on channel ${flags.channel}: ${error.message}`));
    });
  });
}

/** Follows one incoming stream to its end: progress, then the saved file and a receipt, or a failure. */
async function saveStream(stream: IncomingStream, call: Call, receipts: DataChannelSender, flags: ReceiveFileFlags): Promise<Outcome> {
  const from = identityOf(stream.sender);
  const fromName = printable(call.remoteParticipants.find((p) => identityOf(p.identifier) === from)?.displayName ?? from);
  const metadata = readFileMetadata(stream.metadata, `${from}/${stream.id}`);
  const name = safeFileName(metadata.name);
  const progress = progressReporter(`receiving ${name} from ${fromName}`, stream.totalBytes);
  stream.on('progress', ({ bytes }) => progress.update(bytes));
  const turn = takeTurn();
  try {
    const received = await stream.done;
    progress.finish();
    await turn.wait;
    const path = await save(flags.out, name, received.chunks);
    await reply(receipts, from, { type: 'file-received', transferId: metadata.transferId, digest: received.digest });
    result(`received ${name} (${received.byteLength} bytes) from ${fromName}, saved as ${path}`);
    return { ok: true, from };
  } catch (error) {
    progress.finish();
    const code = error instanceof StreamError ? error.code : 'SaveFailed';
    const message = error instanceof Error ? error.message : String(error);
    note(`receiving ${name} from ${fromName} failed: ${message} (${code})`);
    // A sender that cancelled knows; anyone else is told why the file did not arrive.
    if (code !== StreamErrorCode.Cancelled) await reply(receipts, from, { type: 'file-failed', transferId: metadata.transferId, code, message });
    return { ok: false, from };
  } finally {
    turn.done();
  }
}

/**
 * Files are saved one after the other, in the order their streams *began*: two files of the same name then
 * get `name` and `name (1)` in the order they were sent, not in whichever order their integrity checks (async
 * hashing) or the file system finish. Each stream takes its turn when it is announced.
 */
let lastTurn: Promise<void> = Promise.resolve();
function takeTurn(): { wait: Promise<void>; done: () => void } {
  const wait = lastTurn;
  let done!: () => void;
  lastTurn = new Promise((resolve) => (done = resolve));
  return { wait, done };
}

/** Writes the verified chunks to a new file (never over an existing one); a partial file is removed. */
async function save(dir: string, name: string, chunks: readonly Uint8Array[]): Promise<string> {
  const { path, handle } = await createUniqueFile(dir, name);
  try {
    for (const chunk of chunks) await handle.write(chunk);
    await handle.close();
    return path;
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(path, { force: true });
    throw error;
  }
}

/**
 * Sends a receipt to one identity. The recipient list travels in order with the messages, so receipts of
 * concurrent transfers each reach their own sender. Best effort: the sender may have left.
 */
async function reply(receipts: DataChannelSender, to: string, message: FileReplyMessage): Promise<void> {
  try {
    receipts.setParticipants([{ communicationUserId: to }]);
    await receipts.sendMessage(encodeAppMessage(message));
  } catch (error) {
    note(`could not send the ${message.type} receipt: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Resolves when `identity` has left the call (or the call has ended), or after RECEIPT_LINGER_MS. */
function lingerFor(call: Call, identity: string): Promise<void> {
  if (call.state !== 'Connected' || !isPresent(call, identity)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      stopWatching();
      resolve();
    };
    const timer = setTimeout(done, RECEIPT_LINGER_MS);
    const stopWatching = onDeparture(call, identity, done);
    void ended(call).then(done);
  });
}
