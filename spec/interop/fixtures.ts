/**
 * What the interop specs publish from coney: a header table holding every
 * field type (with the exact encoding expected on the wire and, where pika
 * 1.2.0 decodes it wrongly, the named bug and pika's exact wrong result),
 * and a property set with all 14 BasicProperties.
 */
import { type BasicPropertiesInit, Decimal, type FieldTable, type FieldValue, Typed } from '../../lib';
import type { J } from './support';

export const PIKA_BUG = {
  b: "pika 1.2.0 bug, pika/data.py:216-218: field type 'b' (signed 8-bit) is decoded with struct format '>B' (unsigned)",
  B: "pika 1.2.0 bug, pika/data.py:221-223: field type 'B' (unsigned 8-bit) is decoded with struct format '>b' (signed)",
  l: "pika 1.2.0 bug, pika/data.py:250-253: field type 'l' (signed 64-bit, RabbitMQ's long-long) is decoded with struct format '>Q' (unsigned): negative values come out as 2^64 + v",
  f: "pika 1.2.0 bug, pika/data.py:256-258: field type 'f' (float32) is decoded as long(value) (an int): the fraction is dropped",
  d: "pika 1.2.0 bug, pika/data.py:261-263: field type 'd' (float64) is decoded as long(value) (an int): the fraction is dropped",
  nan: "pika 1.2.0 bug, pika/data.py:261-263 (and 256-258 for 'f'): long(value) raises ValueError for NaN and OverflowError for ±Infinity, so pika.data.decode_table fails on such a table",
  floatEncode:
    "pika 1.2.0 limitation, pika/data.py:98-172: encode_value has no branch for float, so a float header raises UnsupportedAMQPFieldException (line 172): pika cannot send 'f' or 'd' at all",
  decimalScale:
    "pika 1.2.0 quirk, pika/data.py:144: encode_value calls Decimal.normalize() first, so trailing zeros (the scale) are dropped: Decimal('1.50') goes out as places=1 value=15",
};

export const U64 = 2n ** 64n;

export interface Case {
  key: string;
  /** What coney publishes. */
  value: FieldValue;
  /** The exact encoding expected on the wire (see sig()). */
  wire: string;
  /** The exact bytes (tag + payload), for the values whose encoding matters most. */
  hex?: string;
  /** pika 1.2.0 decodes this value wrongly: the bug and pika's exact (wrong) result. */
  bug?: { text: string; pika: J };
}

export const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

export const CASES: Case[] = [
  { key: 'string', value: 'plain ascii', wire: 'S:"plain ascii"', hex: '530000000b706c61696e206173636969' },
  { key: 'unicode', value: 'héllo wörld — 日本語 🐇', wire: 'S:"héllo wörld — 日本語 🐇"' },
  { key: 'ключ-🔑', value: 'unicode key', wire: 'S:"unicode key"' },
  { key: 'empty_string', value: '', wire: 'S:""', hex: '5300000000' },
  { key: 'unicode_50_chars', value: `${'a'.repeat(45)}ü€🐇x`, wire: `S:"${'a'.repeat(45)}ü€🐇x"` },
  { key: 'unicode_long', value: 'ünïcødé ✓ '.repeat(40), wire: `S:"${'ünïcødé ✓ '.repeat(40)}"` },
  { key: `${'k'.repeat(253)}é`, value: 'a key of exactly 255 bytes of UTF-8', wire: 'S:"a key of exactly 255 bytes of UTF-8"' },
  { key: 'true', value: true, wire: 't:1', hex: '7401' },
  { key: 'false', value: false, wire: 't:0', hex: '7400' },
  { key: 'int8_max', value: Typed.int8(127), wire: 'b:127', hex: '627f' },
  { key: 'int8_negative', value: Typed.int8(-1), wire: 'b:-1', hex: '62ff', bug: { text: PIKA_BUG.b, pika: { $int: '255' } } },
  { key: 'int8_min', value: Typed.int8(-128), wire: 'b:-128', hex: '6280', bug: { text: PIKA_BUG.b, pika: { $int: '128' } } },
  { key: 'uint8_small', value: Typed.uint8(7), wire: 'B:7', hex: '4207' },
  { key: 'uint8_high', value: Typed.uint8(200), wire: 'B:200', hex: '42c8', bug: { text: PIKA_BUG.B, pika: { $int: '-56' } } },
  { key: 'uint8_max', value: Typed.uint8(255), wire: 'B:255', hex: '42ff', bug: { text: PIKA_BUG.B, pika: { $int: '-1' } } },
  { key: 'int16_min', value: Typed.int16(-32768), wire: 's:-32768', hex: '738000' },
  { key: 'int16_max', value: Typed.int16(32767), wire: 's:32767', hex: '737fff' },
  { key: 'uint16_max', value: Typed.uint16(65535), wire: 'u:65535', hex: '75ffff' },
  { key: 'int32_min', value: Typed.int32(-2147483648), wire: 'I:-2147483648', hex: '4980000000' },
  { key: 'int32_max', value: Typed.int32(2147483647), wire: 'I:2147483647', hex: '497fffffff' },
  { key: 'uint32_max', value: Typed.uint32(4294967295), wire: 'i:4294967295', hex: '69ffffffff' },
  { key: 'int64_small', value: Typed.int64(5), wire: 'l:5', hex: '6c0000000000000005' },
  {
    key: 'int64_negative',
    value: Typed.int64(-5),
    wire: 'l:-5',
    hex: '6cfffffffffffffffb',
    bug: { text: PIKA_BUG.l, pika: { $int: String(U64 - 5n) } },
  },
  { key: 'number_small', value: 42, wire: 'I:42', hex: '490000002a' },
  { key: 'number_negative', value: -42, wire: 'I:-42', hex: '49ffffffd6' },
  { key: 'number_zero', value: 0, wire: 'I:0', hex: '4900000000' },
  { key: 'number_beyond_int32', value: 2147483648, wire: 'l:2147483648', hex: '6c0000000080000000' },
  {
    key: 'number_below_int32',
    value: -2147483649,
    wire: 'l:-2147483649',
    hex: '6cffffffff7fffffff',
    bug: { text: PIKA_BUG.l, pika: { $int: String(U64 - 2147483649n) } },
  },
  { key: 'number_max_safe', value: Number.MAX_SAFE_INTEGER, wire: 'l:9007199254740991', hex: '6c001fffffffffffff' },
  {
    key: 'number_min_safe',
    value: Number.MIN_SAFE_INTEGER,
    wire: 'l:-9007199254740991',
    hex: '6cffe0000000000001',
    bug: { text: PIKA_BUG.l, pika: { $int: String(U64 - 9007199254740991n) } },
  },
  { key: 'bigint_2_53_plus_1', value: 9007199254740993n, wire: 'l:9007199254740993', hex: '6c0020000000000001' },
  { key: 'bigint_int64_max', value: 9223372036854775807n, wire: 'l:9223372036854775807', hex: '6c7fffffffffffffff' },
  {
    key: 'bigint_int64_min_plus_1',
    value: -9223372036854775807n,
    wire: 'l:-9223372036854775807',
    hex: '6c8000000000000001',
    bug: { text: PIKA_BUG.l, pika: { $int: '9223372036854775809' } },
  },
  {
    key: 'bigint_int64_min',
    value: -9223372036854775808n,
    wire: 'l:-9223372036854775808',
    hex: '6c8000000000000000',
    bug: { text: PIKA_BUG.l, pika: { $int: '9223372036854775808' } },
  },
  { key: 'float32', value: Typed.float(1.5), wire: 'f:1.5', hex: '663fc00000', bug: { text: PIKA_BUG.f, pika: { $int: '1' } } },
  { key: 'float32_negative', value: Typed.float(-0.25), wire: 'f:-0.25', hex: '66be800000', bug: { text: PIKA_BUG.f, pika: { $int: '0' } } },
  { key: 'float32_integral', value: Typed.float(-3), wire: 'f:-3', hex: '66c0400000', bug: { text: PIKA_BUG.f, pika: { $int: '-3' } } },
  { key: 'float64', value: Math.PI, wire: 'd:3.141592653589793', hex: '64400921fb54442d18', bug: { text: PIKA_BUG.d, pika: { $int: '3' } } },
  { key: 'float64_negative', value: -2.5, wire: 'd:-2.5', hex: '64c004000000000000', bug: { text: PIKA_BUG.d, pika: { $int: '-2' } } },
  { key: 'float64_typed', value: Typed.double(0.001), wire: 'd:0.001', hex: '643f50624dd2f1a9fc', bug: { text: PIKA_BUG.d, pika: { $int: '0' } } },
  { key: 'decimal', value: new Decimal(-1234, 2), wire: 'D:2,-1234', hex: '4402fffffb2e' },
  { key: 'decimal_trailing_zero', value: new Decimal(150, 2), wire: 'D:2,150', hex: '440200000096' },
  { key: 'decimal_typed', value: Typed.decimal(5, 0), wire: 'D:0,5', hex: '440000000005' },
  { key: 'decimal_int32_max', value: new Decimal(2147483647, 10), wire: 'D:10,2147483647', hex: '440a7fffffff' },
  { key: 'timestamp', value: new Date(1700000000 * 1000), wire: 'T:1700000000', hex: '54000000006553f100' },
  { key: 'timestamp_fraction_floored', value: new Date(1700000000999), wire: 'T:1700000000', hex: '54000000006553f100' },
  { key: 'timestamp_typed_epoch', value: Typed.timestamp(0), wire: 'T:0', hex: '540000000000000000' },
  { key: 'binary', value: Buffer.from([0, 1, 2, 0xfe, 0xff]), wire: 'x:000102feff', hex: '7800000005000102feff' },
  { key: 'binary_all_bytes', value: ALL_BYTES, wire: `x:${ALL_BYTES.toString('hex')}` },
  { key: 'binary_empty', value: Buffer.alloc(0), wire: 'x:', hex: '7800000000' },
  { key: 'void_null', value: null, wire: 'V', hex: '56' },
  { key: 'void_undefined', value: undefined, wire: 'V', hex: '56' },
  { key: 'void_typed', value: Typed.void(), wire: 'V', hex: '56' },
  {
    key: 'nested',
    value: { level1: { level2: { deep: 'yes', n: 7, list: [1, 'a', null] }, flag: false }, sibling: -3 },
    wire: 'F{level1=F{level2=F{deep=S:"yes",n=I:7,list=A[I:1,S:"a",V]},flag=t:0},sibling=I:-3}',
  },
  {
    key: 'array',
    value: [1, 'two', true, null, Buffer.from([0, 1]), new Decimal(25, 1), new Date(946684800000), 2 ** 40, [[], {}]],
    wire: 'A[I:1,S:"two",t:1,V,x:0001,D:1,25,T:946684800,l:1099511627776,A[A[],F{}]]',
  },
  {
    key: 'array_of_tables',
    value: [
      { name: 'a', n: 1 },
      { name: 'b', inner: [{ x: Buffer.from([0xff]) }] },
    ],
    wire: 'A[F{name=S:"a",n=I:1},F{name=S:"b",inner=A[F{x=x:ff}]}]',
  },
  {
    key: 'array_of_typed',
    value: [Typed.int8(-2), Typed.uint16(65535), Typed.int64(-1)],
    wire: 'A[b:-2,u:65535,l:-1]',
    hex: '410000000e' + '62fe' + '75ffff' + '6cffffffffffffffff',
    bug: { text: `${PIKA_BUG.b}; ${PIKA_BUG.l}`, pika: [{ $int: '254' }, { $int: '65535' }, { $int: String(U64 - 1n) }] },
  },
  { key: 'empty_array', value: [], wire: 'A[]', hex: '4100000000' },
  { key: 'empty_table', value: {}, wire: 'F{}', hex: '4600000000' },
];

export const HEADERS: FieldTable = Object.fromEntries(CASES.map((c) => [c.key, c.value]));

export const TIMESTAMP = new Date(1700000000 * 1000);

export function fullProperties(user: string): BasicPropertiesInit {
  return {
    contentType: 'application/x-interop; charset=utf-8',
    contentEncoding: 'identity',
    headers: HEADERS,
    deliveryMode: 2,
    priority: 9,
    correlationId: 'corr-é-42',
    replyTo: 'reply.to.coney',
    expiration: '600000',
    messageId: 'msg-coney-0001',
    timestamp: TIMESTAMP,
    type: 'interop.coney-to-pika',
    userId: user,
    appId: 'coney-interop-spec',
    clusterId: 'cluster-α',
  };
}
