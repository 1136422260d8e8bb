/**
 * The messages a channel port carries (see {@link AsyncConnection.openChannelPort}):
 * the worker's calls one way, their results and the deliveries the other.
 *
 * Each side sends at most one `postMessage` per loop turn: a {@link PortBatch}
 * of every request (or event) of that turn, in order, with the bodies of the
 * turn packed into one `ArrayBuffer` that is transferred, not cloned (see
 * port-bodies.ts). Requests and events are tuples with a numeric op first:
 * the structured clone of a short array is cheaper than that of an object
 * with named fields, and a batch may hold thousands of them.
 *
 * This file is the contract between the host (port-host.ts, on the
 * connection's thread) and the worker side (lib/threads), which may run a
 * different build of coney only if both agree on it: both come from one
 * package in practice.
 * @packageDocumentation
 */
import type { PortProperties } from './port-properties';
import type { SerializedError } from './port-errors';

/** What one postMessage carries. */
export interface PortBatch<T> {
  /** The requests or events of one loop turn, in order. */
  readonly items: T[];
  /** The bodies the items point into (by offset and length), then the records' numbers; null when empty. */
  readonly bodies: ArrayBuffer | null;
  /** Where in `bodies` the records' numbers begin (a Float64Array to its end). */
  readonly numsAt: number;
  /** The strings the records name by index (exchanges, routing keys, consumer tags). */
  readonly strings: string[];
}

/**
 * Consecutive records of one kind: `[op, first, count, properties]`, their
 * numbers at `first` in the batch's Float64Array ({@link DELIVERY_FIELDS},
 * {@link PUBLISH_FIELDS} or {@link ACK_FIELDS} each), and the properties of
 * those that have some, in order.
 */
export type RecordItem<Op extends number = number> = [op: Op, first: number, count: number, properties: PortProperties[]];

/** A delivery record: deliveryTag, flags (1: redelivered, 2: has properties), consumer tag, exchange, routing key (string indexes), body offset, length. */
export const DELIVERY_FIELDS = 7;
/** A publish record outside confirm mode: exchange, routing key (string indexes), body offset, length, flags (1: mandatory, 2: has properties). */
export const PUBLISH_FIELDS = 5;
/** An ack record: deliveryTag, multiple (0 or 1). */
export const ACK_FIELDS = 2;
/** Record flag: redelivered (deliveries), mandatory (publishes). */
export const FLAG_1 = 1;
/** Record flag: the record has properties (the next of its item's). */
export const FLAG_PROPS = 2;

/** Request ops (worker to host). */
export const Req = {
  /** `[Req.Call, id, method, args]`: an AsyncChannel method whose promise is answered by a {@link Ev.Result}. */
  Call: 1,
  /** `[Req.Publish, id, exchange, routingKey, offset, length, properties, mandatory]`; id 0 outside confirm mode. */
  Publish: 2,
  /** `[Req.Nack, deliveryTag, multiple, requeue]` */
  Nack: 4,
  /** `[Req.Reject, deliveryTag, requeue]` */
  Reject: 5,
  /** `[Req.Consume, id, queue, options]`: resolves to the consumer tag; deliveries follow as {@link Ev.Deliveries}. */
  Consume: 6,
  /** `[Req.Cancel, id, consumerTag]` */
  Cancel: 7,
  /** `[Req.Get, id, queue, options]`: resolves to a {@link PortMessage} or null. */
  Get: 8,
  /** `[Req.Rpc, id, exchange, routingKey, offset, length, properties, timeout]`: resolves to a {@link PortMessage}. */
  Rpc: 9,
  /** `[Req.Abort, id]`: the worker gave up on rpc `id` (its signal aborted). */
  Abort: 10,
  /** A {@link RecordItem} of publishes outside confirm mode ({@link PUBLISH_FIELDS}). */
  Publishes: 11,
  /** A {@link RecordItem} of acks ({@link ACK_FIELDS}). */
  Acks: 12,
} as const;

/** Event ops (host to worker). */
export const Ev = {
  /** `[Ev.Ready, channelNumber]`: the first event of every port. */
  Ready: 1,
  /** `[Ev.Result, id, value]` */
  Result: 2,
  /** `[Ev.Error, id, error]` */
  Error: 3,
  /** `[Ev.Written, count]`: `count` publishes of id 0 went to the connection's writer, which is under its high-water mark. */
  Written: 5,
  /** `[Ev.Cancelled, consumerTag]`: the broker cancelled a consumer. */
  Cancelled: 6,
  /** `[Ev.Closed, error]`: the channel closed; the port closes after this batch. */
  Closed: 7,
  /** `[Ev.Unobserved, error]`: something failed that no promise of the worker's awaits (a publish outside confirm mode). */
  Unobserved: 8,
  /** A {@link RecordItem} of deliveries ({@link DELIVERY_FIELDS}). */
  Deliveries: 9,
} as const;

/**
 * A delivered or fetched message: `[kind, consumerTagOrMessageCount,
 * deliveryTag, redelivered, exchange, routingKey, properties, offset, length]`.
 * kind 0: basic.deliver (with its consumer tag), 1: basic.get-ok (with the message count).
 */
export type PortMessage = [
  kind: 0 | 1,
  tagOrCount: string | number,
  deliveryTag: number,
  redelivered: boolean,
  exchange: string,
  routingKey: string,
  properties: PortProperties | null,
  offset: number,
  length: number,
];

/** A call's result: an AMQP method as its index and fields (rebuilt as that class), or a plain value. */
export type PortValue = { method: number; fields: Record<string, unknown> } | { message: PortMessage } | { plain: unknown };

/** A request (worker to host). */
export type PortRequest =
  | [typeof Req.Call, number, string, unknown[]]
  | [typeof Req.Publish, number, string, string, number, number, PortProperties | null, boolean]
  | [typeof Req.Nack, number, boolean, boolean]
  | [typeof Req.Reject, number, boolean]
  | [typeof Req.Consume, number, string, Record<string, unknown>]
  | [typeof Req.Cancel, number, string]
  | [typeof Req.Get, number, string, Record<string, unknown>]
  | [typeof Req.Rpc, number, string, string, number, number, PortProperties | null, number | undefined]
  | [typeof Req.Abort, number]
  | RecordItem<typeof Req.Publishes>
  | RecordItem<typeof Req.Acks>;

/** An event (host to worker). */
export type PortEvent =
  | [typeof Ev.Ready, number]
  | [typeof Ev.Result, number, PortValue]
  | [typeof Ev.Error, number, SerializedError]
  | [typeof Ev.Written, number]
  | [typeof Ev.Cancelled, string]
  | [typeof Ev.Closed, SerializedError]
  | [typeof Ev.Unobserved, SerializedError]
  | RecordItem<typeof Ev.Deliveries>;

/**
 * The AsyncChannel methods a worker may call with {@link Req.Call}, each
 * answered with its promise's value. The others have ops of their own
 * (publish, acks, consume, get, rpc) or stay on the worker's side.
 */
export const PORT_CALLS: ReadonlySet<string> = new Set([
  'exchangeDeclare',
  'exchangeDelete',
  'exchangeBind',
  'exchangeUnbind',
  'queueDeclare',
  'queueBind',
  'queueUnbind',
  'queuePurge',
  'queueDelete',
  'basicQos',
  'basicRecover',
  'confirmDelivery',
  'waitForConfirms',
  'txSelect',
  'txCommit',
  'txRollback',
  'flow',
  'close',
]);

/**
 * Publishes outside confirm mode that a worker may have in flight (sent,
 * not yet {@link Ev.Written}) before its publish promises wait: the
 * backpressure of a port channel, as the high-water mark is that of a
 * connection. Also the count at which a batch is sent before the turn ends,
 * so that the host writes one half while the worker fills the other.
 */
export const PUBLISH_WINDOW = 2048;

/** The same window in body bytes (the connection's high-water mark is 1 MiB). */
export const PUBLISH_WINDOW_BYTES = 2 * 1024 * 1024;
