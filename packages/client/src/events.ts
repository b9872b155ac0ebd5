/**
 * A small typed event emitter (the idea of mediasoup's `EnhancedEventEmitter` and `safeEmit`).
 *
 * - Event names and argument tuples are checked by the compiler: an event map is an interface with no
 *   index signature, so `call.on('stateChange', …)` or `receiver.on('mesageReady', …)` does not compile.
 * - Listeners are isolated: one that throws is reported to the emitter's {@link ListenerErrorReporter} and
 *   the others still run, so application code can never break delivery or corrupt SDK state.
 */

/** Where an error thrown by an application's listener goes: set per client (`CallClient` options). */
export type ListenerErrorReporter = (error: unknown, event: string) => void;

/** The default reporter: the console. */
export const consoleListenerErrorReporter: ListenerErrorReporter = (error, event) => {
  console.error(`[backchannel] a listener for '${event}' threw:`, error);
};

/** An event map: event name → the listener's argument tuple. */
export type EventMap<Events> = { [E in keyof Events]: unknown[] };

export type Listener<Args extends unknown[]> = (...args: Args) => void;

/** A listener of a `…Changed` event, which carries nothing: read the property (reference SDK: `PropertyChangedEvent`). */
export type PropertyChangedEvent = () => void;

/** A listener of a `…Updated` event of a collection (reference SDK: `CollectionUpdatedEvent`). */
export type CollectionUpdatedEvent<T> = (args: { added: T[]; removed: T[] }) => void;

export class TypedEmitter<Events extends EventMap<Events>> {
  /** Type-only (never set at run time): this emitter's event map, for helpers typed by it. */
  declare readonly '~events'?: Events;
  readonly #listeners = new Map<keyof Events, Set<Listener<never[]>>>();
  readonly #reportListenerError: ListenerErrorReporter;

  /** @internal */
  constructor(reportListenerError: ListenerErrorReporter = consoleListenerErrorReporter) {
    this.#reportListenerError = reportListenerError;
  }

  on<E extends keyof Events & string>(event: E, listener: Listener<Events[E]>): void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as unknown as Listener<never[]>);
  }

  off<E extends keyof Events & string>(event: E, listener: Listener<Events[E]>): void {
    this.#listeners.get(event)?.delete(listener as unknown as Listener<never[]>);
  }

  once<E extends keyof Events & string>(event: E, listener: Listener<Events[E]>): void {
    const wrapper = ((...args: Events[E]) => {
      this.off(event, wrapper);
      listener(...args);
    }) as Listener<Events[E]>;
    this.on(event, wrapper);
  }

  /** Calls every listener of `event`; a throwing listener is reported, never propagated. */
  protected emit<E extends keyof Events & string>(event: E, ...args: Events[E]): void {
    const set = this.#listeners.get(event);
    if (!set || set.size === 0) return;
    for (const listener of [...set]) {
      try {
        (listener as unknown as Listener<Events[E]>)(...args);
      } catch (error) {
        this.#reportListenerError(error, event);
      }
    }
  }

  /** Reports an error thrown by application code this object called (a callback option, say). */
  protected reportListenerError(error: unknown, event: string): void {
    this.#reportListenerError(error, event);
  }

  /** @internal The reporter, for the objects this one creates or wraps. */
  get listenerErrorReporter(): ListenerErrorReporter {
    return this.#reportListenerError;
  }
}
