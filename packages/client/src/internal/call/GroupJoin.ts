/**
 * Joining a group call: the join request, the offer of this endpoint's peer connection to the server, and
 * the server's messages about the endpoint (answer, candidates, roster, end).
 */
import { CallErrorCode } from '@backchannel/protocol';

import { CallError } from '../../errors.js';
import type { EndpointMessage } from '../signaling/SignalingClient.js';
import type { CallControl } from './CallControl.js';

export class GroupJoin {
  readonly #call: CallControl;
  #endpointId = 0;
  #groupId = '';
  /** The server's run when the endpoint joined: a resume refused by another run means it restarted. */
  #serverRun: string | undefined;
  #resumeToken = '';
  #resuming = false;

  constructor(call: CallControl) {
    this.#call = call;
  }

  /** This endpoint's id on the server; 0 until the join is accepted. */
  get endpointId(): number {
    return this.#endpointId;
  }

  async start(groupId: string): Promise<void> {
    const call = this.#call;
    const signaling = call.signaling;
    this.#groupId = groupId;
    try {
      const joined = await signaling.join(groupId);
      if (call.state !== 'Connecting') {
        signaling.send({ type: 'leave', endpointId: joined.endpointId });
        return;
      }
      this.#endpointId = joined.endpointId;
      this.#resumeToken = joined.resumeToken;
      this.#serverRun = signaling.serverRun;
      call.established({ callId: joined.callId, endpointId: joined.endpointId, limits: joined.limits, resumeWindowMs: joined.resumeWindowMs });
      this.#attach();
      const transport = call.openTransport('offerer', (candidate, mid) =>
        signaling.send({ type: 'candidate', endpointId: this.#endpointId, candidate, mid }),
      );
      const sdp = await transport.createOffer();
      signaling.send({ type: 'offer', endpointId: this.#endpointId, sdp });
    } catch (error) {
      const code = error instanceof CallError ? error.code : CallErrorCode.TransportFailed;
      call.end({ code, message: error instanceof Error ? error.message : String(error) });
    }
  }

  /** This endpoint's signaling: the server's messages about it, and the connection's loss and return. */
  #attach(): void {
    const call = this.#call;
    call.signaling.attachEndpoint(this.#endpointId, {
      onMessage: (message) => this.#onSignaling(message),
      onConnectionLost: (error) => call.end({ code: error.code, message: error.message }),
      onDisconnected: (error) => {
        // A server shutting down closes with ServerShutdown and does not end the call (it restarts, and the
        // call is joined again): past the window, that is why it ends.
        const shutdown = error.code === CallErrorCode.ServerShutdown ? { code: error.code, message: error.message } : undefined;
        if (!call.suspend(`signaling connection lost: ${error.message}`, shutdown)) call.end({ code: error.code, message: error.message });
      },
      onReconnected: () => void this.resume(),
    });
  }

  #onSignaling(message: EndpointMessage): void {
    const call = this.#call;
    switch (message.type) {
      case 'answer':
        try {
          call.transport?.applyAnswer(message.sdp);
        } catch (error) {
          call.end({ code: CallErrorCode.TransportFailed, message: String(error) });
        }
        return;
      case 'candidate':
        call.transport?.addRemoteCandidate(message.candidate, message.mid);
        return;
      case 'connected':
        // After a rejoin this is the new endpoint's first roster: it replaces what the call showed.
        if (call.state === 'Connected') call.replaceRoster(message.participants);
        else call.rosterKnown(message.participants);
        return;
      case 'participantsChanged':
        call.updateRoster(message.joined, message.left);
        return;
      case 'callEnded':
      case 'error':
        call.end({ code: message.code, message: message.message });
        return;
    }
  }

  /**
   * Takes the endpoint back after a loss (docs/reliability.md): `resume` over the signaling connection,
   * then a new peer connection, offered as at the join. Waits for the connection if it is down (the
   * reconnection calls this again). A refusal with NotFound from another run of the server than the one
   * joined (it restarted and lost the endpoint) joins the call again as a new endpoint, within the call's
   * own resume window; any other refusal ends the call.
   */
  async resume(): Promise<void> {
    const call = this.#call;
    const signaling = call.signaling;
    if (this.#resuming || !call.suspended || !signaling.isOpen) return;
    this.#resuming = true;
    try {
      const resumed = await signaling.resume(this.#endpointId, this.#resumeToken).catch(async (error: unknown) => {
        // Only a server that restarted lost the endpoint; the same run ended it on purpose (and says why).
        const restarted = this.#serverRun !== undefined && signaling.serverRun !== this.#serverRun;
        if (!(error instanceof CallError) || error.code !== CallErrorCode.NotFound || !restarted) throw error;
        await this.#rejoin();
        return undefined;
      });
      if (!resumed || !call.suspended) return;
      call.replaceRoster(resumed.participants);
      const transport = call.openTransport('offerer', (candidate, mid) =>
        signaling.send({ type: 'candidate', endpointId: this.#endpointId, candidate, mid }),
      );
      const sdp = await transport.createOffer();
      signaling.send({ type: 'offer', endpointId: this.#endpointId, sdp });
    } catch (error) {
      if (!(error instanceof CallError)) throw error;
      // Lost again meanwhile, or the server is shutting down to restart: the reconnection will call again.
      // Anything else is final.
      if (error.code === CallErrorCode.ServerShutdown) call.suspend(error.message, { code: error.code, message: error.message });
      else if (error.code !== CallErrorCode.ConnectionLost) {
        call.end({ code: CallErrorCode.ConnectionLost, message: `the call could not be resumed: ${error.message}` });
      }
    } finally {
      this.#resuming = false;
    }
  }

  /** Joins the call again as a new endpoint (see {@link resume}) and offers its first transport. */
  async #rejoin(): Promise<void> {
    const call = this.#call;
    const signaling = call.signaling;
    const joined = await signaling.join(this.#groupId);
    if (!call.suspended) {
      signaling.send({ type: 'leave', endpointId: joined.endpointId });
      return;
    }
    signaling.detachEndpoint(this.#endpointId);
    this.#endpointId = joined.endpointId;
    this.#resumeToken = joined.resumeToken;
    this.#serverRun = signaling.serverRun;
    call.rejoined({ callId: joined.callId, endpointId: joined.endpointId, limits: joined.limits, resumeWindowMs: joined.resumeWindowMs });
    this.#attach();
    const transport = call.openTransport('offerer', (candidate, mid) =>
      signaling.send({ type: 'candidate', endpointId: this.#endpointId, candidate, mid }),
    );
    signaling.send({ type: 'offer', endpointId: this.#endpointId, sdp: await transport.createOffer() });
  }

  /** The call is over: the server hears that this endpoint is gone, and its messages stop here. */
  leave(): void {
    if (!this.#endpointId) return;
    // Whoever ended it, the server hears it (it may not know: a local timeout, a transport failure). A
    // 'leave' for an endpoint the server already ended is ignored there. It goes after hangUp's flush, so
    // for everyone or not, what this endpoint sent is at the server before the call ends.
    const forEveryone = this.#call.endingForEveryone;
    this.#call.signaling.send({ type: 'leave', endpointId: this.#endpointId, ...(forEveryone && { forEveryone }) });
    this.#call.signaling.detachEndpoint(this.#endpointId);
  }
}
