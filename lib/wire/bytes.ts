/**
 * The byte-level primitives of the wire format, defined once for all of
 * `lib/wire`: big-endian integer reads and writes at an offset, UTF-8
 * writing with an ASCII fast path, UTF-8 decoding through a small string
 * cache, and the long-string writers that codec.ts's `Writer` and the
 * field-table encoder share.
 *
 * The functions work on a Buffer and an offset: reads trust the caller to
 * have checked the bounds, writes trust it to have made room. None of them
 * validates a value or throws; the callers do that, with their own error
 * messages. This module imports nothing, so that `codec.ts`,
 * `field-table.ts`, `frame-parser.ts` and `frame-writer.ts` can all build on
 * it without an import cycle.
 *
 * The helpers are small enough for V8 to inline where they are called, and
 * in the frame writer, the codec and the field-table encoder they cost what
 * the inline expressions they replaced did (bench/README.md, "Wire
 * primitives"). Two places keep their reads written out because the calls
 * measured slower there, each with a comment saying so: the frame parser's
 * per-frame path and the rarer tags of field-table.ts's `decodeValue`.
 * @packageDocumentation
 */

/** 2^32: the weight of the high half of a 64-bit integer. */
export const U32 = 4294967296;

// ---------------------------------------------------------------------------
// integers, big-endian (network order)

/** The unsigned 32-bit integer at `b[p, p + 4)`. */
export function readUint32(b: Buffer, p: number): number {
  // `b[p] << 24` would go negative for b[p] >= 0x80: multiply the top octet instead
  return b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
}

/** The signed (two's complement) 32-bit integer at `b[p, p + 4)`. */
export function readInt32(b: Buffer, p: number): number {
  return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
}

/** The unsigned 64-bit integer at `b[p, p + 8)` as a number: exact below 2^53. */
export function readUint64(b: Buffer, p: number): number {
  return readUint32(b, p) * U32 + readUint32(b, p + 4);
}

/**
 * Writes the low 32 bits of the integer `v` at `p` (so an int32 comes out as
 * two's complement); returns `p + 4`.
 */
export function writeUint32(b: Buffer, p: number, v: number): number {
  b[p] = v >>> 24;
  b[p + 1] = v >>> 16;
  b[p + 2] = v >>> 8;
  b[p + 3] = v;
  return p + 4;
}

/**
 * Writes a 64-bit integer at `p` (two's complement for a negative value);
 * returns `p + 8`. The caller has checked the range: an integral number in
 * -2^63..2^64-1, or a bigint in the same range.
 */
export function write64(b: Buffer, p: number, v: number | bigint): number {
  let hi: number;
  let lo: number;
  if (typeof v === 'number') {
    hi = Math.floor(v / U32); // negative for a negative v; its low 32 bits are the high word
    lo = v - hi * U32;
  } else {
    hi = Number(BigInt.asIntN(32, v >> 32n));
    lo = Number(v & 0xffffffffn);
  }
  writeUint32(b, p, hi);
  writeUint32(b, p + 4, lo);
  return p + 8;
}

// ---------------------------------------------------------------------------
// UTF-8

// Node's Buffer has fast, undocumented utf8Slice / utf8Write; fall back to
// the public API on runtimes without them.
interface FastBuffer extends Buffer {
  utf8Slice(start: number, end: number): string;
  utf8Write(s: string, offset: number, length?: number): number;
}
const proto = Buffer.prototype as Partial<FastBuffer>;

/** Decodes `buf[start, end)` as UTF-8. */
export const utf8Slice: (buf: Buffer, start: number, end: number) => string =
  typeof proto.utf8Slice === 'function'
    ? (buf, start, end) => (buf as FastBuffer).utf8Slice(start, end)
    : (buf, start, end) => buf.toString('utf8', start, end);

/** Writes `s` as UTF-8 at `offset`; the caller has checked that it fits. Returns the byte count. */
export const utf8Write: (buf: Buffer, s: string, offset: number) => number =
  typeof proto.utf8Write === 'function'
    ? (buf, s, offset) => (buf as FastBuffer).utf8Write(s, offset)
    : (buf, s, offset) => buf.write(s, offset, 'utf8');

/**
 * Writes `s` as UTF-8 at `p` and returns the byte count. Short ASCII strings
 * (most names, keys and tags) are copied unit by unit in JS, which beats a
 * call into C++; anything else goes to {@link utf8Write}. Room for 3 bytes
 * per UTF-16 unit must be ensured.
 */
export function writeUtf8At(b: Buffer, p: number, s: string): number {
  const n = s.length;
  if (n <= 48) {
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) return utf8Write(b, s, p);
      b[p + i] = c;
    }
    return n;
  }
  return utf8Write(b, s, p);
}

// A small direct-mapped cache of decoded short strings. Consumer tags,
// exchange names, routing keys, content types and header keys repeat from one
// delivery to the next; comparing a few bytes in JS is about twice as fast as
// a call into C++ to make a new string. Entries are checked byte for byte, so
// a hit is always exact.
const CACHE_SLOTS = 512; // a power of two
const CACHE_MAX_LEN = 48;
const cacheBytes = new Uint8Array(CACHE_SLOTS * CACHE_MAX_LEN);
const cacheLen = new Uint8Array(CACHE_SLOTS); // 0: empty slot
const cacheStr: string[] = new Array<string>(CACHE_SLOTS).fill('');

/** Decodes `buf[start, end)` as UTF-8, reusing the string of an identical recent byte sequence. */
export function decodeUtf8(b: Buffer, start: number, end: number): string {
  const len = end - start;
  if (len > CACHE_MAX_LEN) return utf8Slice(b, start, end);
  if (len <= 0) return '';
  const slot = ((len * 0x9e37) ^ (b[start] << 3) ^ (b[end - 1] << 7) ^ (b[start + (len >> 1)] << 1) ^ b[start + (len >> 2)]) & (CACHE_SLOTS - 1);
  const base = slot * CACHE_MAX_LEN;
  if (cacheLen[slot] === len) {
    let i = 0;
    while (i < len && cacheBytes[base + i] === b[start + i]) i++;
    if (i === len) return cacheStr[slot];
  }
  const str = utf8Slice(b, start, end);
  cacheLen[slot] = len;
  cacheStr[slot] = str;
  for (let i = 0; i < len; i++) cacheBytes[base + i] = b[start + i];
  return str;
}

// ---------------------------------------------------------------------------
// length-prefixed writes into a growable buffer

/**
 * A growable output buffer: what the sized writers below, and the field-table
 * encoder, need of codec.ts's `Writer` (which is one).
 */
export interface ByteSink {
  /** The output buffer; `ensure` may replace it. */
  buf: Buffer;
  /** The next byte to write. */
  pos: number;
  /** Makes sure that at least `n` bytes can be written at `pos`. */
  ensure(n: number): void;
}

/** Writes a long string at `w.pos`: a uint32 byte count and `s` as UTF-8. */
export function putLongstr(w: ByteSink, s: string): void {
  const n = s.length;
  if (n < 64) {
    // at most 3 bytes of UTF-8 per UTF-16 unit: room without counting first
    w.ensure(4 + 3 * n);
    const b = w.buf;
    const p = w.pos;
    const len = n === 0 ? 0 : writeUtf8At(b, p + 4, s);
    writeUint32(b, p, len);
    w.pos = p + 4 + len;
  } else {
    const len = Buffer.byteLength(s, 'utf8');
    w.ensure(4 + len);
    const p = writeUint32(w.buf, w.pos, len);
    utf8Write(w.buf, s, p);
    w.pos = p + len;
  }
}

/** Writes raw bytes as a long string at `w.pos`: a uint32 byte count and a copy of `v`. */
export function putLongBytes(w: ByteSink, v: Uint8Array): void {
  w.ensure(4 + v.length);
  const p = writeUint32(w.buf, w.pos, v.length);
  w.buf.set(v, p);
  w.pos = p + v.length;
}
