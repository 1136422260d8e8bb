import { expect } from 'chai';
import { FrameError, InvalidArgumentError } from '../../lib/errors';
import { Reader, Writer, checkShortstr } from '../../lib/wire/codec';

const bytes = (w: Writer) => w.buf.subarray(0, w.pos).toString('hex');

describe('wire/codec: Writer', () => {
  it('writes big-endian integers', () => {
    const w = new Writer(1);
    w.octet(0xab);
    w.short(0x1234);
    w.long(0xdeadbeef);
    w.longlong(2 ** 53 - 1);
    w.longlong(0xffffffffffffffffn);
    expect(bytes(w)).to.equal('ab' + '1234' + 'deadbeef' + '001fffffffffffff' + 'ffffffffffffffff');
  });

  it('writes strings, bytes and timestamps', () => {
    const w = new Writer(4);
    w.shortstr('h\u00e9');
    w.longstr('abc');
    w.longstr(Buffer.from([0, 1]));
    w.longstr('\u20ac'.repeat(30)); // 90 bytes of UTF-8
    w.timestamp(new Date(1700000000999));
    w.bytes(Buffer.from('ff', 'hex'));
    expect(bytes(w)).to.equal('0368c3a9' + '00000003616263' + '000000020001' + '0000005a' + 'e282ac'.repeat(30) + '000000006553f100' + 'ff');
  });

  it('grows by reallocating and keeps what was written', () => {
    const w = new Writer(16);
    const first = w.buf;
    for (let i = 0; i < 1000; i++) w.long(i);
    expect(w.buf).to.not.equal(first);
    expect(w.pos).to.equal(4000);
    for (let i = 0; i < 1000; i++) expect(w.buf.readUInt32BE(4 * i)).to.equal(i);
    w.reset();
    expect(w.pos).to.equal(0);
  });

  it('ensure() grows to at least the requested room', () => {
    const w = new Writer(16);
    w.ensure(100000);
    expect(w.buf.length - w.pos).to.be.at.least(100000);
  });

  it('rejects out-of-range values with InvalidArgumentError', () => {
    const w = new Writer();
    expect(() => w.octet(256)).to.throw(InvalidArgumentError);
    expect(() => w.short(-1)).to.throw(InvalidArgumentError);
    expect(() => w.long(2 ** 32)).to.throw(InvalidArgumentError);
    expect(() => w.longlong(-1)).to.throw(InvalidArgumentError);
    expect(() => w.longlong(2 ** 64)).to.throw(InvalidArgumentError);
    expect(() => w.longlong(1.5)).to.throw(InvalidArgumentError);
    expect(() => w.longlong(2n ** 64n)).to.throw(InvalidArgumentError);
    expect(() => w.shortstr('x'.repeat(256), 'my field')).to.throw(InvalidArgumentError, /my field is 256 bytes/);
    expect(() => w.timestamp(new Date(-1000))).to.throw(InvalidArgumentError);
    expect(() => w.longstr(5 as unknown as string)).to.throw(InvalidArgumentError);
  });
});

describe('wire/codec: checkShortstr (the one short-string check)', () => {
  it('accepts strings of up to 255 bytes of UTF-8, counting bytes, not characters', () => {
    expect(() => checkShortstr('', 'queue')).not.to.throw();
    expect(() => checkShortstr('q'.repeat(255), 'queue')).not.to.throw();
    expect(() => checkShortstr('\u00e9'.repeat(127), 'queue')).not.to.throw(); // 254 bytes
    expect(() => checkShortstr('\u00e9'.repeat(128), 'queue')).to.throw(
      InvalidArgumentError,
      'queue is 256 bytes of UTF-8; a shortstr holds at most 255',
    );
  });

  it('names the value in its messages, and rejects what is not a string', () => {
    expect(() => checkShortstr('r'.repeat(300), 'routingKey')).to.throw(InvalidArgumentError, /^routingKey is 300 bytes/);
    expect(() => checkShortstr(42, 'exchange')).to.throw(InvalidArgumentError, 'exchange must be a string, got number 42');
    expect(() => checkShortstr(null, 'exchange')).to.throw(InvalidArgumentError, 'exchange must be a string, got null');
  });
});

describe('wire/codec: Reader', () => {
  const buf = Buffer.from('ab' + '1234' + 'deadbeef' + '0000000100000002' + '03616263' + '00000002c3a9' + '000000006553f100', 'hex');

  it('reads what the Writer writes', () => {
    const r = new Reader(buf, 0, buf.length);
    expect(r.octet()).to.equal(0xab);
    expect(r.short()).to.equal(0x1234);
    expect(r.long()).to.equal(0xdeadbeef);
    expect(r.longlong()).to.equal(2 ** 32 + 2);
    expect(r.shortstr()).to.equal('abc');
    expect(r.longstrAsString()).to.equal('\u00e9');
    expect(r.timestamp()).to.deep.equal(new Date(1700000000000));
    expect(r.remaining).to.equal(0);
  });

  it('longstr() returns a copy of the bytes', () => {
    const src = Buffer.from('00000002c3a9', 'hex');
    const out = new Reader(src, 0, src.length).longstr();
    expect(out).to.deep.equal(Buffer.from('c3a9', 'hex'));
    src[4] = 0;
    expect(out[0]).to.equal(0xc3);
  });

  it('never reads past end: every truncation throws FrameError("truncated ...")', () => {
    // 64 bytes of 0x01: a read that ignored `end` would find enough data
    const data = Buffer.alloc(64, 0x01);
    const reads: [string, (r: Reader) => unknown, number][] = [
      ['octet', (r) => r.octet(), 1],
      ['short', (r) => r.short(), 2],
      ['long', (r) => r.long(), 4],
      ['longlong', (r) => r.longlong(), 8],
      ['shortstr', (r) => r.shortstr(), 2], // length 1 + 1 byte
      ['timestamp', (r) => r.timestamp(), 8],
      ['view', (r) => r.view(3), 3],
      ['longstr', (r) => r.longstr(), Infinity], // length 0x01010101
      ['longstrAsString', (r) => r.longstrAsString(), Infinity],
      ['table', (r) => r.table(), Infinity],
    ];
    for (const [name, read, need] of reads) {
      for (let end = 0; end < Math.min(need, 40); end++) {
        const r = new Reader(data, 0, end);
        expect(() => read(r), `${name} with end=${end}`).to.throw(FrameError, /truncated/);
      }
      if (need !== Infinity) {
        const r = new Reader(data, 0, need);
        read(r);
        expect(r.pos, name).to.equal(need);
      }
    }
    // a length prefix that points past end
    expect(() => new Reader(Buffer.from('05616263646566', 'hex'), 0, 4).shortstr()).to.throw(FrameError, /truncated shortstr/);
    expect(() => new Reader(Buffer.from('0000000a61', 'hex'), 0, 5).longstr()).to.throw(FrameError, /truncated longstr/);
    expect(() => new Reader(Buffer.from('0000000a00', 'hex'), 0, 5).table()).to.throw(FrameError, /truncated field table/);
  });

  it('respects a non-zero offset', () => {
    const r = new Reader(Buffer.from('ffff0003', 'hex'), 2, 4);
    expect(r.short()).to.equal(3);
  });
});
