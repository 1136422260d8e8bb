/**
 * Reading and writing W3C trace context (`traceparent`, `tracestate`, and
 * whatever else the registered propagator uses) in AMQP message headers.
 * @packageDocumentation
 */
import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';

/** The headers of a message: an AMQP field table (strings arrive as strings, a byte array as a Buffer). */
export type HeaderCarrier = Record<string, unknown>;

/**
 * Reads a propagation field from message headers: a string as it is, a
 * Buffer (a long string sent as bytes) decoded as UTF-8, anything else
 * (numbers, tables) as absent.
 */
export const headerGetter: TextMapGetter<HeaderCarrier | undefined> = {
  keys(carrier) {
    return carrier === undefined ? [] : Object.keys(carrier);
  },
  get(carrier, key) {
    const value = carrier?.[key];
    if (typeof value === 'string') return value;
    if (Buffer.isBuffer(value)) return value.toString('utf8');
    return undefined;
  },
};

/** Writes a propagation field into message headers, as a string (a long string, `S`, on the wire). */
export const headerSetter: TextMapSetter<HeaderCarrier> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};
