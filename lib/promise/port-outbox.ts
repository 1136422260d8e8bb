/**
 * {@link PortOutbox}: what one side of a channel port sends, gathered over
 * a loop turn and posted as one batch from a `setImmediate`. Both sides
 * use it: the host for results and deliveries, the worker for calls,
 * publishes and acks.
 *
 * The many small messages of a busy channel (deliveries, publishes, acks)
 * do not cross as one item each: consecutive ones of a kind become one
 * record item whose numbers go in a Float64Array at the end of the
 * transferred arena, their strings (exchanges, routing keys, consumer
 * tags: a handful per batch) in one table of the batch. The structured
 * clone then copies a few items and strings per batch instead of a tuple
 * per message, which is most of what a batch would cost otherwise.
 * @packageDocumentation
 */
import type { MessagePort } from 'node:worker_threads';
import { BodyPacker } from './port-bodies';
import type { PortProperties } from './port-properties';
import type { PortBatch, RecordItem } from './port-protocol';

/** The items of one side, posted once per loop turn (or sooner, see {@link PortOutbox.push}). */
export class PortOutbox<T extends unknown[]> {
  /** The bodies the pending items point into. */
  readonly bodies = new BodyPacker();
  /** The numbers of the pending record items (see {@link record}). */
  nums: number[] = [];
  private items: Array<T | RecordItem> = [];
  private strings: string[] = [];
  private stringIndex = new Map<string, number>();
  private lastRecord: RecordItem | null = null;
  /** Items plus records pending: what {@link maxItems} bounds. */
  private count = 0;
  private scheduled = false;
  private closing = false;

  constructor(
    private readonly port: MessagePort,
    /** Told when a batch could not be posted (an item the structured clone refused): its items are lost. */
    private readonly onPostError: (err: unknown, items: Array<T | RecordItem>) => void,
    /** A batch of this many items (records counted one by one) is posted at once instead of at the end of the turn. */
    private readonly maxItems = Infinity,
  ) {}

  /** Items waiting for the next post. */
  get length(): number {
    return this.items.length;
  }

  /** Queues an item (whose body, if any, was added to {@link bodies} first). */
  push(item: T): void {
    this.items.push(item);
    this.lastRecord = null;
    this.added();
  }

  /**
   * Queues one record of kind `op` (a delivery, a publish, an ack) whose
   * `fields` numbers the caller has just pushed onto {@link nums}. Joins
   * the record item just before when it is of the same kind.
   */
  record(op: number, properties: PortProperties | null, fields: number): void {
    let item = this.lastRecord;
    if (item === null || item[0] !== op) {
      item = [op, this.nums.length - fields, 0, []];
      this.items.push(item);
      this.lastRecord = item;
    }
    item[2] += 1;
    if (properties !== null) item[3].push(properties);
    this.added();
  }

  /** The index of `s` in this batch's string table. */
  intern(s: string): number {
    let i = this.stringIndex.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.stringIndex.set(s, i);
    }
    return i;
  }

  /** Posts the pending items now (a no-op when there are none); closes the port after it when {@link closeAfterFlush} was called. */
  readonly flush = (): void => {
    this.scheduled = false;
    if (this.items.length > 0) this.post();
    if (this.closing) this.port.close();
  };

  /** Closes the port once what is pending was posted (at the end of this turn). */
  closeAfterFlush(): void {
    this.closing = true;
    this.schedule();
  }

  private added(): void {
    this.count += 1;
    if (this.count >= this.maxItems) this.flush();
    else this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  private post(): void {
    const { items, nums, strings } = this;
    this.items = [];
    this.nums = [];
    this.strings = [];
    this.stringIndex = new Map();
    this.lastRecord = null;
    this.count = 0;
    // The numbers go after the bodies, 8-byte aligned, in the same transferred arena.
    const bodyBytes = this.bodies.bytes;
    const numsAt = (bodyBytes + 7) & ~7;
    const bodies = this.bodies.take(nums.length === 0 ? bodyBytes : numsAt + nums.length * 8);
    if (nums.length > 0) {
      // the arena is not zero-filled: the alignment gap is, so that no stale byte crosses
      new Uint8Array(bodies!, bodyBytes, numsAt - bodyBytes).fill(0);
      new Float64Array(bodies!, numsAt, nums.length).set(nums);
    }
    const batch: PortBatch<T | RecordItem> = { items, bodies, numsAt, strings };
    try {
      this.port.postMessage(batch, bodies === null ? undefined : [bodies]);
    } catch (err) {
      this.onPostError(err, items);
    }
  }
}
