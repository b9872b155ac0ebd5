/**
 * One participant of a system under test, as the benchmark drives it: joined to a room, able to send a
 * payload to everyone else or to chosen participants, and reporting every payload it receives.
 */
export interface Participant {
  /** The benchmark's name for it, unique in the run. */
  readonly key: string;
  /** How others address it in this system (identity, socket id, client id, or the key for raw peers). */
  readonly address: string;
  /** Sends to `to` (addresses), or to everyone else in the room when undefined. Never throws. */
  send(payload: Uint8Array, to: readonly string[] | undefined): void;
  /** Leaves and releases everything. Idempotent. */
  close(): Promise<void>;
}

export interface ParticipantHooks {
  /** A payload arrived (the system's framing already removed). */
  onPayload(bytes: Uint8Array): void;
  /** The system refused a message at the sender (counted as loss). */
  onRefused(): void;
}

/** Rejects after `ms` unless `promise` settles first. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}

/** How long one participant may take to join before the benchmark gives up on it. */
export const JOIN_TIMEOUT_MS = 60_000;
