/**
 * {@link ConsumeIterator}: one broker consumer read as an async iterator
 * (pika's `BlockingChannel.consume()` generator), with a bounded buffer.
 *
 * Deliveries the application has not asked for yet wait in the buffer. The
 * buffer is bounded by the prefetch window: the broker never has more
 * unacknowledged deliveries out to this consumer than the prefetch count,
 * and each buffered one is unacknowledged (the promise API sets a prefetch
 * when the channel has none: see AsyncChannel.consume). With `autoAck`
 * there is no window, as in pika.
 *
 * Ends: the application breaks out (`return()`), cancels (`channel.cancel`)
 * or aborts its signal: the consumer is cancelled and what was buffered but
 * never handed out is rejected with requeue. Throws: the broker cancelled
 * the consumer (after the messages buffered before the cancel), or the
 * channel closed (at once: its buffered messages were requeued by the
 * broker and can no longer be acked). Never a silent stop.
 * @packageDocumentation
 */
import { AMQPChannelError } from '../errors';
import type { Channel } from '../engine/channel';
import type { IOLoop, TimerHandle } from '../engine/ioloop';
import type * as spec from '../wire/spec';
import { Message } from './message';
import { Fifo } from './fifo';
import { Deferred, markHandled, rejection } from './settle';

/** A next() result (spelled out in the public signatures, which the docs must show whole). */
type Step = IteratorResult<Message | null, undefined>;

/** The result of every next() once ended: one object. */
const DONE: Step = Object.freeze({ value: undefined, done: true });

/** True while acks and cancels may still be sent on `channel` (also while it recovers: they wait or are dropped). */
function usable(channel: Channel): boolean {
  return !channel.isClosing && !channel.isClosed;
}

/** @internal What the iterator needs from its AsyncChannel. */
export interface ConsumeHost {
  /** The callback channel underneath. */
  readonly channel: Channel;
  /** Its connection's loop, for the inactivity timer. */
  readonly ioloop: IOLoop;
  /** The iterator ended: forget it. */
  forget(iterator: ConsumeIterator): void;
}

/**
 * The async iterator `AsyncChannel.consume()` returns: each `next()` gives
 * the next message, or `null` after `inactivityTimeout` seconds without one.
 * @category Promise API
 */
export class ConsumeIterator implements AsyncIterableIterator<Message | null> {
  /** Delivered, not yet handed out. */
  private readonly buffer = new Fifo<Message>();
  /** A next() waiting for a message. */
  private waiter: Deferred<Step> | null = null;
  private idleTimer: TimerHandle | null = null;
  /** 'open', 'ended' (done from now on), or the error every next() throws from now on. */
  private state: 'open' | 'ended' | { error: Error } = 'open';
  /** The broker cancelled the consumer: hand out what is buffered, then throw this. */
  private brokerCancel: Error | null = null;
  private readonly onAbort: (() => void) | null = null;
  /** What the end, once begun, resolves to: the number of buffered messages requeued. */
  private ending: Promise<number> | null = null;
  private tag = '';

  /** @internal Made by AsyncChannel.consume, which then starts the consumer ({@link started}). */
  constructor(
    private readonly host: ConsumeHost,
    /** The queue it consumes from. */
    readonly queue: string,
    private readonly autoAck: boolean,
    private readonly inactivityTimeout: number | undefined,
    private readonly signal: AbortSignal | undefined,
  ) {
    if (signal !== undefined) {
      this.onAbort = () => void this.end();
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  /** @internal The consumer's onMessage (the engine's callback shape). */
  readonly deliver = (channel: Channel, method: spec.Basic.Deliver, properties: spec.BasicProperties, body: Buffer): void => {
    const message = new Message(channel, method, properties, body);
    if (this.state !== 'open') return this.handBack(message);
    const waiter = this.waiter;
    if (waiter === null) {
      this.buffer.push(message);
      return;
    }
    this.waiter = null;
    this.stopIdleTimer();
    waiter.resolve({ value: message, done: false });
  };

  /** The consumer tag ('' when the consume could not even be sent). */
  get consumerTag(): string {
    return this.tag;
  }

  /** @internal The consume was sent under `tag`. */
  started(tag: string): void {
    this.tag = tag;
  }

  /** @internal The consume could not be sent (a bad argument, a closed channel): next() throws `err`. */
  failedToStart(err: Error): void {
    this.fail(err);
  }

  /** Messages delivered and not yet handed out. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** The next message; `null` after `inactivityTimeout` seconds without one; done once ended. */
  next(): Promise<IteratorResult<Message | null, undefined>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift()!, done: false });
    if (this.brokerCancel !== null) this.fail(this.brokerCancel);
    const state = this.state;
    if (state === 'ended') return Promise.resolve(DONE);
    if (state !== 'open') return rejection(state.error);
    // One next() at a time is the for-await pattern; a second one waits behind the first.
    if (this.waiter !== null) return this.waiter.promise.then(() => this.next());
    const waiter = new Deferred<Step>();
    this.waiter = waiter;
    const seconds = this.inactivityTimeout;
    if (seconds !== undefined) {
      this.idleTimer = this.host.ioloop.callLater(seconds, () => {
        this.idleTimer = null;
        if (this.waiter !== waiter) return;
        this.waiter = null;
        waiter.resolve({ value: null, done: false });
      });
    }
    return waiter.promise;
  }

  /** Breaking out of a for-await loop: cancels the consumer and requeues what was buffered. */
  async return(): Promise<IteratorResult<Message | null, undefined>> {
    await this.end();
    return DONE;
  }

  /**
   * Ends the iterator: cancels the consumer, requeues the buffered messages
   * never handed out, and resolves to how many those were. A waiting next()
   * gets done. Ending twice resolves to the first end's count.
   */
  end(): Promise<number> {
    if (this.ending !== null) return this.ending;
    if (this.state !== 'open') return (this.ending = Promise.resolve(0));
    this.finish('ended');
    const channel = this.host.channel;
    if (this.brokerCancel !== null || !usable(channel) || !channel.consumerTags.includes(this.tag)) {
      return (this.ending = Promise.resolve(this.requeueBuffered()));
    }
    let requeued = 0;
    this.ending = new Promise<number>((resolve) => {
      // A failed cancel means the channel closed: the broker requeues everything then.
      channel.basicCancel(this.tag, () => resolve(requeued));
    });
    // Rejected after the cancel (they wait behind it): requeued while the consumer is still
    // there, they would be delivered to it again, and handed back again.
    requeued = this.requeueBuffered();
    markHandled(this.ending);
    return this.ending;
  }

  /** @internal The broker cancelled this consumer: what is buffered is handed out first, then next() throws. */
  cancelledByBroker(): void {
    if (this.state !== 'open') return;
    this.brokerCancel = new AMQPChannelError(
      `consumer ${JSON.stringify(this.tag)} on queue ${JSON.stringify(this.queue)} was cancelled by the broker (the queue was deleted, or the consumer timed out)`,
    );
    if (this.waiter !== null) this.fail(this.brokerCancel);
  }

  /** @internal The channel closed: next() throws `reason` at once (the buffered messages can no longer be acked). */
  channelClosed(reason: Error): void {
    if (this.state !== 'open') return;
    this.buffer.clear();
    this.fail(reason);
  }

  /**
   * @internal The connection was lost and is recovering: the buffered
   * messages can no longer be acked (the broker redelivers them on the new
   * connection), so they are dropped; the consumer itself comes back.
   */
  connectionLost(): void {
    this.buffer.clear();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Rejects with requeue every buffered message never handed out; returns how many. */
  private requeueBuffered(): number {
    const rest = this.buffer.takeAll();
    // With autoAck they are the application's already (and lost); on a closing channel the broker requeues them.
    if (this.autoAck) return 0;
    if (!usable(this.host.channel)) return rest.length;
    for (const m of rest) this.host.channel.basicReject(m.deliveryTag, true);
    return rest.length;
  }

  /** A delivery after the end (crossing our cancel): handed back, never dropped. */
  private handBack(message: Message): void {
    if (!this.autoAck && usable(this.host.channel)) this.host.channel.basicReject(message.deliveryTag, true);
  }

  private fail(error: Error): void {
    this.finish({ error });
  }

  private finish(state: 'ended' | { error: Error }): void {
    this.state = state;
    this.stopIdleTimer();
    if (this.onAbort !== null) this.signal!.removeEventListener('abort', this.onAbort);
    this.host.forget(this);
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter === null) return;
    if (state === 'ended') waiter.resolve(DONE);
    else waiter.reject(state.error);
  }

  private stopIdleTimer(): void {
    if (this.idleTimer === null) return;
    this.host.ioloop.removeTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}
