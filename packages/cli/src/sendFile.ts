/**
 * `backchannel send-file FILE --group G --to NAME`: joins the call, waits for NAME, and sends the file to
 * NAME alone with the SDK's stream helper (chunks, SHA-256 hash list) on the demo's file channel, showing
 * progress. It succeeds once the recipient confirms that the file arrived intact (a `file-received`
 * receipt, @backchannel/protocol's appMessages.ts).
 *
 * The server paces Durable senders to `durableMaxKbps` (64 kbps by default): at that pace a few MiB take
 * minutes, so the tool says so before it starts.
 */
import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';

import { Features, StreamError, StreamErrorCode, sendStream, type Call, type DataChannelCallFeature } from '@backchannel/client';
import { APP_FILE_CHANNEL, APP_MESSAGE_CHANNEL, newTransferId, type FileReplyMessage } from '@backchannel/protocol';
import { Option, type Command } from 'commander';

import { ended, joinGroupCall, type JoinFlags } from './callSession.js';
import { CliError, ExitCode, note, onInterrupt, result, runAction } from './common.js';
import { readAppMessage } from './messages.js';
import { accessKeyOption, channelOption, groupOption, integerIn, nameOption, serverOption, tokenOption, toolCommand } from './options.js';
import { formatBytes, formatDuration, progressReporter } from './progress.js';
import { identityOf, onDeparture, waitForParticipant } from './roster.js';

interface SendFileFlags extends JoinFlags {
  to: string;
  channel: number;
  wait: number;
}

/** Transfers expected to take longer than this at the advertised pace get a note on how to speed them up. */
const SLOW_TRANSFER_SECONDS = 10;
/** After the last chunk, how long the recipient has to verify the file and confirm. */
const RECEIPT_TIMEOUT_MS = 30_000;

export function sendFileCommand(): Command {
  return toolCommand('send-file', 'send a file to one participant of a group call, with progress')
    .argument('<file>', 'the file to send')
    .addOption(groupOption())
    .addOption(new Option('--to <name>', 'required: display name of the recipient').env('BACKCHANNEL_TO').makeOptionMandatory())
    .addOption(nameOption('send-file'))
    .addOption(serverOption())
    .addOption(tokenOption())
    .addOption(accessKeyOption())
    .addOption(channelOption('BACKCHANNEL_FILE_CHANNEL', APP_FILE_CHANNEL, "the channel to send the file on (the demo page's)"))
    .addOption(new Option('--wait <seconds>', 'how long to wait for the recipient to join').env('BACKCHANNEL_WAIT').default(60).argParser(integerIn(0, 86_400)))
    .addHelpText('after', '\nThe server paces Durable senders to its --durable-max-kbps (64 kbps by default):\nfor large files, start it with a higher limit, e.g. backchannel serve --durable-max-kbps 50000.')
    .action(runAction('send-file', (file: string, flags: SendFileFlags) => sendFile(file, flags)));
}

async function sendFile(path: string, flags: SendFileFlags): Promise<ExitCode> {
  const size = await fileSize(path);
  const session = await joinGroupCall(flags);
  try {
    return await transfer(session.call, path, size, flags);
  } finally {
    await session.leave();
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new CliError(ExitCode.Usage, `${path} is not a regular file`);
    return info.size;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(ExitCode.Usage, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

async function transfer(call: Call, path: string, size: number, flags: SendFileFlags): Promise<ExitCode> {
  // Anything that ends the transfer early aborts the stream (its receivers are told) and rejects `stopped`.
  const abort = new AbortController();
  const stopped = new Promise<never>((_, reject) => abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true }));
  stopped.catch(() => undefined);
  const stop = (exitCode: ExitCode, message: string): void => abort.abort(new CliError(exitCode, message));
  const interrupt = onInterrupt((signal) => stop(ExitCode.Interrupted, `${signal}: transfer cancelled`));
  void ended(call).then((reason) => reason.code !== 'HungUp' && stop(ExitCode.Connection, `the call ended: ${reason.code}: ${reason.message}`));
  const dataChannel = call.feature(Features.DataChannel);
  const replyAbout = listenForReplies(dataChannel);

  try {
    if (!call.remoteParticipants.some((p) => p.displayName.toLowerCase() === flags.to.toLowerCase())) note(`waiting up to ${flags.wait} s for ${flags.to} to join group ${flags.group}…`);
    const recipient = await Promise.race([waitForParticipant(call, flags.to, flags.wait * 1000), stopped]);
    const stopWatching = onDeparture(call, recipient, () => stop(ExitCode.TransferFailed, `${flags.to} left the call before the transfer ended`));
    const transferId = newTransferId();
    const reply = replyAbout(recipient, transferId);
    // A refusal can come while chunks are still leaving: stop sending at once.
    void reply.then((answer) => answer.type !== 'file-received' && stop(ExitCode.TransferFailed, refusal(flags.to, answer)));
    const sender = dataChannel.createDataChannelSender({ channelId: flags.channel, participants: [{ communicationUserId: recipient }] });
    warnIfSlow(size, sender.bitrateInKbps);

    const name = basename(path);
    const progress = progressReporter(`sending ${name} to ${flags.to}`, size);
    const started = performance.now();
    try {
      await sendStream(sender, await openAsBlob(path), {
        metadata: { transferId, name, type: 'application/octet-stream' },
        onProgress: ({ bytes }) => progress.update(bytes),
        signal: abort.signal,
      });
    } finally {
      progress.finish();
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const answer = await Promise.race([reply, stopped, timeout(RECEIPT_TIMEOUT_MS, `${flags.to} did not confirm the file within ${RECEIPT_TIMEOUT_MS / 1000} s`)]);
    stopWatching();
    if (answer.type !== 'file-received') throw new CliError(ExitCode.TransferFailed, refusal(flags.to, answer));
    result(`sent ${name} (${size} bytes) to ${flags.to} in ${seconds} s, verified (hash list ${answer.digest})`);
    return ExitCode.Ok;
  } catch (error) {
    throw asTransferError(error, abort.signal);
  } finally {
    interrupt.dispose();
  }
}

type Reply = FileReplyMessage;

/**
 * Listens on the message channel from now on, and returns a function awaiting the recipient's answer about
 * a transfer: a receipt, a failure, or a cancel (the demo page's "stop sending me this"). Listening starts
 * before the recipient is known, because the SDK announces each receiver once: a receiver created by an
 * earlier chat message of the recipient's carries its answer later.
 */
function listenForReplies(dataChannel: DataChannelCallFeature): (recipient: string, transferId: string) => Promise<Reply> {
  let expecting: { recipient: string; transferId: string; resolve: (reply: Reply) => void } | undefined;
  dataChannel.on('dataChannelReceiverCreated', (receiver) => {
    if (receiver.channelId !== APP_MESSAGE_CHANNEL) return;
    const from = identityOf(receiver.senderParticipantIdentifier);
    const drain = (): void => {
      for (let message = receiver.readMessage(); message; message = receiver.readMessage()) {
        const decoded = readAppMessage(message.data);
        if (!expecting || !decoded || decoded.type === 'chat' || from !== expecting.recipient || decoded.transferId !== expecting.transferId) continue;
        expecting.resolve(decoded);
      }
    };
    receiver.on('messageReady', drain);
    drain();
  });
  return (recipient, transferId) => new Promise((resolve) => (expecting = { recipient, transferId, resolve }));
}

function refusal(name: string, answer: Reply): string {
  if (answer.type === 'file-cancel') return `${name} declined the file`;
  if (answer.type === 'file-failed') return `${name} could not take the file: ${answer.code}: ${answer.message}`;
  return `${name} answered ${answer.type}`;
}

function warnIfSlow(size: number, kbps: number): void {
  const seconds = (size * 8) / (kbps * 1000);
  if (seconds <= SLOW_TRANSFER_SECONDS) return;
  note(
    `note: the server paces Durable senders to ${kbps} kbps, so ${formatBytes(size)} takes about ${formatDuration(seconds)}. ` +
      'For large files, start the server with a higher limit, e.g. backchannel serve --durable-max-kbps 50000.',
  );
}

function timeout(ms: number, message: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new CliError(ExitCode.TransferFailed, message)), ms).unref());
}

/** Why the transfer stopped, as the error to report: the abort's reason first, then the stream's failure. */
function asTransferError(error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted && signal.reason instanceof CliError) return signal.reason;
  if (error instanceof CliError) return error;
  if (error instanceof StreamError) {
    return new CliError(error.code === StreamErrorCode.Cancelled ? ExitCode.Interrupted : ExitCode.TransferFailed, `transfer failed: ${error.message} (${error.code})`, { cause: error });
  }
  return new CliError(ExitCode.TransferFailed, `transfer failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}
