import { expect } from 'chai';
import * as sinon from 'sinon';
import { FrameError } from '../../lib/errors';
import type { Frame, FrameHandler } from '../../lib/wire/frame';
import { FrameParser } from '../../lib/wire/frame-parser';
import { FrameWriter, encodeMethodFrame } from '../../lib/wire/frame-writer';
import * as spec from '../../lib/wire/spec';
import { prng } from '../support/prng';

/** A stream of many frames of every kind, including multi-frame bodies. */
function buildStream(): Buffer {
  const fw = new FrameWriter(1024);
  fw.writeMethod(0, new spec.Connection.Start({ serverProperties: { product: 'RabbitMQ', capabilities: { publisher_confirms: true } } }));
  fw.writeMethod(0, new spec.Connection.Tune({ channelMax: 2047, frameMax: 131072, heartbeat: 60 }));
  fw.writeHeartbeat();
  const random = prng(42);
  for (let i = 0; i < 60; i++) {
    const ch = 1 + (i % 3);
    fw.writeMethod(
      ch,
      new spec.Basic.Deliver({ consumerTag: `ctag-${ch}`, deliveryTag: i + 1, redelivered: i % 5 === 0, exchange: 'ex', routingKey: `rk.${i}` }),
    );
    const size = i % 10 === 0 ? 0 : Math.floor(random() * (i % 7 === 0 ? 20000 : 300));
    const body = Buffer.alloc(size);
    for (let k = 0; k < size; k++) body[k] = (k * 31 + i) & 0xff;
    fw.writeContent(ch, { contentType: 'application/octet-stream', headers: { i, list: [i, `x${i}`] }, messageId: `m${i}` }, body, 4096);
    if (i % 4 === 0) fw.writeMethod(ch, new spec.Basic.Ack({ deliveryTag: i, multiple: i % 8 === 0 }));
    if (i % 9 === 0) fw.writeHeartbeat();
  }
  fw.writeMethod(0, new spec.Connection.Close({ replyCode: 320, replyText: 'CONNECTION_FORCED - bye', failingClassId: 0, failingMethodId: 0 }));
  return Buffer.concat(fw.take());
}

function parseChunks(chunks: Buffer[], frameMax = 0): Frame[] {
  const p = new FrameParser();
  p.frameMax = frameMax;
  const out: Frame[] = [];
  for (const c of chunks) p.push(c, (f) => out.push(f));
  expect(p.buffered).to.equal(0, 'nothing left over');
  return out;
}

/** A FrameHandler that ignores everything (tests override what they watch). */
const ignore: FrameHandler = {
  onMethod: () => undefined,
  onHeader: () => undefined,
  onBody: () => undefined,
  onHeartbeat: () => undefined,
  onProtocolHeader: () => undefined,
};

/** Frames as comparable plain data (payload views become byte strings). */
function plain(frames: Frame[]): unknown[] {
  return frames.map((f) => (f.type === 3 ? { ...f, payload: f.payload.toString('hex') } : f));
}

/**
 * Parses with a FrameHandler (the connection's way). Body frames come in
 * pieces: each piece must be a view into the chunk being pushed (or, for a
 * held last piece, the one before), `rest` must count down consistently, and
 * at most one piece may come per chunk and frame. Returns the frames in the
 * shape of `plain()`, a body frame's pieces joined.
 */
function parseWithHandler(chunks: Buffer[], frameMax = 0): unknown[] {
  const p = new FrameParser();
  p.frameMax = frameMax;
  const out: unknown[] = [];
  let pieces: Buffer[] = [];
  let expectRest = -1;
  let current = -1;
  let previous = -1; // the last non-empty chunk before the current one
  let lastPieceChunk = -1;
  const within = (b: Buffer, c: Buffer | undefined) =>
    c !== undefined && b.buffer === c.buffer && b.byteOffset >= c.byteOffset && b.byteOffset + b.length <= c.byteOffset + c.length;
  const h: FrameHandler = {
    onMethod: (channel, method) => out.push({ type: 1, channel, method }),
    onHeader: (channel, bodySize, properties) => out.push({ type: 2, channel, classId: 60, bodySize, properties }),
    onBody: (channel, payload, rest) => {
      if (payload.length > 0) {
        const at = within(payload, chunks[current]) ? current : within(payload, chunks[previous]) ? previous : -1;
        // (plain checks: chai is too slow for one assertion per piece)
        if (at < 0) expect.fail(`a body piece is not a view into the chunk pushed (or the last one before): chunk ${current}`);
        if (at === lastPieceChunk) expect.fail(`two pieces of one body frame from chunk ${at}`);
        lastPieceChunk = at;
      }
      if (expectRest >= 0 && payload.length + rest !== expectRest)
        expect.fail(`rest ${rest} after ${payload.length} bytes, expected ${expectRest - payload.length}`);
      pieces.push(payload);
      if (rest > 0) {
        expectRest = rest;
        return;
      }
      out.push({ type: 3, channel, payload: Buffer.concat(pieces).toString('hex') });
      pieces = [];
      expectRest = -1;
      lastPieceChunk = -1;
    },
    onHeartbeat: () => out.push({ type: 8, channel: 0 }),
    onProtocolHeader: (major, minor, revision) => out.push({ type: 0, major, minor, revision }),
  };
  for (current = 0; current < chunks.length; current++) {
    p.push(chunks[current], h);
    if (chunks[current].length > 0) previous = current;
  }
  expect(pieces, 'no body frame left half-done').to.deep.equal([]);
  expect(p.buffered).to.equal(0, 'nothing left over');
  return out;
}

describe('wire/frame-parser', () => {
  const stream = buildStream();
  const whole = parseChunks([stream]);

  it('parses a stream of many frames in one chunk', () => {
    const kinds = whole.map((f) => f.type);
    expect(kinds.filter((k) => k === 1).length).to.be.greaterThan(70);
    expect(kinds.filter((k) => k === 2).length).to.equal(60);
    expect(kinds.filter((k) => k === 3).length).to.be.greaterThan(60);
    expect(kinds.filter((k) => k === 8).length).to.equal(8);
    const last = whole[whole.length - 1];
    expect(last.type === 1 && last.method).to.be.instanceOf(spec.Connection.Close);
    // bodies reassemble
    let i = -1;
    const bodies: Buffer[][] = [];
    for (const f of whole) {
      if (f.type === 2) bodies[++i] = [];
      if (f.type === 3) bodies[i].push(f.payload);
    }
    bodies.forEach((parts, n) => {
      const body = Buffer.concat(parts);
      for (let k = 0; k < body.length; k++) if (body[k] !== ((k * 31 + n) & 0xff)) expect.fail(`body ${n} byte ${k}`);
    });
  });

  it('yields the same frames for any split of the stream (many seeds)', () => {
    const expected = plain(whole);
    for (let seed = 1; seed <= 60; seed++) {
      const random = prng(seed);
      const chunks: Buffer[] = [];
      const maxChunk = [2, 8, 64, 700, 5000, 70000][seed % 6];
      for (let off = 0; off < stream.length;) {
        const n = 1 + Math.floor(random() * maxChunk);
        chunks.push(stream.subarray(off, off + n));
        off += n;
      }
      expect(plain(parseChunks(chunks)), `seed ${seed}`).to.deep.equal(expected);
    }
  });

  it('yields the same frames fed one byte at a time', () => {
    const chunks: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) chunks.push(stream.subarray(i, i + 1));
    expect(plain(parseChunks(chunks))).to.deep.equal(plain(whole));
  });

  it('accepts empty chunks', () => {
    const chunks = [Buffer.alloc(0), stream.subarray(0, 3), Buffer.alloc(0), stream.subarray(3), Buffer.alloc(0)];
    expect(plain(parseChunks(chunks))).to.deep.equal(plain(whole));
  });

  it('body payloads of frames wholly inside a chunk are views, not copies', () => {
    const fw = new FrameWriter();
    fw.writeContent(1, undefined, Buffer.from('abcdef'), 4096);
    const chunk = Buffer.concat(fw.take());
    const frames = parseChunks([chunk]);
    const body = frames[1];
    if (body.type !== 3) throw new Error('not a body frame');
    expect(body.payload.buffer).to.equal(chunk.buffer);
    expect(body.payload.byteOffset).to.equal(chunk.byteOffset + chunk.length - 7);
  });

  it('detects a protocol header from the peer (at a frame boundary, split or whole)', () => {
    const header = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');
    expect(parseChunks([header])).to.deep.equal([{ type: 0, major: 0, minor: 9, revision: 1 }]);
    const amqp10 = Buffer.from('AMQP\x00\x01\x00\x00', 'latin1');
    const oneByOne = Array.from(amqp10, (b) => Buffer.from([b]));
    expect(parseChunks(oneByOne)).to.deep.equal([{ type: 0, major: 1, minor: 0, revision: 0 }]);
    // after a complete frame
    const hb = Buffer.from('080000000000' + '00ce', 'hex');
    expect(parseChunks([Buffer.concat([hb, header])])).to.deep.equal([
      { type: 8, channel: 0 },
      { type: 0, major: 0, minor: 9, revision: 1 },
    ]);
    const p = new FrameParser();
    expect(() => p.push(Buffer.from('AMQX\x00\x00\x09\x01', 'latin1'), () => {})).to.throw(FrameError, /not an 'AMQP' protocol header/);
  });

  describe('rejects garbage with FrameError', () => {
    const bad = (chunks: Buffer[], re: RegExp, frameMax = 0) => {
      const p = new FrameParser();
      p.frameMax = frameMax;
      const run = () => {
        for (const c of chunks) p.push(c, () => {});
      };
      expect(run).to.throw(FrameError, re);
      // the parser stays failed
      expect(() => p.push(Buffer.from('080000000000' + '00ce', 'hex'), () => {})).to.throw(FrameError, re);
    };
    const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');

    it('a wrong frame-end octet', () => {
      bad([hex('08 0000 00000000 00')], /bad frame end octet 0x0 \(expected 0xce\)/);
      bad([hex('08 0000 0000'), hex('0000 ff')], /bad frame end octet 0xff/);
    });

    it('an unknown frame type', () => {
      bad([hex('05 0000 00000000 ce')], /unknown frame type 5/);
      bad([hex('04')], /unknown frame type 4/); // detected on the first byte
    });

    it('a frame above frame-max', () => {
      bad([hex('03 0001 00030000')], /frame of 196616 bytes .* exceeds frame-max 131072/);
      bad([hex('03 0001 00001000')], /exceeds frame-max 4096/, 4096);
      // exactly frame-max is fine
      const p = new FrameParser();
      p.frameMax = 4096;
      const frame = Buffer.concat([hex('03 0001 00000ff8'), Buffer.alloc(4088), hex('ce')]);
      const got: Frame[] = [];
      p.push(frame, (f) => got.push(f));
      expect(got).to.have.length(1);
    });

    it('an unknown method id', () => {
      bad([hex('01 0001 00000004 003c 0063 ce')], /unknown method: method id 99 of class 60 \(basic\)/);
      bad([hex('01 0001 00000004 00c8 000a ce')], /class id 200/);
    });

    it('a truncated method payload', () => {
      // basic.deliver whose consumer tag claims 9 bytes but the payload ends
      bad([hex('01 0001 00000007 003c 003c 09 6162 ce')], /truncated shortstr/);
      bad([hex('01 0001 00000002 003c ce')], /truncated method frame/);
    });

    it('a bad field-table tag', () => {
      // queue.declare with arguments { k: <tag 'Z'> }
      bad([hex('01 0001 00000011 0032 000a 0000 01 71 00 00000004 01 6b 5a 00 ce')], /unknown field table type tag 'Z'/);
    });

    it('a heartbeat on a channel other than 0', () => {
      bad([hex('08 0001 00000000 ce')], /heartbeat frame on channel 1/);
    });

    it('a frame above maxMessageSize + 8, whatever frame-max was negotiated, before any allocation', () => {
      const p = new FrameParser();
      p.frameMax = 0xffffffff;
      p.maxMessageSize = 1000;
      const spy = sinon.spy(Buffer, 'allocUnsafe');
      try {
        expect(() => p.push(hex('01 0001 fffffff0'), () => {})).to.throw(FrameError, /exceeds the frame limit 1008 \(maxMessageSize 1000 \+ 8\)/);
        expect(spy.getCalls().filter((c) => c.args[0] > 1008)).to.deep.equal([]);
      } finally {
        spy.restore();
      }
      // body frames are streamed, never buffered whole: only frame-max bounds them
      const streamed = new FrameParser();
      streamed.maxMessageSize = 1000;
      const pieces: number[] = [];
      const body = Buffer.concat([hex('03 0001 000007d0'), Buffer.alloc(2000), hex('ce')]);
      streamed.push(body, {
        onMethod() {},
        onHeader() {},
        onBody: (_c, piece) => void pieces.push(piece.length),
        onHeartbeat() {},
        onProtocolHeader() {},
      });
      expect(pieces).to.deep.equal([2000]);
      // frame-max still applies when it is the smaller limit
      const q = new FrameParser();
      q.frameMax = 4096;
      expect(() => q.push(hex('01 0001 00001000'), () => {})).to.throw(FrameError, /exceeds frame-max 4096/);
    });

    it('any exception while decoding a sound frame becomes a FrameError (never escapes as RangeError or TypeError)', () => {
      const stub = sinon.stub(spec.Queue.DeclareOk, 'decode').throws(new TypeError('decoder bug'));
      try {
        const frame = encodeMethodFrame(1, new spec.Queue.DeclareOk({ queue: 'q', messageCount: 0, consumerCount: 0 }));
        bad([frame], /undecodable method frame on channel 1: TypeError: decoder bug/);
      } finally {
        stub.restore();
      }
    });

    it('a content header for a class other than basic, and a truncated header', () => {
      bad([hex('02 0001 0000000e 0032 0000 0000000000000000 0000 ce')], /content header for class 50/);
      bad([hex('02 0001 00000004 003c 0000 ce')], /truncated longlong/);
    });
  });

  it('hands a sound content header with undecodable properties to onBadHeader, then carries on with its body frames', () => {
    // headers table { k: 'Z'-tagged value }: an unknown tag inside a well-formed frame
    const hex = (t: string) => Buffer.from(t.replace(/ /g, ''), 'hex');
    const header = hex('02 0001 00000016 003c 0000 0000000000000003 2000 00000004 01 6b 5a 00 ce');
    const body = hex('03 0001 00000003 616263 ce');
    const ack = encodeMethodFrame(1, new spec.Basic.Ack({ deliveryTag: 1 }));
    const seen: string[] = [];
    const h: FrameHandler = {
      onMethod: (_c, m) => void seen.push(m.name),
      onHeader: () => void seen.push('header'),
      onBadHeader: (channel, bodySize, err) => void seen.push(`bad ${channel} ${bodySize} ${err.constructor.name}: ${err.message}`),
      onBody: (_c, piece) => void seen.push(`body ${piece.toString()}`),
      onHeartbeat: () => undefined,
      onProtocolHeader: () => undefined,
    };
    const p = new FrameParser();
    p.push(Buffer.concat([header, body, ack]), h);
    expect(seen).to.deep.equal(["bad 1 3 FrameError: unknown field table type tag 'Z' (0x5a) at offset 27", 'body abc', 'basic.ack']);
    // without onBadHeader, the parser fails as before
    const q = new FrameParser();
    expect(() => q.push(header, () => {})).to.throw(FrameError, /unknown field table type tag 'Z'/);
  });

  it('keeps the rest of a chunk when a frame handler throws', () => {
    const a = encodeMethodFrame(1, new spec.Basic.Ack({ deliveryTag: 1 }));
    const b = encodeMethodFrame(1, new spec.Basic.Ack({ deliveryTag: 2 }));
    const c = encodeMethodFrame(1, new spec.Basic.Ack({ deliveryTag: 3 }));
    const p = new FrameParser();
    const seen: number[] = [];
    let throwOnce = true;
    const on = (f: Frame) => {
      if (f.type !== 1) return;
      seen.push((f.method as spec.Basic.Ack).deliveryTag);
      if (throwOnce) {
        throwOnce = false;
        throw new Error('user bug');
      }
    };
    expect(() => p.push(Buffer.concat([a, b, c.subarray(0, 5)]), on)).to.throw('user bug');
    p.push(c.subarray(5), on);
    expect(seen).to.deep.equal([1, 2, 3]);
  });

  describe('with a FrameHandler: body frames in pieces, never copied', () => {
    const expected = plain(whole);

    it('yields the same frames and bodies for any split of the stream (many seeds)', () => {
      expect(parseWithHandler([stream])).to.deep.equal(expected);
      for (let seed = 1; seed <= 60; seed++) {
        const random = prng(1000 + seed);
        const chunks: Buffer[] = [];
        const maxChunk = [2, 8, 64, 700, 5000, 70000][seed % 6];
        for (let off = 0; off < stream.length;) {
          const n = 1 + Math.floor(random() * maxChunk);
          // separate buffers, as socket reads give them
          chunks.push(Buffer.from(stream.subarray(off, off + n)));
          off += n;
        }
        expect(parseWithHandler(chunks), `seed ${seed}`).to.deep.equal(expected);
      }
    });

    it('yields the same frames fed one byte at a time, and with empty chunks between', () => {
      const chunks: Buffer[] = [];
      for (let i = 0; i < stream.length; i++) chunks.push(Buffer.from(stream.subarray(i, i + 1)), Buffer.alloc(0));
      expect(parseWithHandler(chunks)).to.deep.equal(expected);
    });

    it('a body frame wholly inside a chunk is one piece, a view of it', () => {
      const fw = new FrameWriter();
      fw.writeContent(1, undefined, Buffer.from('abcdef'), 4096);
      const chunk = Buffer.concat(fw.take());
      const pieces: Array<[Buffer, number]> = [];
      new FrameParser().push(chunk, { ...ignore, onBody: (_c, payload, rest) => void pieces.push([payload, rest]) });
      expect(pieces).to.have.length(1);
      expect(pieces[0][1]).to.equal(0);
      expect(pieces[0][0].buffer).to.equal(chunk.buffer);
      expect(pieces[0][0].byteOffset).to.equal(chunk.byteOffset + chunk.length - 7);
    });

    it('an empty body frame is one empty piece, also when split', () => {
      const frame = Buffer.from('03 0001 00000000 ce'.replace(/ /g, ''), 'hex');
      for (const chunks of [[frame], [frame.subarray(0, 7), frame.subarray(7)], [frame.subarray(0, 3), frame.subarray(3, 7), frame.subarray(7)]]) {
        const pieces: Array<[number, number, number]> = [];
        const p = new FrameParser();
        for (const c of chunks) p.push(c, { ...ignore, onBody: (channel, payload, rest) => void pieces.push([channel, payload.length, rest]) });
        expect(pieces).to.deep.equal([[1, 0, 0]]);
      }
    });

    it('hands over the last piece only once the frame-end octet is checked', () => {
      const head = Buffer.from('03 0001 0000000a'.replace(/ /g, ''), 'hex');
      const payload = Buffer.from('0123456789');
      // the payload ends with the first chunk: its piece is held, then dropped on a bad end octet
      let calls: Array<[string, number]> = [];
      const onBody = (_c: number, piece: Buffer, rest: number) => void calls.push([piece.toString(), rest]);
      let p = new FrameParser();
      p.push(Buffer.concat([head, payload]), { ...ignore, onBody });
      expect(calls).to.deep.equal([]);
      expect(() => p.push(Buffer.from([0xff]), { ...ignore, onBody })).to.throw(
        FrameError,
        /bad frame end octet 0xff .* type 3 with a 10-byte payload/,
      );
      expect(calls).to.deep.equal([]);
      // the same with a good end octet
      p = new FrameParser();
      p.push(Buffer.concat([head, payload]), { ...ignore, onBody });
      p.push(Buffer.from([0xce]), { ...ignore, onBody });
      expect(calls).to.deep.equal([['0123456789', 0]]);
      // pieces from the middle go on as they arrive; a bad end still fails before the last one
      calls = [];
      p = new FrameParser();
      p.push(Buffer.concat([head, payload.subarray(0, 4)]), { ...ignore, onBody });
      expect(calls).to.deep.equal([['0123', 6]]);
      expect(() => p.push(Buffer.concat([payload.subarray(4), Buffer.from([0])]), { ...ignore, onBody })).to.throw(
        FrameError,
        /bad frame end octet 0x0/,
      );
      expect(calls).to.deep.equal([['0123', 6]]);
    });

    describe("push's result: whether the chunk's memory may be read into again", () => {
      const frames = (write: (fw: FrameWriter) => void): Buffer => {
        const fw = new FrameWriter();
        write(fw);
        return Buffer.concat(fw.take());
      };
      const keepNothing: FrameHandler = { ...ignore, onBody: () => true };

      it('true for a chunk of methods, headers and heartbeats', () => {
        const chunk = frames((fw) => {
          fw.writeMethod(1, new spec.Basic.Ack({ deliveryTag: 1, multiple: false }));
          fw.writeHeartbeat();
        });
        expect(new FrameParser().push(chunk, ignore)).to.equal(true);
      });

      it('false once a body piece went to a handler that did not say it let go of it', () => {
        const chunk = frames((fw) => fw.writeContent(1, undefined, Buffer.from('abc'), 4096));
        expect(new FrameParser().push(chunk, ignore)).to.equal(false);
        expect(new FrameParser().push(chunk, { ...ignore, onBody: () => false })).to.equal(false);
        expect(new FrameParser().push(chunk, keepNothing)).to.equal(true);
      });

      it('false while the parser holds the last piece of a body frame (its frame-end octet still to come)', () => {
        const chunk = frames((fw) => fw.writeContent(1, undefined, Buffer.from('abc'), 4096));
        const p = new FrameParser();
        expect(p.push(chunk.subarray(0, chunk.length - 1), keepNothing)).to.equal(false);
        expect(p.push(chunk.subarray(chunk.length - 1), keepNothing)).to.equal(true);
      });

      it('false when the handler threw (nothing is returned: the error propagates)', () => {
        const chunk = frames((fw) => fw.writeContent(1, undefined, Buffer.from('abc'), 4096));
        const p = new FrameParser();
        expect(() =>
          p.push(chunk, {
            ...keepNothing,
            onBody: () => {
              throw new Error('user bug');
            },
          }),
        ).to.throw('user bug');
      });

      it('bodies stay intact when every released chunk is overwritten by the next read (many splits)', () => {
        // The reader's side of the contract: a chunk released by push is overwritten by the next
        // chunk (same memory), a kept one is not. The handler keeps a body frame that came as one
        // piece (as the content assembler does) and copies pieces of frames that came in several.
        for (let seed = 1; seed <= 40; seed++) {
          const random = prng(5000 + seed);
          const maxChunk = [16, 300, 5000, 70000][seed % 4];
          const arena: Buffer[] = [Buffer.alloc(70001)];
          let reuse = false;
          const bodies: Buffer[] = [];
          let copying: Buffer[] = [];
          const h: FrameHandler = {
            ...ignore,
            onBody: (_c, piece, rest) => {
              if (copying.length === 0 && rest === 0) {
                bodies.push(piece); // kept as it is: a view of the chunk
                return false;
              }
              copying.push(Buffer.from(piece));
              if (rest === 0) {
                bodies.push(Buffer.concat(copying));
                copying = [];
              }
              return true;
            },
          };
          const p = new FrameParser();
          for (let off = 0; off < stream.length;) {
            const n = Math.min(stream.length - off, 1 + Math.floor(random() * maxChunk));
            if (!reuse) arena.push(Buffer.alloc(70001));
            const chunk = arena[arena.length - 1].subarray(0, n);
            stream.copy(chunk, 0, off, off + n);
            off += n;
            reuse = p.push(chunk, h);
          }
          const expectedBodies = whole.filter((f) => f.type === 3).map((f) => (f as { payload: Buffer }).payload.toString('hex'));
          expect(
            bodies.map((b) => b.toString('hex')),
            `seed ${seed}`,
          ).to.deep.equal(expectedBodies);
        }
      });
    });

    it('keeps the rest of a chunk when onBody throws', () => {
      const fw = new FrameWriter();
      fw.writeContent(1, undefined, Buffer.from('first'), 4096);
      fw.writeContent(1, undefined, Buffer.from('second'), 4096);
      const bytes = Buffer.concat(fw.take());
      const got: string[] = [];
      let throwOnce = true;
      const h: FrameHandler = {
        ...ignore,
        onBody: (_c, piece) => {
          got.push(piece.toString());
          if (throwOnce) {
            throwOnce = false;
            throw new Error('user bug');
          }
        },
      };
      const p = new FrameParser();
      expect(() => p.push(bytes, h)).to.throw('user bug');
      p.push(Buffer.alloc(0), h);
      expect(got).to.deep.equal(['first', 'second']);
    });
  });

  it('respects frameMax after negotiation', () => {
    const fw = new FrameWriter();
    fw.writeContent(1, undefined, Buffer.alloc(10000), 131072);
    const buf = Buffer.concat(fw.take());
    expect(parseChunks([buf], 131072)).to.have.length(2);
    expect(() => parseChunks([buf], 8192)).to.throw(FrameError, /exceeds frame-max 8192/);
  });
});
