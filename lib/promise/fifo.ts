/**
 * {@link Fifo}: a first-in first-out queue on an array with a head index,
 * for the consume iterators' buffers (here and in lib/threads) and the
 * pending confirm publishes (read by position too: `at`, `peek`).
 *
 * Why not `Array.prototype.shift`: it moves every remaining element on each
 * call once the array is large. Here taking is an index bump; the handed-out
 * prefix is dropped when the queue empties, and otherwise now and then
 * (past 1024 entries and half the array), so a long run of deliveries does
 * not keep them alive.
 * @packageDocumentation
 */

/** Handed-out entries kept before the array is compacted. */
const COMPACT_AFTER = 1024;

/** A FIFO queue. */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  /** Entries waiting. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Adds `item` at the end. */
  push(item: T): void {
    this.items.push(item);
  }

  /** The first entry, left in place; undefined when empty. */
  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  /** The entry `index` places after the first (0: the first); undefined past the end. */
  at(index: number): T | undefined {
    return this.items[this.head + index];
  }

  /** Takes the first entry; undefined when empty. */
  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.head += 1;
    if (this.head === this.items.length) this.clear();
    else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Takes every entry waiting, in order, and empties the queue. */
  takeAll(): T[] {
    const rest = this.items.slice(this.head);
    this.clear();
    return rest;
  }

  /** Empties the queue. */
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
