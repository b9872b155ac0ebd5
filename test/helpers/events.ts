/** Waiting on events with a timeout: the only way tests wait. No sleeps, no polling. */

const DEFAULT_TIMEOUT_MS = 15_000;

interface Emitter<Args extends unknown[]> {
  on(event: string, listener: (...args: Args) => void): void;
  off(event: string, listener: (...args: Args) => void): void;
}

/** Resolves with the arguments of the first `event` for which `predicate` holds. */
export function waitForEvent<Args extends unknown[] = unknown[]>(
  emitter: Emitter<Args>,
  event: string,
  predicate: (...args: Args) => boolean = () => true,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<Args> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`));
    }, timeoutMs);
    const listener = (...args: Args): void => {
      if (!predicate(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    emitter.on(event, listener);
  });
}

/** Resolves when `condition()` holds, checked after each `event`; at once if it already holds. */
export async function until<Args extends unknown[]>(
  emitter: Emitter<Args>,
  event: string,
  condition: () => boolean,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<void> {
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
