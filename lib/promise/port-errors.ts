/**
 * Errors across a thread boundary with their classes kept. The structured
 * clone of an Error keeps its message but not its class nor its fields: a
 * ChannelClosedByBroker would arrive as a plain Error without `replyCode`.
 * So the sender writes the class name and every own field (nested errors,
 * such as `cause`, ConnectionWorkflowFailed's `attempts` or
 * RecoveryFailedError's `reason`, the same way), and the receiver rebuilds
 * an object of the class of that name from lib/errors.ts (or of the
 * built-in error class of that name), without running its constructor,
 * whose arguments differ from class to class.
 * @packageDocumentation
 */
import * as errors from '../errors';

/** An error as it crosses a port. */
export interface SerializedError {
  /** The class name (`constructor.name`), which picks the class on the other side. */
  readonly className: string;
  /** The error's `name` (usually the class name). */
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** Its own fields but message and stack (`replyCode`, `cause`, `attempts`...), values encoded by {@link encodeValue}. */
  readonly fields: Record<string, unknown>;
}

/** A nested error inside a field value. */
interface ErrorBox {
  readonly coneyError: SerializedError;
}

/** The error classes by name: lib/errors.ts's and the built-in ones. */
const CLASSES: ReadonlyMap<string, ErrorConstructor> = new Map(
  [...Object.values(errors), Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError]
    .filter((value): value is ErrorConstructor => typeof value === 'function' && (value === Error || value.prototype instanceof Error))
    .map((cls) => [cls.name, cls]),
);

/** Writes `err` (any thrown value) so that {@link reviveError} rebuilds it on the other side of a port. */
export function serializeError(err: unknown): SerializedError {
  return serializeAt(err, 0);
}

/** Nested errors past this depth lose their fields (an error may even be its own cause). */
const MAX_DEPTH = 8;

function serializeAt(err: unknown, depth: number): SerializedError {
  if (!(err instanceof Error)) return { className: 'Error', name: 'Error', message: String(err), stack: undefined, fields: {} };
  const fields: Record<string, unknown> = {};
  if (depth <= MAX_DEPTH) {
    for (const key of Object.keys(err)) {
      if (key === 'message' || key === 'stack') continue;
      const value = encodeValue((err as unknown as Record<string, unknown>)[key], depth);
      if (value !== undefined) fields[key] = value;
    }
    // `cause` is an own property too, but not enumerable when the constructor set it.
    if ('cause' in err && !('cause' in fields)) fields['cause'] = encodeValue(err.cause, depth);
  }
  return { className: err.constructor.name, name: err.name, message: err.message, stack: err.stack, fields };
}

/** Rebuilds an error written by {@link serializeError}: the same class (when known here), fields and stack. */
export function reviveError(s: SerializedError): Error {
  const cls = CLASSES.get(s.className) ?? Error;
  const err = Object.create(cls.prototype) as Error;
  Object.defineProperty(err, 'message', { value: s.message, writable: true, configurable: true });
  Object.defineProperty(err, 'stack', { value: s.stack, writable: true, configurable: true });
  for (const [key, value] of Object.entries(s.fields)) {
    // cause is not enumerable on errors made by constructors: the same here.
    Object.defineProperty(err, key, { value: decodeValue(value), writable: true, configurable: true, enumerable: key !== 'cause' });
  }
  if (err.name !== s.name) Object.defineProperty(err, 'name', { value: s.name, writable: true, configurable: true, enumerable: true });
  return err;
}

/** A field value ready for the structured clone: errors boxed, arrays walked, functions and symbols left out (undefined). */
function encodeValue(value: unknown, depth: number): unknown {
  if (value instanceof Error) return { coneyError: serializeAt(value, depth + 1) };
  if (Array.isArray(value)) return depth > MAX_DEPTH ? undefined : value.map((v) => encodeValue(v, depth + 1));
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (typeof value !== 'object' || value === null) return value;
  // An object the structured clone refuses (it holds a function, a socket...) would lose the whole batch: named instead.
  try {
    structuredClone(value);
    return value;
  } catch {
    return `[${(value as { constructor?: { name?: string } }).constructor?.name ?? 'object'}]`;
  }
}

function decodeValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeValue);
  if (typeof value === 'object' && value !== null && 'coneyError' in value) return reviveError((value as ErrorBox).coneyError);
  return value;
}
