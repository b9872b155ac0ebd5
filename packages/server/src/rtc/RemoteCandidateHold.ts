/**
 * The client's trickled ICE candidates, held back from the server's ICE agent until that agent has
 * connected (through the client's own checks) or at most {@link MAX_HOLD_MS}.
 *
 * Why: the server answers, so it is the DTLS client (`a=setup:active`) and sends the first DTLS flight as
 * soon as its ICE connects. Given the client's candidates, it often connects first, through its own checks,
 * and its ClientHello reaches the client while the client's DtlsTransport is still starting. libdatachannel
 * 0.24.5 (impl/dtlstransport.cpp, OpenSSL) registers for incoming packets before it enters Connecting, and
 * a packet handled in between is queued but not read (doRecv returns early outside Connecting/Connected):
 * it waits for the next packet, which is the server's retransmission one second later. About one join in
 * ten took a second longer so. Without the client's candidates the server connects only through the
 * client's checks, answered as peer-reflexive, that is after the client has connected and started its DTLS,
 * and the first flight is read at once. The cap keeps a path open where only the server's checks get
 * through (a client behind a NAT that needs the server's checks to open it).
 */

/** Longest the candidates are held, ms: past it they are applied whatever the ICE state. */
export const MAX_HOLD_MS = 500;

/** One peer connection's held candidates (see the module comment). */
export class RemoteCandidateHold {
  readonly #apply: (candidate: string, mid: string) => void;
  #held: { candidate: string; mid: string }[] = [];
  #releasing = false;
  #discarded = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `apply` hands one candidate to the ICE agent. */
  constructor(apply: (candidate: string, mid: string) => void) {
    this.#apply = apply;
  }

  /** Holds the candidate, or applies it once the hold is over. */
  add(candidate: string, mid: string): void {
    if (this.#discarded) return;
    if (this.#releasing) {
      this.#apply(candidate, mid);
      return;
    }
    this.#held.push({ candidate, mid });
    this.#timer ??= setTimeout(() => this.release(), MAX_HOLD_MS);
  }

  /** The server's ICE connected, or the cap passed: applies what is held, and everything from now on. */
  release(): void {
    if (this.#releasing || this.#discarded) return;
    this.#releasing = true;
    this.#clearTimer();
    const held = this.#held;
    this.#held = [];
    for (const { candidate, mid } of held) this.#apply(candidate, mid);
  }

  /** The connection closed: nothing is applied any more. */
  discard(): void {
    this.#discarded = true;
    this.#held = [];
    this.#clearTimer();
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
