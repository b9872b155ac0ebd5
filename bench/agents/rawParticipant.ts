/**
 * The floor: node-datachannel peer connections straight between participants, no server on the data path.
 * One reliable, ordered data channel per pair (what Backchannel's Durable class rides on), default
 * libdatachannel configuration, signaling relayed by the benchmark itself.
 *
 * As in Backchannel's SDK, the offerer holds its ICE candidates until the answer is applied, so the answerer
 * cannot start DTLS before the offerer knows its fingerprint.
 */
import { acquireRtcRuntime, releaseRtcRuntime } from '@backchannel/node-rtc';
import nodeDataChannel, { type DataChannel, type PeerConnection } from 'node-datachannel';

import type { SignalEnvelope } from './messages.js';
import { JOIN_TIMEOUT_MS, withTimeout, type Participant, type ParticipantHooks } from './participant.js';

type SignalBody = SignalEnvelope['body'];

const LABEL = 'bench';

/** One pair's connection, from this participant's side. */
class Link {
  readonly pc: PeerConnection;
  channel: DataChannel | undefined;
  /** Resolves when the channel is open. */
  readonly open: Promise<void>;
  #resolveOpen!: () => void;
  #answerApplied: boolean;
  #heldCandidates: { candidate: string; mid: string }[] = [];
  #closed = false;

  constructor(
    readonly remote: string,
    readonly role: 'offerer' | 'answerer',
    private readonly signal: (body: SignalBody) => void,
    private readonly onMessage: (link: Link, bytes: Uint8Array) => void,
  ) {
    this.open = new Promise((resolve) => (this.#resolveOpen = resolve));
    this.#answerApplied = role === 'answerer';
    acquireRtcRuntime();
    this.pc = new nodeDataChannel.PeerConnection(`bench-${role}`, { iceServers: [] });
    this.pc.onLocalDescription((sdp, kind) => signal({ sdp: withoutCandidates(sdp), kind }));
    this.pc.onLocalCandidate((candidate, mid) => {
      if (this.#answerApplied) signal({ candidate, mid });
      else this.#heldCandidates.push({ candidate, mid });
    });
    if (role === 'offerer') {
      this.#wire(this.pc.createDataChannel(LABEL));
    } else {
      this.pc.onDataChannel((channel) => {
        this.#wire(channel);
        this.#resolveOpen();
      });
    }
  }

  handle(body: SignalBody): void {
    if ('sdp' in body) {
      this.pc.setRemoteDescription(body.sdp, body.kind as 'offer' | 'answer');
      if (body.kind === 'answer') {
        this.#answerApplied = true;
        for (const held of this.#heldCandidates) this.signal(held);
        this.#heldCandidates = [];
      }
    } else {
      try {
        this.pc.addRemoteCandidate(body.candidate, body.mid);
      } catch {
        // an unparsable candidate: ICE goes on with the others
      }
    }
  }

  send(bytes: Uint8Array): boolean {
    try {
      this.channel?.sendMessageBinary(bytes);
      return this.channel !== undefined;
    } catch {
      return false;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.channel?.close();
      this.pc.close();
    } finally {
      releaseRtcRuntime();
    }
  }

  #wire(channel: DataChannel): void {
    this.channel = channel;
    channel.onOpen(() => this.#resolveOpen());
    channel.onMessage((message) => {
      if (typeof message !== 'string') this.onMessage(this, message instanceof ArrayBuffer ? new Uint8Array(message) : message);
    });
  }
}

/** A participant whose "room" is the set of peers it has links with. */
export class RawParticipant implements Participant {
  readonly address: string;
  readonly #links = new Map<string, Link>();
  readonly #hooks: ParticipantHooks;
  readonly #signal: (envelope: SignalEnvelope) => void;
  /** Relay mode (a hub standing in for a server): a message from a peer goes on to the rest of its group. */
  #groups: Map<string, string[]> | undefined;
  #closed = false;

  constructor(
    readonly key: string,
    hooks: ParticipantHooks,
    signal: (envelope: SignalEnvelope) => void,
  ) {
    this.address = key;
    this.#hooks = hooks;
    this.#signal = signal;
  }

  /** Connects to `remote` as the offerer; resolves when the channel is open. */
  async link(remote: string): Promise<void> {
    const link = this.#newLink(remote, 'offerer');
    await withTimeout(link.open, JOIN_TIMEOUT_MS, `raw link ${this.key} → ${remote}`);
  }

  /** Signaling from `envelope.from`; an offer from an unknown peer creates the answering side. */
  onSignal(envelope: SignalEnvelope): void {
    let link = this.#links.get(envelope.from);
    if (!link) {
      if (!('sdp' in envelope.body) || envelope.body.kind !== 'offer' || this.#closed) return;
      link = this.#newLink(envelope.from, 'answerer');
    }
    link.handle(envelope.body);
  }

  /** Turns this participant into a relay: each member's messages are forwarded to the rest of its group. */
  relay(groups: readonly string[][]): void {
    this.#groups = new Map();
    for (const group of groups) for (const member of group) this.#groups.set(member, group.filter((m) => m !== member));
  }

  send(payload: Uint8Array, to: readonly string[] | undefined): void {
    if (to === undefined) {
      for (const link of this.#links.values()) if (!link.send(payload)) this.#hooks.onRefused();
      return;
    }
    for (const remote of to) if (!this.#links.get(remote)?.send(payload)) this.#hooks.onRefused();
  }

  close(): Promise<void> {
    this.#closed = true;
    for (const link of this.#links.values()) link.close();
    this.#links.clear();
    return Promise.resolve();
  }

  #newLink(remote: string, role: 'offerer' | 'answerer'): Link {
    this.#links.get(remote)?.close();
    const link = new Link(
      remote,
      role,
      (body) => this.#signal({ type: 'signal', from: this.key, to: remote, body }),
      (from, bytes) => this.#onMessage(from, bytes),
    );
    this.#links.set(remote, link);
    return link;
  }

  #onMessage(from: Link, bytes: Uint8Array): void {
    const onward = this.#groups?.get(from.remote);
    if (onward === undefined) return this.#hooks.onPayload(bytes);
    for (const remote of onward) this.#links.get(remote)?.send(bytes);
  }
}

function withoutCandidates(sdp: string): string {
  return sdp
    .split(/\r?\n/)
    .filter((line) => !line.startsWith('a=candidate:') && line !== 'a=end-of-candidates')
    .join('\r\n');
}
