/**
 * Per-publish confirm callbacks (basicPublish's `onConfirm`) and
 * `waitForConfirms` waiters of one channel. Costs nothing for publishes
 * without `onConfirm`: only those are stored, keyed by sequence number.
 *
 * A `basic.return` carries no sequence number. RabbitMQ sends it before the
 * ack of the same message, so a return is matched to the oldest unanswered
 * mandatory publish with the same exchange, routing key and body; that
 * publish's ack then reports an UnroutableError. Two identical mandatory
 * messages to the same destination may swap which of them is reported
 * returned, which no application can tell apart.
 * @packageDocumentation
 */
import { NackError, UnroutableError } from '../errors';
import type { ErrorCallback } from './callback-types';

interface Expected {
  readonly cb: ErrorCallback;
  readonly mandatory: boolean;
  readonly exchange: string;
  readonly routingKey: string;
  readonly body: Buffer;
  returned: string | null;
}

interface Waiter {
  /** Settled once every tag up to this one is answered. */
  readonly upTo: number;
  readonly cb: ErrorCallback;
  nack: NackError | null;
}

/** Runs a user callback with the connection's exception isolation. */
export type ConfirmInvoker = (cb: ErrorCallback, err: Error | null) => void;

/** The confirm callbacks and waiters of one channel. */
export class PublishConfirms {
  private readonly expected = new Map<number, Expected>();
  private waiters: Waiter[] = [];

  constructor(
    private readonly channelNumber: number,
    private readonly invoke: ConfirmInvoker,
    private readonly soon: (fn: () => void) => void,
  ) {}

  /** Remembers `cb` for the publish numbered `tag`. */
  expect(tag: number, cb: ErrorCallback, mandatory: boolean, exchange: string, routingKey: string, body: Buffer): void {
    this.expected.set(tag, { cb, mandatory, exchange, routingKey, body, returned: null });
  }

  /** `cb` once every publish up to `upTo` is answered (`answeredThrough`: all tags up to it already are). */
  waitFor(upTo: number, answeredThrough: number, cb: ErrorCallback): void {
    if (answeredThrough >= upTo) {
      this.soon(() => this.invoke(cb, null));
      return;
    }
    this.waiters.push({ upTo, cb, nack: null });
  }

  /**
   * A mandatory message came back: marks the publish it most probably was
   * (see the module's comment). True when one with an onConfirm matched: its
   * callback will report it.
   */
  returned(exchange: string, routingKey: string, body: Buffer, replyText: string): boolean {
    if (this.expected.size === 0) return false;
    for (const e of this.expected.values()) {
      if (e.mandatory && e.returned === null && e.exchange === exchange && e.routingKey === routingKey && e.body.equals(body)) {
        e.returned = replyText;
        return true;
      }
    }
    return false;
  }

  /**
   * The broker answered the tags `from..to` (one tag, or a `multiple` range
   * whose unanswered tags start at `from`); `answeredThrough`: every tag up
   * to it is answered now.
   */
  answered(from: number, to: number, nacked: boolean, answeredThrough: number): void {
    if (this.expected.size > 0) this.settleExpected(from, to, nacked);
    if (this.waiters.length > 0) this.settleWaiters(from, nacked, answeredThrough);
  }

  private settleExpected(from: number, to: number, nacked: boolean): void {
    for (const [tag, e] of this.expected) {
      if (tag > to) break; // a Map iterates in insertion order: ascending tags
      if (tag < from) continue;
      this.expected.delete(tag);
      this.invoke(e.cb, this.outcome(tag, e, nacked));
    }
  }

  private outcome(tag: number, e: Expected, nacked: boolean): Error | null {
    if (nacked) return new NackError(`the broker nacked publish ${tag} on channel ${this.channelNumber}`);
    if (e.returned !== null) {
      return new UnroutableError(
        `publish ${tag} on channel ${this.channelNumber} to exchange ${JSON.stringify(e.exchange)} with routing key ${JSON.stringify(e.routingKey)} was returned: ${e.returned}`,
      );
    }
    return null;
  }

  private settleWaiters(from: number, nacked: boolean, answeredThrough: number): void {
    const done: Waiter[] = [];
    this.waiters = this.waiters.filter((w) => {
      if (nacked && w.nack === null && from <= w.upTo) w.nack = new NackError(`the broker nacked publish ${from} on channel ${this.channelNumber}`);
      if (answeredThrough < w.upTo) return true;
      done.push(w);
      return false;
    });
    for (const w of done) this.invoke(w.cb, w.nack);
  }

  /**
   * The connection was lost and what was published through `to` will not be
   * republished (recovery with `republish: false`): those publishes get
   * `reason`, and so does every waiter that covers one of them, once the
   * rest of its range is answered.
   */
  failThrough(to: number, reason: Error, answeredThrough: number): void {
    for (const [tag, e] of this.expected) {
      if (tag > to) break;
      this.expected.delete(tag);
      this.invoke(e.cb, reason);
    }
    for (const w of this.waiters) if (w.nack === null) w.nack = reason;
    this.settleWaiters(to + 1, false, answeredThrough);
  }

  /** The channel closed: everything still waiting gets `reason`, once. */
  fail(reason: Error): void {
    const expected = [...this.expected.values()];
    this.expected.clear();
    const waiters = this.waiters;
    this.waiters = [];
    for (const e of expected) this.invoke(e.cb, reason);
    for (const w of waiters) this.invoke(w.cb, reason);
  }
}
