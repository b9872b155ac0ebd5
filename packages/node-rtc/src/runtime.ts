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
  cleanupTimer: ReturnType<typeof setTimeout> | undefined;
}

function state(): RuntimeState {
  const holder = globalThis as unknown as Record<symbol, RuntimeState | undefined>;
  return (holder[STATE_KEY] ??= { references: 0, cleanupTimer: undefined });
}

/** Takes a reference on the native runtime; call once per peer connection created. */
export function acquireRtcRuntime(): void {
  const s = state();
  s.references++;
  if (s.cleanupTimer) {
    clearTimeout(s.cleanupTimer);
    s.cleanupTimer = undefined;
  }
}

/** Drops a reference; call once per peer connection, after closing it. */
export function releaseRtcRuntime(): void {
  const s = state();
  if (s.references === 0) return;
  s.references--;
  if (s.references === 0 && !s.cleanupTimer) {
    s.cleanupTimer = setTimeout(() => {
      s.cleanupTimer = undefined;
      if (s.references === 0) nodeDataChannel.cleanup();
    }, CLEANUP_DELAY_MS);
  }
}

/** Peer connections currently holding the runtime (for leak checks in tests). */
export function rtcRuntimeReferences(): number {
  return state().references;
}
