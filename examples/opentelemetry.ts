/**
 * OpenTelemetry tracing with `coney/opentelemetry`: each publish gets a
 * PRODUCER span whose context travels in the message headers (W3C
 * `traceparent`), and each delivery a CONSUMER span in the same trace,
 * active inside the consumer callback, so the spans the handler starts are
 * its children. The spans go to the SDK's in-memory exporter and are
 * printed as one tree per trace at the end.
 *
 *   Step 1: set up OpenTelemetry (tracer provider, W3C propagator, context manager) and instrumentConey()
 *   Step 2: connect, open a channel, declare a queue
 *   Step 3: consume, then publish each message inside an application span ("send order #N")
 *   Step 4: handle each delivery inside its process span ("handle order #N"), ack it
 *   Step 5: once all arrived, close, print the traces, and check each consumer continued its producer's trace
 *
 * Run:
 *   npm run example -- examples/opentelemetry.ts --count 3
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/opentelemetry.ts --console   # the SDK's ConsoleSpanExporter too
 *
 * Needs `@opentelemetry/api` (coney's optional peer dependency) and, for
 * this set-up, `@opentelemetry/sdk-trace-base`, `@opentelemetry/core` and
 * `@opentelemetry/context-async-hooks`. Exits 1 unless every message was
 * received and every process span is in its publish span's trace.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  ConsoleSpanExporter,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { type Callback, type Channel, type Connection, SelectConnection, URLParameters, spec } from '../lib';
import { instrumentConey } from '../lib/opentelemetry';
import { AMQP_URL, exitOnOpenError, flag, option } from './support/cli';

const COUNT = Number(option('count', '3'));
const QUEUE = option('queue', `coney-opentelemetry-${process.pid}`);

// Step #1: the OpenTelemetry SDK, then coney's instrumentation.
const exporter = new InMemorySpanExporter();
const spanProcessors: SpanProcessor[] = [new SimpleSpanProcessor(exporter)];
if (flag('console')) spanProcessors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
const provider = new BasicTracerProvider({ spanProcessors });
trace.setGlobalTracerProvider(provider);
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const instrumentation = instrumentConey();

const tracer = trace.getTracer('examples/opentelemetry');
let channel: Channel | undefined;
let received = 0;

// Step #2
function onConnected(connection: Connection): void {
  connection.channel(onChannelOpen);
}

const onChannelOpen: Callback<Channel> = (err, newChannel) => {
  if (err) throw err;
  channel = newChannel;
  channel.queueDeclare(QUEUE, { durable: false, exclusive: false, autoDelete: true }, onQueueDeclared);
};

// Step #3
const onQueueDeclared: Callback<spec.Queue.DeclareOk> = (err, _ok) => {
  if (err) throw err;
  channel!.basicConsume(QUEUE, handleDelivery, {}, (err) => {
    if (err) throw err;
    for (let i = 1; i <= COUNT; i++) {
      // The application's own span: the publish span is its child, and the consumer's spans join the trace.
      tracer.startActiveSpan(`send order #${i}`, (span) => {
        channel!.basicPublish('', QUEUE, JSON.stringify({ order: i }), { messageId: `order-${i}`, contentType: 'application/json' });
        span.end();
      });
    }
    console.log(`published ${COUNT} messages`);
  });
};

// Step #4: this callback runs inside the delivery's process span.
function handleDelivery(ch: Channel, method: spec.Basic.Deliver, properties: spec.BasicProperties, body: Buffer): void {
  const { order } = JSON.parse(body.toString()) as { order: number };
  tracer.startActiveSpan(`handle order #${order}`, (span) => {
    const traceparent = properties.headers?.['traceparent'];
    console.log(`received order #${order} (traceparent ${typeof traceparent === 'string' ? traceparent : 'missing'})`);
    ch.basicAck(method.deliveryTag);
    span.end();
  });
  received += 1;
  if (received === COUNT) connection.close();
}

// Step #5
function printTraces(spans: ReadableSpan[]): boolean {
  const children = new Map<string | undefined, ReadableSpan[]>();
  const ids = new Set(spans.map((s) => s.spanContext().spanId));
  for (const span of spans) {
    const parent = span.parentSpanContext?.spanId;
    const key = parent !== undefined && ids.has(parent) ? parent : undefined; // a root, or a parent not recorded here
    children.set(key, [...(children.get(key) ?? []), span]);
  }
  const kinds = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
  const print = (span: ReadableSpan, depth: number): void => {
    console.log(`${'  '.repeat(depth + 1)}${span.name} (${kinds[span.kind]})`);
    for (const child of children.get(span.spanContext().spanId) ?? []) print(child, depth + 1);
  };
  for (const root of children.get(undefined) ?? []) {
    console.log(`trace ${root.spanContext().traceId}`);
    print(root, 0);
  }
  // Each process span must be in the trace of the publish span of its message.
  const publishes = spans.filter((s) => s.name.startsWith('publish '));
  const processes = spans.filter((s) => s.name.startsWith('process '));
  return (
    processes.length === COUNT &&
    processes.every((p) =>
      publishes.some((s) => s.spanContext().traceId === p.spanContext().traceId && s.spanContext().spanId === p.parentSpanContext?.spanId),
    )
  );
}

// Step #2, continued: connect.
const connection = new SelectConnection({
  parameters: new URLParameters(AMQP_URL),
  onOpen: onConnected,
  onOpenError: exitOnOpenError,
  onClose: (_c, reason) => console.log(`connection closed: ${reason.message}`),
});

process.once('SIGINT', () => {
  console.log('SIGINT: closing the connection');
  if (!connection.isClosed && !connection.isClosing) connection.close();
});

void connection.ioloop.start().then(async () => {
  instrumentation.disable();
  const ok = printTraces(exporter.getFinishedSpans());
  await provider.shutdown();
  if (received === COUNT && ok) console.log(`done: ${received} messages, every consumer span continued its producer's trace`);
  else {
    console.log(`FAILED: received ${received} of ${COUNT}; consumer spans in their producer's trace: ${ok}`);
    process.exitCode = 1;
  }
});
