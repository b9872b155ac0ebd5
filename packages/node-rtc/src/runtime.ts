/**
 * Lifetime of libdatachannel's native runtime in this process.
 *
 * node-datachannel keeps the process alive until `cleanup()` is called, and calling `cleanup()` while a
 * peer connection is still tearing down can crash. So every user of node-datachannel in the process (the
 * SDK's Node transport and the server, possibly in one test process) holds a reference while it has peer
 * connections open, and the runtime is cleaned up shortly after the last reference goes. The counter lives
 * on `globalThis` under a registered symbol so that copies of this module loaded twice still agree.
 */
import nodeDataChannel from 'node-datachannel';

const STATE_KEY = Symbol.for('backchannel.rtc-runtime');
/**
 * Grace period between the last release and cleanup, so that closing connections finish their teardown
 * (libdatachannel tears down on its own threads); cleaning up under a teardown still running can crash the
 * process. Generous, since a busy 2-core machine delays those threads: the only cost is that an otherwise
 * idle process exits this much later.
 */
const CLEANUP_DELAY_MS = 500;

interface RuntimeState {
  references: number;
  /**
   * Of the references, those held by long-lived native objects other than peer connections (a server's
   * ICE mux listener, held for the server's life): not counted by rtcRuntimeReferences, which leak checks
   * read while another server of the process may still run.
   */
  others?: number;
  cleanupTimer: ReturnType<typeof setTimeout> | undefined;
  /** The runtime was cleaned up and no connection has been created since. */
  cleaned: boolean;
  /** A connection was ever created in this process (else there is no runtime to clean up). */
  used: boolean;
}

function state(): RuntimeState {
  const holder = globalThis as unknown as Record<symbol, RuntimeState | undefined>;
  return (holder[STATE_KEY] ??= { references: 0, cleanupTimer: undefined, cleaned: false, used: false });
}

/**
 * Takes a reference on the native runtime; call once per peer connection created, or with `kind`
 * 'other' for another native object that needs the runtime while it lives (an ICE mux listener).
 */
export function acquireRtcRuntime(kind: 'peerConnection' | 'other' = 'peerConnection'): void {
  const s = state();
  s.references++;
  if (kind === 'other') s.others = (s.others ?? 0) + 1;
  s.cleaned = false;
  s.used = true;
  if (s.cleanupTimer) {
    clearTimeout(s.cleanupTimer);
    s.cleanupTimer = undefined;
  }
}

/** Drops a reference; call once per peer connection, after closing it (with the `kind` it was taken with). */
export function releaseRtcRuntime(kind: 'peerConnection' | 'other' = 'peerConnection'): void {
  const s = state();
  if (s.references === 0) return;
  s.references--;
  if (kind === 'other' && s.others) s.others--;
  if (s.references === 0 && !s.cleanupTimer) {
    s.cleanupTimer = setTimeout(() => {
      s.cleanupTimer = undefined;
      if (s.references === 0) cleanup(s);
    }, CLEANUP_DELAY_MS);
  }
}

/**
 * For a process about to exit: resolves once the native runtime is down, so that no libdatachannel thread
 * (poll, worker, SCTP timer) outlives the connections and holds the exit up. After connections were
 * closed it waits out their teardown first (CLEANUP_DELAY_MS). With `force` — a shutdown past its
 * deadline — it cleans up at once, whatever references are still held.
 */
export async function shutdownRtcRuntime(options: { force?: boolean } = {}): Promise<void> {
  const s = state();
  if (!s.used) return;
  if (options.force) {
    if (s.cleanupTimer) clearTimeout(s.cleanupTimer);
    s.cleanupTimer = undefined;
    s.references = 0;
    s.others = 0;
    if (!s.cleaned) cleanup(s);
    return;
  }
  if (s.references > 0 || s.cleaned) return;
  if (s.cleanupTimer) clearTimeout(s.cleanupTimer);
  s.cleanupTimer = undefined;
  await new Promise((resolve) => setTimeout(resolve, CLEANUP_DELAY_MS));
  if (s.references === 0 && !s.cleaned) cleanup(s);
}

function cleanup(s: RuntimeState): void {
  s.cleaned = true;
  nodeDataChannel.cleanup();
}

/** Peer connections currently holding the runtime (for leak checks in tests; other holders are not counted). */
export function rtcRuntimeReferences(): number {
  const s = state();
  return s.references - (s.others ?? 0);
}
