/**
 * A small typed event emitter for the server's objects (mediasoup's EnhancedEventEmitter, cut down): event
 * names and argument tuples are declared once per class, and a listener that throws is reported, never
 * allowed to break the emitting object's state change or the listeners after it.
 */

/** Event names to argument tuples, e.g. `{ close: [reason: string] }`. */
export type EventMap = { [event: string]: unknown[] };

type Listener<Args extends unknown[]> = (...args: Args) => void;

/** Where a throwing listener is reported: by default a process warning (it must never become a crash). */
export type ListenerErrorReporter = (error: unknown, event: string) => void;

const warn: ListenerErrorReporter = (error, event) =>
  process.emitWarning(`a '${event}' listener threw: ${error instanceof Error ? error.message : String(error)}`, 'BackchannelListenerError');

/** A typed emitter whose listeners are isolated from each other and from the emitting object. */
export class Emitter<Events extends EventMap> {
  readonly #listeners = new Map<keyof Events, Listener<never>[]>();
  readonly #reportListenerError: ListenerErrorReporter;

  constructor(reportListenerError: ListenerErrorReporter = warn) {
    this.#reportListenerError = reportListenerError;
  }

  /** Calls `listener` on every `event` until it is removed with {@link off}. */
  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    const listeners = this.#listeners.get(event);
    if (listeners) listeners.push(listener);
    else this.#listeners.set(event, [listener]);
    return this;
  }

  /** Removes `listener` from `event` (once, if it was added more than once). */
  off<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    const listeners = this.#listeners.get(event);
    const index = listeners?.indexOf(listener) ?? -1;
    if (index >= 0) listeners!.splice(index, 1);
    return this;
  }

  /** Listeners of `event` now. */
  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /**
   * Calls every listener of `event`, in the order they were added, each isolated: one that throws is
   * reported and the others still run. Listeners added or removed meanwhile take effect from the next emit.
   */
  protected safeEmit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    const listeners = this.#listeners.get(event);
    if (!listeners || listeners.length === 0) return;
    for (const listener of [...listeners] as Listener<Events[E]>[]) {
      try {
        listener(...args);
      } catch (error) {
        this.#reportListenerError(error, String(event));
      }
    }
  }
}
