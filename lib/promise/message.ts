/**
 * {@link Message}: a delivered or fetched message with its acknowledgements
 * bound to the channel it came on (rabbitpy's message).
 * @packageDocumentation
 */
import type { Channel } from '../engine/channel';
import type * as spec from '../wire/spec';
import { rejection, RESOLVED } from './settle';

/**
 * A message from `consume()`, `basicConsume` or `basicGet` of the promise
 * API. `ack`, `nack` and `reject` act on the channel it arrived on; AMQP
 * answers none of them, so each resolves at once (or rejects with
 * ChannelWrongStateError when that channel is closed: the broker has then
 * requeued the message already).
 *
 * `body` may be a view into the connection's read memory (see docs/API.md,
 * "Messages and field tables"): keep `Buffer.from(body)` to hold on to a
 * small body of a busy stream for long.
 * @category Promise API
 */
export class Message {
  /** @internal Made by the promise API from a delivery or a get-ok. */
  constructor(
    /** The channel it arrived on (the callback API's). */
    readonly channel: Channel,
    /** The method that carried it: basic.deliver, or basic.get-ok for `basicGet`. */
    readonly method: spec.Basic.Deliver | spec.Basic.GetOk,
    /** Its properties. */
    readonly properties: spec.BasicProperties,
    /** Its body. */
    readonly body: Buffer,
  ) {}

  /** The delivery tag, for acknowledgements. */
  get deliveryTag(): number {
    return this.method.deliveryTag;
  }

  /** True when the broker delivered it before (to this or another consumer). */
  get redelivered(): boolean {
    return this.method.redelivered;
  }

  /** The exchange it was published to. */
  get exchange(): string {
    return this.method.exchange;
  }

  /** The routing key it was published with. */
  get routingKey(): string {
    return this.method.routingKey;
  }

  /** The consumer's tag for a delivery; undefined for a `basicGet` message. */
  get consumerTag(): string | undefined {
    return 'consumerTag' in this.method ? this.method.consumerTag : undefined;
  }

  /** Acknowledges it (with `multiple`, every unacknowledged message of its channel up to it too). */
  ack(multiple = false): Promise<void> {
    try {
      this.channel.basicAck(this.method.deliveryTag, multiple);
      return RESOLVED;
    } catch (err) {
      return rejection(err);
    }
  }

  /** Rejects it (`basic.nack`); by default requeued. */
  nack(multiple = false, requeue = true): Promise<void> {
    try {
      this.channel.basicNack(this.method.deliveryTag, multiple, requeue);
      return RESOLVED;
    } catch (err) {
      return rejection(err);
    }
  }

  /** Rejects it (`basic.reject`); by default requeued. */
  reject(requeue = true): Promise<void> {
    try {
      this.channel.basicReject(this.method.deliveryTag, requeue);
      return RESOLVED;
    } catch (err) {
      return rejection(err);
    }
  }
}
