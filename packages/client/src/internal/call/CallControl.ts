/**
 * What a call's setup flow (a group join, or a 1:1 call placed or accepted) may do to its call. The flows
 * run the signaling; the call owns the state. Implemented by CallCore.
 */
import type { Clock, ParticipantInfo, WireDataChannelLimits } from '@backchannel/protocol';

import type { CallState, EndCause } from '../../callTypes.js';
import type { SignalingClient } from '../signaling/SignalingClient.js';
import type { CallTransport } from './CallTransport.js';

// Inside the SDK a call's end is an EndCause; CallCore knows it by the name CallEndReason.
export type { CallState, EndCause, EndCause as CallEndReason };

export interface CallControl {
  readonly signaling: SignalingClient;
  /** The agent's clock, for the flows' own timers. */
  readonly clock: Clock;
  readonly state: CallState;
  /** The transport, once `openTransport` made it. */
  readonly transport: CallTransport | undefined;
  /**
   * The server took the call: its id, this endpoint's id (group calls), the limits it advertised, and what
   * it keeps the endpoint for after a loss (group calls: `resumeWindowMs`, 0 for none).
   */
  established(details: { callId: string; endpointId?: number; limits: WireDataChannelLimits; resumeWindowMs?: number }): void;
  /** Creates the peer connection; local candidates go through `sendCandidate` once the gate opens. */
  openTransport(role: 'offerer' | 'answerer', sendCandidate: (candidate: string, mid: string) => void): CallTransport;
  /** The first roster is known (a group call's `connected`, a 1:1 call's answer). */
  rosterKnown(participants: readonly ParticipantInfo[]): void;
  updateRoster(joined: readonly ParticipantInfo[], leftEndpointIds: readonly number[]): void;
  /**
   * The server no longer had this endpoint (it restarted) and the flow joined the call again as a new one
   * (`details` as in {@link established}): what the old endpoint had in flight is reported undelivered, its
   * receivers close, its senders go on in new sessions, and the next transport starts a new link.
   */
  rejoined(details: { callId: string; endpointId: number; limits: WireDataChannelLimits; resumeWindowMs: number }): void;
  /** After a resume: the roster is `participants` now (who joined or left meanwhile is announced). */
  replaceRoster(participants: readonly ParticipantInfo[]): void;
  /**
   * The endpoint lost its signaling connection or its transport. True if the call keeps it, suspended, for
   * a resume; false if it cannot (not connected yet, no resume window): the flow ends it as before. A 1:1
   * call already suspended (its replacement transport failed too) asks its flow to try again. With
   * `endReason` (the server shut down to restart), the call ends with that reason, not ConnectionLost, if
   * the resume window passes before it is back.
   */
  suspend(cause: string, endReason?: EndCause): boolean;
  /**
   * 1:1: the current transport is given up for one the flow opens next (the other party restarted it): the
   * call is suspended if it was live, and the flow is not asked to resume. False if it cannot be suspended.
   */
  dropTransport(cause: string): boolean;
  /** Suspended and waiting to resume. */
  readonly suspended: boolean;
  /** 1:1: the callee's agents ring; the connect timer gives way to the server's ring timeout. */
  ringing(): void;
  /** 1:1: the callee answered; connecting again, under the connect timer. */
  answered(): void;
  /**
   * 1:1: the call is accepted (this agent is confirmed as the one that accepted, or the callee answered),
   * and the server keeps it `resumeWindowMs` for this party after a lost connection (0: not at all).
   */
  acceptConfirmed(details: { resumeWindowMs: number }): void;
  end(reason: EndCause): void;
  /** The application hung up for everyone: leaving, the flow asks the server to end the call for all. */
  readonly endingForEveryone: boolean;
}
