/**
 * `backchannel chat`: an interactive participant in a group call. Each line read from stdin is sent to
 * everyone (or, with /to, to one participant) on one Durable channel, as the demo page's chat message
 * (@backchannel/protocol's appMessages.ts) so that terminals and browsers chat together, or as bare UTF-8 text with --plain. Every
 * message arriving on the channel is printed with its sender's display name, channel and sequence number:
 * the demo's chat messages as their text, anything else as UTF-8 text. The roster is printed on joining and
 * after every change.
 *
 * Made to be driven by programs as well as people: without a TTY there is no prompt and stdout carries one
 * event per line, written as it happens (stdout to a pipe or file is synchronous in Node on Linux, so
 * every line is flushed). Errors and usage notes go to stderr.
 */
import { userInfo } from 'node:os';
import { createInterface, type Interface } from 'node:readline';

import {
  DataChannelError,
  DataChannelErrorCode,
  Features,
  type Call,
  type DataChannelReceiver,
  type DataChannelSender,
  type RemoteParticipant,
} from '@backchannel/client';
import { APP_MESSAGE_CHANNEL, encodeAppMessage } from '@backchannel/protocol';
import { Option, type Command } from 'commander';

import { ended, joinGroupCall, type CallSession, type JoinFlags } from './callSession.js';
import { CHAT_HELP, parseChatLine } from './chatLine.js';
import { chatView, textOf } from './chatView.js';
import { CliError, ExitCode, onInterrupt, runAction, type ExitCode as ExitCodeValue } from './common.js';
import { readAppMessage } from './messages.js';
import { accessKeyOption, channelOption, groupOption, nameOption, serverOption, tokenOption, toolCommand } from './options.js';
import { describeParticipants, findByName, identityOf } from './roster.js';

interface ChatFlags extends JoinFlags {
  channel: number;
  allChannels: boolean;
  plain: boolean;
}

export function chatCommand(): Command {
  return toolCommand('chat', 'join a group call as an interactive text participant (stdin in, one event per line out)')
    .addOption(groupOption())
    .addOption(nameOption(defaultName()))
    .addOption(serverOption())
    .addOption(tokenOption())
    .addOption(accessKeyOption())
    .addOption(channelOption('BACKCHANNEL_CHAT_CHANNEL', APP_MESSAGE_CHANNEL, "the channel to send and read chat messages on (the demo page's)"))
    .addOption(new Option('--plain', "send bare UTF-8 text instead of the demo page's JSON chat messages").env('BACKCHANNEL_PLAIN').default(false))
    .addOption(new Option('--all-channels', 'also print messages of every other channel').env('BACKCHANNEL_ALL_CHANNELS').default(false))
    .addHelpText('after', `\nWhile in the call:\n${CHAT_HELP.map((line) => `  ${line}`).join('\n')}`)
    .action(runAction('chat', (flags: ChatFlags) => runChat(flags)));
}

function defaultName(): string {
  try {
    return userInfo().username || 'chat';
  } catch {
    return 'chat';
  }
}

async function runChat(flags: ChatFlags): Promise<ExitCodeValue> {
  const session = await joinGroupCall(flags);
  const { call } = session;
  // A prompt and line editing on a terminal only: driven by a program, stdout carries events and nothing else.
  const terminal = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const input = createInterface({ input: process.stdin, output: terminal ? process.stdout : undefined, terminal });
  const print = lineWriter(input);
  const names = new NameBook();

  print(chatView.joined(flags.group, flags.name, call.id));
  names.learn(call.remoteParticipants);
  print(chatView.participants(describeParticipants(call.remoteParticipants)));
  call.on('remoteParticipantsUpdated', ({ added, removed }) => {
    if (call.state !== 'Connected') return; // the call ending empties the roster: not news
    names.learn(added);
    for (const p of added) print(chatView.arrived(p.displayName));
    for (const p of removed) print(chatView.departed(p.displayName));
    print(chatView.participants(describeParticipants(call.remoteParticipants)));
  });
  call.feature(Features.DataChannel).on('dataChannelReceiverCreated', (receiver) => {
    if (flags.allChannels || receiver.channelId === flags.channel) show(receiver, names, print);
  });
  const sender = call.feature(Features.DataChannel).createDataChannelSender({ channelId: flags.channel });
  const outbox = async (recipients: string[], text: string): Promise<void> => {
    await send(sender, recipients, encodeChat(text, recipients, flags.plain));
  };

  // The session ends on /quit, end of input, Ctrl-C, or the call ending; whichever comes first.
  let outcome: ExitCodeValue = ExitCode.Ok;
  const interrupt = onInterrupt(() => input.close());
  input.on('SIGINT', () => input.close());
  void ended(call).then((reason) => {
    if (reason.code === 'HungUp') return;
    process.stderr.write(`${chatView.ended(reason.code, reason.message)}\n`);
    outcome = ExitCode.Connection;
    input.close();
  });
  input.setPrompt('> ');
  input.prompt();
  try {
    for await (const line of input) {
      if (!(await handleLine(line, call, outbox, print))) break;
      input.prompt();
    }
  } finally {
    interrupt.dispose();
    input.close();
    process.stdin.destroy();
    await leave(session);
  }
  return outcome;
}

/** Sends text to the listed identities (none: everyone). */
type Outbox = (recipients: string[], text: string) => Promise<void>;

/** Carries out one input line; false when the user asked to quit. */
async function handleLine(line: string, call: Call, outbox: Outbox, print: (text: string) => void): Promise<boolean> {
  const command = parseChatLine(line);
  switch (command.kind) {
    case 'empty':
      return true;
    case 'quit':
      return false;
    case 'help':
      for (const text of CHAT_HELP) print(text);
      return true;
    case 'who':
      print(chatView.participants(describeParticipants(call.remoteParticipants)));
      return true;
    case 'invalid':
      complain(command.message);
      return true;
    case 'say':
      await outbox([], command.text);
      return true;
    case 'to': {
      let identity: string | undefined;
      try {
        identity = findByName(call.remoteParticipants, command.name);
      } catch (error) {
        complain((error as Error).message);
        return true;
      }
      if (identity === undefined) complain(`nobody called '${command.name}' in the call; participants: ${describeParticipants(call.remoteParticipants)}`);
      else await outbox([identity], command.text);
      return true;
    }
  }
}

/** How long a message may keep being refused by the broadcast limits before the chat gives up on it. */
const SEND_PATIENCE_MS = 10_000;
const RETRYABLE: ReadonlySet<string> = new Set([DataChannelErrorCode.MessageFailureForBandwidth, DataChannelErrorCode.MessageFailureForTrafficLimit]);

/**
 * Sends one message to `recipients` (empty: everyone). The recipient list travels in order with the
 * messages, so setting it around one message addresses exactly that message. A program piping many lines
 * at once can exceed the broadcast packet rate: such refusals took no sequence number and are retried.
 */
async function send(sender: DataChannelSender, recipients: string[], data: Uint8Array): Promise<void> {
  if (data.byteLength > sender.maxMessageSize) return complain(`message not sent: ${data.byteLength} bytes, the limit is ${sender.maxMessageSize}`);
  const started = performance.now();
  try {
    sender.setParticipants(recipients.map((communicationUserId) => ({ communicationUserId })));
    for (let delayMs = 20; ; delayMs = Math.min(delayMs * 2, 1000)) {
      try {
        await sender.sendMessage(data);
        return;
      } catch (error) {
        if (!(error instanceof DataChannelError) || !RETRYABLE.has(error.code) || performance.now() - started > SEND_PATIENCE_MS) throw error;
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  } catch (error) {
    complain(`message not sent: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    // Back to everyone; a sender closed by the call ending refuses, and nothing more is sent anyway.
    if (recipients.length > 0) ignoreClosed(() => sender.setParticipants([]));
  }
}

function ignoreClosed(action: () => void): void {
  try {
    action();
  } catch (error) {
    if (!(error instanceof DataChannelError && error.code === DataChannelErrorCode.SenderClosed)) throw error;
  }
}

function encodeChat(text: string, recipients: string[], plain: boolean): Uint8Array {
  if (plain) return new TextEncoder().encode(text);
  return encodeAppMessage({ type: 'chat', text, to: recipients.length > 0 ? recipients : 'everyone' });
}

function show(receiver: DataChannelReceiver, names: NameBook, print: (text: string) => void): void {
  const from = identityOf(receiver.senderParticipantIdentifier);
  const drain = (): void => {
    for (let message = receiver.readMessage(); message; message = receiver.readMessage()) {
      const decoded = readAppMessage(message.data);
      // The demo's file receipts and cancels share the channel; they are for send-file, not for reading.
      if (decoded && decoded.type !== 'chat') continue;
      const text = decoded ? decoded.text : textOf(message.data);
      print(chatView.message(receiver.channelId, message.sequenceNumber, names.nameOf(from), text, Array.isArray(decoded?.to)));
    }
  };
  receiver.on('messageReady', drain);
  drain();
}

/** Display names by identity, remembered after a participant leaves, for messages that arrive late. */
class NameBook {
  readonly #names = new Map<string, string>();

  learn(participants: readonly RemoteParticipant[]): void {
    for (const p of participants) this.#names.set(identityOf(p.identifier), p.displayName || identityOf(p.identifier));
  }

  nameOf(identity: string): string {
    return this.#names.get(identity) ?? identity;
  }
}

/**
 * Prints event lines on stdout. On a terminal, the line being typed is cleared first and redrawn after,
 * so that incoming events do not garble the input.
 */
function lineWriter(input: Interface): (text: string) => void {
  if (!input.terminal) return (text) => void process.stdout.write(`${text}\n`);
  return (text) => {
    process.stdout.write(`\r\x1b[2K${text}\n`);
    input.prompt(true);
  };
}

function complain(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function leave(session: CallSession): Promise<void> {
  try {
    await session.leave();
  } catch (error) {
    throw new CliError(ExitCode.Connection, `leaving the call failed: ${(error as Error).message}`, { cause: error });
  }
}
