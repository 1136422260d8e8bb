/**
 * The confirm-mode publishes of one promise-API channel that the broker has
 * not answered yet, keyed by sequence number and settled by the channel's
 * one ack/nack callback.
 *
 * Why not the engine's per-publish `onConfirm`: it needs a closure per
 * publish (to turn `(err)` into resolve or reject) beside an options object
 * checked per call; here a publish costs its promise and one map entry, and
 * the settle functions are the promise's own.
 *
 * A `basic.return` carries no sequence number: as in the engine
 * (publish-confirms.ts), RabbitMQ sends it before the ack of the same
 * message, so it is matched to the oldest unanswered mandatory publish with
 * the same exchange, routing key and body, whose ack then rejects with an
 * UnroutableError.
 * @packageDocumentation
 */
import { NackError, UnroutableError } from '../errors';
import { Fifo } from './fifo';
import { lastSettlers, markHandled, newPromise } from './settle';

/** Where a mandatory publish went, to match a `basic.return` to it. */
interface Destination {
  readonly exchange: string;
  readonly routingKey: string;
  readonly body: Buffer;
  /** The broker's reply text once it came back; null until then. */
  returned: string | null;
}

/**
 * One unanswered publish: its promise with its settle functions, its
 * sequence number, and for a mandatory one where it went. (Not a subclass
 * of Deferred: one flat object per publish is measurably cheaper to make.)
 */
class PendingPublish {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  private readonly rejectPromise: (err: unknown) => void;
  destination: Destination | null = null;
  /** Answered (or failed) already: a single ack out of order settles an entry before it reaches the head. */
  done = false;

  constructor(readonly seq: number) {
    this.promise = newPromise<void>();
    this.resolve = lastSettlers.resolve as () => void;
    this.rejectPromise = lastSettlers.reject;
  }

  /** Rejects the promise, marked handled (settle.ts's rule). */
  reject(err: unknown): void {
    markHandled(this.promise);
    this.rejectPromise(err);
  }
}

/**
 * The unanswered confirm-mode publishes of one channel.
 *
 * Why a queue in sequence order (a Fifo: an array with a head index), not a
 * Map: publishes are added in ascending sequence numbers and answered
 * (nearly always) in the same order, mostly by `multiple` acks; taking from
 * the head costs no iterator entry per publish and no hash delete (the Map
 * was a quarter of the CPU of a confirm-publish run). A single answer out of
 * order is found by binary search and settled in place (`done`); the head
 * moves past it later.
 */
export class PendingConfirms {
  /** Ascending sequence numbers; some may be settled already (`done`), never the first. */
  private readonly queue = new Fifo<PendingPublish>();
  /** Entries not settled yet. */
  private live = 0;
  /** How many live entries are mandatory: returns are matched only when some are. */
  private mandatory = 0;

  constructor(private readonly channelNumber: number) {}

  /** Publishes still waiting for the broker's answer. */
  get size(): number {
    return this.live;
  }

  /** A promise for the publish numbered `seq` (above every number added before): resolved on its ack. */
  add(seq: number): Promise<void> {
    const p = new PendingPublish(seq);
    this.queue.push(p);
    this.live += 1;
    return p.promise;
  }

  /** {@link add} for a mandatory publish, which may come back. */
  addMandatory(seq: number, exchange: string, routingKey: string, body: Buffer): Promise<void> {
    const p = new PendingPublish(seq);
    p.destination = { exchange, routingKey, body, returned: null };
    this.mandatory += 1;
    this.queue.push(p);
    this.live += 1;
    return p.promise;
  }

  /** The broker acked or nacked `tag` (and with `multiple` every unanswered one before it). */
  answered(tag: number, multiple: boolean, nacked: boolean): void {
    const queue = this.queue;
    if (multiple) {
      for (let p = queue.peek(); p !== undefined && p.seq <= tag; p = queue.peek()) {
        queue.shift();
        if (!p.done) this.settle(p, nacked);
      }
    } else {
      // Not found: not published through this layer (an rpc request, the engine's channel).
      const p = this.find(tag);
      if (p === undefined || p.done) return;
      this.settle(p, nacked);
    }
    this.skipSettled();
  }

  /**
   * A mandatory message came back: marks the publish it most probably was.
   * True when one matched (its ack will reject it).
   */
  returned(exchange: string, routingKey: string, body: Buffer, replyText: string): boolean {
    if (this.mandatory === 0) return false;
    const queue = this.queue;
    for (let i = 0; i < queue.length; i++) {
      const p = queue.at(i)!;
      const d = p.destination;
      if (!p.done && d !== null && d.returned === null && d.exchange === exchange && d.routingKey === routingKey && d.body.equals(body)) {
        d.returned = replyText;
        return true;
      }
    }
    return false;
  }

  /** Every publish still waiting gets `reason` (the channel closed: their outcome is unknown). */
  failAll(reason: Error): void {
    const waiting = this.queue.takeAll();
    this.live = 0;
    this.mandatory = 0;
    for (const p of waiting) {
      if (p.done) continue;
      p.done = true;
      p.reject(reason);
    }
  }

  /**
   * After a connection loss, the publishes the engine will not republish
   * (recovery with `republish: false`) are no longer among `unanswered`:
   * they get `reason`. Those still unanswered are republished and wait on.
   */
  failAnsweredElsewhere(unanswered: readonly number[], reason: Error): void {
    if (this.live === 0) return;
    const keep = new Set(unanswered);
    const queue = this.queue;
    for (let i = 0; i < queue.length; i++) {
      const p = queue.at(i)!;
      if (p.done || keep.has(p.seq)) continue;
      this.finish(p);
      p.reject(reason);
    }
    this.skipSettled();
  }

  /** The entry numbered `seq`, by binary search (the numbers ascend). */
  private find(seq: number): PendingPublish | undefined {
    const queue = this.queue;
    let lo = 0;
    let hi = queue.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const p = queue.at(mid)!;
      if (p.seq === seq) return p;
      if (p.seq < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** Takes the entries settled out of order off the front (they hold their promises until then). */
  private skipSettled(): void {
    const queue = this.queue;
    while (queue.peek()?.done === true) queue.shift();
  }

  /** Takes `p` out of the counts: it is being settled. */
  private finish(p: PendingPublish): void {
    p.done = true;
    this.live -= 1;
    if (p.destination !== null) this.mandatory -= 1;
  }

  private settle(p: PendingPublish, nacked: boolean): void {
    this.finish(p);
    const d = p.destination;
    if (nacked) return p.reject(new NackError(`the broker nacked publish ${p.seq} on channel ${this.channelNumber}`));
    if (d?.returned != null) {
      return p.reject(
        new UnroutableError(
          `publish ${p.seq} on channel ${this.channelNumber} to exchange ${JSON.stringify(d.exchange)} with routing key ${JSON.stringify(d.routingKey)} was returned: ${d.returned}`,
        ),
      );
    }
    p.resolve();
  }
}
