/**
 * Holds local ICE candidates until the remote description is applied.
 *
 * Without them the server cannot start connectivity checks early: libdatachannel can otherwise connect
 * ICE, and start DTLS, in the moment between taking the answer's ICE credentials and committing its
 * fingerprint, and then refuses the server's certificate ("unknown CA"). Holding them also keeps them from
 * overtaking the offer. (This was a ~5% join failure; see docs/protocol.md, "Joining a call".)
 */
export class CandidateGate {
  #held: { candidate: string; mid: string }[] | undefined = [];
  readonly #send: (candidate: string, mid: string) => void;

  constructor(send: (candidate: string, mid: string) => void) {
    this.#send = send;
  }

  /** A local candidate: sent at once if the gate is open, held otherwise. */
  offer(candidate: string, mid: string): void {
    if (this.#held) this.#held.push({ candidate, mid });
    else this.#send(candidate, mid);
  }

  /** The remote description is applied: held candidates go now, later ones at once. Idempotent. */
  open(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const { candidate, mid } of held) this.#send(candidate, mid);
  }
}
