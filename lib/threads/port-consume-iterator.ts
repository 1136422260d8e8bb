/**
 * {@link PortConsumeIterator}: `consume()` of a port channel, the same
 * iterator as the promise API's ConsumeIterator, on the worker's side of
 * the port. The buffer is bounded the same way (by the prefetch window:
 * the host sets the same default prefetch), breaking out cancels the
 * consumer and requeues what was buffered but not handed out, and it
 * throws when the broker cancels the consumer or the channel closes.
 * @packageDocumentation
 */
import { BufferedConsumer } from '../promise/buffered-consumer';
import { Req } from '../promise/port-protocol';
import type { PortLink } from './port-link';
import type { PortMessage } from './port-message';

/** @internal What the iterator needs from its channel. */
export interface PortConsumeHost {
  readonly link: PortLink;
  /** Sends basic.cancel for `tag`; resolves once answered, or once the channel closed (and then forgets the iterator). */
  cancelConsumer(tag: string): Promise<void>;
  /** The iterator's consumer is gone: forget it. */
  forget(iterator: PortConsumeIterator): void;
}

/**
 * The async iterator a port channel's `consume()` returns: each `next()`
 * gives the next message, or `null` after `inactivityTimeout` seconds without one.
 * @category Threads
 */
export class PortConsumeIterator extends BufferedConsumer<PortMessage> {
  /** @internal Made by the port channel's consume(), which sends the consume under `consumerTag`. */
  constructor(
    private readonly host: PortConsumeHost,
    queue: string,
    /** The consumer tag (chosen on this side, so that it is known at once). */
    readonly consumerTag: string,
    autoAck: boolean,
    inactivityTimeout: number | undefined,
    signal: AbortSignal | undefined,
  ) {
    super(queue, autoAck, inactivityTimeout, signal);
  }

  /** @internal A delivery for this consumer. */
  deliver(message: PortMessage): void {
    this.accept(message);
  }

  protected startTimer(seconds: number, fire: () => void): () => void {
    const timer = setTimeout(fire, seconds * 1000);
    return () => clearTimeout(timer);
  }

  protected get canSend(): boolean {
    return !this.host.link.closed;
  }

  protected requeue(deliveryTag: number): void {
    void this.host.link.send([Req.Reject, deliveryTag, true]);
  }

  protected cancelConsumer(): Promise<unknown> {
    // The iterator stays known until the cancel is answered: deliveries crossing it are routed here and handed back.
    return this.host.cancelConsumer(this.consumerTag);
  }

  protected release(): void {
    this.host.forget(this);
  }
}
