/**
 * {@link BufferedConsumer}: the rules of a `consume()` iterator, shared by
 * the promise API's ConsumeIterator (on the connection's thread) and the
 * threads' PortConsumeIterator (on a worker's side of a port); each says
 * only how it reaches its channel.
 *
 * Deliveries the application has not asked for yet wait in a buffer,
 * bounded by the prefetch window. The iterator ends when the application
 * breaks out, cancels or aborts its signal: the consumer is cancelled and
 * what was buffered but never handed out is rejected with requeue (after
 * the cancel, so the consumer cannot get it again). It throws when the
 * broker cancelled the consumer (after the messages buffered before the
 * cancel) or the channel closed: never a silent stop. A delivery that
 * arrives after the end (crossing the cancel) is handed back.
 * @packageDocumentation
 */
import { AMQPChannelError, InvalidArgumentError } from '../errors';
import { Fifo } from './fifo';
import { Deferred, markHandled, rejection } from './settle';

/** Where the iterator is: open, ended (done from now on), or failed (every next() throws). */
type State = 'open' | 'ended' | { error: Error };

/** What a consumed message must carry. */
interface Delivered {
  readonly deliveryTag: number;
}

/** The result of every next() once ended: one object. */
const DONE: IteratorResult<never, undefined> = Object.freeze({ value: undefined, done: true });

/** The iterator's rules over a channel it reaches in its own way (the abstract members). */
export abstract class BufferedConsumer<M extends Delivered> implements AsyncIterableIterator<M | null> {
  /** Delivered, not yet handed out. */
  private readonly buffer = new Fifo<M>();
  /** A next() waiting for a message. */
  private waiter: Deferred<IteratorResult<M | null, undefined>> | null = null;
  /** Cancels the inactivity timer, while one runs. */
  private cancelIdle: (() => void) | null = null;
  private state: State = 'open';
  /** The broker cancelled the consumer: hand out what is buffered, then throw this. */
  private brokerCancel: Error | null = null;
  private readonly onAbort: (() => void) | null = null;
  /** What the end, once begun, resolves to: the number of buffered messages requeued. */
  private ending: Promise<number> | null = null;

  constructor(
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

  /** The consumer tag. */
  abstract get consumerTag(): string;
  /** Runs `fire` after `seconds` on the side's own timers; returns what cancels it. */
  protected abstract startTimer(seconds: number, fire: () => void): () => void;
  /** True while acks, rejects and cancels can still be sent. */
  protected abstract get canSend(): boolean;
  /** Rejects one delivery with requeue. */
  protected abstract requeue(deliveryTag: number): void;
  /** Sends basic.cancel; resolves once answered (or the channel closed). Null when there is no consumer to cancel. */
  protected abstract cancelConsumer(): Promise<unknown> | null;
  /** The iterator is done with its consumer's events (`how`: why), for the channel's bookkeeping. */
  protected abstract release(how: 'ended' | 'failed' | 'cancelled'): void;

  /** Messages delivered and not yet handed out. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** Drops the buffered messages (they can no longer be acked: the broker redelivers them). */
  protected dropBuffered(): void {
    this.buffer.clear();
  }

  /** A delivery for this consumer: to the waiting next(), else into the buffer; handed back after the end. */
  protected accept(message: M): void {
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
  next(): Promise<IteratorResult<M | null, undefined>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift()!, done: false });
    if (this.brokerCancel !== null) this.fail(this.brokerCancel);
    const state = this.state;
    if (state === 'ended') return Promise.resolve(DONE);
    if (state !== 'open') return rejection(state.error);
    // One next() at a time is the for-await pattern; a second one waits behind the first.
    if (this.waiter !== null) return this.waiter.promise.then(() => this.next());
    const waiter = new Deferred<IteratorResult<M | null, undefined>>();
    this.waiter = waiter;
    const seconds = this.inactivityTimeout;
    if (seconds !== undefined) {
      this.cancelIdle = this.startTimer(seconds, () => {
        this.cancelIdle = null;
        if (this.waiter !== waiter) return;
        this.waiter = null;
        waiter.resolve({ value: null, done: false });
      });
    }
    return waiter.promise;
  }

  /** Breaking out of a for-await loop: cancels the consumer and requeues what was buffered. */
  async return(): Promise<IteratorResult<M | null, undefined>> {
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
    const cancelled = this.brokerCancel === null && this.canSend ? this.cancelConsumer() : null;
    if (cancelled === null) {
      this.release('ended');
      return (this.ending = Promise.resolve(this.requeueBuffered()));
    }
    // Rejected after the cancel (they wait behind it): requeued while the consumer is still
    // there, they would be delivered to it again, and handed back again.
    const requeued = this.requeueBuffered();
    // A failed cancel means the channel closed: the broker requeues everything then.
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
    this.release('cancelled');
    if (this.waiter !== null) this.fail(this.brokerCancel);
  }

  /** @internal The consume was refused, or the channel closed: next() throws `reason` at once (the buffer can no longer be acked). */
  failed(reason: Error): void {
    if (this.state !== 'open') return;
    this.buffer.clear();
    this.fail(reason);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Rejects with requeue every buffered message never handed out; returns how many. */
  private requeueBuffered(): number {
    const rest = this.buffer.takeAll();
    // With autoAck they are the application's already (and lost); on a closing channel the broker requeues them.
    if (this.autoAck) return 0;
    if (!this.canSend) return rest.length;
    for (const m of rest) this.requeue(m.deliveryTag);
    return rest.length;
  }

  /** A delivery after the end (crossing our cancel): handed back, never dropped. */
  private handBack(message: M): void {
    if (!this.autoAck && this.canSend) this.requeue(message.deliveryTag);
  }

  /** Fails the iterator: every next() throws `error` from now on. */
  protected fail(error: Error): void {
    this.finish({ error });
    this.release('failed');
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
    const cancel = this.cancelIdle;
    this.cancelIdle = null;
    cancel?.();
  }
}

/** The error for a bad `inactivityTimeout` option of consume(), or null when it is fine (absent, or seconds >= 0). */
export function inactivityTimeoutError(value: unknown): InvalidArgumentError | null {
  if (value === undefined || (typeof value === 'number' && value >= 0)) return null;
  return new InvalidArgumentError(
    `consume: inactivityTimeout must be a number of seconds >= 0, got ${typeof value === 'number' ? value : typeof value}`,
  );
}

/**
 * A channel's `cancel(consumerTag?)`: ends its consume() iterators (or only
 * the one with `consumerTag`) and resolves to the number of buffered
 * messages requeued; a tag no iterator has (a basicConsume consumer's) is
 * cancelled with `basicCancel` and counts 0.
 */
export async function cancelIterators(
  iterators: ReadonlyMap<string, { end(): Promise<number> }>,
  consumerTag: string | undefined,
  basicCancel: (tag: string) => Promise<unknown>,
): Promise<number> {
  if (consumerTag !== undefined && !iterators.has(consumerTag)) {
    await basicCancel(consumerTag);
    return 0;
  }
  const ending = consumerTag === undefined ? [...iterators.values()] : [iterators.get(consumerTag)!];
  const counts = await Promise.all(ending.map((it) => it.end()));
  return counts.reduce((a, b) => a + b, 0);
}
