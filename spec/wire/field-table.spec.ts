import { expect } from 'chai';
import { FrameError, InvalidArgumentError } from '../../lib/errors';
import { Reader, Writer } from '../../lib/wire/codec';
import { Decimal, MAX_TABLE_DEPTH, Typed, TypedValue, type FieldTable, type FieldValue } from '../../lib/wire/field-table';
import { nestedArrayTable } from '../support/nested-table';
import { prng } from '../support/prng';

function encode(t: FieldTable): Buffer {
  const w = new Writer(16);
  w.table(t);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

function decode(buf: Buffer): FieldTable {
  const r = new Reader(buf, 0, buf.length);
  const t = r.table();
  expect(r.pos).to.equal(buf.length, 'the whole table is consumed');
  return t;
}

const rt = (t: FieldTable) => decode(encode(t));

/** The bytes of a one-entry table { v: value } after the key, i.e. tag + value. */
function valueBytes(v: FieldValue): string {
  const b = encode({ v });
  // 4 (length) + 1 (key length) + 1 ('v')
  return b.subarray(6).toString('hex');
}

describe('wire/field-table', () => {
  describe('encoding JS values picks the tag', () => {
    const cases: [string, FieldValue, string][] = [
      ['true', true, '7401'],
      ['false', false, '7400'],
      ['int32 number', 1000, '49000003e8'],
      ['negative int32', -2, '49fffffffe'],
      ['int32 min', -2147483648, '4980000000'],
      ['int32 max', 2147483647, '497fffffff'],
      ['beyond int32', 2147483648, '6c0000000080000000'],
      ['below int32', -2147483649, '6cffffffff7fffffff'],
      ['2^53 - 1', Number.MAX_SAFE_INTEGER, '6c001fffffffffffff'],
      ['bigint', 5n, '6c0000000000000005'],
      ['fraction', 1.5, '643ff8000000000000'],
      ['-0', -0, '648000000000000000'],
      ['integer beyond int64', 2 ** 63, '6443e0000000000000'],
      ['string', 'hi', '53000000026869'],
      ['empty string', '', '5300000000'],
      ['null', null, '56'],
      ['undefined', undefined, '56'],
      ['Date', new Date(1000 * 0x12345678), '540000000012345678'],
      ['Buffer', Buffer.from([1, 2]), '78000000020102'],
      ['Uint8Array', new Uint8Array([3]), '780000000103'],
      ['array', [true, 'a'], '410000000874015300000001' + '61'],
      ['empty array', [], '4100000000'],
      ['Decimal', new Decimal(12345, 3), '440300003039'],
      ['table', { a: 1 }, '4600000007016149' + '00000001'],
      ['empty table', {}, '4600000000'],
    ];
    for (const [name, v, bytes] of cases) {
      it(name, () => expect(valueBytes(v)).to.equal(bytes));
    }

    for (const v of [NaN, Infinity, -Infinity]) {
      it(`refuses ${v} (RabbitMQ drops the connection on it), naming the key; Typed.double still forces it`, () => {
        expect(() => valueBytes(v)).to.throw(InvalidArgumentError, new RegExp(`key 'v': ${v} cannot be sent.*Typed\\.double`));
        expect(() => valueBytes([1, { deep: v }])).to.throw(InvalidArgumentError, /key 'deep'/);
        expect(valueBytes(Typed.double(v))).to.match(/^64/);
      });
    }
  });

  describe('typed values force the tag', () => {
    const cases: [string, TypedValue, string, FieldValue][] = [
      ['bool', Typed.bool(true), '7401', true],
      ['int8', Typed.int8(-128), '6280', -128],
      ['int8 -1', Typed.int8(-1), '62ff', -1],
      ['uint8', Typed.uint8(200), '42c8', 200],
      ['int16', Typed.int16(-2), '73fffe', -2],
      ['uint16', Typed.uint16(65535), '75ffff', 65535],
      ['int32', Typed.int32(-3), '49fffffffd', -3],
      ['uint32', Typed.uint32(0xfffffffe), '69fffffffe', 0xfffffffe],
      ['int64 number', Typed.int64(-4), '6cfffffffffffffffc', -4],
      ['int64 small value', Typed.int64(7), '6c0000000000000007', 7],
      ['float', Typed.float(-0.5), '66bf000000', -0.5],
      ['double', Typed.double(2), '644000000000000000', 2],
      ['decimal', Typed.decimal(-5, 1), '4401fffffffb', new Decimal(-5, 1)],
      ['string', Typed.string('a'), '530000000161', 'a'],
      ['string from bytes', Typed.string(Buffer.from('b')), '530000000162', 'b'],
      ['array', Typed.array([Typed.int8(1)]), '41000000026201', [1]],
      ['timestamp seconds', Typed.timestamp(5), '540000000000000005', new Date(5000)],
      ['timestamp Date', Typed.timestamp(new Date(6000)), '540000000000000006', new Date(6000)],
      ['table', Typed.table({}), '4600000000', {}],
      ['void', Typed.void(), '56', null],
      ['bytes', Typed.bytes(Buffer.from([9])), '780000000109', Buffer.from([9])],
    ];
    for (const [name, tv, bytes, decoded] of cases) {
      it(name, () => {
        expect(valueBytes(tv)).to.equal(bytes);
        expect(rt({ v: tv })).to.deep.equal({ v: decoded });
      });
    }
  });

  it('decodes every tag', () => {
    const body =
      '0174 7401' +
      '0162 62fe' +
      '0142 42fe' +
      '0173 73fffe' +
      '0175 75fffe' +
      '0149 49fffffffe' +
      '0169 69fffffffe' +
      '016c 6cfffffffffffffffe' +
      '0166 66c0000000' +
      '0164 64c000000000000000' +
      '0144 4400fffffffe' +
      '0153 5300000000' +
      '0141 4100000000' +
      '0154 540000000000000001' +
      '0146 4600000000' +
      '0156 56' +
      '0178 7800000000';
    const bytes = Buffer.from(body.replace(/ /g, ''), 'hex');
    const buf = Buffer.concat([Buffer.from(bytes.length.toString(16).padStart(8, '0'), 'hex'), bytes]);
    const t = decode(buf);
    expect(t).to.deep.equal({
      t: true,
      b: -2,
      B: 254,
      s: -2,
      u: 65534,
      I: -2,
      i: 4294967294,
      l: -2,
      f: -2,
      d: -2,
      D: new Decimal(-2, 0),
      S: '',
      A: [],
      T: new Date(1000),
      F: {},
      V: null,
      x: Buffer.alloc(0),
    });
    expect(t['x']).to.be.instanceOf(Buffer);
    expect(t['T']).to.be.instanceOf(Date);
    expect(t['D']).to.be.instanceOf(Decimal);
  });

  it('round-trips int64 beyond 2^53 as bigint, and numbers within it as numbers', () => {
    const t = rt({
      max: 2n ** 63n - 1n,
      min: -(2n ** 63n),
      above: 2n ** 53n,
      below: -(2n ** 53n) - 1n,
      safe: 2n ** 53n - 1n,
      negSafe: -(2n ** 53n - 1n),
      num: 2 ** 40,
    });
    expect(t).to.deep.equal({
      max: 2n ** 63n - 1n,
      min: -(2n ** 63n),
      above: 2n ** 53n,
      below: -(2n ** 53n) - 1n,
      safe: 2 ** 53 - 1,
      negSafe: -(2 ** 53 - 1),
      num: 2 ** 40,
    });
    expect(t['max']).to.be.a('bigint');
    expect(t['safe']).to.be.a('number');
    // a large double that is an integer goes out as int64 and comes back as a bigint
    expect(rt({ big: 2 ** 60 })).to.deep.equal({ big: 2n ** 60n });
  });

  it('round-trips negative numbers of each width', () => {
    const t = rt({
      b: Typed.int8(-128),
      s: Typed.int16(-32768),
      I: Typed.int32(-2147483648),
      l: Typed.int64(-(2 ** 50)),
      f: Typed.float(-1.25),
      d: -1e300,
      D: new Decimal(-2147483648, 255),
    });
    expect(t).to.deep.equal({ b: -128, s: -32768, I: -2147483648, l: -(2 ** 50), f: -1.25, d: -1e300, D: new Decimal(-2147483648, 255) });
  });

  it('round-trips nested tables inside arrays inside tables', () => {
    const v: FieldTable = {
      list: [{ a: [1, { b: 'deep', c: [[], {}] }] }, [null, true], 'x', { empty: {} }],
      t: { u: { v: { w: [Buffer.from('bin'), new Date(0)] } } },
    };
    expect(rt(v)).to.deep.equal(v);
  });

  it('round-trips empty strings, empty tables, binary and unicode keys/values', () => {
    const v: FieldTable = {
      '': '',
      empty: {},
      arr: [],
      bin: Buffer.from([0, 0xff, 0x80, 0x7f]),
      'cl\u00e9': 'v\u00e4lue \u4e2d\u6587 \ud83d\ude00',
      '\ud83d\udd11': '\u20ac',
      long: 'x'.repeat(100000),
      longUnicode: '\u00e9'.repeat(1000),
    };
    expect(rt(v)).to.deep.equal(v);
  });

  it('decodes repeated strings through the string cache exactly', () => {
    // same length and same sampled bytes, different content
    const a = rt({ k: 'abcdefgh', l: 'abcXefgh', m: 'abcdefgh', n: 'abcdefgh' });
    expect(a).to.deep.equal({ k: 'abcdefgh', l: 'abcXefgh', m: 'abcdefgh', n: 'abcdefgh' });
    for (let i = 0; i < 2000; i++) {
      const s = `key-${i}-\u00e9`;
      expect(rt({ [s]: s })).to.deep.equal({ [s]: s });
    }
  });

  it('keeps a __proto__ key as data', () => {
    // 09 '__proto__' 74 01: 1 + 9 + 2 = 12 bytes
    const buf = Buffer.from('0000000c' + '095f5f70726f746f5f5f' + '7401', 'hex');
    const t = decode(buf);
    expect(Object.getPrototypeOf(t)).to.equal(Object.prototype);
    expect(Object.keys(t)).to.deep.equal(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(t, '__proto__')?.value).to.equal(true);
  });

  it('Decimal', () => {
    expect(new Decimal(12345, 2).toString()).to.equal('123.45');
    expect(new Decimal(-5, 3).toString()).to.equal('-0.005');
    expect(new Decimal(7, 0).toString()).to.equal('7');
    expect(new Decimal(12345, 2).toNumber()).to.be.closeTo(123.45, 1e-9);
  });

  describe('encode errors name the key', () => {
    const cases: [string, FieldTable, RegExp][] = [
      ['int8 above range', { k1: Typed.int8(128) }, /'k1'.*int8/],
      ['int8 below range', { k2: Typed.int8(-129) }, /'k2'.*int8/],
      ['uint8 negative', { k3: Typed.uint8(-1) }, /'k3'.*uint8/],
      ['int16', { k4: Typed.int16(40000) }, /'k4'.*int16/],
      ['uint16', { k5: Typed.uint16(65536) }, /'k5'.*uint16/],
      ['int32 fraction', { k6: Typed.int32(1.5) }, /'k6'.*int32/],
      ['uint32', { k7: Typed.uint32(2 ** 32) }, /'k7'.*uint32/],
      ['int64 bigint beyond', { k8: 2n ** 63n }, /'k8'.*int64/],
      ['int64 bigint below', { k9: -(2n ** 63n) - 1n }, /'k9'.*int64/],
      ['typed int64 number beyond', { k10: Typed.int64(2 ** 63) }, /'k10'.*int64/],
      ['decimal places', { k11: new Decimal(1, 256) }, /'k11'.*decimal places/],
      ['decimal value', { k12: new Decimal(2 ** 31, 0) }, /'k12'.*decimal value/],
      ['negative timestamp', { k13: new Date(-5000) }, /'k13'.*timestamp/],
      ['typed mismatch', { k14: Typed.bytes('x' as unknown as Buffer) }, /'k14'.*byte array/],
      ['symbol', { k15: Symbol('x') as unknown as string }, /'k15'/],
      ['function', { k16: (() => 1) as unknown as string }, /'k16'/],
      ['class instance', { k17: new Map() as unknown as FieldTable }, /'k17'.*Map/],
      ['key too long', { ['k'.repeat(256)]: 1 }, /256 bytes/],
      ['unicode key too long', { ['\u00e9'.repeat(128)]: 1 }, /256 bytes/],
      ['nested key in array', { outer: [{ in: Typed.int8(999) }] }, /'in'.*int8/],
    ];
    for (const [name, t, re] of cases) {
      it(name, () => expect(() => encode(t)).to.throw(InvalidArgumentError, re));
    }
    it('a 255-byte key is fine', () => {
      expect(rt({ ['k'.repeat(255)]: 1 })).to.deep.equal({ ['k'.repeat(255)]: 1 });
    });
    it('a non-object table', () => {
      const w = new Writer(16);
      expect(() => w.table('x' as unknown as FieldTable)).to.throw(InvalidArgumentError, /plain object/);
      expect(() => w.table([] as unknown as FieldTable)).to.throw(InvalidArgumentError, /plain object/);
    });
  });

  describe('decode errors are FrameErrors', () => {
    it('names an unknown tag and its offset', () => {
      const buf = Buffer.from('00000004' + '016b' + '5a' + '00', 'hex');
      expect(() => decode(buf)).to.throw(FrameError, /unknown field table type tag 'Z' \(0x5a\) at offset 6/);
      const ctrl = Buffer.from('00000003' + '016b' + '01', 'hex');
      expect(() => decode(ctrl)).to.throw(FrameError, /tag 0x1 at offset 6/);
    });

    it('rejects the 0-9-1 spec tags that RabbitMQ does not use', () => {
      for (const tag of ['U', 'L', 'c']) {
        const buf = Buffer.from('00000007' + '016b' + Buffer.from(tag).toString('hex') + '00000000', 'hex');
        expect(() => decode(buf), tag).to.throw(FrameError, /unknown field table type tag/);
      }
    });

    it('every truncation of a rich table fails cleanly', () => {
      const full = encode({
        s: 'str',
        n: 1,
        l: 2n ** 60n,
        a: [1, 'x', { y: Buffer.from('z') }],
        d: 1.5,
        D: new Decimal(1, 1),
        T: new Date(0),
        f: Typed.float(1),
        b: Typed.int8(1),
        u: Typed.uint16(1),
        x: Buffer.from('bytes'),
      });
      for (let cut = 0; cut < full.length; cut++) {
        // the table claims its full length but the frame ends early
        const r = new Reader(full, 0, cut);
        expect(() => r.table(), `cut at ${cut}`).to.throw(FrameError, /truncated/);
      }
      // a nested length that runs past its parent table
      const inner = encode({ a: [1] });
      inner.writeUInt32BE(100, 7); // the array claims 100 bytes
      expect(() => decode(inner), 'array past table').to.throw(FrameError, /truncated field array/);
    });
  });

  describe('nesting depth is bounded in both directions (property test)', () => {
    /** `levels` containers (tables, arrays, typed ones, mixed at random) inside the top table's key 'k'. */
    function nested(levels: number, rnd: () => number): FieldTable {
      let v: FieldValue = rnd() < 0.5 ? 'leaf' : 42;
      for (let i = 0; i < levels; i++) {
        const pick = rnd();
        if (pick < 0.3) v = [v];
        else if (pick < 0.6) v = { n: v };
        else if (pick < 0.8) v = Typed.array([1, v]);
        else v = Typed.table({ t: v, x: 'y' });
      }
      return { k: v };
    }

    /** The bytes of a table holding `levels` nested containers, built by hand (the encoder refuses deep ones). */
    function nestedBytes(levels: number, rnd: () => number): Buffer {
      let inner = Buffer.from([0x74, 1]); // t: true
      for (let i = 0; i < levels; i++) {
        const len = Buffer.alloc(4);
        if (rnd() < 0.5) {
          len.writeUInt32BE(inner.length);
          inner = Buffer.concat([Buffer.from([0x41]), len, inner]); // A
        } else {
          len.writeUInt32BE(inner.length + 2);
          inner = Buffer.concat([Buffer.from([0x46]), len, Buffer.from([1, 0x6e]), inner]); // F { n: ... }
        }
      }
      const top = Buffer.alloc(4);
      top.writeUInt32BE(inner.length + 2);
      return Buffer.concat([top, Buffer.from([1, 0x6b]), inner]); // { k: ... }
    }

    it(`encodes and decodes up to ${MAX_TABLE_DEPTH} nested levels, refuses more with typed errors (200 random shapes)`, () => {
      for (let seed = 1; seed <= 200; seed++) {
        const rnd = prng(seed);
        const levels = Math.floor(rnd() * 2 * MAX_TABLE_DEPTH);
        const table = nested(levels, rnd);
        if (levels <= MAX_TABLE_DEPTH) {
          const bytes = encode(table);
          expect(decode(bytes), `seed ${seed}, ${levels} levels`).to.be.an('object');
        } else {
          expect(() => encode(table), `seed ${seed}, ${levels} levels`).to.throw(InvalidArgumentError, /nested more than 128 levels/);
        }
        const wire = nestedBytes(levels, rnd);
        if (levels <= MAX_TABLE_DEPTH) expect(decode(wire), `seed ${seed}`).to.have.property('k');
        else expect(() => decode(wire), `seed ${seed}, ${levels} levels`).to.throw(FrameError, /nested more than 128 levels/);
      }
    });

    it('a 15 KB message nesting 3,000 levels (and one of 100,000) is a FrameError, not a stack overflow', () => {
      for (const levels of [3000, 100000]) {
        const wire = nestedArrayTable(levels);
        expect(() => decode(wire)).to.throw(FrameError, /nested more than 128 levels/);
      }
    });

    it('a cyclic table or array throws InvalidArgumentError naming the key, not RangeError', () => {
      const table: Record<string, FieldValue> = { a: 1 };
      table['self'] = table;
      expect(() => encode(table)).to.throw(InvalidArgumentError, /key 'self'.*cyclic/);
      const list: FieldValue[] = [1];
      list.push(list);
      expect(() => encode({ list })).to.throw(InvalidArgumentError, /key 'list'.*cyclic/);
    });
  });
});
