/**
 * How a failed publish or consumer callback shows on its span: the
 * exception recorded, the status ERROR and `error.type`.
 * @packageDocumentation
 */
import { type Span, SpanStatusCode } from '@opentelemetry/api';
import { ATTR } from './attributes';

/**
 * `error.type` of a thrown value: the class name of an Error (for coney's
 * own errors, their class: `ChannelClosedByBroker`, `ChannelWrongStateError`,
 * ...), `_OTHER` for anything else thrown.
 */
export function errorType(err: unknown): string {
  if (err instanceof Error) {
    const name = err.constructor?.name;
    return typeof name === 'string' && name !== '' ? name : err.name || '_OTHER';
  }
  return '_OTHER';
}

/** Marks a span failed by `err`. */
export function recordError(span: Span, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  span.recordException(err instanceof Error ? err : message);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.setAttribute(ATTR.errorType, errorType(err));
}
