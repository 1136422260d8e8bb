/**
 * The options of `ConeyInstrumentation` and their checks.
 * @packageDocumentation
 */
import type { Span, TracerProvider } from '@opentelemetry/api';
import { InvalidArgumentError } from '../errors';
import type { DeliverContext, PublishContext } from '../engine/diagnostics';

/**
 * What {@link ConeyInstrumentation} and {@link instrumentConey} take.
 * @category OpenTelemetry
 */
export interface ConeyInstrumentationConfig {
  /**
   * Subscribe at construction (default true, as OpenTelemetry's
   * instrumentations do); false: only once {@link ConeyInstrumentation.enable} is called.
   */
  enabled?: boolean;
  /** Where the spans go (default: the global tracer provider, `trace.setGlobalTracerProvider`, looked up at each span). */
  tracerProvider?: TracerProvider;
  /**
   * The parent of a process span (default true): the producer's span, read
   * from the message's trace-context headers, so producer and consumer share
   * one trace; the process span also links to it, as the conventions ask.
   * False: the process span starts a trace of its own, with only the link.
   * Either way a message without trace context starts a new trace: a
   * delivery runs on the connection's I/O loop, where the ambient context is
   * whatever was current when the connection was opened, never the parent.
   */
  parentFromMessage?: boolean;
  /**
   * Called with each publish span once its attributes are set, before the
   * trace context is injected: add attributes of your own. A hook that
   * throws is reported through OpenTelemetry's `diag` and otherwise ignored.
   */
  publishHook?: (span: Span, context: PublishContext) => void;
  /** Called with each process span before the consumer callback runs (like {@link publishHook}). */
  processHook?: (span: Span, context: DeliverContext) => void;
}

const CHECKS: { [K in keyof Required<ConeyInstrumentationConfig>]: (v: unknown) => boolean } = {
  enabled: (v) => typeof v === 'boolean',
  tracerProvider: (v) => typeof v === 'object' && v !== null && typeof (v as { getTracer?: unknown }).getTracer === 'function',
  parentFromMessage: (v) => typeof v === 'boolean',
  publishHook: (v) => typeof v === 'function',
  processHook: (v) => typeof v === 'function',
};

const EXPECTED: { [K in keyof ConeyInstrumentationConfig]-?: string } = {
  enabled: 'a boolean',
  tracerProvider: 'a TracerProvider (an object with getTracer)',
  parentFromMessage: 'a boolean',
  publishHook: 'a function',
  processHook: 'a function',
};

/** Throws InvalidArgumentError for anything but a config object of known keys with values of the right types (undefined: the default). */
export function checkConfig(config: unknown): ConeyInstrumentationConfig {
  if (config === undefined) return {};
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new InvalidArgumentError(`ConeyInstrumentation: the config must be an object, not ${config === null ? 'null' : typeof config}`);
  }
  for (const [key, value] of Object.entries(config)) {
    if (!Object.prototype.hasOwnProperty.call(CHECKS, key)) {
      throw new InvalidArgumentError(`ConeyInstrumentation: unknown option ${JSON.stringify(key)} (known: ${Object.keys(CHECKS).join(', ')})`);
    }
    const name = key as keyof ConeyInstrumentationConfig;
    if (value !== undefined && !CHECKS[name](value)) {
      throw new InvalidArgumentError(`ConeyInstrumentation: option ${name} must be ${EXPECTED[name]}, not ${value === null ? 'null' : typeof value}`);
    }
  }
  return { ...(config as ConeyInstrumentationConfig) };
}
