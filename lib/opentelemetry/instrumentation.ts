/**
 * `ConeyInstrumentation`: coney's `node:diagnostics_channel` events turned
 * into OpenTelemetry spans.
 * @packageDocumentation
 */
import * as dc from 'node:diagnostics_channel';
import {
  type Context,
  diag,
  type Link,
  type MeterProvider,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  trace,
  type Tracer,
  type TracerProvider,
  context as otelContext,
} from '@opentelemetry/api';
import { CHANNEL_NAMES, type DeliverContext, type PublishContext } from '../engine/diagnostics';
import { VERSION } from '../version';
import { ATTR, isServerNamed, messageAttributes, processDestination, publishDestination, type ServerEndpoint, spanName } from './attributes';
import { type ConeyInstrumentationConfig, checkConfig } from './config';
import { OpenTelemetryContextStore } from './context-store';
import { headerGetter, headerSetter } from './headers';
import { recordError } from './span-errors';

/**
 * The instrumentation scope of coney's spans.
 * @category OpenTelemetry
 */
export const INSTRUMENTATION_NAME = 'coney';

type Listener = (message: unknown, name: string | symbol) => void;
type Channel = PublishContext['channel'];
/** A delivery's context as Node's traceSync leaves it: the callback's return value in `result`. */
type DeliverTrace = DeliverContext & { readonly result?: unknown; readonly queue?: unknown };

/**
 * Turns coney's `coney:publish` and `coney:deliver` traces into OpenTelemetry
 * spans, following the messaging semantic conventions for RabbitMQ:
 *
 * - each `basicPublish` gets a PRODUCER span `publish {destination}`
 *   (`messaging.operation.type` `send`, `messaging.operation.name`
 *   `publish`), whose context is injected into the message headers with the
 *   global propagator (W3C `traceparent`/`tracestate` with the
 *   `W3CTraceContextPropagator`);
 * - each consumer callback runs in a CONSUMER span `process {destination}`
 *   (`messaging.operation.type` and `.name` `process`), child of the
 *   context extracted from the message headers (see
 *   {@link ConeyInstrumentationConfig.parentFromMessage}) and linked to it.
 *   The span is OpenTelemetry's active context inside the callback (through
 *   `start.bindStore`, with public APIs only): spans the callback starts are
 *   its children, with a context manager registered. An `async` callback's
 *   span ends when its promise settles.
 *
 * Attributes: `messaging.system` (`rabbitmq`), `messaging.destination.name`
 * (`{exchange}:{routing key}` for a publish, `{exchange}:{routing key}:{queue}`
 * for a delivery, without the empty parts), `messaging.destination.anonymous`
 * for a server-named queue, `messaging.rabbitmq.destination.routing_key`,
 * `messaging.rabbitmq.message.delivery_tag`, `messaging.message.id`
 * (`messageId`), `messaging.message.conversation_id` (`correlationId`),
 * `messaging.message.body.size`, and `server.address`/`server.port` (the
 * host and port the channel's connection opened with). A publish that throws, or a callback that
 * throws or rejects, marks its span: the exception recorded, status ERROR,
 * `error.type` the error's class name.
 *
 * The life-cycle channels (`coney:connection`, `coney:channel`,
 * `coney:recovery`) make no spans: a connection outlives any trace, and
 * `NODE_DEBUG=coney` and `connection.stats` cover its life.
 *
 * Shaped like OpenTelemetry's instrumentations: enabled when constructed
 * (unless `enabled: false`), `enable()`/`disable()`, `setTracerProvider()`,
 * `setConfig()`/`getConfig()`. Two enabled instances make two spans of
 * everything. Needs `@opentelemetry/api` (an optional peer dependency of coney).
 * @category OpenTelemetry
 */
export class ConeyInstrumentation {
  /** The instrumentation scope name of the spans. */
  readonly instrumentationName = INSTRUMENTATION_NAME;
  /** coney's version, the instrumentation scope version of the spans. */
  readonly instrumentationVersion = VERSION;

  private config: ConeyInstrumentationConfig;
  private tracer: Tracer;
  private enabled = false;
  private readonly publishChannel = dc.tracingChannel<unknown, PublishContext>(CHANNEL_NAMES.publish);
  private readonly deliverChannel = dc.tracingChannel<Context, DeliverTrace>(CHANNEL_NAMES.deliver);
  private readonly store = new OpenTelemetryContextStore();
  /** The span of each publish or delivery under way. */
  private readonly spans = new WeakMap<object, Span>();
  /** Spans started and not yet ended: ended by disable(), which stops the events that would end them. */
  private readonly open = new Set<Span>();

  private readonly onPublishStart: Listener = (message) => this.guard('publish start', () => this.publishStarted(message as PublishContext));
  private readonly onPublishError: Listener = (message) => this.guard('publish error', () => this.failed(message as PublishContext));
  private readonly onPublishEnd: Listener = (message) => this.guard('publish end', () => this.ended(message as PublishContext));
  /** The span is normally made by the bindStore transform, which runs first; this makes it if no store ran. */
  private readonly onDeliverStart: Listener = (message) =>
    this.guard('deliver start', () => void (this.spans.has(message as object) || this.startProcess(message as DeliverTrace)));
  private readonly onDeliverError: Listener = (message) => this.guard('deliver error', () => this.failed(message as DeliverTrace));
  private readonly onDeliverEnd: Listener = (message) => this.guard('deliver end', () => this.deliverEnded(message as DeliverTrace));
  /** The `start.bindStore` transform: the context the consumer callback runs in. */
  private readonly deliverContext = (context: DeliverTrace): Context => {
    try {
      return this.startProcess(context);
    } catch (err) {
      diag.error('coney: the process span could not be started', err);
      return otelContext.active();
    }
  };

  /** Checks the config (an InvalidArgumentError for an unknown key or a value of the wrong type) and, unless `enabled: false`, enables. */
  constructor(config?: ConeyInstrumentationConfig) {
    this.config = checkConfig(config);
    this.tracer = this.makeTracer();
    if (this.config.enabled !== false) this.enable();
  }

  /** Whether the instrumentation is subscribed. */
  get isEnabled(): boolean {
    return this.enabled;
  }

  /** Subscribes to coney's traces (a no-op when already enabled). */
  enable(): void {
    if (this.enabled) return;
    this.enabled = true;
    this.publishChannel.start.subscribe(this.onPublishStart);
    this.publishChannel.error.subscribe(this.onPublishError);
    this.publishChannel.end.subscribe(this.onPublishEnd);
    this.deliverChannel.start.bindStore(this.store, this.deliverContext);
    this.deliverChannel.start.subscribe(this.onDeliverStart);
    this.deliverChannel.error.subscribe(this.onDeliverError);
    this.deliverChannel.end.subscribe(this.onDeliverEnd);
  }

  /** Unsubscribes: no span is made from here on; the spans under way (a disable() from a consumer callback) end now. */
  disable(): void {
    if (!this.enabled) return;
    this.enabled = false;
    this.publishChannel.start.unsubscribe(this.onPublishStart);
    this.publishChannel.error.unsubscribe(this.onPublishError);
    this.publishChannel.end.unsubscribe(this.onPublishEnd);
    this.deliverChannel.start.unbindStore(this.store);
    this.deliverChannel.start.unsubscribe(this.onDeliverStart);
    this.deliverChannel.error.unsubscribe(this.onDeliverError);
    this.deliverChannel.end.unsubscribe(this.onDeliverEnd);
    for (const span of this.open) span.end();
    this.open.clear();
  }

  /** Where the spans go from now on. */
  setTracerProvider(tracerProvider: TracerProvider): void {
    this.config = { ...this.config, tracerProvider };
    this.tracer = this.makeTracer();
  }

  /** coney reports no metrics through OpenTelemetry (see `connection.stats`): accepted and ignored, for the shape of an instrumentation. */
  setMeterProvider(_meterProvider: MeterProvider): void {}

  /** The config, with `enabled` telling whether it is subscribed now. */
  getConfig(): ConeyInstrumentationConfig {
    return { ...this.config, enabled: this.enabled };
  }

  /** Replaces the config (checked as the constructor's); `enabled` in it is ignored: use enable() and disable(). */
  setConfig(config: ConeyInstrumentationConfig = {}): void {
    this.config = checkConfig(config);
    this.tracer = this.makeTracer();
  }

  private makeTracer(): Tracer {
    return (this.config.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME, VERSION);
  }

  /** A subscriber must not throw (diagnostics_channel would rethrow it on the next tick): report through `diag` instead. */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      diag.error(`coney: the OpenTelemetry instrumentation failed on ${what}`, err);
    }
  }

  private server(channel: Channel): ServerEndpoint | undefined {
    const parameters = channel.connection.parameters;
    return parameters == null ? undefined : { host: parameters.host, port: parameters.port };
  }

  private started(key: object, span: Span): Span {
    this.spans.set(key, span);
    this.open.add(span);
    return span;
  }

  private finish(key: object): void {
    const span = this.spans.get(key);
    if (span === undefined) return;
    this.spans.delete(key);
    if (this.open.delete(span)) span.end(); // else disable() ended it
  }

  private publishStarted(context: PublishContext): void {
    const { exchange, routingKey, properties, body } = context;
    const attributes = messageAttributes(properties, body, this.server(context.channel));
    attributes[ATTR.operationName] = 'publish';
    attributes[ATTR.operationType] = 'send';
    attributes[ATTR.destinationName] = publishDestination(exchange, routingKey);
    if (routingKey !== '') attributes[ATTR.routingKey] = routingKey;
    if (isServerNamed(routingKey)) attributes[ATTR.destinationAnonymous] = true;
    const parent = otelContext.active();
    const span = this.started(
      context,
      this.tracer.startSpan(spanName('publish', exchange, routingKey), { kind: SpanKind.PRODUCER, attributes }, parent),
    );
    this.runHook(this.config.publishHook, span, context);
    propagation.inject(trace.setSpan(parent, span), properties.headers, headerSetter);
  }

  /**
   * Starts the process span of a delivery (in the bindStore transform, or in
   * `start` if no store ran) and returns the context the callback runs in:
   * what the message headers carry (trace context, baggage) with the span.
   */
  private startProcess(context: DeliverTrace): Context {
    const { method, properties, body } = context;
    const carried = propagation.extract(ROOT_CONTEXT, properties.headers, headerGetter);
    const existing = this.spans.get(context);
    if (existing !== undefined) return trace.setSpan(carried, existing);
    const { exchange, routingKey } = method;
    const queue = typeof context.queue === 'string' ? context.queue : undefined;
    const attributes = messageAttributes(properties, body, this.server(context.channel));
    attributes[ATTR.operationName] = 'process';
    attributes[ATTR.operationType] = 'process';
    attributes[ATTR.destinationName] = processDestination(exchange, routingKey, queue);
    if (routingKey !== '') attributes[ATTR.routingKey] = routingKey;
    if (isServerNamed(routingKey) || (queue !== undefined && isServerNamed(queue))) attributes[ATTR.destinationAnonymous] = true;
    attributes[ATTR.deliveryTag] = method.deliveryTag;
    const creation = trace.getSpanContext(carried);
    const links: Link[] = creation === undefined || !trace.isSpanContextValid(creation) ? [] : [{ context: creation }];
    const parent = links.length > 0 && this.config.parentFromMessage !== false ? trace.setSpanContext(ROOT_CONTEXT, links[0].context) : ROOT_CONTEXT;
    const span = this.started(
      context,
      this.tracer.startSpan(spanName('process', exchange, routingKey, queue), { kind: SpanKind.CONSUMER, attributes, links }, parent),
    );
    this.runHook(this.config.processHook, span, context);
    return trace.setSpan(carried, span);
  }

  private failed(context: PublishContext | DeliverTrace): void {
    const span = this.spans.get(context);
    if (span !== undefined) recordError(span, context.error);
  }

  private ended(context: object): void {
    this.finish(context);
  }

  /** The callback returned: its span ends now, or when the promise it returned settles. */
  private deliverEnded(context: DeliverTrace): void {
    const result = context.result;
    if (context.error !== undefined || !isThenable(result)) return this.finish(context);
    result.then(
      () => this.guard('deliver settled', () => this.finish(context)),
      (err: unknown) =>
        this.guard('deliver rejected', () => {
          const span = this.spans.get(context);
          if (span !== undefined) recordError(span, err);
          this.finish(context);
        }),
    );
  }

  private runHook<C>(hook: ((span: Span, context: C) => void) | undefined, span: Span, context: C): void {
    if (hook === undefined) return;
    try {
      hook(span, context);
    } catch (err) {
      diag.error('coney: an OpenTelemetry instrumentation hook threw', err);
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
