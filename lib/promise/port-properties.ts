/**
 * Message properties across a port. Most messages have few properties or
 * none, and BasicProperties sets all 14 fields, so only the fields set
 * cross (or null for none). `headers` crosses as its AMQP field-table
 * bytes: the structured clone would turn a Buffer value into a Uint8Array
 * and a Decimal or TypedValue into a plain object, while the table codec
 * gives back exactly what the broker would.
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors';
import { Reader, Writer } from '../wire/codec';
import { BasicProperties, type BasicPropertiesInit } from '../wire/spec';

/** The properties that are set, with `headers` as field-table bytes. */
export type PortProperties = Record<string, unknown>;

const NAMES = BasicProperties.fields.map((f) => f.name).filter((n) => n !== 'headers');

/** Properties (of a delivery, or given to a publish) as they cross; null when none is set. */
export function encodeProperties(properties: BasicPropertiesInit | undefined | null): PortProperties | null {
  if (properties === undefined || properties === null || isEmpty(properties)) return null;
  let out: PortProperties | null = null;
  const given = properties as Record<string, unknown>;
  for (const name of NAMES) {
    const value = given[name];
    if (value === undefined || value === null) continue;
    if (typeof value === 'function' || typeof value === 'symbol') throw new InvalidArgumentError(`properties.${name} must not be a ${typeof value}`);
    (out ??= {})[name] = value;
  }
  if (properties.headers !== undefined && properties.headers !== null) {
    const w = new Writer(256);
    w.table(properties.headers);
    // A copy of exactly its size: the clone of a view would copy the writer's whole buffer.
    (out ??= {})['headers'] = new Uint8Array(w.buf.subarray(0, w.pos));
  }
  return out;
}

/**
 * True when no property is set: the common case, checked field by field
 * with plain property reads (a loop over the names, keyed reads, costs
 * several times more per delivery).
 */
function isEmpty(p: BasicPropertiesInit): boolean {
  return (
    p.contentType === undefined &&
    p.contentEncoding === undefined &&
    p.headers === undefined &&
    p.deliveryMode === undefined &&
    p.priority === undefined &&
    p.correlationId === undefined &&
    p.replyTo === undefined &&
    p.expiration === undefined &&
    p.messageId === undefined &&
    p.timestamp === undefined &&
    p.type === undefined &&
    p.userId === undefined &&
    p.appId === undefined &&
    p.clusterId === undefined
  );
}

/** The properties a port message carried, as the init of a publish (undefined when none). */
export function decodePropertiesInit(p: PortProperties | null): BasicPropertiesInit | undefined {
  if (p === null) return undefined;
  const headers = p['headers'];
  if (!(headers instanceof Uint8Array)) return p;
  const bytes = Buffer.from(headers.buffer, headers.byteOffset, headers.byteLength);
  return { ...p, headers: new Reader(bytes, 0, bytes.length).table() };
}

/** The properties of a delivered message, as the callback API gives them. */
export function decodeProperties(p: PortProperties | null): BasicProperties {
  return new BasicProperties(decodePropertiesInit(p));
}
