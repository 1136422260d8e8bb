/**
 * The registered callbacks of one event: added, removed, or added for one
 * call only. Every `add...Callback` of the connection and the channel keeps
 * its callbacks in one of these, so that each has its `remove...Callback`.
 * @packageDocumentation
 */

interface Entry<A extends unknown[]> {
  readonly fn: (...args: A) => unknown;
  readonly once: boolean;
}

/** Runs a callback with the owner's exception isolation (`Connection.invoke`). */
export type Invoker = <A extends unknown[]>(fn: (...args: A) => unknown, ...args: A) => unknown;

/** Callbacks of one event, in the order they were added. */
export class CallbackList<A extends unknown[]> {
  private entries: Array<Entry<A>> = [];

  /** The number of callbacks registered. */
  get size(): number {
    return this.entries.length;
  }

  /** Adds `fn`; with `once` it is removed as it is called. */
  add(fn: (...args: A) => unknown, once = false): void {
    // A new array, not a push: a run in progress iterates the one it read.
    this.entries = [...this.entries, { fn, once }];
  }

  /** Removes the earliest registration of `fn`; false when it was not registered. */
  remove(fn: (...args: A) => unknown): boolean {
    const i = this.entries.findIndex((e) => e.fn === fn);
    if (i < 0) return false;
    this.entries = [...this.entries.slice(0, i), ...this.entries.slice(i + 1)];
    return true;
  }

  /**
   * Calls every callback with `args` through `invoke`. The list is read once
   * first: callbacks added or removed by a callback take effect from the
   * next event; one-shot callbacks are gone before any of them runs.
   */
  run(invoke: Invoker, ...args: A): void {
    const entries = this.entries;
    if (entries.length === 0) return;
    if (entries.some((e) => e.once)) this.entries = entries.filter((e) => !e.once);
    for (const e of entries) invoke(e.fn, ...args);
  }

  /** Forgets every callback. */
  clear(): void {
    this.entries = [];
  }
}
