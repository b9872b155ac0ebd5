/**
 * A 1:1 call ringing this agent, until it is accepted, rejected, or stops ringing (the caller hung up,
 * nobody answered, another device accepted). The public IncomingCall wraps it.
 */
import { PeerCallEndCode, type PartyInfo, type WireDataChannelLimits } from '@backchannel/protocol';

import { TypedEmitter, type ListenerErrorReporter } from '../../events.js';
import type { EndCause } from '../../callTypes.js';
import type { SignalingClient } from '../signaling/SignalingClient.js';

export interface RingingEvents {
  ended: [reason: EndCause];
}

export interface RingingOptions {
  readonly callId: string;
  readonly caller: PartyInfo;
  readonly limits: WireDataChannelLimits;
  readonly signaling: SignalingClient;
  readonly reportListenerError: ListenerErrorReporter;
}

export class Ringing extends TypedEmitter<RingingEvents> {
  readonly callId: string;
  readonly caller: PartyInfo;
  readonly limits: WireDataChannelLimits;
  readonly #options: RingingOptions;
  #endReason: EndCause | undefined;
  #answered = false;

  constructor(options: RingingOptions) {
    super(options.reportListenerError);
    this.#options = options;
    this.callId = options.callId;
    this.caller = options.caller;
    this.limits = options.limits;
    // Until accepted, this listens for the end of the ringing; accepting hands over to the call.
    options.signaling.attachPeerCall(options.callId, {
      onMessage: (message) => {
        if (message.type !== 'peerCallEnded') return;
        options.signaling.detachPeerCall(options.callId);
        this.#ended({ code: message.code, message: message.message });
      },
      onConnectionLost: (error) => this.#ended({ code: error.code, message: error.message }),
    });
  }

  get endReason(): EndCause | undefined {
    return this.#endReason;
  }

  /** Accepted or rejected already. */
  get answered(): boolean {
    return this.#answered;
  }

  /** This agent accepts: from now on the accepted call hears the server about this callId. */
  markAccepted(): void {
    this.#answered = true;
  }

  reject(): void {
    if (this.#endReason || this.#answered) return;
    this.#answered = true;
    this.#options.signaling.send({ type: 'rejectCall', callId: this.callId });
    this.#options.signaling.detachPeerCall(this.callId); // the server tells everyone but the rejecting agent
    this.#ended({ code: PeerCallEndCode.Rejected, message: 'the call was rejected' });
  }

  #ended(reason: EndCause): void {
    if (this.#endReason) return;
    this.#endReason = reason;
    this.emit('ended', reason);
  }
}
