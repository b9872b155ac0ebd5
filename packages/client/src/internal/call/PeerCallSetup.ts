/**
 * A 1:1 call's setup: the caller rings the callee (or the callee has accepted), then the two parties
 * exchange SDP and ICE through the server, which relays them as they are. Everything here comes from the
 * other party: a description it sends out of turn, or one libdatachannel refuses, ends the call
 * (TransportFailed); nothing here throws.
 */
import { CallErrorCode, type PartyInfo, type PeerSignal, type WireDataChannelLimits } from '@backchannel/protocol';

import { CallError } from '../../errors.js';
import type { PeerCallMessage, RingingMessage } from '../signaling/SignalingClient.js';
import type { CallControl } from './CallControl.js';
import { REMOTE_PEER_ENDPOINT_ID } from './CallTransport.js';

export type PeerCallRole =
  | { kind: 'outgoing'; callee: string }
  | { kind: 'incoming'; callId: string; caller: PartyInfo; limits: WireDataChannelLimits };

export class PeerCallSetup {
  readonly #call: CallControl;
  readonly #role: PeerCallRole;
  #callId = '';

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

  /** The call is over: the other party hears it through the server, and its messages stop here. */
  leave(): void {
    if (!this.#callId) return;
    // An 'endCall' for a call the server already ended is ignored there.
    this.#call.signaling.send({ type: 'endCall', callId: this.#callId });
    this.#call.signaling.detachPeerCall(this.#callId);
  }

  #attach(callId: string, limits: WireDataChannelLimits): void {
    this.#callId = callId;
    this.#call.established({ callId, limits });
    this.#call.signaling.attachPeerCall(callId, {
      onMessage: (message) => this.#onMessage(message),
      onConnectionLost: (error) => this.#call.end({ code: error.code, message: error.message }),
    });
  }

  /** 1:1 calls are not resumed (yet): a lost transport ends them. */
  resume(): Promise<void> {
    return Promise.resolve();
  }

  #onMessage(message: PeerCallMessage): void {
    try {
      this.#handle(message);
    } catch (error) {
      this.#call.end({ code: CallErrorCode.TransportFailed, message: error instanceof Error ? error.message : String(error) });
    }
  }

  #send(signal: PeerSignal): void {
    this.#call.signaling.send({ type: 'peerSignal', callId: this.#callId, signal });
  }

  #handle(message: PeerCallMessage): void {
    const call = this.#call;
    const role = this.#role;
    switch (message.type) {
      case 'callAccepted': {
        if (call.transport) return; // said once only
        const remote = role.kind === 'incoming' ? role.caller : message.callee;
        call.rosterKnown([{ endpointId: REMOTE_PEER_ENDPOINT_ID, identity: remote.identity, displayName: remote.displayName }]);
        call.acceptConfirmed();
        const sendCandidate = (candidate: string, mid: string): void => this.#send({ kind: 'candidate', candidate, mid });
        if (role.kind === 'outgoing') {
          call.answered();
          call.openTransport('offerer', sendCandidate).createOffer().then(
            (sdp) => this.#send({ kind: 'offer', sdp }),
            () => undefined, // closed meanwhile: the call is ending
          );
        } else {
          call.openTransport('answerer', sendCandidate);
        }
        return;
      }
      case 'peerSignal': {
        const signal = message.signal;
        const answerer = role.kind === 'incoming';
        if (signal.kind !== 'candidate' && (signal.kind === 'offer') !== answerer) {
          throw new CallError(CallErrorCode.TransportFailed, `unexpected ${signal.kind} from the other party`);
        }
        const transport = call.transport;
        if (signal.kind === 'offer') {
          transport?.answer(signal.sdp).then(
            (sdp) => {
              this.#send({ kind: 'answer', sdp });
              transport.openCandidateGate();
            },
            (error: unknown) => call.end({ code: CallErrorCode.TransportFailed, message: `the offer was refused: ${String(error)}` }),
          );
        } else if (signal.kind === 'answer') {
          transport?.applyAnswer(signal.sdp);
        } else {
          transport?.addRemoteCandidate(signal.candidate, signal.mid);
        }
        return;
      }
      case 'peerCallEnded':
        call.end({ code: message.code, message: message.message });
        return;
    }
  }
}
