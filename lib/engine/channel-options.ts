/**
 * The option objects of the channel's methods, the names each accepts (for
 * the run-time check that catches `durabel` and amqplib's `noAck` in plain
 * JavaScript), and the callbacks they carry.
 * @packageDocumentation
 */
import type { FieldTable } from '../wire/field-table';
import { type AnyCallback, type Completion, completion, type ErrorCallback } from './callback-types';
import type { ConsumeArguments, QueueArguments } from './queue-arguments';

/**
 * Options of {@link Channel.exchangeDeclare}.
 * @category Channel
 */
export interface ExchangeDeclareOptions {
  /** Exchange type: 'direct' (default), 'fanout', 'topic', 'headers' or a plugin's. */
  type?: string;
  /** Only check that it exists (404 otherwise). */
  passive?: boolean;
  /** Survives a broker restart. */
  durable?: boolean;
  /** Deleted once its last binding is removed. */
  autoDelete?: boolean;
  /** Not published to directly, only through exchange-to-exchange bindings. */
  internal?: boolean;
  /** Await no reply; the callback runs once the frame is written. */
  noWait?: boolean;
  /** Extra arguments (a field table), e.g. `alternate-exchange`. */
  arguments?: FieldTable;
}

/**
 * Options of {@link Channel.queueDeclare}.
 * @category Channel
 */
export interface QueueDeclareOptions {
  /** Only check that it exists (404 otherwise); `ok` gives its counts. */
  passive?: boolean;
  /** Survives a broker restart. */
  durable?: boolean;
  /** Used only by this connection and deleted when it closes. */
  exclusive?: boolean;
  /** Deleted once its last consumer is cancelled. */
  autoDelete?: boolean;
  /** Await no reply; the callback runs once the frame is written. */
  noWait?: boolean;
  /**
   * Extra arguments (a field table): the keys RabbitMQ documents are typed
   * (`x-queue-type`, `x-max-length`, `x-delivery-limit`, ...: see
   * {@link QueueArguments}); any other key takes any field value.
   */
  arguments?: QueueArguments;
}

/**
 * Options of binding methods.
 * @category Channel
 */
export interface BindOptions {
  /** Await no reply; the callback runs once the frame is written. */
  noWait?: boolean;
  /** Binding arguments (a field table), e.g. for a headers exchange. */
  arguments?: FieldTable;
}

/**
 * Options of {@link Channel.basicConsume}.
 * @category Channel
 */
export interface ConsumeOptions {
  /** The broker considers messages acknowledged once sent (`no-ack`). */
  autoAck?: boolean;
  /** No other consumer may use the queue meanwhile. */
  exclusive?: boolean;
  /** The tag to use; default: a generated one. */
  consumerTag?: string;
  /** Ask not to receive this connection's own publishes (RabbitMQ ignores it). */
  noLocal?: boolean;
  /**
   * Extra arguments (a field table): the keys RabbitMQ documents are typed
   * (`x-priority`, `x-stream-offset`, ...: see {@link ConsumeArguments}); any
   * other key takes any field value.
   */
  arguments?: ConsumeArguments;
}

/**
 * Options of {@link Channel.basicQos}.
 * @category Channel
 */
export interface QosOptions {
  /** Window in bytes (0: no limit; RabbitMQ supports only 0). */
  prefetchSize?: number;
  /** Unacknowledged messages allowed in flight (0: no limit). */
  prefetchCount?: number;
  /** RabbitMQ: true applies the limit to the channel, false to each new consumer. */
  global?: boolean;
}

/**
 * Options of {@link Channel.exchangeDelete}.
 * @category Channel
 */
export interface ExchangeDeleteOptions {
  /** Delete only if the exchange has no bindings (406 otherwise). */
  ifUnused?: boolean;
  /** Await no reply; the callback runs once the frame is written. */
  noWait?: boolean;
}

/**
 * Options of {@link Channel.queueUnbind}.
 * @category Channel
 */
export interface UnbindOptions {
  /** The binding's arguments (a field table), as given to queueBind. */
  arguments?: FieldTable;
}

/**
 * Options of {@link Channel.queueDelete}.
 * @category Channel
 */
export interface QueueDeleteOptions {
  /** Delete only if the queue has no consumers (406 otherwise). */
  ifUnused?: boolean;
  /** Delete only if the queue is empty (406 otherwise). */
  ifEmpty?: boolean;
  /** Await no reply; the callback runs once the frame is written. */
  noWait?: boolean;
}

/**
 * Options of methods whose only option is `noWait` (queuePurge, confirmDelivery).
 * @category Channel
 */
export interface NoWaitOptions {
  /** Await no reply; the callback runs once the frame is written. */
  noWait?: boolean;
}

/**
 * Options of {@link Channel.basicGet}.
 * @category Channel
 */
export interface GetOptions {
  /** The broker considers the message acknowledged once sent (`no-ack`). */
  autoAck?: boolean;
}

/**
 * The options form of basicPublish's last argument.
 * @category Channel
 */
export interface PublishOptions {
  /** Return the message (`basic.return`) if no queue takes it (default false). */
  mandatory?: boolean;
  /**
   * Confirm mode only: called once for this message, with null once the
   * broker acked it, a NackError when it nacked it, an UnroutableError when it
   * was mandatory and came back, or the close reason when the channel closed
   * before the broker answered (the outcome is then unknown).
   */
  onConfirm?: ErrorCallback;
}

export const EXCHANGE_DECLARE_OPTIONS = ['type', 'passive', 'durable', 'autoDelete', 'internal', 'noWait', 'arguments'] as const;
export const QUEUE_DECLARE_OPTIONS = ['passive', 'durable', 'exclusive', 'autoDelete', 'noWait', 'arguments'] as const;
export const BIND_OPTIONS = ['noWait', 'arguments'] as const;
export const CONSUME_OPTIONS = ['autoAck', 'exclusive', 'consumerTag', 'noLocal', 'arguments'] as const;

/**
 * @internal Sorts `(options, cb)` from arguments given in either order: the methods
 * whose documented order put the callback first (basicGet, queuePurge,
 * confirmDelivery) also take options first, like every other method.
 */
export function optionsAndCallback<O extends object, T>(
  a: O | AnyCallback<T> | undefined,
  b: O | AnyCallback<T> | undefined,
): [O | undefined, Completion<T> | undefined] {
  if (typeof a === 'function') return [b as O | undefined, completion(a)];
  return [a, completion(b as AnyCallback<T> | undefined)];
}
