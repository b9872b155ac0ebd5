/**
 * Waiting on events with a timeout: the only way tests wait. No sleeps, and polling (`eventually`) only for
 * state outside this process that has no events to wait on: what Redis holds, a node's HTTP answers.
 *
 * Typed the way the SDK's emitters are: on an SDK object the event name must be one of its events and the
 * predicate gets that event's arguments, so a misspelt name fails to compile here as in application code
 * (test/unit/eventNames.types.ts). Plain Node emitters (a child process, a test's own EventEmitter) take
 * any name.
 */
const DEFAULT_TIMEOUT_MS = 15_000;

/** Event names of an emitter: an SDK object's own, any string for a plain Node emitter. */
type EventName<T> = T extends { readonly '~events'?: infer Events } ? keyof NonNullable<Events> & string : string;
/** The listener arguments of `event` on `T`. */
type EventArgs<T, E> = T extends { readonly '~events'?: infer Events }
  ? E extends keyof NonNullable<Events>
    ? Extract<NonNullable<Events>[E], unknown[]>
    : never
  : unknown[];

/** What the implementation needs of any emitter, typed or not. */
interface LooseEmitter {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** Resolves with the arguments of the first `event` for which `predicate` holds. */
export function waitForEvent<T extends object, E extends EventName<T>>(
  emitter: T,
  event: E,
  predicate: (...args: EventArgs<T, E>) => boolean = () => true,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<EventArgs<T, E>> {
  const source = emitter as unknown as LooseEmitter;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      source.off(event, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`));
    }, timeoutMs);
    const listener = (...args: unknown[]): void => {
      if (!predicate(...(args as EventArgs<T, E>))) return;
      clearTimeout(timer);
      source.off(event, listener);
      resolve(args as EventArgs<T, E>);
    };
    source.on(event, listener);
  });
}

/** Resolves when `condition()` holds, checked after each `event`; at once if it already holds. */
export async function until<T extends object, E extends EventName<T>>(emitter: T, event: E, condition: () => boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  if (condition()) return;
  await waitForEvent(emitter, event, () => condition(), timeoutMs);
}

/** Rejects if `promise` does not settle within `timeoutMs`. */
export function within<T>(promise: Promise<T>, what: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    }),
  ]);
}

/** Polls `condition` every 100 ms until it holds (at most `timeoutMs`); see the module comment for when. */
export async function eventually(condition: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
