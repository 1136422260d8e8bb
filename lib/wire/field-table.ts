/**
 * AMQP field tables and field arrays with RabbitMQ's type tags (the
 * "errata" table that RabbitMQ, pika and the Java client use, not the one
 * printed in the 0-9-1 specification).
 *
 * | tag | type                         | decoded as            |
 * |-----|------------------------------|-----------------------|
 * | t   | boolean (octet)              | boolean               |
 * | b   | int8                         | number                |
 * | B   | uint8                        | number                |
 * | s   | int16                        | number                |
 * | u   | uint16                       | number                |
 * | I   | int32                        | number                |
 * | i   | uint32                       | number                |
 * | l   | int64                        | number, or bigint beyond 2^53 |
 * | f   | float32                      | number                |
 * | d   | float64                      | number                |
 * | D   | decimal (scale octet, int32) | {@link Decimal}       |
 * | S   | long string                  | string (UTF-8)        |
 * | A   | field array                  | array                 |
 * | T   | timestamp (uint64 seconds)   | Date                  |
 * | F   | nested field table           | object                |
 * | V   | void                         | null                  |
 * | x   | byte array                   | Buffer                |
 *
 * Encoding picks the tag from the JS value: boolean → t, integer number in
 * int32 range → I, other integer number in int64 range → l, bigint → l, any
 * other finite number (fractions, -0, integers beyond int64) → d (NaN and ±Infinity throw: RabbitMQ
 * drops the connection on them; `Typed.double` forces one), Date → T, Buffer/Uint8Array → x,
 * string → S, null/undefined → V, array → A, {@link Decimal} → D, plain
 * object → F. A {@link TypedValue} (see {@link Typed}) forces a tag.
 *
 * This module does not import `codec.ts` (which imports it for
 * `Writer.table()` and `Reader.table()`): the encoder writes into any
 * {@link ByteSink} and the decoder reads from any {@link TableReader}, and
 * codec.ts's Writer and Reader are both. The byte primitives come from
 * bytes.ts.
 * @packageDocumentation
 */
import { FrameError, InvalidArgumentError } from '../errors';
import { type ByteSink, U32, decodeUtf8, putLongBytes, putLongstr, readInt32, readUint32, write64, writeUint32, writeUtf8At } from './bytes';

/**
 * What the table decoder needs of a `Reader` (codec.ts's Reader is one): a
 * cursor over `buf[pos, end)` with its bounds-checked `long` and `shortstr`.
 * @category Wire internals
 */
export interface TableReader {
  buf: Buffer;
  pos: number;
  /** Nothing at or past `end` is read; the decoder narrows it to a table's own length while inside it. */
  end: number;
  /** A uint32; FrameError when fewer than 4 bytes are left. */
  long(): number;
  /** A short string; FrameError when truncated. */
  shortstr(): string;
  /** The FrameError for a read of `n` bytes that does not fit. */
  truncated(what: string, n: number): FrameError;
}

/**
 * A field-table type tag.
 * @category Messages and field tables
 */
export type FieldType = 't' | 'b' | 'B' | 's' | 'u' | 'I' | 'i' | 'l' | 'f' | 'd' | 'D' | 'S' | 'A' | 'T' | 'F' | 'V' | 'x';

/**
 * A value of a field table or array.
 * @category Messages and field tables
 */
export type FieldValue =
  boolean | number | bigint | string | Buffer | Uint8Array | Date | Decimal | TypedValue | null | undefined | FieldValue[] | FieldTable;

/**
 * A field table: string keys (at most 255 bytes of UTF-8) to values.
 * @category Messages and field tables
 */
export type FieldTable = { [key: string]: FieldValue };

/**
 * An AMQP decimal: `value / 10^places`, with `value` an int32 and `places` an octet.
 * @category Messages and field tables
 */
export class Decimal {
  /**
   * @param value - the unscaled value, an int32
   * @param places - the number of decimal places, 0..255
   */
  constructor(
    readonly value: number,
    readonly places: number,
  ) {}

  /** The value as a (possibly inexact) JS number. */
  toNumber(): number {
    return this.value / 10 ** this.places;
  }

  /** The exact decimal notation, e.g. `new Decimal(-1234, 2)` → `"-12.34"`. */
  toString(): string {
    const neg = this.value < 0;
    let digits = String(Math.abs(this.value));
    if (this.places === 0) return (neg ? '-' : '') + digits;
    if (digits.length <= this.places) digits = '0'.repeat(this.places - digits.length + 1) + digits;
    const cut = digits.length - this.places;
    return `${neg ? '-' : ''}${digits.slice(0, cut)}.${digits.slice(cut)}`;
  }
}

/**
 * A value with an explicit wire type tag, overriding the automatic choice.
 * @category Messages and field tables
 */
export class TypedValue<T = unknown> {
  constructor(
    readonly type: FieldType,
    readonly value: T,
  ) {}
}

/**
 * Builders of {@link TypedValue}s, one per wire type.
 * @category Messages and field tables
 */
export const Typed = {
  /** `t`: boolean */
  bool: (v: boolean) => new TypedValue<boolean>('t', v),
  /** `b`: signed 8-bit integer */
  int8: (v: number) => new TypedValue<number>('b', v),
  /** `B`: unsigned 8-bit integer */
  uint8: (v: number) => new TypedValue<number>('B', v),
  /** `s`: signed 16-bit integer */
  int16: (v: number) => new TypedValue<number>('s', v),
  /** `u`: unsigned 16-bit integer */
  uint16: (v: number) => new TypedValue<number>('u', v),
  /** `I`: signed 32-bit integer */
  int32: (v: number) => new TypedValue<number>('I', v),
  /** `i`: unsigned 32-bit integer */
  uint32: (v: number) => new TypedValue<number>('i', v),
  /** `l`: signed 64-bit integer */
  int64: (v: number | bigint) => new TypedValue<number | bigint>('l', v),
  /** `f`: 32-bit float */
  float: (v: number) => new TypedValue<number>('f', v),
  /** `d`: 64-bit float */
  double: (v: number) => new TypedValue<number>('d', v),
  /** `D`: decimal, `value / 10^places` */
  decimal: (value: number, places: number) => new TypedValue<Decimal>('D', new Decimal(value, places)),
  /** `S`: long string (a string as UTF-8, or raw bytes) */
  string: (v: string | Buffer | Uint8Array) => new TypedValue<string | Buffer | Uint8Array>('S', v),
  /** `A`: field array */
  array: (v: FieldValue[]) => new TypedValue<FieldValue[]>('A', v),
  /** `T`: timestamp (a Date, or seconds since the epoch) */
  timestamp: (v: Date | number) => new TypedValue<Date | number>('T', v),
  /** `F`: nested table */
  table: (v: FieldTable) => new TypedValue<FieldTable>('F', v),
  /** `V`: void */
  void: () => new TypedValue<null>('V', null),
  /** `x`: byte array */
  bytes: (v: Buffer | Uint8Array) => new TypedValue<Buffer | Uint8Array>('x', v),
} as const;

// ---------------------------------------------------------------------------
// encoding

/**
 * How deeply tables and arrays may nest, in both directions. Real headers nest
 * a few levels; the limit exists because decoding recurses once per level, and
 * a ~15 KB message nesting thousands of levels would otherwise overflow the
 * stack (rabbitmq-c settled on 100 for the same reason; RabbitMQ has none).
 */
export const MAX_TABLE_DEPTH = 128;

const I64_MIN = -9223372036854775808; // -2^63, exact as a double
const I64_MAX_EXCL = 9223372036854775808; // 2^63

function rangeError(key: string, type: string, v: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`field table key '${key}': ${String(v)} is out of range for ${type}`);
}

function typeError(key: string, what: string, v: unknown): InvalidArgumentError {
  let d: string;
  if (v === null) d = 'null';
  else if (typeof v === 'object') d = `an object (${v.constructor?.name ?? 'no prototype'})`;
  else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v === undefined)
    d = `${typeof v} ${String(v)}`;
  else d = typeof v; // a symbol or a function
  return new InvalidArgumentError(`field table key '${key}': expected ${what}, got ${d}`);
}

function nestedTooDeep(key: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `${key ? `field table key '${key}'` : 'field table'}: tables and arrays nested more than ${MAX_TABLE_DEPTH} levels deep (a cyclic reference?)`,
  );
}

/**
 * RabbitMQ answers a NaN or an infinity in a table by closing the whole
 * connection (541 or a reset), taking every in-flight message with it, so they
 * are refused at the call. `Typed.double(v)` still sends one to a broker that takes it.
 */
function notFinite(key: string, v: number): InvalidArgumentError {
  return new InvalidArgumentError(
    `field table key '${key}': ${v} cannot be sent (RabbitMQ closes the connection on NaN and infinities); use Typed.double(${v}) to force it`,
  );
}

/** Encodes a field table (length-prefixed) at `w.pos`. `undefined`/`null` encodes an empty table. */
export function encodeTable(w: ByteSink, t: FieldTable | undefined | null, key = '', depth = 0): void {
  if (depth > MAX_TABLE_DEPTH) throw nestedTooDeep(key);
  w.ensure(4);
  const start = w.pos;
  w.pos = start + 4;
  if (t != null) {
    if (typeof t !== 'object' || Array.isArray(t)) {
      throw new InvalidArgumentError(
        `${key ? `field table key '${key}'` : 'field table'}: expected a plain object, got ${Array.isArray(t) ? 'an array' : typeof t}`,
      );
    }
    const keys = Object.keys(t);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      // key: shortstr
      const n = k.length;
      w.ensure(1 + 3 * n + 9);
      const b = w.buf;
      const p = w.pos;
      const len = writeUtf8At(b, p + 1, k);
      if (len > 255) {
        throw new InvalidArgumentError(`field table key '${k.slice(0, 40)}...' is ${len} bytes of UTF-8; at most 255 allowed`);
      }
      b[p] = len;
      w.pos = p + 1 + len;
      encodeValue(w, t[k], k, depth);
    }
  }
  writeUint32(w.buf, start, w.pos - start - 4);
}

/** Encodes a field array (length-prefixed) at `w.pos`. */
export function encodeArray(w: ByteSink, a: readonly FieldValue[], key = '', depth = 0): void {
  if (depth > MAX_TABLE_DEPTH) throw nestedTooDeep(key);
  w.ensure(4);
  const start = w.pos;
  w.pos = start + 4;
  for (let i = 0; i < a.length; i++) encodeValue(w, a[i], key, depth);
  writeUint32(w.buf, start, w.pos - start - 4);
}

function isPlainObject(v: object): boolean {
  const p: unknown = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

/**
 * Encodes one tagged value. `key` names the table key in error messages;
 * `depth`: the tables and arrays enclosing it.
 */
export function encodeValue(w: ByteSink, v: unknown, key: string, depth = 0): void {
  switch (typeof v) {
    case 'string':
      putLongString(w, 0x53 /* S */, v);
      return;
    case 'number':
      if (Number.isInteger(v) && !Object.is(v, -0)) {
        if (v >= -2147483648 && v <= 2147483647) {
          w.ensure(5);
          const b = w.buf;
          const p = w.pos;
          b[p] = 0x49; // I
          writeUint32(b, p + 1, v);
          w.pos = p + 5;
        } else if (v >= I64_MIN && v < I64_MAX_EXCL) {
          putInt64(w, v, key);
        } else {
          // an integral double beyond int64 (e.g. 1e300): a double is lossless
          putDouble(w, 0x64 /* d */, v);
        }
      } else if (v === v && v !== Infinity && v !== -Infinity) {
        putDouble(w, 0x64 /* d */, v);
      } else {
        throw notFinite(key, v);
      }
      return;
    case 'boolean':
      w.ensure(2);
      w.buf[w.pos] = 0x74; // t
      w.buf[w.pos + 1] = v ? 1 : 0;
      w.pos += 2;
      return;
    case 'bigint':
      putInt64(w, v, key);
      return;
    case 'undefined':
      putVoid(w);
      return;
    case 'object':
      if (v === null) {
        putVoid(w);
      } else if (Array.isArray(v)) {
        putTag(w, 0x41 /* A */);
        encodeArray(w, v, key, depth + 1);
      } else if (v instanceof Date) {
        putTimestamp(w, v, key);
      } else if (v instanceof Uint8Array) {
        putBytes(w, 0x78 /* x */, v);
      } else if (v instanceof Decimal) {
        putDecimal(w, v, key);
      } else if (v instanceof TypedValue) {
        encodeTyped(w, v, key, depth);
      } else if (isPlainObject(v)) {
        putTag(w, 0x46 /* F */);
        encodeTable(w, v as FieldTable, key, depth + 1);
      } else {
        throw typeError(key, 'a field value (plain object, array, Date, Buffer, Decimal, TypedValue, ...)', v);
      }
      return;
    default:
      throw typeError(key, 'a field value', v);
  }
}

function putTag(w: ByteSink, tag: number): void {
  w.ensure(1);
  w.buf[w.pos++] = tag;
}

function putVoid(w: ByteSink): void {
  putTag(w, 0x56 /* V */);
}

function putLongString(w: ByteSink, tag: number, s: string): void {
  putTag(w, tag);
  putLongstr(w, s);
}

function putBytes(w: ByteSink, tag: number, v: Uint8Array): void {
  putTag(w, tag);
  putLongBytes(w, v);
}

function putDouble(w: ByteSink, tag: number, v: number): void {
  w.ensure(9);
  w.buf[w.pos] = tag;
  w.buf.writeDoubleBE(v, w.pos + 1);
  w.pos += 9;
}

function putInt64(w: ByteSink, v: number | bigint, key: string): void {
  if (typeof v === 'bigint') {
    if (v < -9223372036854775808n || v > 9223372036854775807n) throw rangeError(key, "int64 ('l')", v);
  } else {
    if (!(v >= I64_MIN && v < I64_MAX_EXCL) || Math.floor(v) !== v) throw rangeError(key, "int64 ('l')", v);
  }
  w.ensure(9);
  const b = w.buf;
  const p = w.pos;
  b[p] = 0x6c; // l
  w.pos = write64(b, p + 1, v);
}

function putTimestamp(w: ByteSink, v: Date | number, key: string): void {
  const secs = v instanceof Date ? Math.floor(v.getTime() / 1000) : v;
  if (!(secs >= 0 && secs < 18446744073709551616) || Math.floor(secs) !== secs) {
    throw rangeError(key, "timestamp ('T', uint64 seconds since 1970)", v);
  }
  w.ensure(9);
  const b = w.buf;
  const p = w.pos;
  b[p] = 0x54; // T
  w.pos = write64(b, p + 1, secs);
}

function putDecimal(w: ByteSink, d: Decimal, key: string): void {
  const { value, places } = d;
  if ((places & 0xff) !== places) throw rangeError(key, "decimal places ('D', 0..255)", places);
  if ((value | 0) !== value) throw rangeError(key, "decimal value ('D', int32)", value);
  w.ensure(6);
  const b = w.buf;
  const p = w.pos;
  b[p] = 0x44; // D
  b[p + 1] = places;
  writeUint32(b, p + 2, value);
  w.pos = p + 6;
}

function putInt(w: ByteSink, tag: number, v: unknown, key: string, type: string, lo: number, hi: number, size: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw rangeError(key, type, v);
  w.ensure(1 + size);
  const b = w.buf;
  const p = w.pos;
  b[p] = tag;
  if (size === 1) b[p + 1] = v;
  else if (size === 2) {
    b[p + 1] = v >>> 8;
    b[p + 2] = v;
  } else writeUint32(b, p + 1, v);
  w.pos = p + 1 + size;
}

function encodeTyped(w: ByteSink, tv: TypedValue, key: string, depth: number): void {
  const v = tv.value;
  switch (tv.type) {
    case 't':
      w.ensure(2);
      w.buf[w.pos] = 0x74;
      w.buf[w.pos + 1] = v ? 1 : 0;
      w.pos += 2;
      return;
    case 'b':
      return putInt(w, 0x62, v, key, "int8 ('b')", -128, 127, 1);
    case 'B':
      return putInt(w, 0x42, v, key, "uint8 ('B')", 0, 255, 1);
    case 's':
      return putInt(w, 0x73, v, key, "int16 ('s')", -32768, 32767, 2);
    case 'u':
      return putInt(w, 0x75, v, key, "uint16 ('u')", 0, 65535, 2);
    case 'I':
      return putInt(w, 0x49, v, key, "int32 ('I')", -2147483648, 2147483647, 4);
    case 'i':
      return putInt(w, 0x69, v, key, "uint32 ('i')", 0, 4294967295, 4);
    case 'l':
      if (typeof v !== 'number' && typeof v !== 'bigint') throw typeError(key, "a number or bigint for int64 ('l')", v);
      return putInt64(w, v, key);
    case 'f':
      if (typeof v !== 'number') throw typeError(key, "a number for float ('f')", v);
      w.ensure(5);
      w.buf[w.pos] = 0x66;
      w.buf.writeFloatBE(v, w.pos + 1);
      w.pos += 5;
      return;
    case 'd':
      if (typeof v !== 'number') throw typeError(key, "a number for double ('d')", v);
      return putDouble(w, 0x64, v);
    case 'D':
      if (!(v instanceof Decimal)) throw typeError(key, "a Decimal for decimal ('D')", v);
      return putDecimal(w, v, key);
    case 'S':
      if (typeof v === 'string') return putLongString(w, 0x53, v);
      if (v instanceof Uint8Array) return putBytes(w, 0x53, v);
      throw typeError(key, "a string or Buffer for long string ('S')", v);
    case 'A':
      if (!Array.isArray(v)) throw typeError(key, "an array for field array ('A')", v);
      putTag(w, 0x41);
      return encodeArray(w, v, key, depth + 1);
    case 'T':
      if (!(v instanceof Date) && typeof v !== 'number') throw typeError(key, "a Date or seconds for timestamp ('T')", v);
      return putTimestamp(w, v, key);
    case 'F':
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw typeError(key, "an object for table ('F')", v);
      putTag(w, 0x46);
      return encodeTable(w, v as FieldTable, key, depth + 1);
    case 'V':
      return putVoid(w);
    case 'x':
      if (!(v instanceof Uint8Array)) throw typeError(key, "a Buffer for byte array ('x')", v);
      return putBytes(w, 0x78, v);
    default:
      throw new InvalidArgumentError(`field table key '${key}': unknown type tag ${JSON.stringify(tv.type)}`);
  }
}

// ---------------------------------------------------------------------------
// decoding: reads r.buf directly, never past r.end

function tagName(tag: number): string {
  return tag >= 0x20 && tag < 0x7f ? `'${String.fromCharCode(tag)}' (0x${tag.toString(16)})` : `0x${tag.toString(16)}`;
}

function tooDeep(r: TableReader): FrameError {
  return new FrameError(`field table or array nested more than ${MAX_TABLE_DEPTH} levels deep at offset ${r.pos}`);
}

/**
 * Decodes a length-prefixed field table at `r.pos`. `depth`: how many tables
 * and arrays enclose this one (a FrameError beyond {@link MAX_TABLE_DEPTH}).
 */
export function decodeTable(r: TableReader, depth = 0): FieldTable {
  if (depth > MAX_TABLE_DEPTH) throw tooDeep(r);
  const len = r.long();
  const start = r.pos;
  const end = start + len;
  if (end > r.end) throw r.truncated('field table', len);
  const outerEnd = r.end;
  r.end = end; // nothing inside may run past the table's own length
  const t: FieldTable = {};
  while (r.pos < end) {
    const key = r.shortstr();
    const v = decodeValue(r, depth);
    if (key === '__proto__') Object.defineProperty(t, key, { value: v, enumerable: true, writable: true, configurable: true });
    else t[key] = v;
  }
  r.end = outerEnd;
  return t;
}

/** Decodes a length-prefixed field array at `r.pos` (`depth` as for {@link decodeTable}). */
export function decodeArray(r: TableReader, depth = 0): FieldValue[] {
  if (depth > MAX_TABLE_DEPTH) throw tooDeep(r);
  const len = r.long();
  const end = r.pos + len;
  if (end > r.end) throw r.truncated('field array', len);
  const outerEnd = r.end;
  r.end = end;
  const a: FieldValue[] = [];
  while (r.pos < end) a.push(decodeValue(r, depth));
  r.end = outerEnd;
  return a;
}

/**
 * Decodes one tagged value at `r.pos`; `depth`: the tables and arrays enclosing it.
 *
 * The common tags (S, I) read through bytes.ts's helpers, which V8 inlines
 * here. This function is too large for V8 to inline every call within its
 * budget, so the other tags' integer reads are written out: as helper calls
 * they cost 1.8% more per decode of a table with one value of each type
 * (callgrind, +270 instructions; see bench/README.md, "Wire primitives").
 */
export function decodeValue(r: TableReader, depth = 0): FieldValue {
  const b = r.buf;
  let p = r.pos;
  if (p >= r.end) throw r.truncated('field value tag', 1);
  const tag = b[p++];
  r.pos = p;
  const left = r.end - p;
  switch (tag) {
    case 0x53: {
      // S
      if (left < 4) throw r.truncated("long string ('S') length", 4);
      const len = readUint32(b, p);
      if (left - 4 < len) {
        r.pos = p + 4;
        throw r.truncated("long string ('S')", len);
      }
      r.pos = p + 4 + len;
      return decodeUtf8(b, p + 4, p + 4 + len);
    }
    case 0x49: // I
      if (left < 4) throw r.truncated("int32 ('I')", 4);
      r.pos = p + 4;
      return readInt32(b, p);
    case 0x74: // t
      if (left < 1) throw r.truncated("boolean ('t')", 1);
      r.pos = p + 1;
      return b[p] !== 0;
    case 0x46: // F
      return decodeTable(r, depth + 1);
    case 0x41: // A
      return decodeArray(r, depth + 1);
    case 0x6c: {
      // l
      if (left < 8) throw r.truncated("int64 ('l')", 8);
      r.pos = p + 8;
      const hi = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]; // inline: see above
      const lo = b[p + 4] * 0x1000000 + ((b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]);
      const n = hi * U32 + lo;
      return Number.isSafeInteger(n) ? n : (BigInt(hi) << 32n) + BigInt(lo);
    }
    case 0x62: // b
      if (left < 1) throw r.truncated("int8 ('b')", 1);
      r.pos = p + 1;
      return (b[p] << 24) >> 24;
    case 0x42: // B
      if (left < 1) throw r.truncated("uint8 ('B')", 1);
      r.pos = p + 1;
      return b[p];
    case 0x73: // s
      if (left < 2) throw r.truncated("int16 ('s')", 2);
      r.pos = p + 2;
      return (((b[p] << 8) | b[p + 1]) << 16) >> 16;
    case 0x75: // u
      if (left < 2) throw r.truncated("uint16 ('u')", 2);
      r.pos = p + 2;
      return (b[p] << 8) | b[p + 1];
    case 0x69: // i
      if (left < 4) throw r.truncated("uint32 ('i')", 4);
      r.pos = p + 4;
      return b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]); // inline: see above
    case 0x66: // f
      if (left < 4) throw r.truncated("float ('f')", 4);
      r.pos = p + 4;
      return b.readFloatBE(p);
    case 0x64: // d
      if (left < 8) throw r.truncated("double ('d')", 8);
      r.pos = p + 8;
      return b.readDoubleBE(p);
    case 0x44: // D
      if (left < 5) throw r.truncated("decimal ('D')", 5);
      r.pos = p + 5;
      return new Decimal((b[p + 1] << 24) | (b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4], b[p]); // inline: see above
    case 0x54: {
      // T
      if (left < 8) throw r.truncated("timestamp ('T')", 8);
      r.pos = p + 8;
      // inline: see above
      const hi = b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
      const lo = b[p + 4] * 0x1000000 + ((b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]);
      return new Date((hi * U32 + lo) * 1000);
    }
    case 0x56: // V
      return null;
    case 0x78: {
      // x
      if (left < 4) throw r.truncated("byte array ('x') length", 4);
      const len = b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]); // inline: see above
      if (left - 4 < len) {
        r.pos = p + 4;
        throw r.truncated("byte array ('x')", len);
      }
      r.pos = p + 4 + len;
      const out = Buffer.allocUnsafe(len);
      b.copy(out, 0, p + 4, p + 4 + len);
      return out;
    }
    default:
      throw new FrameError(`unknown field table type tag ${tagName(tag)} at offset ${p - 1}`);
  }
}
