/**
 * coney/opentelemetry against the real broker: a message published with the
 * instrumentation on carries the producer's trace context (`traceparent`) in
 * its headers through RabbitMQ, and the consumer's process span continues
 * the producer's trace (the OpenTelemetry SDK's in-memory exporter shows
 * it); the process span is the active context inside the consumer callback;
 * disable() stops it all. Every wait is bounded; queues and exchanges are
 * deleted afterwards.
 */
import { expect } from 'chai';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { type BasicProperties, type Channel, type Connection, type FieldTable, spec, URLParameters } from '../../lib';
import { ConeyInstrumentation } from '../../lib/opentelemetry';
import { amqpUrl, uniqueName } from '../support/broker';
import { cbp, cleanUp, closeConnection, openChannel, openConnection, within } from '../support/callbacks';
import { eventually } from '../support/polling';
import { useOpenTelemetry } from '../opentelemetry/support';

const WAIT = 15000;

/** What a consumer saw of one delivery. */
interface Seen {
  headers: FieldTable | undefined;
  /** The span id active inside the callback ('none' without one). */
  activeSpanId: string;
  body: string;
}

describe('coney/opentelemetry against RabbitMQ', () => {
  const otel = useOpenTelemetry();
  const queues: string[] = [];
  const exchanges: string[] = [];
  const callbackErrors: unknown[] = [];
  let producer: Connection;
  let consumer: Connection;
  let pubChannel: Channel;
  let subChannel: Channel;
  let instrumentation: ConeyInstrumentation;

  before(async () => {
    producer = await openConnection();
    consumer = await openConnection({ onCallbackError: (err) => callbackErrors.push(err) });
    pubChannel = await openChannel(producer);
    subChannel = await openChannel(consumer);
  });

  after(async () => {
    await closeConnection(producer);
    await closeConnection(consumer);
    await cleanUp(queues, exchanges);
  });

  beforeEach(() => {
    callbackErrors.length = 0;
    instrumentation = new ConeyInstrumentation({ tracerProvider: otel.provider });
  });

  afterEach(() => instrumentation.disable());

  /** Declares a queue, bound to `exchange` with `routingKey` when given. */
  async function declareQueue(exchange?: string, routingKey?: string): Promise<string> {
    const queue = uniqueName('otel');
    queues.push(queue);
    await within(
      WAIT,
      cbp((cb) => subChannel.queueDeclare(queue, { exclusive: false }, cb)),
      'queue.declare',
    );
    if (exchange !== undefined) {
      exchanges.push(exchange);
      await within(
        WAIT,
        cbp((cb) => subChannel.exchangeDeclare(exchange, { type: 'direct' }, cb)),
        'exchange.declare',
      );
      await within(
        WAIT,
        cbp((cb) => subChannel.queueBind(queue, exchange, routingKey, {}, cb)),
        'queue.bind',
      );
    }
    return queue;
  }

  /** Consumes from `queue` until `count` messages arrived; `onMessage` runs inside the callback. */
  async function consume(queue: string, count: number, onMessage: (properties: BasicProperties) => unknown = () => undefined): Promise<Seen[]> {
    const seen: Seen[] = [];
    const tag = await within(
      WAIT,
      cbp<spec.Basic.ConsumeOk>((cb) =>
        subChannel.basicConsume(
          queue,
          (ch, method, properties, body) => {
            seen.push({ headers: properties.headers, activeSpanId: trace.getActiveSpan()?.spanContext().spanId ?? 'none', body: body.toString() });
            ch.basicAck(method.deliveryTag);
            return onMessage(properties);
          },
          {},
          cb,
        ),
      ),
      'basic.consume',
    );
    try {
      await eventually(() => seen.length >= count, WAIT, `${count} message(s) from ${queue}`);
    } finally {
      await within(
        WAIT,
        cbp((cb) => subChannel.basicCancel(tag.consumerTag, cb)),
        'basic.cancel',
      );
    }
    return seen;
  }

  async function spansNamed(name: string, count: number): Promise<ReadableSpan[]> {
    await eventually(() => otel.spans().filter((s) => s.name === name).length >= count, WAIT, `${count} span(s) named ${name}`);
    return otel.spans().filter((s) => s.name === name);
  }

  it("gives the consumer's span the producer's trace id, through traceparent in the message headers", async () => {
    const queue = await declareQueue();
    const tracer = otel.provider.getTracer('test');
    pubChannel.basicPublish('', queue, 'traced', { messageId: 'msg-1', correlationId: 'conv-1' });
    const [seen] = await consume(queue, 1, () => tracer.startSpan('handle order').end());

    const [publish] = await spansNamed(`publish ${queue}`, 1);
    const [processSpan] = await spansNamed(`process ${queue}`, 1);
    const producerContext = publish.spanContext();
    expect(processSpan.spanContext().traceId, "the consumer's trace id").to.equal(producerContext.traceId);
    expect(processSpan.parentSpanContext?.spanId, "the consumer's parent").to.equal(producerContext.spanId);
    expect(processSpan.links.map((l) => l.context.spanId)).to.deep.equal([producerContext.spanId]);
    expect(seen.headers?.['traceparent']).to.equal(`00-${producerContext.traceId}-${producerContext.spanId}-01`);
    expect(seen.body).to.equal('traced');

    const broker = new URLParameters(amqpUrl());
    expect(publish.kind).to.equal(SpanKind.PRODUCER);
    expect(publish.attributes).to.deep.equal({
      'messaging.system': 'rabbitmq',
      'messaging.operation.name': 'publish',
      'messaging.operation.type': 'send',
      'messaging.destination.name': queue,
      'messaging.rabbitmq.destination.routing_key': queue,
      'messaging.message.id': 'msg-1',
      'messaging.message.conversation_id': 'conv-1',
      'messaging.message.body.size': 6,
      'server.address': broker.host,
      'server.port': broker.port,
    });
    expect(processSpan.kind).to.equal(SpanKind.CONSUMER);
    expect(processSpan.attributes).to.include({
      'messaging.system': 'rabbitmq',
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
      'messaging.rabbitmq.destination.routing_key': queue,
      'messaging.message.id': 'msg-1',
      'messaging.message.conversation_id': 'conv-1',
      'messaging.message.body.size': 6,
      'server.address': broker.host,
      'server.port': broker.port,
    });
    expect(processSpan.attributes['messaging.rabbitmq.message.delivery_tag']).to.be.a('number');

    // Inside the callback the process span is the active one: a span started there is its child.
    expect(seen.activeSpanId).to.equal(processSpan.spanContext().spanId);
    const [handled] = await spansNamed('handle order', 1);
    expect(handled.parentSpanContext?.spanId).to.equal(processSpan.spanContext().spanId);
    expect(handled.spanContext().traceId).to.equal(producerContext.traceId);
  });

  it('keeps the headers of the publish and names exchange and routing key', async () => {
    const exchange = uniqueName('otel-x');
    const queue = await declareQueue(exchange, 'created');
    const own: spec.BasicPropertiesInit = { headers: { tenant: 'acme' } };
    pubChannel.basicPublish(exchange, 'created', 'with headers', own);
    const [seen] = await consume(queue, 1);
    expect(seen.headers).to.include({ tenant: 'acme' });
    expect(seen.headers?.['traceparent']).to.be.a('string');
    expect(own.headers, "the caller's properties are left alone").to.deep.equal({ tenant: 'acme' });
    const [publish] = await spansNamed(`publish ${exchange}:created`, 1);
    expect(publish.attributes['messaging.destination.name']).to.equal(`${exchange}:created`);
    const [processSpan] = await spansNamed(`process ${exchange}:created:${queue}`, 1); // the queue too, named by the application
    expect(processSpan.spanContext().traceId).to.equal(publish.spanContext().traceId);
  });

  it('marks the process span ERROR when the consumer callback throws', async () => {
    const queue = await declareQueue();
    pubChannel.basicPublish('', queue, 'poison');
    await consume(queue, 1, () => {
      throw new RangeError('cannot handle poison');
    });
    const [processSpan] = await spansNamed(`process ${queue}`, 1);
    expect(processSpan.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'cannot handle poison' });
    expect(processSpan.attributes['error.type']).to.equal('RangeError');
    await eventually(() => callbackErrors.length === 1, WAIT, "the connection's onCallbackError");
    expect((callbackErrors[0] as Error).message).to.equal('cannot handle poison');
  });

  it('makes no span and adds no header once disabled', async () => {
    instrumentation.disable();
    const queue = await declareQueue();
    pubChannel.basicPublish('', queue, 'untraced', { headers: { kept: 1 } });
    const [seen] = await consume(queue, 1);
    expect(seen.headers).to.deep.equal({ kept: 1 });
    expect(seen.activeSpanId).to.equal('none');
    expect(otel.spans()).to.deep.equal([]);
  });
});
