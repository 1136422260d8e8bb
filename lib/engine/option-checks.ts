/**
 * Run-time checks of option objects and callbacks, for plain JavaScript
 * callers that TypeScript does not protect: amqplib-style positional
 * arguments (`exchangeDeclare('x', 'fanout')`, `basicQos(50)`) and mistyped
 * or foreign option names (`durabel`, `noAck`) would otherwise be ignored in
 * silence. Each check is one small loop over the keys the caller passed.
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors';
import { unknownNameHint } from './did-you-mean';

/** What a value is, for messages: "the string 'fanout'", "the number 50", "an array". */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '...' : value)}`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `the ${typeof value} ${String(value)}`;
    case 'function':
      return 'a function';
    default:
      return `${typeof value === 'object' ? 'an object' : typeof value}`;
  }
}

/** Names other clients use for coney's options, with coney's name. */
const FOREIGN_NAMES: Readonly<Record<string, string>> = {
  noAck: 'autoAck',
  no_ack: 'autoAck',
  auto_ack: 'autoAck',
  auto_delete: 'autoDelete',
  if_unused: 'ifUnused',
  if_empty: 'ifEmpty',
  prefetch: 'prefetchCount',
  prefetch_count: 'prefetchCount',
  args: 'arguments',
  vhost: 'virtualHost',
  nowait: 'noWait',
  no_wait: 'noWait',
  exchangeType: 'type',
  exchange_type: 'type',
};

/**
 * Throws an InvalidArgumentError unless `options` is undefined or a plain
 * object whose keys are all in `known`. `where` names the call in the
 * message; `positional(value)` may suggest the object meant when a bare
 * value was passed (`{ type: 'fanout' }`).
 */
export function checkOptions(where: string, options: unknown, known: readonly string[], positional?: (value: unknown) => string | undefined): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    const meant = positional?.(options);
    throw new InvalidArgumentError(
      `${where}: options must be an object, got ${describeValue(options)}${meant === undefined ? '' : `; did you mean ${meant}?`}`,
    );
  }
  for (const key in options) {
    if (!known.includes(key)) throw unknownOption(where, key, known);
  }
}

function unknownOption(where: string, key: string, known: readonly string[]): InvalidArgumentError {
  const foreign = Object.prototype.hasOwnProperty.call(FOREIGN_NAMES, key) ? FOREIGN_NAMES[key] : undefined;
  return new InvalidArgumentError(`${where}: unknown option '${key}'${unknownNameHint(key, known, 'known options', foreign)}`);
}

/** Throws an InvalidArgumentError unless `cb` is a function or undefined. */
export function checkCallback(where: string, cb: unknown, name = 'the callback'): void {
  if (cb !== undefined && typeof cb !== 'function') {
    throw new InvalidArgumentError(`${where}: ${name} must be a function, got ${describeValue(cb)}`);
  }
}
