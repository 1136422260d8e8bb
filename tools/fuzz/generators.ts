/**
 * Input generators of the fuzz harness: random and well-formed field values,
 * field tables (shallow, deeply nested, cyclic), method payloads, content
 * header properties, whole frames, mutations of them, and the ways to cut a
 * byte stream into socket chunks.
 *
 * The byte encoders here are deliberately independent of the library's own
 * encoders: they must be able to write what the library refuses to write
 * (tables nested 10,000 levels deep, wrong lengths, unknown tags), because
 * that is exactly what a hostile or broken peer sends.
 * @packageDocumentation
 */
import { Decimal, Typed, TypedValue, encodeTable, type FieldTable, type FieldValue } from '../../lib/wire/field-table';
import { Writer } from '../../lib/wire/codec';
import * as spec from '../../lib/wire/spec';
import type { Rng } from './prng';

/** The octet that ends every frame. */
export const FRAME_END = 0xce;

/** Integers that sit on the edges parsers get wrong: 0, 1, sign bits, all ones, frame-size limits. */
export const INTERESTING_U32: readonly number[] = [
  0, 1, 2, 3, 4, 7, 8, 9, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0x7fff, 0x8000, 0xfff8, 0xffff, 0x10000, 0x1fff8, 0x20000, 0x7fffff, 0x1000000,
  0x7ffffff7, 0x7fffffff, 0x80000000, 0xfffffff7, 0xfffffff8, 0xfffffffe, 0xffffffff,
];

/** Octets worth planting: the frame end, type tags, frame types. */
const INTERESTING_OCTETS: readonly number[] = [0, 1, 2, 3, 8, 0x41, 0x46, 0x53, 0x56, 0x78, 0x6c, 0x44, 0x54, 0x7f, 0x80, 0xce, 0xff];

// ---------------------------------------------------------------------------
// strings

/** Code points that exercise UTF-8 handling: multi-byte, astral, a lone surrogate, NUL. */
const ODD_CHARS = ['é', '€', '😀', '\ud800', '\u0000', 'ß', '中', '\uffff'];

/** A random string of at most `maxUnits` UTF-16 units, mostly ASCII. */
export function randomString(rng: Rng, maxUnits: number): string {
  const n = rng.smallSize(maxUnits);
  let s = '';
  const odd = rng.chance(0.2);
  for (let i = 0; i < n; i++) {
    s += odd && rng.chance(0.3) ? rng.pick(ODD_CHARS) : String.fromCharCode(0x20 + rng.int(95));
  }
  return s;
}

/** A string that fits a shortstr (at most 255 bytes of UTF-8). */
export function randomShortstr(rng: Rng): string {
  for (;;) {
    const s = randomString(rng, rng.chance(0.05) ? 255 : 40);
    if (Buffer.byteLength(s) <= 255) return s;
  }
}

// ---------------------------------------------------------------------------
// JS field values (for the encoders)

/** A well-formed field value: every one of these must encode without error. */
export function randomFieldValue(rng: Rng, depth = 0): FieldValue {
  const nested = depth < 3;
  switch (rng.int(nested ? 20 : 17)) {
    case 0:
      return rng.chance(0.5);
    case 1:
      return rng.range(-1000, 1000);
    case 2:
      return rng.u32() | 0;
    case 3:
      return rng.pick([2 ** 40, -(2 ** 52), Number.MAX_SAFE_INTEGER, -(2 ** 63), 1e300]);
    case 4:
      return BigInt.asIntN(64, (BigInt(rng.u32()) << 32n) | BigInt(rng.u32()));
    case 5:
      return rng.pick([0.5, -0, 3.14159, -1e-300, 1.7976931348623157e308]);
    case 6:
      return randomString(rng, 64);
    case 7:
      return rng.bytes(rng.smallSize(64));
    case 8:
      return new Date(rng.int(2 ** 32) * 1000);
    case 9:
      return new Decimal(rng.u32() | 0, rng.int(256));
    case 10:
      return null;
    case 11:
      return undefined;
    case 12:
      return Typed.int8(rng.range(-128, 127));
    case 13:
      return Typed.uint16(rng.int(65536));
    case 14:
      return Typed.uint32(rng.u32());
    case 15:
      return Typed.float(rng.float() * 1000);
    case 16:
      return rng.pick([Typed.double(NaN), Typed.double(Infinity), Typed.void(), Typed.timestamp(rng.u32()), Typed.string(rng.bytes(3))]);
    case 17:
    case 18: {
      const a: FieldValue[] = [];
      const n = rng.smallSize(6);
      for (let i = 0; i < n; i++) a.push(randomFieldValue(rng, depth + 1));
      return rng.chance(0.2) ? Typed.array(a) : a;
    }
    default:
      return randomTable(rng, depth + 1);
  }
}

/** A well-formed field table of a few keys. */
export function randomTable(rng: Rng, depth = 0): FieldTable {
  const t: FieldTable = {};
  const n = rng.smallSize(depth === 0 ? 8 : 4);
  for (let i = 0; i < n; i++) t[randomShortstr(rng)] = randomFieldValue(rng, depth);
  return t;
}

class NotAFieldValue {
  x = 1;
}

/**
 * A value an application might wrongly pass in a table. Encoding one must
 * throw InvalidArgumentError (or succeed); never a TypeError or RangeError.
 */
export function badFieldValue(rng: Rng): unknown {
  switch (rng.int(18)) {
    case 0:
      return NaN;
    case 1:
      return -Infinity;
    case 2:
      return Symbol('s');
    case 3:
      return () => 1;
    case 4:
      return new Map([[1, 2]]);
    case 5:
      return new NotAFieldValue();
    case 6:
      return 2n ** 70n;
    case 7:
      return Typed.int8(1000);
    case 8:
      return Typed.decimal(1.5, 2);
    case 9:
      return new Decimal(1, 300);
    case 10:
      return new Date(NaN);
    case 11:
      return new Date(-5000);
    case 12:
      return { ['k'.repeat(300)]: 1 };
    case 13:
      return { ['é'.repeat(128)]: 1 };
    case 14:
      return Typed.timestamp(-1);
    case 15:
      return new TypedValue('Z' as never, 1);
    case 16:
      return rng.pick([Typed.array('no' as never), Typed.float('x' as never), Typed.table(null as never), Typed.bytes(5 as never)]);
    default:
      return rng.pick([Typed.string(7 as never), Typed.int64(1.5), Typed.uint32(-1), Typed.table([] as never)]);
  }
}

/**
 * A JS table nested `depth` levels deep, mixing plain objects, arrays and
 * TypedValue wrappers, built iteratively (the generator itself must not
 * overflow the stack).
 */
export function deepJsTable(rng: Rng, depth: number): FieldTable {
  let v: FieldValue = rng.chance(0.5) ? {} : rng.range(0, 9);
  for (let i = 0; i < depth; i++) {
    switch (rng.int(5)) {
      case 0:
        v = { k: v };
        break;
      case 1:
        v = [v];
        break;
      case 2:
        v = Typed.table({ a: 1, k: v });
        break;
      case 3:
        v = Typed.array([null, v]);
        break;
      default:
        v = { before: true, k: v, after: [1, 2] };
    }
  }
  return { root: v };
}

/** A table that contains itself somewhere (directly, through an array, or through a TypedValue). */
export function cyclicJsTable(rng: Rng): FieldTable {
  const t: FieldTable = { a: 1 };
  switch (rng.int(4)) {
    case 0:
      t['self'] = t;
      break;
    case 1: {
      const a: FieldValue[] = [1];
      a.push(a);
      t['arr'] = a;
      break;
    }
    case 2:
      t['typed'] = Typed.table(t);
      break;
    default: {
      const b: FieldTable = { back: t };
      t['b'] = { mid: [b] };
    }
  }
  return t;
}

// ---------------------------------------------------------------------------
// raw bytes of tables

/** Encodes a well-formed table with the library's encoder (to mutate the bytes afterwards). */
export function tableBytes(t: FieldTable): Buffer {
  const w = new Writer(256);
  encodeTable(w, t);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

/**
 * The bytes of a field table (with its uint32 length) nested `depth` levels
 * deep, tables and arrays mixed at random. Every level only adds a prefix
 * (length, key, tag), so the buffer is written back to front in one pass:
 * O(depth), where building it level by level would copy O(depth²) bytes.
 */
export function deepTableBytes(rng: Rng, depth: number): Buffer {
  // kinds[0] is the outermost level; the outermost is a table (this is a table's bytes)
  const kinds: Array<'F' | 'A'> = [];
  for (let i = 0; i < depth; i++) kinds.push(i === 0 || rng.chance(0.5) ? 'F' : 'A');
  // innermost: an empty table, or an array holding a small value
  const inner = rng.chance(0.5) ? Buffer.from([0, 0, 0, 0]) : Buffer.from([0, 0, 0, 2, 0x74, 1]);
  const innerTag = inner.length === 4 ? 0x46 : 0x41;
  let total = inner.length;
  for (let i = depth - 1; i >= 0; i--) total += kinds[i] === 'F' ? 4 + 2 + 1 : 4 + 1;
  // a level's value tag is written by its parent: level i holds the child's tag
  const buf = Buffer.allocUnsafe(total);
  let pos = total - inner.length;
  inner.copy(buf, pos);
  let childTag = innerTag;
  for (let i = depth - 1; i >= 0; i--) {
    const bodyLen = total - pos; // the child's value, whose tag we write now
    if (kinds[i] === 'F') {
      // length, key "k" (shortstr), child tag
      pos -= 1;
      buf[pos] = childTag;
      pos -= 2;
      buf[pos] = 1;
      buf[pos + 1] = 0x6b;
      pos -= 4;
      buf.writeUInt32BE(bodyLen + 3, pos);
      childTag = 0x46;
    } else {
      pos -= 1;
      buf[pos] = childTag;
      pos -= 4;
      buf.writeUInt32BE(bodyLen + 1, pos);
      childTag = 0x41;
    }
  }
  if (pos !== 0) throw new Error(`deepTableBytes: internal size error (${pos})`);
  return buf;
}

/** Random bytes shaped like a table: plausible tags and lengths, garbage in between. */
export function tableShapedBytes(rng: Rng): Buffer {
  const parts: Buffer[] = [];
  const n = rng.smallSize(8);
  for (let i = 0; i < n; i++) {
    const key = rng.bytes(rng.smallSize(6));
    parts.push(
      Buffer.from([key.length]),
      key,
      Buffer.from([rng.pick(INTERESTING_OCTETS.concat([0x74, 0x62, 0x42, 0x73, 0x75, 0x49, 0x69, 0x66, 0x64]))]),
    );
    parts.push(rng.bytes(rng.smallSize(12)));
  }
  const body = Buffer.concat(parts);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(rng.chance(0.8) ? body.length : rng.pick(INTERESTING_U32));
  return Buffer.concat([len, body]);
}

// ---------------------------------------------------------------------------
// method payloads and content headers

/** A value of one method field or property; tables may be raw bytes (pre-encoded, possibly malformed). */
export type RawFieldValue = number | boolean | string | Buffer | Date | FieldTable;

function u32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

function u64(v: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32BE(Math.floor(v / 4294967296) >>> 0, 0);
  b.writeUInt32BE(v >>> 0, 4);
  return b;
}

/** The bytes of a string field: raw bytes as they are, anything else (a string from the generators) as UTF-8 text. */
function stringBytes(v: RawFieldValue): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'object' && !(v instanceof Date)) throw new Error('fieldBytes: a field table for a string field');
  return Buffer.from(String(v));
}

/** Writes one typed field; strings longer than their type allows are written anyway (truncated length octet). */
function fieldBytes(type: spec.AMQPType, v: RawFieldValue): Buffer {
  switch (type) {
    case 'octet':
      return Buffer.from([Number(v) & 0xff]);
    case 'short':
      return Buffer.from([(Number(v) >> 8) & 0xff, Number(v) & 0xff]);
    case 'long':
      return u32(Number(v));
    case 'longlong':
      return u64(Number(v));
    case 'timestamp':
      return u64(v instanceof Date ? Math.floor(v.getTime() / 1000) : Number(v));
    case 'shortstr': {
      const b = stringBytes(v);
      return Buffer.concat([Buffer.from([b.length & 0xff]), b.subarray(0, 255)]);
    }
    case 'longstr': {
      const b = stringBytes(v);
      return Buffer.concat([u32(b.length), b]);
    }
    case 'table':
      return Buffer.isBuffer(v) ? v : tableBytes(v as FieldTable);
    default:
      throw new Error(`fieldBytes: ${type} is packed by the caller`);
  }
}

/** A random value for a field of `type`; `table` says how to make tables. */
export function randomFieldOf(rng: Rng, type: spec.AMQPType, binary: boolean, table: () => FieldTable | Buffer): RawFieldValue {
  switch (type) {
    case 'bit':
      return rng.chance(0.5);
    case 'octet':
      return rng.int(256);
    case 'short':
      return rng.chance(0.3) ? rng.pick([0, 1, 0xffff]) : rng.int(65536);
    case 'long':
      return rng.chance(0.3) ? rng.pick(INTERESTING_U32) : rng.u32();
    case 'longlong':
      return rng.chance(0.5) ? rng.int(1000) : rng.int(2 ** 32) * 2 ** 21 + rng.int(2 ** 21);
    case 'timestamp':
      return new Date(rng.int(2 ** 32) * 1000);
    case 'shortstr':
      return randomShortstr(rng);
    case 'longstr':
      return binary || rng.chance(0.2) ? rng.bytes(rng.smallSize(64)) : randomString(rng, 64);
    case 'table':
      return table();
  }
}

/**
 * Writes a method payload (class id, method id, fields in wire order, bits
 * packed low bit first into octets as the spec says) from raw values.
 */
export function methodPayload(cls: spec.MethodClass, values: Record<string, RawFieldValue>): Buffer {
  const parts: Buffer[] = [Buffer.from([cls.classId >> 8, cls.classId & 0xff, cls.methodId >> 8, cls.methodId & 0xff])];
  let bits = -1;
  let bitCount = 0;
  for (const f of cls.fields) {
    if (f.type === 'bit') {
      if (bits < 0 || bitCount === 8) {
        if (bits >= 0) parts.push(Buffer.from([bits]));
        bits = 0;
        bitCount = 0;
      }
      if (values[f.name]) bits |= 1 << bitCount;
      bitCount++;
      continue;
    }
    if (bits >= 0) {
      parts.push(Buffer.from([bits]));
      bits = -1;
    }
    parts.push(fieldBytes(f.type, values[f.name]));
  }
  if (bits >= 0) parts.push(Buffer.from([bits]));
  return Buffer.concat(parts);
}

/** Random field values for every field of `cls`. */
export function randomMethodValues(rng: Rng, cls: spec.MethodClass, table: () => FieldTable | Buffer): Record<string, RawFieldValue> {
  const values: Record<string, RawFieldValue> = {};
  for (const f of cls.fields) values[f.name] = randomFieldOf(rng, f.type, f.binary, table);
  return values;
}

/** A random method payload; tables are small, or (with `deep`) nested that many levels. */
export function randomMethodPayload(rng: Rng, deep = 0): { cls: spec.MethodClass; payload: Buffer } {
  const cls = rng.pick(spec.METHOD_CLASSES);
  const table = (): FieldTable | Buffer => (deep > 0 ? deepTableBytes(rng, deep) : rng.chance(0.7) ? {} : randomTable(rng));
  return { cls, payload: methodPayload(cls, randomMethodValues(rng, cls, table)) };
}

/**
 * Content-header properties: a flags word then the present fields. `headers`
 * may be raw bytes (deep or malformed). Flag bit 0 (continuation) and the
 * unused low bits are set only when `oddFlags` is true.
 */
export function propertiesBytes(rng: Rng, deep = 0, oddFlags = false): Buffer {
  let flags = 0;
  const parts: Buffer[] = [];
  spec.BasicProperties.fields.forEach((f, i) => {
    const present = f.name === 'headers' && deep > 0 ? true : rng.chance(0.3);
    if (!present) return;
    flags |= 0x8000 >> i;
    const v = f.name === 'headers' ? (deep > 0 ? deepTableBytes(rng, deep) : randomTable(rng)) : randomFieldOf(rng, f.type, f.binary, () => ({}));
    parts.push(fieldBytes(f.type, v));
  });
  if (oddFlags) flags |= rng.int(4);
  return Buffer.concat([Buffer.from([flags >> 8, flags & 0xff]), ...parts]);
}

/** The payload of a content header frame: class, weight, body size, properties. */
export function headerPayload(bodySize: number, properties: Buffer, classId = 60, weight = 0): Buffer {
  return Buffer.concat([Buffer.from([classId >> 8, classId & 0xff, weight >> 8, weight & 0xff]), u64(bodySize), properties]);
}

// ---------------------------------------------------------------------------
// frames

/** A whole frame: type, channel, size, payload, frame end. */
export function frame(type: number, channel: number, payload: Buffer): Buffer {
  const b = Buffer.allocUnsafe(8 + payload.length);
  b[0] = type;
  b.writeUInt16BE(channel & 0xffff, 1);
  b.writeUInt32BE(payload.length, 3);
  payload.copy(b, 7);
  b[7 + payload.length] = FRAME_END;
  return b;
}

/** A heartbeat frame. */
export const HEARTBEAT = frame(8, 0, Buffer.alloc(0));

/** A random well-formed frame of any type (method, content header, body, heartbeat). */
export function randomFrame(rng: Rng, channel = rng.chance(0.3) ? 0 : rng.range(1, 3)): Buffer {
  const r = rng.float();
  if (r < 0.55) return frame(1, channel, randomMethodPayload(rng).payload);
  if (r < 0.75) return frame(2, channel, headerPayload(rng.smallSize(1000), propertiesBytes(rng)));
  if (r < 0.92) return frame(3, channel, rng.bytes(rng.smallSize(300)));
  return HEARTBEAT;
}

/** A few well-formed frames in a row, sometimes after a protocol header. */
export function randomFrameStream(rng: Rng): Buffer {
  const parts: Buffer[] = [];
  if (rng.chance(0.03)) parts.push(Buffer.from(rng.chance(0.5) ? 'AMQP\x00\x00\x09\x01' : 'AMQP\x01\x01\x00\x09', 'latin1'));
  const n = rng.range(1, 5);
  for (let i = 0; i < n; i++) parts.push(randomFrame(rng));
  return Buffer.concat(parts);
}

/** A content header frame whose headers table nests `depth` levels. */
export function deepHeaderFrame(rng: Rng, depth: number, channel = 1): Buffer {
  return frame(2, channel, headerPayload(rng.smallSize(100), propertiesBytes(rng, depth)));
}

/** A method frame (with a table field, when the method has one) nested `depth` levels. */
export function deepMethodFrame(rng: Rng, depth: number, channel = 1): Buffer {
  const withTable = spec.METHOD_CLASSES.filter((c) => c.fields.some((f) => f.type === 'table'));
  const cls = rng.pick(withTable);
  return frame(
    1,
    channel,
    methodPayload(
      cls,
      randomMethodValues(rng, cls, () => deepTableBytes(rng, depth)),
    ),
  );
}

/** A nesting depth for "deep" inputs: around the limits a decoder might pick, up to 10,000. */
export function deepDepth(rng: Rng): number {
  // mostly around the limits a decoder might pick (inputs stay small and fast);
  // one in twenty goes to the full 10,000 levels a stack overflow needs
  const r = rng.float();
  if (r < 0.7) return rng.pick([64, 100, 127, 128, 129, 130, 200, 255, 256, 257]);
  if (r < 0.95) return rng.range(1, 2000);
  return rng.pick([5000, 10000, rng.range(2000, 10000)]);
}

// ---------------------------------------------------------------------------
// mutations

/** Replaces the size field (bytes 3..6) of the frame at `at` with another value. */
export function corruptSize(rng: Rng, buf: Buffer, at = 0): Buffer {
  const out = Buffer.from(buf);
  if (out.length < at + 7) return out;
  const size = out.readUInt32BE(at + 3);
  const v = rng.pick([
    () => rng.pick(INTERESTING_U32),
    () => Math.max(0, size + rng.range(-8, 8)),
    () => size * 2,
    () => rng.u32(),
    () => rng.int(1 << 20),
  ])();
  out.writeUInt32BE(v >>> 0, at + 3);
  return out;
}

/**
 * One to a few random edits: bit flips, planted octets and uint32s, inserted,
 * deleted, duplicated or truncated ranges. The classic dumb-fuzzer set, good
 * at finding length fields that are trusted.
 */
export function mutate(rng: Rng, input: Buffer): Buffer {
  let b = Buffer.from(input);
  const edits = rng.range(1, 4);
  for (let e = 0; e < edits; e++) {
    const len = b.length;
    const at = rng.int(len + 1);
    switch (rng.int(9)) {
      case 0:
        if (len > 0) b[rng.int(len)] ^= 1 << rng.int(8);
        break;
      case 1:
        if (len > 0) b[rng.int(len)] = rng.pick(INTERESTING_OCTETS);
        break;
      case 2:
        if (len >= 4) b.writeUInt32BE(rng.pick(INTERESTING_U32), rng.int(len - 3));
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), rng.bytes(rng.range(1, 8)), b.subarray(at)]);
        break;
      case 4:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(len, at + rng.range(1, 16)))]);
        break;
      case 5: {
        const from = rng.int(len + 1);
        b = Buffer.concat([b.subarray(0, at), b.subarray(from, Math.min(len, from + rng.range(1, 32))), b.subarray(at)]);
        break;
      }
      case 6:
        b = b.subarray(0, rng.int(len + 1));
        break;
      case 7:
        if (len > 0) b[rng.int(len)] = rng.u32() & 0xff;
        break;
      default:
        if (len >= 2) b.writeUInt16BE(rng.pick([0, 1, 0x7fff, 0xffff]), rng.int(len - 1));
    }
  }
  return b;
}

// ---------------------------------------------------------------------------
// chunking

/**
 * Cuts `buf` into socket chunks: whole, byte by byte, random sizes, or a few
 * random cut points. Every split of a frame must parse the same as the whole,
 * and the 1-byte case exercises every "header straddles chunks" path.
 */
export function chunkify(rng: Rng, buf: Buffer, maxChunks = Infinity): Buffer[] {
  const len = buf.length;
  if (len === 0) return [buf];
  const out: Buffer[] = [];
  let strategy = rng.int(4);
  // byte by byte is for small inputs; a long one gets random sizes instead
  if (strategy === 1 && len > Math.min(1024, maxChunks)) strategy = 2;
  // where each chunk is costly (a loop turn on the virtual loop), cap their number
  const minSize = Math.max(1, Math.ceil(len / maxChunks));
  switch (strategy) {
    case 0:
      return [buf];
    case 1:
      for (let i = 0; i < len; i++) out.push(buf.subarray(i, i + 1));
      return out;
    case 2: {
      const max = rng.pick([2, 7, 8, 16, 64, 1024]);
      for (let i = 0; i < len;) {
        const n = Math.max(minSize, rng.range(1, max));
        out.push(buf.subarray(i, i + n));
        i += n;
      }
      return out;
    }
    default: {
      const cuts = new Set<number>();
      const k = rng.range(1, 4);
      for (let i = 0; i < k; i++) cuts.add(rng.int(len));
      let prev = 0;
      for (const c of [...cuts].sort((a, b) => a - b)) {
        out.push(buf.subarray(prev, c));
        prev = c;
      }
      out.push(buf.subarray(prev));
      return out;
    }
  }
}
