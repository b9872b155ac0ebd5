/**
 * A small typed event emitter. Listeners are isolated: one that throws is reported and the others still
 * run, so application code can never break delivery or corrupt SDK state (the idea of mediasoup's
 * `safeEmit`).
 */
export type EventMap = Record<string, unknown[]>;
export type Listener<Args extends unknown[]> = (...args: Args) => void;

/** Where errors thrown by application listeners go. Replaceable for tests and embedding. */
export let reportListenerError: (error: unknown, event: string) => void = (error, event) => {
  console.error(`[backchannel] a listener for '${event}' threw:`, error);
};

export function setListenerErrorReporter(reporter: (error: unknown, event: string) => void): void {
  reportListenerError = reporter;
}

export class TypedEmitter<Events extends EventMap> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never[]>>>();

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
        reportListenerError(error, event);
      }
    }
  }


}
