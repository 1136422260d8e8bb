/**
 * The `arguments` of queue.declare and basic.consume that RabbitMQ documents,
 * typed so that an editor completes their names and a value of the wrong
 * type does not compile, while any other key still takes any field value;
 * and the client-side rule for consuming from a stream (RabbitMQ refuses a
 * stream consumer without a prefetch or with automatic acks, and closes the
 * whole connection for some of those mistakes).
 *
 * The types only describe values; the wire types come from the field-table
 * encoder as for any table: an integer number is sent as `I` (int32) or `l`
 * (int64), a `Date` as `T` (a timestamp, whole seconds), a string as `S`.
 * `Typed.int64(...)` and the other {@link Typed} builders force a wire type.
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors';
import type { FieldValue, TypedValue } from '../wire/field-table';
import { describeValue } from './option-checks';

/**
 * A whole number argument: a number (sent as `I`, or `l` beyond int32), a
 * bigint (`l`), or a value forced to a wire type with {@link Typed}
 * (`Typed.int64(n)`).
 * @category Channel
 */
export type IntegerArgument = number | bigint | TypedValue<number | bigint>;

/**
 * A time span as RabbitMQ writes it: a positive whole number and a unit,
 * `Y` (365 days), `M` (30 days), `D`, `h`, `m` or `s`: `'7D'`, `'12h'`, `'30m'`.
 * Used by `x-max-age` and as an `x-stream-offset` (that long ago).
 * @category Channel
 */
export type RetentionInterval = `${bigint}${'Y' | 'M' | 'D' | 'h' | 'm' | 's'}`;

/**
 * Where a stream consumer starts (`x-stream-offset`): `'first'` (the oldest
 * message kept), `'last'` (the last chunk written), `'next'` (only what is
 * published from now on: RabbitMQ's default), an offset (a number or bigint:
 * the n-th message since the stream was created), a `Date` (sent as an AMQP
 * timestamp, so to the second: the first chunk written at or after it) or a
 * {@link RetentionInterval} (`'1h'`: what was written in the last hour).
 * @category Channel
 */
export type StreamOffset = 'first' | 'last' | 'next' | number | bigint | Date | RetentionInterval | TypedValue<number | bigint | Date>;

/**
 * The `arguments` of {@link Channel.queueDeclare}: the keys RabbitMQ
 * documents, with their types. Durations are in milliseconds. Any other key
 * takes any {@link FieldValue}, as in a plain {@link FieldTable}; a policy is
 * often the better place for these settings (it can be changed later, an
 * argument cannot).
 * @category Channel
 */
export interface QueueArguments {
  [key: string]: FieldValue;
  /** The queue type (default: classic, or the virtual host's default). Streams must be durable. */
  'x-queue-type'?: 'classic' | 'quorum' | 'stream';
  /** Keep at most this many ready messages (classic, quorum). */
  'x-max-length'?: IntegerArgument;
  /** Keep at most this many bytes of ready message bodies; for a stream, its retention by size. */
  'x-max-length-bytes'?: IntegerArgument;
  /** What happens at the length limit: drop the oldest (default), or refuse publishes (`reject-publish-dlx`: classic only). */
  'x-overflow'?: 'drop-head' | 'reject-publish' | 'reject-publish-dlx';
  /** Milliseconds a message may wait in the queue before it is dropped or dead-lettered (classic, quorum). */
  'x-message-ttl'?: IntegerArgument;
  /** Milliseconds of disuse (no consumer, no basic.get, no redeclare) after which the queue is deleted (classic, quorum). */
  'x-expires'?: IntegerArgument;
  /** The exchange that receives dead-lettered messages ('' is the default exchange). */
  'x-dead-letter-exchange'?: string;
  /** The routing key dead-lettered messages get (default: their own). Needs `x-dead-letter-exchange`. */
  'x-dead-letter-routing-key'?: string;
  /** Quorum queues: `at-least-once` dead-lettering (needs `x-overflow: 'reject-publish'`) or `at-most-once` (default). */
  'x-dead-letter-strategy'?: 'at-most-once' | 'at-least-once';
  /**
   * Quorum queues: how many times a message may be returned (nacked or
   * rejected with requeue, or left unacked by a closed channel) before it is
   * dropped or dead-lettered (reason `delivery_limit`). Each redelivery
   * carries the count so far in the `x-delivery-count` header.
   */
  'x-delivery-limit'?: IntegerArgument;
  /** Only one consumer at a time gets messages; the next one takes over when it goes (classic, quorum). */
  'x-single-active-consumer'?: boolean;
  /** Classic queues: message priorities from 0 up to this (at most 255; RabbitMQ advises 10 or less). */
  'x-max-priority'?: IntegerArgument;
  /** Quorum queues and streams: on which node the leader is placed. */
  'x-queue-leader-locator'?: 'client-local' | 'balanced';
  /** Classic queues before RabbitMQ 3.12: `lazy` keeps messages on disk (ignored since). */
  'x-queue-mode'?: 'default' | 'lazy';
  /** Classic queues: the storage version (2 is the default since RabbitMQ 3.13). */
  'x-queue-version'?: 1 | 2;
  /** Quorum queues: the number of replicas to start with. */
  'x-quorum-initial-group-size'?: IntegerArgument;
  /** Streams: the number of replicas to start with. */
  'x-initial-cluster-size'?: IntegerArgument;
  /** Streams: drop segments older than this (`'7D'`). */
  'x-max-age'?: RetentionInterval;
  /** Streams: the size of the segment files (default 500 MB). */
  'x-stream-max-segment-size-bytes'?: IntegerArgument;
  /** Streams (RabbitMQ 3.13+): the size of the Bloom filter of each chunk, 16 to 255 bytes. */
  'x-stream-filter-size-bytes'?: IntegerArgument;
  /** Milliseconds a consumer may hold a delivery unacknowledged before RabbitMQ gives up on it (3.12+; see docs/API.md). */
  'x-consumer-timeout'?: IntegerArgument;
}

/**
 * The `arguments` of {@link Channel.basicConsume}: the keys RabbitMQ
 * documents, with their types; any other key takes any {@link FieldValue}.
 * `x-stream-offset` or `x-stream-filter` makes it a stream consumer, which
 * coney checks before sending (see {@link Channel.basicConsume}).
 * @category Channel
 */
export interface ConsumeArguments {
  [key: string]: FieldValue;
  /** Consumer priority (default 0): while it has room in its prefetch window, a higher one gets the messages first. */
  'x-priority'?: IntegerArgument;
  /** Streams: where to start reading. */
  'x-stream-offset'?: StreamOffset;
  /** Streams (RabbitMQ 3.13+): only chunks that may hold messages with one of these `x-stream-filter-value`s. */
  'x-stream-filter'?: string | string[];
  /** Streams (RabbitMQ 3.13+): also messages published without a filter value. */
  'x-stream-match-unfiltered'?: boolean;
  /** Milliseconds this consumer may hold a delivery unacknowledged (overrides the queue's and the broker's). */
  'x-consumer-timeout'?: IntegerArgument;
}

/** The consumer arguments that only a stream accepts: their presence makes a consume a stream consume. */
const STREAM_CONSUMER_KEYS = ['x-stream-offset', 'x-stream-filter'] as const;

/** @internal True when queue.declare arguments declare a stream. */
export function declaresStream(args: QueueArguments | undefined): boolean {
  const type = args?.['x-queue-type'];
  return type === 'stream';
}

/** @internal What a channel knows when it checks a consume (see {@link checkStreamConsume}). */
export interface StreamConsumeContext {
  /** This channel declared the queue, by name, with `x-queue-type: 'stream'`. */
  declaredStream: boolean;
  /** The last per-consumer prefetch count set on the channel (basicQos, global false). */
  consumerPrefetch: number;
  /** The last channel-wide prefetch count set (basicQos, global true). */
  globalPrefetch: number;
}

/**
 * @internal Whether a consume is a stream consume (an `x-stream-offset` or
 * `x-stream-filter` argument, or a queue this channel declared as a
 * stream); throws an InvalidArgumentError when such a consume lacks what
 * RabbitMQ requires: manual acks, a per-consumer prefetch and no
 * channel-wide one, and an offset it can parse. RabbitMQ would refuse each
 * with a channel error at best; automatic acks and a malformed offset string
 * close the whole connection (540 and 541 on RabbitMQ 3.10).
 */
export function checkStreamConsume(queue: string, autoAck: boolean, args: ConsumeArguments | undefined, context: StreamConsumeContext): boolean {
  const key = args === undefined ? undefined : STREAM_CONSUMER_KEYS.find((k) => args[k] !== undefined);
  if (key === undefined && !context.declaredStream) return false;
  const why = key !== undefined ? `its '${key}' argument makes it a stream consumer` : 'this channel declared it as a stream';
  const where = `basicConsume(${JSON.stringify(queue)})`;
  if (autoAck) {
    throw new InvalidArgumentError(
      `${where}: ${why}, and streams need manual acknowledgements: autoAck must be false (acks move the consumer's credit on)`,
    );
  }
  if (context.consumerPrefetch === 0) {
    throw new InvalidArgumentError(
      `${where}: ${why}, and a stream consumer needs a prefetch: call channel.basicQos({ prefetchCount: n }) (n > 0, global false) before consuming`,
    );
  }
  if (context.globalPrefetch > 0) {
    throw new InvalidArgumentError(
      `${where}: ${why}, and streams refuse a channel-wide prefetch (basicQos with global: true, here ${context.globalPrefetch}): ` +
        'consume from a channel with only a per-consumer prefetch',
    );
  }
  if (args !== undefined && args['x-stream-offset'] !== undefined) checkStreamOffset(where, args['x-stream-offset']);
  return true;
}

/** Whole number, unit: what RabbitMQ's interval parser takes (it crashes on anything else). */
const INTERVAL = /^(\d+)[YMDhms]$/;

/** Throws unless `offset` is an x-stream-offset RabbitMQ can parse. */
function checkStreamOffset(where: string, offset: FieldValue): void {
  const bad = (expected: string): InvalidArgumentError =>
    new InvalidArgumentError(`${where}: 'x-stream-offset' must be ${expected}, got ${describeValue(offset)}`);
  if (typeof offset === 'string') {
    if (offset === 'first' || offset === 'last' || offset === 'next') return;
    const interval = INTERVAL.exec(offset);
    if (interval === null || Number(interval[1]) === 0) {
      throw bad(`'first', 'last', 'next' or an interval such as '1h' (a positive whole number and one of Y, M, D, h, m, s)`);
    }
    return;
  }
  if (typeof offset === 'number' && !(Number.isSafeInteger(offset) && offset >= 0)) throw bad('a whole number from 0 (an offset)');
  if (typeof offset === 'bigint' && offset < 0n) throw bad('an offset from 0');
  if (typeof offset === 'boolean' || offset === null || Array.isArray(offset)) {
    throw bad(`'first', 'last', 'next', an offset, a Date or an interval such as '1h'`);
  }
}
