/** A tiny typed event emitter (no dependency on Node's or the DOM's). */
export class Emitter<M extends object> {
  readonly #handlers = new Map<keyof M, Set<(payload: never) => void>>();

  /** Adds a handler; returns a function that removes it. */
  on<K extends keyof M>(event: K, handler: (payload: M[K]) => void): () => void {
    let set = this.#handlers.get(event);
    if (!set) this.#handlers.set(event, (set = new Set()));
    set.add(handler as (payload: never) => void);
    return () => this.off(event, handler);
  }

  /** Like on(), for one call. */
  once<K extends keyof M>(event: K, handler: (payload: M[K]) => void): () => void {
    const off = this.on(event, (p) => {
      off();
      handler(p);
    });
    return off;
  }

  off<K extends keyof M>(event: K, handler: (payload: M[K]) => void): void {
    this.#handlers.get(event)?.delete(handler as (payload: never) => void);
  }

  /** Calls every handler; one that throws does not stop the others (its error is reported async). */
  emit<K extends keyof M>(event: K, payload: M[K]): void {
    const set = this.#handlers.get(event);
    if (!set) return;
    for (const h of [...set]) {
      try {
        (h as (p: M[K]) => void)(payload);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }
}
