/**
 * Open-loop sending: each stream sends `ratePerStream` messages a second for a duration, on schedule,
 * whether or not earlier messages have arrived (so an overloaded system shows growing latency, not a
 * politely slower sender). Streams start at random phases so that a thousand senders do not fire in step.
 */
import { clockMs, encodeProbe } from './probe.js';
import type { Participant } from './participant.js';
import type { SendResult, StreamSpec } from './messages.js';

/** How often the pacer wakes up; messages due meanwhile leave together. */
const TICK_MS = 1;

export interface PacedRun {
  streams: readonly { spec: StreamSpec; participant: Participant }[];
  size: number;
  ratePerStream: number;
  durationMs: number;
  windowId: number;
}

/** Runs the streams to the end; `refused` counts what the systems refused at the sender. */
export function runStreams(run: PacedRun, refusals: { count: number }): Promise<SendResult> {
  const intervalMs = 1000 / run.ratePerStream;
  const perStream = Math.max(1, Math.floor((run.durationMs / 1000) * run.ratePerStream));
  const states = run.streams.map((stream) => ({ ...stream, phase: Math.random() * intervalMs, sent: 0 }));
  const startedAt = performance.now();
  const refusedBefore = refusals.count;
  let sent = 0;
  return new Promise((resolve) => {
    const tick = (): void => {
      const elapsed = performance.now() - startedAt;
      let pending = false;
      for (const s of states) {
        const due = Math.min(perStream, elapsed < s.phase ? 0 : Math.floor((elapsed - s.phase) / intervalMs) + 1);
        while (s.sent < due) {
          // A new payload per message: a system may still hold the previous one in a send queue.
          s.participant.send(encodeProbe(run.size, clockMs(), run.windowId, s.spec.index), s.spec.to);
          s.sent++;
          sent++;
        }
        if (s.sent < perStream) pending = true;
      }
      if (pending) setTimeout(tick, TICK_MS);
      else resolve({ sent, refused: refusals.count - refusedBefore });
    };
    tick();
  });
}
