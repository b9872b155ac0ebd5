/**
 * One joined call and everything the page does in it, without any DOM: the roster, chat, files, the shared
 * counter and the receiver statistics, with every receiver the SDK announces handed to the reader of its channel.
 */
import type { DataChannelReceiver, ListenerErrorReporter } from '@backchannel/client';
import { APP_FILE_CHANNEL, APP_MESSAGE_CHANNEL } from '@backchannel/protocol';

import { Chat } from '../chat/chat.js';
import { COUNTER_CHANNEL, SharedCounter } from '../counter/sharedCounter.js';
import { IncomingFiles } from '../files/incoming.js';
import { OutgoingFiles } from '../files/outgoing.js';
import { Listeners } from '../lib/listeners.js';
import { ReceiverStats } from '../stats/receiverStats.js';
import { Roster } from './roster.js';
import { connected, startDemoSession, type DemoSession } from './session.js';

export class DemoCall {
  readonly session: DemoSession;
  readonly roster: Roster;
  readonly stats = new ReceiverStats();
  readonly chat: Chat;
  /** A counter the whole call shares; late pages show it at once (retain: 'last'). */
  readonly counter: SharedCounter;
  readonly outgoing: OutgoingFiles;
  readonly incoming: IncomingFiles;
  /** The call's or the agent's connection state changed. */
  readonly connectionChanged = new Listeners();
  /** The call ended, with its reason by Backchannel's name for it (`HungUp` after leave()). */
  readonly ended = new Listeners<{ code: string; message: string }>();
  readonly #onState = (): void => this.#stateChanged();

  /**
   * Joins and resolves once Connected. The demo reads the call's receivers from the moment the call exists,
   * so none is missed; if the call ends first, it rejects with the reason (and the demo has let go of it).
   */
  static async join(room: string, displayName: string, onListenerError: ListenerErrorReporter): Promise<DemoCall> {
    const demo = new DemoCall(await startDemoSession(room, displayName, onListenerError));
    await connected(demo.session.call);
    return demo;
  }

  private constructor(session: DemoSession) {
    this.session = session;
    const { call, dataChannel, me } = session;
    this.roster = new Roster(call, me.identity);
    this.chat = new Chat(dataChannel, me.identity, this.stats);
    this.counter = new SharedCounter(dataChannel, me.identity);
    this.outgoing = new OutgoingFiles(dataChannel);
    this.incoming = new IncomingFiles(this.chat, this.stats);
    this.chat.control.add(({ from, message }) => this.outgoing.declined(from, message.transferId));
    dataChannel.on('dataChannelReceiverCreated', (receiver) => this.#route(receiver));
    call.on('stateChanged', this.#onState);
    session.agent.on('connectionStateChanged', this.#onState);
  }

  /** Hangs up and releases the agent. */
  async leave(): Promise<void> {
    await this.session.call.hangUp();
    await this.session.agent.dispose();
  }

  #route(receiver: DataChannelReceiver): void {
    this.stats.track(receiver);
    if (receiver.channelId === APP_MESSAGE_CHANNEL) this.chat.read(receiver);
    else if (receiver.channelId === APP_FILE_CHANNEL) this.incoming.receive(receiver);
    else if (receiver.channelId === COUNTER_CHANNEL) this.counter.read(receiver);
    else this.#count(receiver);
  }

  /** Channels the demo does not use (another client's, say) are read only to count them. */
  #count(receiver: DataChannelReceiver): void {
    const drain = (): void => {
      for (let m = receiver.readMessage(); m; m = receiver.readMessage()) this.stats.record(receiver, m);
    };
    receiver.on('messageReady', drain);
    drain();
  }

  #stateChanged(): void {
    this.connectionChanged.emit();
    const { call, agent } = this.session;
    if (call.state !== 'Disconnected') return;
    call.off('stateChanged', this.#onState);
    agent.off('connectionStateChanged', this.#onState);
    this.outgoing.dispose();
    this.incoming.dispose();
    this.chat.dispose();
    this.counter.dispose();
    this.roster.dispose();
    this.stats.dispose();
    void agent.dispose();
    const reason = call.callEndReason;
    this.ended.emit(reason ? { code: reason.name, message: reason.message } : { code: 'Unknown', message: 'the call ended' });
    this.ended.clear();
    this.connectionChanged.clear();
  }
}
