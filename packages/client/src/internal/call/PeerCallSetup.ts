/**
 * A 1:1 call's setup: the caller rings the callee (or the callee has accepted), then the two parties
 * exchange SDP and ICE through the server, which relays them as they are. Everything here comes from the
 * other party: a description it sends out of turn, or one libdatachannel refuses, ends the call
 * (TransportFailed); nothing here throws.
 *
 * Resume (docs/reliability.md): the transport runs directly between the parties, so a lost signaling
 * connection does not touch it: the party is taken back on the server (`resumePeerCall`) once the agent has
 * reconnected. A lost transport suspends the call, and a new one is set up, numbered by its *generation*;
 * the caller always offers. The callee asks for an offer (`reconnect`) when its transport failed or when it
 * came back while suspended, since an offer sent meanwhile was dropped by the server. Signals of any other
 * generation than the current transport's are stale and ignored.
 */
import { CallErrorCode, type PartyInfo, type PeerSignal, type TimerHandle, type WireDataChannelLimits } from '@backchannel/protocol';

import { CallError } from '../../errors.js';
import type { PeerCallMessage, RingingMessage } from '../signaling/SignalingClient.js';
import type { CallControl, CallEndReason } from './CallControl.js';
import { REMOTE_PEER_ENDPOINT_ID, type CallTransport } from './CallTransport.js';

export type PeerCallRole =
  | { kind: 'outgoing'; callee: string }
  | { kind: 'incoming'; callId: string; caller: PartyInfo; limits: WireDataChannelLimits };

/**
 * The caller opens a new transport at most this often: a replacement that fails at once (no route yet)
 * must not turn into a loop of offers. The resume window bounds the attempts.
 */
const MIN_RESTART_INTERVAL_MS = 1000;

export class PeerCallSetup {
  readonly #call: CallControl;
  readonly #role: PeerCallRole;
  #callId = '';
  /** From `callAccepted`: what takes this party's place back on the server after a lost connection. */
  #resumeToken = '';
  #resumeWindowMs = 0;
  /** The current transport's generation: 0 for the first, then one per new offer. */
  #generation = 0;
  /** Caller: the current generation's offer until its answer arrives (sent again to a callee that missed it). */
  #unanswered: string | undefined;
  /** Callee: the current generation's offer was answered (a copy of it is ignored). */
  #answered = false;
  /** The signaling connection dropped and this party is not back on the server yet: no signal goes out. */
  #away = false;
  #awayTimer: TimerHandle | undefined;
  #rebinding = false;
  #restartTimer: TimerHandle | undefined;
  #lastRestartAt = Number.NEGATIVE_INFINITY;

  constructor(call: CallControl, role: PeerCallRole) {
    this.#call = call;
    this.#role = role;
  }

  start(): void {
    const call = this.#call;
    const role = this.#role;
    if (role.kind === 'incoming') {
      this.#attach(role.callId, role.limits);
      call.signaling.send({ type: 'acceptCall', callId: role.callId });
      return;
    }
    // Runs synchronously when the server confirms, so the handler is attached before the next message (the
    // answer may arrive in the same read).
    const onRinging = (ringing: RingingMessage): void => {
      if (call.state !== 'Connecting') return void call.signaling.send({ type: 'endCall', callId: ringing.callId });
      this.#attach(ringing.callId, ringing.limits);
      call.ringing();
    };
    call.signaling.startCall(role.callee, onRinging).catch((error: unknown) => {
      const code = error instanceof CallError ? error.code : CallErrorCode.ConnectionLost;
      call.end({ code, message: error instanceof Error ? error.message : String(error) });
    });
  }

  /**
   * The call is over: the other party hears it through the server (as ConnectionLost when this party's
   * connection could not be resumed in time), and its messages stop here.
   */
  leave(reason?: CallEndReason): void {
    const clock = this.#call.clock;
    clock.clearTimeout(this.#awayTimer);
    clock.clearTimeout(this.#restartTimer);
    if (!this.#callId) return;
    // An 'endCall' for a call the server already ended is ignored there.
    const lost = reason?.code === CallErrorCode.ConnectionLost ? { reason: { code: CallErrorCode.ConnectionLost, message: reason.message } } : {};
    this.#call.signaling.send({ type: 'endCall', callId: this.#callId, ...lost });
    this.#call.signaling.detachPeerCall(this.#callId);
  }

  /**
   * The transport is gone (the call was just suspended, or its replacement failed too): the caller offers a
   * new one, the callee asks for it, as soon as this party's signaling is usable.
   */
  resume(): Promise<void> {
    if (this.#role.kind === 'outgoing') this.#restart('the transport was lost');
    else this.#askForOffer();
    return Promise.resolve();
  }

  #attach(callId: string, limits: WireDataChannelLimits): void {
    this.#callId = callId;
    this.#call.established({ callId, limits });
    this.#call.signaling.attachPeerCall(callId, {
      onMessage: (message) => this.#onMessage(message),
      onConnectionLost: (error) => this.#call.end({ code: error.code, message: error.message }),
      onDisconnected: (error) => this.#signalingLost(error),
      onReconnected: () => void this.#comeBack(),
    });
  }

  /** The server keeps an accepted call for this party's return; anything earlier (ringing) ends. */
  #signalingLost(error: CallError): void {
    const call = this.#call;
    if (this.#resumeWindowMs <= 0 || call.state !== 'Connected') return call.end({ code: error.code, message: error.message });
    this.#away = true;
    const windowMs = this.#resumeWindowMs;
    this.#awayTimer ??= call.clock.setTimeout(
      () => call.end({ code: CallErrorCode.ConnectionLost, message: `the signaling connection was not back within ${windowMs} ms (${error.message})` }),
      windowMs,
    );
  }

  /** The agent reconnected: this party takes its place back; a suspended call then gets a transport again. */
  async #comeBack(): Promise<void> {
    const call = this.#call;
    if (!this.#away || this.#rebinding || !call.signaling.isOpen) return;
    this.#rebinding = true;
    try {
      await call.signaling.resumePeerCall(this.#callId, this.#resumeToken);
      if (call.state !== 'Connected') return;
      this.#away = false;
      call.clock.clearTimeout(this.#awayTimer);
      this.#awayTimer = undefined;
      // Signals sent to this party while it was away were dropped: the transport is set up afresh.
      if (call.suspended) void this.resume();
    } catch (error) {
      if (!(error instanceof CallError)) throw error;
      // Lost again meanwhile: the next reconnection comes back here. Anything else is final.
      if (error.code !== CallErrorCode.ConnectionLost) {
        call.end({ code: CallErrorCode.ConnectionLost, message: `the call could not be resumed: ${error.message}` });
      }
    } finally {
      this.#rebinding = false;
    }
  }

  /** Signals go out only while this party is bound to its signaling connection on the server. */
  get #usable(): boolean {
    return !this.#away && this.#call.signaling.isOpen;
  }

  #send(signal: PeerSignal): void {
    if (this.#usable) this.#call.signaling.send({ type: 'peerSignal', callId: this.#callId, signal });
  }

  #onMessage(message: PeerCallMessage): void {
    try {
      this.#handle(message);
    } catch (error) {
      this.#call.end({ code: CallErrorCode.TransportFailed, message: error instanceof Error ? error.message : String(error) });
    }
  }

  #handle(message: PeerCallMessage): void {
    const call = this.#call;
    const role = this.#role;
    switch (message.type) {
      case 'callAccepted': {
        if (call.transport) return; // said once only
        const remote = role.kind === 'incoming' ? role.caller : message.callee;
        this.#resumeToken = message.resumeToken;
        this.#resumeWindowMs = message.resumeWindowMs;
        call.rosterKnown([{ endpointId: REMOTE_PEER_ENDPOINT_ID, identity: remote.identity, displayName: remote.displayName }]);
        call.acceptConfirmed({ resumeWindowMs: message.resumeWindowMs });
        if (role.kind === 'outgoing') {
          call.answered();
          this.#offer();
        } else {
          this.#openTransport('answerer');
        }
        return;
      }
      case 'peerSignal':
        return this.#onSignal(message.signal);
      case 'peerCallEnded':
        call.end({ code: message.code, message: message.message });
        return;
    }
  }

  #onSignal(signal: PeerSignal): void {
    const caller = this.#role.kind === 'outgoing';
    const expected = caller ? signal.kind === 'answer' || signal.kind === 'reconnect' : signal.kind === 'offer';
    if (signal.kind !== 'candidate' && !expected) throw new CallError(CallErrorCode.TransportFailed, `unexpected ${signal.kind} from the other party`);
    const generation = signal.generation ?? 0;
    if (signal.kind === 'reconnect') return this.#onReconnect(generation);
    if (signal.kind === 'offer') return this.#onOffer(signal.sdp, generation);
    if (generation !== this.#generation) return; // for a transport given up since
    const transport = this.#call.transport;
    if (signal.kind === 'answer') {
      if (this.#unanswered === undefined) return; // a copy: this generation is answered already
      this.#unanswered = undefined;
      transport?.applyAnswer(signal.sdp);
    } else {
      transport?.addRemoteCandidate(signal.candidate, signal.mid);
    }
  }

  // ------------------------------------------------------------------------------------------ caller

  /** Opens the current generation's transport and offers it. */
  #offer(): void {
    const generation = this.#generation;
    const transport = this.#openTransport('offerer');
    this.#unanswered = undefined;
    transport.createOffer().then(
      (sdp) => {
        if (this.#call.transport !== transport) return; // replaced meanwhile
        this.#unanswered = sdp;
        this.#send({ kind: 'offer', sdp, generation });
      },
      () => undefined, // closed meanwhile: the call is ending, or a newer generation replaced it
    );
  }

  /**
   * A new transport, of the next generation, replaces the current one (suspending the call if it was live),
   * once signaling is usable (else on coming back) and at most every MIN_RESTART_INTERVAL_MS.
   */
  #restart(cause: string): void {
    const call = this.#call;
    const clock = call.clock;
    if (!call.dropTransport(cause)) return;
    clock.clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    if (!this.#usable) return; // coming back calls resume()
    const wait = this.#lastRestartAt + MIN_RESTART_INTERVAL_MS - clock.now();
    if (wait > 0) {
      this.#restartTimer = clock.setTimeout(() => {
        this.#restartTimer = undefined;
        if (call.suspended && !call.transport) this.#restart(cause);
      }, wait);
      return;
    }
    this.#lastRestartAt = clock.now();
    this.#generation++;
    this.#offer();
  }

  /** The callee wants an offer because its transport `generation` is gone. */
  #onReconnect(generation: number): void {
    if (generation > this.#generation) return; // never offered: nothing to act on
    if (generation < this.#generation) {
      // It has not seen the current offer: on its way (it crossed this request), or dropped while the callee
      // was away. The same offer again settles both: a callee ignores a copy of the offer it answered.
      if (this.#unanswered !== undefined) this.#send({ kind: 'offer', sdp: this.#unanswered, generation: this.#generation });
      return;
    }
    this.#restart('the other party lost the transport');
  }

  // ------------------------------------------------------------------------------------------ callee

  /** Asks the caller for a new transport's offer, naming the generation this party has now. */
  #askForOffer(): void {
    this.#send({ kind: 'reconnect', generation: this.#generation });
  }

  #onOffer(sdp: string, generation: number): void {
    const call = this.#call;
    if (generation < this.#generation || (generation === this.#generation && this.#answered)) return; // stale, or a copy
    if (generation > this.#generation) {
      // The caller restarted the transport: this one is given up, whether it still looked alive or not.
      if (!call.dropTransport('the other party restarted the transport')) {
        throw new CallError(CallErrorCode.TransportFailed, 'the other party restarted a transport this call cannot resume');
      }
      this.#generation = generation;
      this.#openTransport('answerer');
    }
    const transport = call.transport;
    if (!transport) return;
    this.#answered = true;
    transport.answer(sdp).then(
      (answer) => {
        if (call.transport !== transport) return;
        this.#send({ kind: 'answer', sdp: answer, generation });
        transport.openCandidateGate();
      },
      (error: unknown) => {
        if (call.transport === transport) call.end({ code: CallErrorCode.TransportFailed, message: `the offer was refused: ${String(error)}` });
      },
    );
  }

  // ------------------------------------------------------------------------------------------ both

  /** A transport of the current generation; its candidates go out tagged with it. */
  #openTransport(role: 'offerer' | 'answerer'): CallTransport {
    const generation = this.#generation;
    this.#answered = false;
    return this.#call.openTransport(role, (candidate, mid) => this.#send({ kind: 'candidate', candidate, mid, generation }));
  }
}
