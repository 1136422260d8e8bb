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
import type { Channel } from '../engine/channel';
import type { IOLoop } from '../engine/ioloop';
import type * as spec from '../wire/spec';
import { BufferedConsumer } from './buffered-consumer';
import { Message } from './message';

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
export class ConsumeIterator extends BufferedConsumer<Message> {
  private tag = '';

  /** @internal Made by AsyncChannel.consume, which then starts the consumer ({@link started}). */
  constructor(
    private readonly host: ConsumeHost,
    queue: string,
    autoAck: boolean,
    inactivityTimeout: number | undefined,
    signal: AbortSignal | undefined,
  ) {
    super(queue, autoAck, inactivityTimeout, signal);
  }

  /** @internal The consumer's onMessage (the engine's callback shape). */
  readonly deliver = (channel: Channel, method: spec.Basic.Deliver, properties: spec.BasicProperties, body: Buffer): void => {
    this.accept(new Message(channel, method, properties, body));
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

  /**
   * @internal The connection was lost and is recovering: the buffered
   * messages can no longer be acked (the broker redelivers them on the new
   * connection), so they are dropped; the consumer itself comes back.
   */
  connectionLost(): void {
    this.dropBuffered();
  }

  protected startTimer(seconds: number, fire: () => void): () => void {
    const loop = this.host.ioloop;
    const timer = loop.callLater(seconds, fire);
    return () => loop.removeTimeout(timer);
  }

  protected get canSend(): boolean {
    return usable(this.host.channel);
  }

  protected requeue(deliveryTag: number): void {
    this.host.channel.basicReject(deliveryTag, true);
  }

  protected cancelConsumer(): Promise<unknown> | null {
    const channel = this.host.channel;
    if (!channel.consumerTags.includes(this.tag)) return null;
    // Deliveries crossing the cancel still reach `deliver` (the engine's consumer until cancel-ok), which hands them back.
    this.host.forget(this);
    // A failed cancel means the channel closed: the broker requeues everything then.
    return new Promise<void>((resolve) => channel.basicCancel(this.tag, () => resolve()));
  }

  protected release(how: 'ended' | 'failed' | 'cancelled'): void {
    // After a broker cancel the iterator stays known until it fails: channel.cancel() still ends it (and requeues its buffer).
    if (how !== 'cancelled') this.host.forget(this);
  }
}
