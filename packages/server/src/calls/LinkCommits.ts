/**
 * What of one local sender's Durable link frames is safe from this node's loss (docs/cluster.md, "A node
 * lost"): its **commit**. A frame is committed once every other node it was handed to has acknowledged the
 * record that carried it (NodeLink), or that node's link is closed for good. A frame routed only to this
 * node's endpoints, or refused (its sender told), is committed as soon as those before it are: its fate no
 * longer depends on a link that dies with this node.
 *
 * The server's acknowledgement of a frame (LinkAck) says only that the frame reached this node; with the
 * node's death whatever waited in its links to other nodes would be lost without a word. The SDK therefore
 * keeps what is acknowledged until it is committed (LinkCommit, protocol 4), and reports what is still
 * uncommitted undelivered when it must join again elsewhere. Commits never hold back the sender's flow:
 * its acknowledgements go on as before.
 *
 * Cost: nothing per message. Frames forwarded between two acknowledgements from the other nodes share one
 * checkpoint (the highest record number per node they used), so there is one small object per sender per
 * acknowledgement round, and none at all for a sender whose messages stay on this node.
 */
import type { AckWaiter, PeerNode } from './CallSpan.js';

/** Frames forwarded to other nodes between two settlements: committed together. */
interface Checkpoint {
  /** The first and last link frame numbers it covers (mod 2^32, as the link counts). */
  readonly first: number;
  last: number;
  /** The nodes they were handed to, and the number of the last record each carried. */
  readonly nodes: PeerNode[];
  readonly records: number[];
}

export class LinkCommits implements AckWaiter {
  /** The link frames received from the sender so far (EndpointLink.received). */
  readonly #received: () => number;
  /** Tells the sender how many of its frames are committed (a LinkCommit, when its link is live). */
  readonly #tell: (committed: number) => void;
  /** Oldest first; the last one is still open to more frames until the next settlement. */
  readonly #pending: Checkpoint[] = [];
  #tailOpen = false;
  /** The nodes this is watching (those named by a pending checkpoint). */
  readonly #watching = new Set<PeerNode>();

  constructor(received: () => number, tell: (committed: number) => void) {
    this.#received = received;
    this.#tell = tell;
  }

  /** Frames committed: every frame received so far, but those of the oldest pending checkpoint onward. */
  get committed(): number {
    const head = this.#pending[0];
    return head === undefined ? this.#received() : (head.first - 1) >>> 0;
  }

  /** Checkpoints waiting for other nodes (for tests and diagnostics). */
  get pendingCheckpoints(): number {
    return this.#pending.length;
  }

  /** The frame just received (the link's latest) was handed to `node` as the last record it numbered. */
  forwarded(node: PeerNode): void {
    const frame = this.#received();
    let tail = this.#tailOpen ? this.#pending[this.#pending.length - 1] : undefined;
    if (tail === undefined) {
      tail = { first: frame, last: frame, nodes: [], records: [] };
      this.#pending.push(tail);
      this.#tailOpen = true;
    }
    tail.last = frame;
    const at = tail.nodes.indexOf(node);
    if (at >= 0) tail.records[at] = node.numbered;
    else {
      tail.nodes.push(node);
      tail.records.push(node.numbered);
    }
    if (!this.#watching.has(node)) {
      this.#watching.add(node);
      node.watch(this);
    }
  }

  /**
   * A node acknowledged records, or its link closed: the checkpoints now covered are committed, and the
   * sender is told. The open checkpoint is closed to further frames, so that a steady stream commits at
   * the pace of the acknowledgements instead of growing one checkpoint for ever.
   */
  settle(): void {
    this.#tailOpen = false;
    const pending = this.#pending;
    let done = 0;
    while (done < pending.length && covered(pending[done]!)) done++;
    if (done === 0) return;
    pending.splice(0, done);
    if (pending.length === 0) this.#unwatchAll();
    this.#tell(this.committed);
  }

  /** The endpoint is gone: nothing more to commit. */
  dispose(): void {
    this.#pending.length = 0;
    this.#unwatchAll();
  }

  #unwatchAll(): void {
    for (const node of this.#watching) node.unwatch(this);
    this.#watching.clear();
  }
}

/** Every node the checkpoint's frames went to has them, or never will (its link is closed for good). */
function covered(checkpoint: Checkpoint): boolean {
  for (let i = 0; i < checkpoint.nodes.length; i++) {
    const node = checkpoint.nodes[i]!;
    if (!node.closed && node.acknowledgedCount < checkpoint.records[i]!) return false;
  }
  return true;
}
