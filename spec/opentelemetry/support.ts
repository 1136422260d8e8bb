/**
 * The OpenTelemetry SDK as the specs of coney/opentelemetry use it: spans to
 * an in-memory exporter, the W3C propagator and the AsyncLocalStorage
 * context manager registered globally for the duration of a suite (and
 * unregistered after it, so other spec files see the API's no-op defaults).
 */
import { context, diag, type DiagLogger, DiagLogLevel, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

/** An SDK set-up of a suite. */
export interface OtelHarness {
  readonly exporter: InMemorySpanExporter;
  readonly provider: BasicTracerProvider;
  /** What went to OpenTelemetry's `diag` logger at level error. */
  readonly diagErrors: string[];
  /** The finished spans so far. */
  spans(): ReadableSpan[];
  /** The one finished span named `name` (fails the test when there is not exactly one). */
  span(name: string): ReadableSpan;
}

/** Registers the SDK in `before` and removes it in `after` of the calling suite; `exporter.reset()` before each test. */
export function useOpenTelemetry(options: { global?: boolean } = {}): OtelHarness {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const diagErrors: string[] = [];
  const logger: DiagLogger = {
    error: (message: string, ...args: unknown[]) => void diagErrors.push([message, ...args.map(String)].join(' ')),
    warn: () => {},
    info: () => {},
    debug: () => {},
    verbose: () => {},
  };
  const harness: OtelHarness = {
    exporter,
    provider,
    diagErrors,
    spans: () => exporter.getFinishedSpans(),
    span(name) {
      const found = exporter.getFinishedSpans().filter((s) => s.name === name);
      if (found.length !== 1) {
        throw new Error(
          `expected one span named ${JSON.stringify(name)}, found ${found.length} among ${JSON.stringify(exporter.getFinishedSpans().map((s) => s.name))}`,
        );
      }
      return found[0];
    },
  };
  before(() => {
    if (!propagation.setGlobalPropagator(new W3CTraceContextPropagator())) throw new Error('a global propagator was already registered');
    if (!context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()))
      throw new Error('a global context manager was already registered');
    if (options.global === true && !trace.setGlobalTracerProvider(provider)) throw new Error('a global tracer provider was already registered');
    diag.setLogger(logger, { logLevel: DiagLogLevel.ERROR, suppressOverrideMessage: true });
  });
  beforeEach(() => {
    exporter.reset();
    diagErrors.length = 0;
  });
  after(async () => {
    propagation.disable();
    context.disable();
    trace.disable();
    diag.disable();
    await provider.shutdown();
  });
  return harness;
}
