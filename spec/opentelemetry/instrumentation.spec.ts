/**
 * coney/opentelemetry without a broker: the specs drive the
 * diagnostics_channel traces `coney:publish` and `coney:deliver` as the
 * engine does (traceSync around the publish and around the consumer
 * callback) and read the spans from the SDK's in-memory exporter.
 */
import { expect } from 'chai';
import * as dc from 'node:diagnostics_channel';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BasicProperties, type Channel, type FieldTable, InvalidArgumentError, spec } from '../../lib';
import type { DeliverContext, PublishContext } from '../../lib/engine/diagnostics';
import { ConeyInstrumentation, type ConeyInstrumentationConfig, instrumentConey } from '../../lib/opentelemetry';
import { useOpenTelemetry } from './support';

const publishTrace = dc.tracingChannel<unknown, PublishContext>('coney:publish');
const deliverTrace = dc.tracingChannel<unknown, DeliverContext>('coney:deliver');
/** A stand-in for the engine's Channel: what the instrumentation reads of it (the parameters of its connection). */
function fakeChannel(parameters: { host: string; port: number } | null = null): Channel {
  return { channelNumber: 1, connection: { parameters } } as unknown as Channel;
}

function publishContext(over: Partial<PublishContext> = {}): PublishContext {
  return {
    channel: fakeChannel(),
    exchange: 'orders',
    routingKey: 'order.created',
    properties: { headers: {}, messageId: 'm-1', correlationId: 'c-1' },
    body: Buffer.from('hello'),
    ...over,
  };
}

/** Runs a publish through the trace as basicPublish does; returns the headers the message would be encoded with. */
function publish(ctx: PublishContext = publishContext(), fn: () => unknown = () => true): FieldTable {
  publishTrace.traceSync(fn, ctx);
  return ctx.properties.headers;
}

function deliverContext(headers: FieldTable | undefined, over: Partial<DeliverContext> & { queue?: string } = {}): DeliverContext {
  return {
    channel: fakeChannel(),
    method: new spec.Basic.Deliver({ consumerTag: 'ctag', deliveryTag: 7, redelivered: false, exchange: 'orders', routingKey: 'order.created' }),
    properties: new BasicProperties({ headers, messageId: 'm-1', correlationId: 'c-1' }),
    body: Buffer.from('hello'),
    ...over,
  } as DeliverContext;
}

/** Runs a consumer callback through the trace as the channel does. */
function deliver<R>(ctx: DeliverContext, callback: () => R): R {
  return deliverTrace.traceSync(callback, ctx);
}

describe('coney/opentelemetry: ConeyInstrumentation', () => {
  const otel = useOpenTelemetry();
  let instrumentation: ConeyInstrumentation | undefined;

  function instrument(config: ConeyInstrumentationConfig = {}): ConeyInstrumentation {
    instrumentation = new ConeyInstrumentation({ tracerProvider: otel.provider, ...config });
    return instrumentation;
  }

  afterEach(() => {
    instrumentation?.disable();
    instrumentation = undefined;
    expect(publishTrace.start.hasSubscribers, 'coney:publish start after disable').to.equal(false);
    expect(deliverTrace.start.hasSubscribers, 'coney:deliver start after disable').to.equal(false);
    expect(deliverTrace.end.hasSubscribers, 'coney:deliver end after disable').to.equal(false);
  });

  describe('publish', () => {
    it('makes a PRODUCER span with the RabbitMQ attributes and injects its context as traceparent', () => {
      instrument();
      const headers = publish();
      const span = otel.span('publish orders:order.created');
      expect(span.kind).to.equal(SpanKind.PRODUCER);
      expect(span.attributes).to.deep.equal({
        'messaging.system': 'rabbitmq',
        'messaging.operation.name': 'publish',
        'messaging.operation.type': 'send',
        'messaging.destination.name': 'orders:order.created',
        'messaging.rabbitmq.destination.routing_key': 'order.created',
        'messaging.message.id': 'm-1',
        'messaging.message.conversation_id': 'c-1',
        'messaging.message.body.size': 5,
      });
      const { traceId, spanId } = span.spanContext();
      expect(headers['traceparent']).to.equal(`00-${traceId}-${spanId}-01`);
      expect(span.instrumentationScope.name).to.equal('coney');
      expect(span.status.code).to.equal(SpanStatusCode.UNSET);
    });

    it('is a child of the span active where basicPublish is called', () => {
      instrument();
      const tracer = otel.provider.getTracer('test');
      const outer = tracer.startSpan('request');
      context.with(trace.setSpan(context.active(), outer), () => publish());
      outer.end();
      const span = otel.span('publish orders:order.created');
      expect(span.spanContext().traceId).to.equal(outer.spanContext().traceId);
      expect(span.parentSpanContext?.spanId).to.equal(outer.spanContext().spanId);
    });

    it('names the default exchange amq.default and leaves server-named queues out of the span name', () => {
      instrument();
      publish(publishContext({ exchange: '', routingKey: 'tasks' }));
      publish(publishContext({ exchange: '', routingKey: 'amq.gen-Xa2b' }));
      publish(publishContext({ exchange: '', routingKey: '' }));
      publish(publishContext({ exchange: 'logs', routingKey: '' }));
      expect(otel.span('publish tasks').attributes['messaging.destination.name']).to.equal('tasks');
      const anonymous = otel.spans().filter((s) => s.name === 'publish amq.default');
      expect(anonymous.map((s) => s.attributes['messaging.destination.name'])).to.deep.equal(['amq.gen-Xa2b', 'amq.default']);
      expect(anonymous[0].attributes['messaging.destination.anonymous']).to.equal(true);
      expect(anonymous[1].attributes).to.not.have.property('messaging.rabbitmq.destination.routing_key');
      expect(otel.span('publish logs').attributes['messaging.destination.name']).to.equal('logs');
    });

    it('leaves out message id and correlation id when the message has none', () => {
      instrument();
      publish(publishContext({ properties: { headers: {} } }));
      const span = otel.span('publish orders:order.created');
      expect(span.attributes).to.not.have.property('messaging.message.id');
      expect(span.attributes).to.not.have.property('messaging.message.conversation_id');
    });

    it('records the exception and sets status ERROR when the publish throws, and still ends the span', () => {
      instrument();
      class ChannelWrongStateError extends Error {}
      expect(() =>
        publish(publishContext(), () => {
          throw new ChannelWrongStateError('channel 1 is closed');
        }),
      ).to.throw('channel 1 is closed');
      const span = otel.span('publish orders:order.created');
      expect(span.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'channel 1 is closed' });
      expect(span.attributes['error.type']).to.equal('ChannelWrongStateError');
      expect(span.events.map((e) => e.name)).to.deep.equal(['exception']);
      expect(span.events[0].attributes?.['exception.message']).to.equal('channel 1 is closed');
    });

    it("reports server.address and server.port of the channel's connection", () => {
      instrument();
      publish(publishContext({ channel: fakeChannel({ host: 'rabbit.example', port: 5673 }) }));
      publish(publishContext({ routingKey: 'other' })); // a connection without parameters (not opened yet)
      expect(otel.span('publish orders:order.created').attributes).to.include({ 'server.address': 'rabbit.example', 'server.port': 5673 });
      expect(otel.span('publish orders:other').attributes).to.not.have.property('server.address');
    });

    it('calls publishHook with the span and the publish context before injecting', () => {
      const seen: string[] = [];
      instrument({
        publishHook: (span, ctx) => {
          span.setAttribute('app.tenant', 'acme');
          seen.push(`${ctx.exchange}/${ctx.routingKey} traceparent=${JSON.stringify(ctx.properties.headers['traceparent'])}`);
        },
      });
      publish();
      expect(otel.span('publish orders:order.created').attributes['app.tenant']).to.equal('acme');
      expect(seen).to.deep.equal(['orders/order.created traceparent=undefined']); // JSON.stringify(undefined): not injected yet
    });

    it('survives a hook that throws and a failure of its own, reporting both through diag, without failing the publish', () => {
      instrument({
        publishHook: () => {
          throw new Error('hook bug');
        },
      });
      const headers = publish();
      expect(headers['traceparent'], 'injected despite the hook').to.be.a('string');
      const frozen = publishContext({ properties: { headers: Object.freeze({}) } });
      let returned: unknown;
      publishTrace.traceSync(() => (returned = 'sent'), frozen);
      expect(returned).to.equal('sent');
      expect(otel.diagErrors.join('\n')).to.match(/hook threw.*hook bug/);
      expect(otel.diagErrors.join('\n')).to.match(/failed on publish start/);
      expect(otel.spans().filter((s) => s.name === 'publish orders:order.created')).to.have.length(2);
    });
  });

  describe('deliver', () => {
    function producerHeaders(): { headers: FieldTable; traceId: string; spanId: string } {
      const headers = publish();
      const producer = otel.span('publish orders:order.created');
      return { headers, ...producer.spanContext() };
    }

    it("makes a CONSUMER span whose parent is the producer's span, with a link to it", () => {
      instrument();
      const { headers, traceId, spanId } = producerHeaders();
      deliver(deliverContext(headers), () => undefined);
      const span = otel.span('process orders:order.created');
      expect(span.kind).to.equal(SpanKind.CONSUMER);
      expect(span.spanContext().traceId).to.equal(traceId);
      expect(span.parentSpanContext?.spanId).to.equal(spanId);
      expect(span.links.map((l) => [l.context.traceId, l.context.spanId])).to.deep.equal([[traceId, spanId]]);
      expect(span.attributes).to.deep.equal({
        'messaging.system': 'rabbitmq',
        'messaging.operation.name': 'process',
        'messaging.operation.type': 'process',
        'messaging.destination.name': 'orders:order.created',
        'messaging.rabbitmq.destination.routing_key': 'order.created',
        'messaging.rabbitmq.message.delivery_tag': 7,
        'messaging.message.id': 'm-1',
        'messaging.message.conversation_id': 'c-1',
        'messaging.message.body.size': 5,
      });
    });

    it('makes the process span the active context in the callback and in what it starts asynchronously', async () => {
      instrument();
      const { headers } = producerHeaders();
      const tracer = otel.provider.getTracer('test');
      let later!: Promise<void>;
      const activeIn: string[] = [];
      deliver(deliverContext(headers), () => {
        activeIn.push(trace.getActiveSpan()?.spanContext().spanId ?? 'none');
        tracer.startSpan('inside').end();
        later = new Promise<void>((resolve) =>
          setImmediate(() => {
            activeIn.push(trace.getActiveSpan()?.spanContext().spanId ?? 'none');
            tracer.startSpan('later').end();
            resolve();
          }),
        );
      });
      expect(trace.getActiveSpan(), 'outside the callback').to.equal(undefined);
      await later;
      const processSpan = otel.span('process orders:order.created');
      const processId = processSpan.spanContext().spanId;
      expect(activeIn).to.deep.equal([processId, processId]);
      expect(otel.span('inside').parentSpanContext?.spanId).to.equal(processId);
      expect(otel.span('later').parentSpanContext?.spanId).to.equal(processId);
    });

    it('starts a trace of its own, linked to the producer, with parentFromMessage: false', () => {
      instrument({ parentFromMessage: false });
      const { headers, traceId, spanId } = producerHeaders();
      deliver(deliverContext(headers), () => undefined);
      const span = otel.span('process orders:order.created');
      expect(span.spanContext().traceId).to.not.equal(traceId);
      expect(span.parentSpanContext).to.equal(undefined);
      expect(span.links.map((l) => l.context.spanId)).to.deep.equal([spanId]);
    });

    it('starts a new trace, without links, for a message without trace context (headers absent, or not strings)', () => {
      instrument();
      deliver(deliverContext(undefined), () => undefined);
      deliver(
        deliverContext({ traceparent: 42 }, { method: new spec.Basic.Deliver({ exchange: 'x', routingKey: 'k', deliveryTag: 8 }) }),
        () => undefined,
      );
      for (const span of otel.spans()) {
        expect(span.parentSpanContext, span.name).to.equal(undefined);
        expect(span.links, span.name).to.deep.equal([]);
      }
      expect(otel.spans().map((s) => s.name)).to.deep.equal(['process orders:order.created', 'process x:k']);
    });

    it('reads a traceparent sent as bytes', () => {
      instrument();
      const { headers, traceId } = producerHeaders();
      const traceparent = headers['traceparent'];
      if (typeof traceparent !== 'string') throw new Error(`no traceparent injected: ${JSON.stringify(headers)}`);
      deliver(deliverContext({ traceparent: Buffer.from(traceparent) }), () => undefined);
      expect(otel.span('process orders:order.created').spanContext().traceId).to.equal(traceId);
    });

    it("does not parent to the context that was active where the delivery's callback is run from", () => {
      instrument();
      const tracer = otel.provider.getTracer('test');
      const ambient = tracer.startSpan('connection opened here');
      context.with(trace.setSpan(ROOT_CONTEXT, ambient), () => deliver(deliverContext(undefined), () => undefined));
      ambient.end();
      expect(otel.span('process orders:order.created').spanContext().traceId).to.not.equal(ambient.spanContext().traceId);
    });

    it('names the queue when the context carries it, and leaves server-named queues out of the span name', () => {
      instrument();
      deliver(deliverContext(undefined, { queue: 'billing' }), () => undefined);
      deliver(
        deliverContext(undefined, {
          queue: 'amq.gen-Q1',
          method: new spec.Basic.Deliver({ exchange: '', routingKey: 'amq.gen-Q1', deliveryTag: 2 }),
        }),
        () => undefined,
      );
      expect(otel.span('process orders:order.created:billing').attributes['messaging.destination.name']).to.equal('orders:order.created:billing');
      const anonymous = otel.span('process');
      expect(anonymous.attributes['messaging.destination.name']).to.equal('amq.gen-Q1');
      expect(anonymous.attributes['messaging.destination.anonymous']).to.equal(true);
    });

    it('marks the span ERROR when the callback throws', () => {
      instrument();
      expect(() =>
        deliver(deliverContext(undefined), () => {
          throw new TypeError('bad message');
        }),
      ).to.throw(TypeError);
      const span = otel.span('process orders:order.created');
      expect(span.status.code).to.equal(SpanStatusCode.ERROR);
      expect(span.attributes['error.type']).to.equal('TypeError');
      expect(span.events.map((e) => e.name)).to.deep.equal(['exception']);
    });

    it("ends an async callback's span when its promise settles, ERROR when it rejects", async () => {
      instrument();
      let resolveIt!: () => void;
      const resolved = deliver(deliverContext(undefined, { queue: 'a' }), () => new Promise<void>((r) => (resolveIt = r)));
      const rejected = deliver(deliverContext(undefined, { queue: 'b' }), async () => {
        await new Promise((r) => setImmediate(r));
        throw new RangeError('too late');
      });
      expect(otel.spans(), 'no span ends before its promise settles').to.deep.equal([]);
      await rejected.catch(() => undefined);
      await new Promise((r) => setImmediate(r));
      const failed = otel.span('process orders:order.created:b');
      expect(failed.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'too late' });
      expect(failed.attributes['error.type']).to.equal('RangeError');
      expect(otel.spans()).to.have.length(1);
      resolveIt();
      await resolved;
      await new Promise((r) => setImmediate(r));
      expect(otel.span('process orders:order.created:a').status.code).to.equal(SpanStatusCode.UNSET);
    });

    it('makes the span from start when the events are published without traceSync (no store runs)', () => {
      instrument();
      const ctx = deliverContext(undefined);
      deliverTrace.start.publish(ctx);
      deliverTrace.end.publish(ctx);
      expect(otel.spans().map((s) => s.name)).to.deep.equal(['process orders:order.created']);
    });

    it('calls processHook before the callback', () => {
      const order: string[] = [];
      instrument({ processHook: (span, ctx) => (order.push(`hook ${ctx.method.deliveryTag}`), span.setAttribute('app.hooked', true)) });
      deliver(deliverContext(undefined), () => order.push('callback'));
      expect(order).to.deep.equal(['hook 7', 'callback']);
      expect(otel.span('process orders:order.created').attributes['app.hooked']).to.equal(true);
    });
  });

  describe('enable and disable', () => {
    it('makes no span and injects nothing once disabled, and spans again once enabled', () => {
      const inst = instrument();
      inst.disable();
      expect(inst.isEnabled).to.equal(false);
      const headers = publish();
      let active: unknown = 'unset';
      deliver(deliverContext(undefined), () => (active = trace.getActiveSpan()));
      expect(headers).to.deep.equal({});
      expect(active).to.equal(undefined);
      expect(otel.spans()).to.deep.equal([]);
      inst.enable();
      inst.enable(); // twice: still one subscription
      publish();
      expect(otel.spans()).to.have.length(1);
    });

    it('ends the span under way when disabled from inside the consumer callback', () => {
      const inst = instrument();
      deliver(deliverContext(undefined), () => inst.disable());
      expect(otel.spans().map((s) => s.name)).to.deep.equal(['process orders:order.created']);
    });

    it('is enabled when constructed unless enabled: false; instrumentConey always enables', () => {
      const off = instrument({ enabled: false });
      expect(off.isEnabled).to.equal(false);
      expect(off.getConfig().enabled).to.equal(false);
      off.disable();
      const on = instrumentConey({ tracerProvider: otel.provider, enabled: false });
      instrumentation = on;
      expect(on.isEnabled).to.equal(true);
      expect(on.getConfig()).to.include({ enabled: true, tracerProvider: otel.provider });
      expect(on.instrumentationName).to.equal('coney');
    });

    it('sends spans to the provider of setTracerProvider, and keeps the provider through setConfig only if given', () => {
      const inst = instrument();
      const other = new InMemorySpanExporter();
      const otherProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(other)] });
      inst.setTracerProvider(otherProvider);
      publish();
      expect(otel.spans()).to.deep.equal([]);
      expect(other.getFinishedSpans()).to.have.length(1);
      inst.setConfig({ tracerProvider: otel.provider, parentFromMessage: false });
      publish();
      expect(otel.spans()).to.have.length(1);
      expect(inst.getConfig().parentFromMessage).to.equal(false);
    });

    it('rejects an unknown option or a value of the wrong type with InvalidArgumentError', () => {
      expect(() => new ConeyInstrumentation({ parentFromMesage: true } as ConeyInstrumentationConfig)).to.throw(
        InvalidArgumentError,
        /unknown option "parentFromMesage" \(known: enabled, tracerProvider, parentFromMessage, publishHook, processHook\)/,
      );
      expect(() => new ConeyInstrumentation({ publishHook: 'no' } as unknown as ConeyInstrumentationConfig)).to.throw(
        InvalidArgumentError,
        'option publishHook must be a function, not string',
      );
      expect(() => instrumentConey(null as unknown as ConeyInstrumentationConfig)).to.throw(InvalidArgumentError, 'must be an object, not null');
      expect(() => new ConeyInstrumentation({ tracerProvider: {} } as unknown as ConeyInstrumentationConfig)).to.throw(
        InvalidArgumentError,
        /TracerProvider/,
      );
      expect(publishTrace.start.hasSubscribers, 'nothing subscribed by a rejected config').to.equal(false);
    });
  });
});

describe('coney/opentelemetry with the global tracer provider', () => {
  const otel = useOpenTelemetry();

  it('uses the global provider when none is given, even one registered after the instrumentation was made', () => {
    const inst = instrumentConey();
    try {
      publish();
      expect(otel.spans(), 'no global provider yet: no-op spans').to.deep.equal([]);
      expect(trace.setGlobalTracerProvider(otel.provider)).to.equal(true);
      publish();
      expect(otel.spans().map((s) => s.name)).to.deep.equal(['publish orders:order.created']);
      expect(propagation.fields()).to.include('traceparent');
    } finally {
      inst.disable();
      trace.disable();
    }
  });
});
