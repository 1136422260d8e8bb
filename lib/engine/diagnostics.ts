/**
 * coney's `node:diagnostics_channel` events: what tracers (the
 * `coney/opentelemetry` integration, an APM agent, a test) subscribe to
 * instead of patching the library from outside.
 *
 * - Tracing channel `coney:publish` around each `basicPublish`, context
 *   {@link PublishContext}: a subscriber's `start` may add headers to
 *   `context.properties.headers` (always an object of the publish's own, so
 *   the caller's properties are never changed) before the message is encoded.
 * - Tracing channel `coney:deliver` around each consumer callback, context
 *   {@link DeliverContext} (`start` and `end` run on the loop, around the
 *   synchronous part of the callback; `start.bindStore` makes a store, an
 *   OpenTelemetry context for instance, current inside it).
 * - Channels `coney:connection`, `coney:channel` and `coney:recovery`
 *   publishing {@link LifeCycleEvent}s.
 *
 * Nothing is computed when nobody subscribes: the hot paths read a
 * `hasSubscribers` flag (a prototype getter that returns a constant) once per
 * message, and build no context otherwise.
 * @packageDocumentation
 */
import * as dc from 'node:diagnostics_channel';
import type * as spec from '../wire/spec';
import type { Channel } from './channel';
import type { Connection } from './connection';

/** The context of a `coney:publish` trace.
 * @category Observability
 */
export interface PublishContext {
  /** The channel publishing. */
  readonly channel: Channel;
  readonly exchange: string;
  readonly routingKey: string;
  /** The properties that will be encoded; `headers` always present and the publish's own: add to it in `start`. */
  readonly properties: spec.BasicPropertiesInit & { headers: Record<string, unknown> };
  /** The body as it will be sent. */
  readonly body: Buffer;
  /** Set by the tracing channel on `error` (the publish threw). */
  error?: unknown;
  /** The publish's return value (false: above the high-water mark), set by the tracing channel before `end`. */
  result?: unknown;
}

/** The context of a `coney:deliver` trace: the delivery handed to a consumer callback.
 * @category Observability
 */
export interface DeliverContext {
  readonly channel: Channel;
  readonly method: spec.Basic.Deliver;
  readonly properties: spec.BasicProperties;
  readonly body: Buffer;
  /** The queue the consumer consumes from (as given to basicConsume). */
  readonly queue: string;
  /** Set by the tracing channel when the callback threw. */
  error?: unknown;
  /** What the callback returned (a promise for an `async` one), set by the tracing channel before `end`. */
  result?: unknown;
}

/** What `coney:connection`, `coney:channel` and `coney:recovery` publish.
 * @category Observability
 */
export interface LifeCycleEvent {
  /** `open`, `close`, `blocked`, `unblocked` (connection); `open`, `close` (channel); `recovering`, `recovered`, `failed` (recovery). */
  readonly event: 'open' | 'close' | 'blocked' | 'unblocked' | 'recovering' | 'recovered' | 'failed';
  readonly connection: Connection;
  /** The channel, on `coney:channel`. */
  readonly channel?: Channel;
  /** Why it closed, blocked, or recovers. */
  readonly reason?: Error | string;
}

/** The names, for subscribers: `diagnostics_channel.tracingChannel(CHANNEL_NAMES.publish)`.
 * @category Observability
 */
export const CHANNEL_NAMES = {
  publish: 'coney:publish',
  deliver: 'coney:deliver',
  connection: 'coney:connection',
  channel: 'coney:channel',
  recovery: 'coney:recovery',
} as const;

/** @internal */
export const publishTrace = dc.tracingChannel<unknown, PublishContext>(CHANNEL_NAMES.publish);
/** @internal */
export const deliverTrace = dc.tracingChannel<unknown, DeliverContext>(CHANNEL_NAMES.deliver);
/** @internal */
export const connectionEvents = dc.channel(CHANNEL_NAMES.connection);
/** @internal */
export const channelEvents = dc.channel(CHANNEL_NAMES.channel);
/** @internal */
export const recoveryEvents = dc.channel(CHANNEL_NAMES.recovery);

/**
 * @internal Whether a trace has subscribers. Only the synchronous events
 * matter (coney's traces are traceSync); reading the three flags costs three
 * constant getters, where TracingChannel.hasSubscribers (Node 20.13+) reads five.
 */
export function traced(trace: dc.TracingChannel<unknown, object>): boolean {
  return trace.start.hasSubscribers || trace.end.hasSubscribers || trace.error.hasSubscribers;
}

/** @internal Publishes a life-cycle event when someone listens (the event object is made only then). */
export function lifeCycleEvent(
  target: dc.Channel,
  event: LifeCycleEvent['event'],
  connection: Connection,
  channel?: Channel,
  reason?: Error | string,
): void {
  if (!target.hasSubscribers) return;
  target.publish(channel === undefined ? { event, connection, reason } : { event, connection, channel, reason });
}
