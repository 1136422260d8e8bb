/**
 * {@link PortMessage}: a message delivered to (or fetched by) a port
 * channel in a worker, with the surface of the promise API's Message:
 * `ack`, `nack` and `reject` go back over the port, in the next batch.
 * @packageDocumentation
 */
import { decodeProperties } from '../promise/port-properties';
import type { PortProperties } from '../promise/port-properties';
import type { PortMessage as Encoded } from '../promise/port-protocol';
import { Req } from '../promise/port-protocol';
import * as spec from '../wire/spec';
import type { PortLink } from './port-link';

/**
 * A message of a port channel (see `channelFromPort`). Like the promise
 * API's Message, its acknowledgements resolve at once (AMQP answers none),
 * or reject with ChannelWrongStateError once the channel is closed (the
 * broker has then requeued it). `body` is a view into the memory its batch
 * crossed the thread boundary in (one copy from the connection's buffers).
 * @category Threads
 */
export class PortMessage {
  private encodedProperties: PortProperties | null;
  private decoded: spec.BasicProperties | null = null;

  /** @internal Made by the port channel from a delivery record or a fetched message. */
  constructor(
    private readonly link: PortLink,
    /** The delivery tag, for acknowledgements. */
    readonly deliveryTag: number,
    /** True when the broker delivered it before (to this or another consumer). */
    readonly redelivered: boolean,
    /** The exchange it was published to. */
    readonly exchange: string,
    /** The routing key it was published with. */
    readonly routingKey: string,
    /** The consumer's tag for a delivery; undefined for a `basicGet` message. */
    readonly consumerTag: string | undefined,
    /** basic.get: the messages left in the queue; undefined for a delivery. */
    readonly messageCount: number | undefined,
    properties: PortProperties | null,
    /** Its body. */
    readonly body: Buffer,
  ) {
    this.encodedProperties = properties;
  }

  /** @internal A fetched message (basic.get, an rpc reply) as it crossed. */
  static fromEncoded(link: PortLink, m: Encoded, body: Buffer): PortMessage {
    const delivered = m[0] === 0;
    return new PortMessage(
      link,
      m[2],
      m[3],
      m[4],
      m[5],
      delivered ? (m[1] as string) : undefined,
      delivered ? undefined : (m[1] as number),
      m[6],
      body,
    );
  }

  /** Its properties (decoded on first use: most consumers never read them). */
  get properties(): spec.BasicProperties {
    if (this.decoded === null) {
      this.decoded = decodeProperties(this.encodedProperties);
      this.encodedProperties = null;
    }
    return this.decoded;
  }

  /** The method that carried it: basic.deliver, or basic.get-ok for `basicGet` (made on use). */
  get method(): spec.Basic.Deliver | spec.Basic.GetOk {
    const { deliveryTag, redelivered, exchange, routingKey } = this;
    if (this.consumerTag !== undefined)
      return new spec.Basic.Deliver({ consumerTag: this.consumerTag, deliveryTag, redelivered, exchange, routingKey });
    return new spec.Basic.GetOk({ deliveryTag, redelivered, exchange, routingKey, messageCount: this.messageCount });
  }

  /** Acknowledges it (with `multiple`, every unacknowledged message of its channel up to it too). */
  ack(multiple = false): Promise<void> {
    return this.link.ack(this.deliveryTag, multiple);
  }

  /** Rejects it (`basic.nack`); by default requeued. */
  nack(multiple = false, requeue = true): Promise<void> {
    return this.link.send([Req.Nack, this.deliveryTag, multiple, requeue]);
  }

  /** Rejects it (`basic.reject`); by default requeued. */
  reject(requeue = true): Promise<void> {
    return this.link.send([Req.Reject, this.deliveryTag, requeue]);
  }
}
