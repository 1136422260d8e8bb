/**
 * The field codec of the AMQP 0-9-1 wire format: a growable {@link Writer}
 * and a bounds-checked {@link Reader}. The generated `spec.ts` writes straight
 * into `Writer.buf` using the checked field writers exported at the bottom of
 * this module. The byte-level work underneath (integers at an offset, UTF-8)
 * is bytes.ts's, shared with the field tables and the frame parser and writer.
 *
 * Imports go one way: this module uses field-table.ts for `table()`, and
 * field-table.ts works on minimal structural views of a Writer and a Reader
 * (`ByteSink`, `TableReader`) instead of importing them from here.
 *
 * All integers are big-endian (network order). `longlong` method fields are
 * JS numbers: delivery tags and message counts stay far below 2^53.
 * @packageDocumentation
 */
import { FrameError, InvalidArgumentError } from '../errors';
import { decodeUtf8, putLongBytes, putLongstr, readUint32, readUint64, write64, writeUint32, writeUtf8At } from './bytes';
import { decodeTable, encodeTable, type FieldTable } from './field-table';

/** 2^64, the first value that does not fit a `longlong`. */
const U64 = 18446744073709551616;

/**
 * A growable output buffer, reused between loop turns. Writes go to
 * `buf[pos]`; generated code may write into `buf` directly after an
 * {@link Writer.ensure}.
 * @category Wire internals
 */
export class Writer {
  /** The output buffer; replaced (never shrunk) when it grows. */
  buf: Buffer;
  /** The next byte to write. */
  pos: number;
  /**
   * Bytes before this offset are not carried over when the buffer grows
   * (their owner has already handed them out). Offsets stay valid across a
   * grow either way. Default 0.
   */
  keepFrom = 0;

  constructor(initialSize = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize > 16 ? initialSize : 16);
    this.pos = 0;
  }

  /** Makes sure that at least `n` bytes can be written at `pos`. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    const old = this.buf;
    let size = old.length * 2;
    if (size < this.pos + n) size = this.pos + n;
    const buf = Buffer.allocUnsafe(size);
    if (this.pos > this.keepFrom) old.copy(buf, this.keepFrom, this.keepFrom, this.pos);
    this.buf = buf;
  }

  /** Forgets everything written: `pos = 0`. */
  reset(): void {
    this.pos = 0;
    this.keepFrom = 0;
  }

  /** Unsigned 8-bit integer. */
  octet(v: number): void {
    if ((v & 0xff) !== v) throw badInt('octet', 'value', v, 'octet');
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  /** Unsigned 16-bit integer. */
  short(v: number): void {
    if ((v & 0xffff) !== v) throw badInt('short', 'value', v, 'short');
    this.ensure(2);
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 8;
    b[p + 1] = v;
    this.pos = p + 2;
  }

  /** Unsigned 32-bit integer. */
  long(v: number): void {
    if (v >>> 0 !== v) throw badInt('long', 'value', v, 'long');
    this.ensure(4);
    this.pos = writeUint32(this.buf, this.pos, v);
  }

  /** Unsigned 64-bit integer (a number up to 2^53, or a bigint). */
  longlong(v: number | bigint): void {
    this.ensure(8);
    this.pos = writeLonglong(this.buf, this.pos, v, 'longlong');
  }

  /** A short string: one length octet and at most 255 bytes of UTF-8. `what` names the field in errors. */
  shortstr(s: string, what = 'shortstr'): void {
    this.ensure(256);
    this.pos = writeShortstr(this.buf, this.pos, s, what);
  }

  /** A long string: uint32 length and the bytes (UTF-8 for a string). */
  longstr(s: string | Buffer | Uint8Array, what = 'longstr'): void {
    if (typeof s === 'string') putLongstr(this, s);
    else if (s instanceof Uint8Array) putLongBytes(this, s);
    else {
      throw new InvalidArgumentError(`${what} must be a string or a Buffer, got ${describe(s)}`);
    }
  }

  /** A field table (`undefined` writes an empty table). */
  table(t: FieldTable | undefined | null): void {
    encodeTable(this, t);
  }

  /** A timestamp: uint64 seconds since the epoch (milliseconds are dropped). */
  timestamp(d: Date): void {
    this.ensure(8);
    this.pos = writeTimestamp(this.buf, this.pos, d, 'timestamp');
  }

  /** Raw bytes, copied. */
  bytes(b: Buffer | Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

/**
 * A bounds-checked cursor over one frame payload (`buf[pos, end)`). Every
 * read checks `end` first and throws {@link FrameError} when the data is
 * truncated; nothing is ever read past `end`.
 * @category Wire internals
 */
export class Reader {
  buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, offset: number, end: number) {
    this.buf = buf;
    this.pos = offset;
    this.end = end;
  }

  /** Bytes left before `end`. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws a FrameError describing a read of `n` bytes that does not fit. */
  truncated(what: string, n: number): FrameError {
    return new FrameError(`truncated ${what}: need ${n} byte(s) at offset ${this.pos}, only ${this.end - this.pos} left`);
  }

  /** Unsigned 8-bit integer. */
  octet(): number {
    const p = this.pos;
    if (p + 1 > this.end) throw this.truncated('octet', 1);
    this.pos = p + 1;
    return this.buf[p];
  }

  /** Unsigned 16-bit integer. */
  short(): number {
    const p = this.pos;
    if (p + 2 > this.end) throw this.truncated('short', 2);
    this.pos = p + 2;
    const b = this.buf;
    return (b[p] << 8) | b[p + 1];
  }

  /** Unsigned 32-bit integer. */
  long(): number {
    const p = this.pos;
    if (p + 4 > this.end) throw this.truncated('long', 4);
    this.pos = p + 4;
    return readUint32(this.buf, p);
  }

  /** Unsigned 64-bit integer as a number (exact below 2^53). */
  longlong(): number {
    const p = this.pos;
    if (p + 8 > this.end) throw this.truncated('longlong', 8);
    this.pos = p + 8;
    return readUint64(this.buf, p);
  }

  /** A short string (UTF-8). */
  shortstr(): string {
    const b = this.buf;
    const p = this.pos;
    if (p + 1 > this.end) throw this.truncated('shortstr length', 1);
    const len = b[p];
    const s = p + 1;
    const e = s + len;
    if (e > this.end) {
      this.pos = s;
      throw this.truncated('shortstr', len);
    }
    this.pos = e;
    return decodeUtf8(b, s, e);
  }

  /** A long string as raw bytes (a copy: it does not keep the frame alive). */
  longstr(): Buffer {
    const len = this.long();
    const p = this.pos;
    if (p + len > this.end) throw this.truncated('longstr', len);
    this.pos = p + len;
    const out = Buffer.allocUnsafe(len);
    this.buf.copy(out, 0, p, p + len);
    return out;
  }

  /** A long string decoded as UTF-8. */
  longstrAsString(): string {
    const len = this.long();
    const p = this.pos;
    if (p + len > this.end) throw this.truncated('longstr', len);
    this.pos = p + len;
    return decodeUtf8(this.buf, p, p + len);
  }

  /** A field table. */
  table(): FieldTable {
    return decodeTable(this);
  }

  /** A timestamp (uint64 seconds) as a Date. */
  timestamp(): Date {
    return new Date(this.longlong() * 1000);
  }

  /** `n` raw bytes as a view into the frame (no copy). */
  view(n: number): Buffer {
    const p = this.pos;
    if (p + n > this.end) throw this.truncated('bytes', n);
    this.pos = p + n;
    return this.buf.subarray(p, p + n);
  }
}

// ---------------------------------------------------------------------------
// Helpers used by generated code and the frame writer. They write at `p`
// into a buffer that the caller has already `ensure`d and return the next
// position. `what` names the field in error messages.

/** @internal */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return `a string of ${v.length} characters`;
  if (typeof v === 'object') return `an object (${v.constructor?.name ?? 'no prototype'})`;
  if (v === undefined) return 'undefined';
  if (typeof v === 'function') return 'a function';
  return `${typeof v} ${(v as number | boolean | bigint | symbol).toString()}`;
}

/** @internal An InvalidArgumentError for an integer field out of range. */
export function badInt(method: string, field: string, v: unknown, type: 'octet' | 'short' | 'long'): Error {
  const max = type === 'octet' ? 255 : type === 'short' ? 65535 : 4294967295;
  return new InvalidArgumentError(
    `${method}: field ${field} must be an integer in 0..${max} (${type}), got ${typeof v === 'number' ? v : describe(v)}`,
  );
}

/**
 * @internal Writes a uint32 at `p`; returns `p + 4`. The same function as
 * bytes.ts's `writeUint32`, exported here for the generated code as a plain
 * value: `export { x } from` would compile to a getter that every call in
 * spec.js would go through.
 */
export const writeLongAt: (b: Buffer, p: number, v: number) => number = writeUint32;

/**
 * @internal Throws an InvalidArgumentError unless `s` is a string that fits
 * an AMQP short string (at most 255 bytes of UTF-8); `what` names it in the
 * message. The one short-string check: the encoders run it, and so do the
 * calls that check their arguments before anything is encoded.
 */
export function checkShortstr(s: unknown, what: string): asserts s is string {
  // UTF-16 units expand to at most 3 UTF-8 bytes, so only strings of more
  // than 85 units can exceed 255 bytes and need a byte count first. The error
  // is built elsewhere so that this check stays small enough for V8 to inline
  // into the publish path (measured: 60 instructions per publish otherwise).
  if (typeof s !== 'string' || (s.length > 85 && Buffer.byteLength(s, 'utf8') > 255)) throw shortstrError(s, what);
}

/** The error of a value that {@link checkShortstr} refused. */
function shortstrError(s: unknown, what: string): InvalidArgumentError {
  if (typeof s !== 'string') return new InvalidArgumentError(`${what} must be a string, got ${describe(s)}`);
  return new InvalidArgumentError(`${what} is ${Buffer.byteLength(s, 'utf8')} bytes of UTF-8; a shortstr holds at most 255`);
}

/** @internal Writes a shortstr (length octet + UTF-8) at `p`; needs 256 bytes of room. */
export function writeShortstr(b: Buffer, p: number, s: string, what: string): number {
  checkShortstr(s, what);
  const len = writeUtf8At(b, p + 1, s);
  b[p] = len;
  return p + 1 + len;
}

/** @internal Writes an unsigned 64-bit integer at `p`. */
export function writeLonglong(b: Buffer, p: number, v: number | bigint, what: string): number {
  if (typeof v === 'number') {
    if (!(v >= 0 && v < U64) || Math.floor(v) !== v) {
      throw new InvalidArgumentError(`${what} must be an integer in 0..2^64-1, got ${v}`);
    }
  } else if (typeof v === 'bigint') {
    if (v < 0n || v >= 18446744073709551616n) {
      throw new InvalidArgumentError(`${what} must be an integer in 0..2^64-1, got ${v}`);
    }
  } else {
    throw new InvalidArgumentError(`${what} must be a number or a bigint, got ${describe(v)}`);
  }
  return write64(b, p, v);
}

/** @internal Writes a Date as uint64 seconds at `p`. */
export function writeTimestamp(b: Buffer, p: number, d: Date, what: string): number {
  const ms = d instanceof Date ? d.getTime() : NaN;
  if (!(ms >= 0)) {
    throw new InvalidArgumentError(`${what} must be a valid Date at or after 1970, got ${describe(d)}`);
  }
  return writeLonglong(b, p, Math.floor(ms / 1000), what);
}
