/**
 * {@link PortConsumeIterator}: `consume()` of a port channel, the same
 * iterator as the promise API's ConsumeIterator, on the worker's side of
 * the port. The buffer is bounded the same way (by the prefetch window:
 * the host sets the same default prefetch), breaking out cancels the
 * consumer and requeues what was buffered but not handed out, and it
 * throws when the broker cancels the consumer or the channel closes.
 * @packageDocumentation
 */
import { AMQPChannelError } from '../errors';
import { Req } from '../promise/port-protocol';
import { Deferred, markHandled, rejection } from '../promise/settle';
import type { PortLink } from './port-link';
import type { PortMessage } from './port-message';
import { Fifo } from '../promise/fifo';

type Step = IteratorResult<PortMessage | null, undefined>;

const DONE: Step = Object.freeze({ value: undefined, done: true });

/** @internal What the iterator needs from its channel. */
export interface PortConsumeHost {
  readonly link: PortLink;
  /** Sends basic.cancel for `tag`; resolves once answered, or once the channel closed. */
  cancelConsumer(tag: string): Promise<void>;
  /** The iterator's consumer is gone: forget it. */
  forget(iterator: PortConsumeIterator): void;
}

/**
 * The async iterator a port channel's `consume()` returns: each `next()`
 * gives the next message, or `null` after `inactivityTimeout` seconds without one.
 * @category Threads
 */
export class PortConsumeIterator implements AsyncIterableIterator<PortMessage | null> {
  /** Delivered, not yet handed out. */
  private readonly buffer = new Fifo<PortMessage>();
  private waiter: Deferred<Step> | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private state: 'open' | 'ended' | { error: Error } = 'open';
  private brokerCancel: Error | null = null;
  private readonly onAbort: (() => void) | null = null;
  private ending: Promise<number> | null = null;

  /** @internal Made by the port channel's consume(), which sends the consume under `consumerTag`. */
  constructor(
    private readonly host: PortConsumeHost,
    /** The queue it consumes from. */
    readonly queue: string,
    /** The consumer tag (chosen on this side, so that it is known at once). */
    readonly consumerTag: string,
    private readonly autoAck: boolean,
    private readonly inactivityTimeout: number | undefined,
    private readonly signal: AbortSignal | undefined,
  ) {
    if (signal !== undefined) {
      this.onAbort = () => void this.end();
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  /** Messages delivered and not yet handed out. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** @internal A delivery for this consumer. */
  deliver(message: PortMessage): void {
    if (this.state !== 'open') return this.handBack(message);
    const waiter = this.waiter;
    if (waiter === null) {
      this.buffer.push(message);
      return;
    }
    this.waiter = null;
    this.stopIdleTimer();
    waiter.resolve({ value: message, done: false });
  }

  /** The next message; `null` after `inactivityTimeout` seconds without one; done once ended. */
  next(): Promise<IteratorResult<PortMessage | null, undefined>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift()!, done: false });
    if (this.brokerCancel !== null) this.fail(this.brokerCancel);
    const state = this.state;
    if (state === 'ended') return Promise.resolve(DONE);
    if (state !== 'open') return rejection(state.error);
    if (this.waiter !== null) return this.waiter.promise.then(() => this.next());
    const waiter = new Deferred<Step>();
    this.waiter = waiter;
    const seconds = this.inactivityTimeout;
    if (seconds !== undefined) {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = null;
        if (this.waiter !== waiter) return;
        this.waiter = null;
        waiter.resolve({ value: null, done: false });
      }, seconds * 1000);
    }
    return waiter.promise;
  }

  /** Breaking out of a for-await loop: cancels the consumer and requeues what was buffered. */
  async return(): Promise<IteratorResult<PortMessage | null, undefined>> {
    await this.end();
    return DONE;
  }

  /**
   * Ends the iterator: cancels the consumer, requeues the buffered messages
   * never handed out, and resolves to how many those were.
   */
  end(): Promise<number> {
    if (this.ending !== null) return this.ending;
    if (this.state !== 'open') return (this.ending = Promise.resolve(0));
    this.finish('ended');
    if (this.brokerCancel !== null || this.host.link.closed) {
      this.host.forget(this);
      return (this.ending = Promise.resolve(this.requeueBuffered()));
    }
    const cancelled = this.host.cancelConsumer(this.consumerTag);
    // Rejected after the cancel (the requests keep their order): before it, the consumer could get them again.
    const requeued = this.requeueBuffered();
    this.ending = cancelled.then(
      () => requeued,
      () => requeued,
    );
    markHandled(this.ending);
    return this.ending;
  }

  /** @internal The broker cancelled this consumer: what is buffered is handed out first, then next() throws. */
  cancelledByBroker(): void {
    if (this.state !== 'open') return;
    this.brokerCancel = new AMQPChannelError(
      `consumer ${JSON.stringify(this.consumerTag)} on queue ${JSON.stringify(this.queue)} was cancelled by the broker (the queue was deleted, or the consumer timed out)`,
    );
    this.host.forget(this);
    if (this.waiter !== null) this.fail(this.brokerCancel);
  }

  /** @internal The consume was refused, or the channel closed: next() throws `reason` (the buffer can no longer be acked). */
  failed(reason: Error): void {
    if (this.state !== 'open') return;
    this.buffer.clear();
    this.fail(reason);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private requeueBuffered(): number {
    const rest = this.buffer.takeAll();
    if (this.autoAck) return 0;
    if (this.host.link.closed) return rest.length;
    for (const m of rest) void this.host.link.send([Req.Reject, m.deliveryTag, true]);
    return rest.length;
  }

  private handBack(message: PortMessage): void {
    if (!this.autoAck && !this.host.link.closed) void this.host.link.send([Req.Reject, message.deliveryTag, true]);
  }

  private fail(error: Error): void {
    this.finish({ error });
    this.host.forget(this);
  }

  private finish(state: 'ended' | { error: Error }): void {
    this.state = state;
    this.stopIdleTimer();
    if (this.onAbort !== null) this.signal!.removeEventListener('abort', this.onAbort);
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter === null) return;
    if (state === 'ended') waiter.resolve(DONE);
    else waiter.reject(state.error);
  }

  private stopIdleTimer(): void {
    if (this.idleTimer === null) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}
