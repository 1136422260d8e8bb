/**
 * ContentAssembler fed by the FrameParser the way the connection feeds it:
 * how many times body bytes are copied, and the checks on body pieces.
 */
import { expect } from 'chai';
import * as sinon from 'sinon';
import { ContentAssembler, UPFRONT_BODY_BYTES } from '../../lib/engine/content-assembler';
import { FrameError } from '../../lib/errors';
import type { FrameHandler } from '../../lib/wire/frame';
import { FrameParser } from '../../lib/wire/frame-parser';
import { FrameWriter } from '../../lib/wire/frame-writer';
import * as spec from '../../lib/wire/spec';

const MiB = 1024 * 1024;

/** One delivery with `body`, as bytes on the wire. */
function delivery(body: Buffer, frameMax: number): Buffer {
  const fw = new FrameWriter();
  fw.writeMethod(1, new spec.Basic.Deliver({ consumerTag: 'c', deliveryTag: 1, exchange: '', routingKey: 'q' }));
  fw.writeContent(1, { messageId: 'm' }, body, frameMax);
  return Buffer.concat(fw.take());
}

/** Cuts `bytes` into separate buffers of `size` bytes, as socket reads give them. */
function chunked(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < bytes.length; off += size) out.push(Buffer.from(bytes.subarray(off, off + size)));
  return out;
}

/** Parses `chunks` into an assembler; returns the completed messages. */
function assemble(chunks: Buffer[], frameMax: number): Array<{ method: spec.AMQPMethod; properties: spec.BasicProperties; body: Buffer }> {
  const parser = new FrameParser();
  parser.frameMax = frameMax;
  const content = new ContentAssembler(1);
  const done: Array<{ method: spec.AMQPMethod; properties: spec.BasicProperties; body: Buffer }> = [];
  const take = () => {
    done.push({ method: content.method!, properties: content.properties!, body: content.body });
    content.reset();
  };
  const h: FrameHandler = {
    onMethod: (_c, method) => content.start(method),
    onHeader: (_c, bodySize, properties) => {
      if (content.header(bodySize, properties)) take();
    },
    onBody: (_c, piece, rest) => {
      if (content.bodyPiece(piece, rest)) take();
    },
    onHeartbeat: () => undefined,
    onProtocolHeader: () => undefined,
  };
  for (const c of chunks) parser.push(c, h);
  return done;
}

describe('engine/content-assembler', () => {
  afterEach(() => sinon.restore());

  it('copies each byte of a 16 MiB body once (frame-max 131072, 64 KiB chunks)', () => {
    const body = Buffer.allocUnsafe(16 * MiB);
    for (let i = 0; i < body.length; i += 4) body.writeUInt32BE(i, i);
    const chunks = chunked(delivery(body, 131072), 64 * 1024);
    const allocUnsafe = sinon.spy(Buffer, 'allocUnsafe');
    const allocUnsafeSlow = sinon.spy(Buffer, 'allocUnsafeSlow');
    const concat = sinon.spy(Buffer, 'concat');
    const from = sinon.spy(Buffer, 'from');
    const copy = sinon.spy(Buffer.prototype, 'copy');
    const messages = assemble(chunks, 131072);
    sinon.restore();
    expect(messages).to.have.length(1);
    const got = messages[0].body;
    expect(got.equals(body)).to.equal(true);
    expect(messages[0].properties.messageId).to.equal('m');
    // one buffer for the body; only small ones for the method and header frames that span chunks
    const big = allocUnsafe.getCalls().filter((c) => c.args[0] > 4096);
    expect(big.map((c) => c.args[0])).to.deep.equal([16 * MiB]);
    expect(big[0].returnValue).to.equal(got);
    expect(allocUnsafeSlow.callCount + concat.callCount + from.callCount).to.equal(0);
    // every copy of body bytes goes into the final body, and they add up to its size: one copy
    const intoBody = copy.getCalls().filter((c) => c.args[0] === got);
    const copied = intoBody.reduce((n, c) => n + (c.returnValue as unknown as number), 0);
    expect(copied).to.equal(16 * MiB);
    const elsewhere = copy.getCalls().filter((c) => c.args[0] !== got);
    expect(elsewhere.reduce((n, c) => n + (c.returnValue as unknown as number), 0)).to.be.below(4096);
    // and each piece copied came straight from a socket chunk
    for (const c of intoBody) {
      const piece = c.thisValue as Buffer;
      expect(chunks.some((k) => k.buffer === piece.buffer)).to.equal(true);
    }
  });

  it('keeps a body that arrives whole in one chunk as a view of it (no copy)', () => {
    const body = Buffer.from('hello, world');
    const chunk = delivery(body, 131072);
    const copy = sinon.spy(Buffer.prototype, 'copy');
    const messages = assemble([chunk], 131072);
    sinon.restore();
    expect(messages).to.have.length(1);
    expect(messages[0].body.toString()).to.equal('hello, world');
    expect(messages[0].body.buffer).to.equal(chunk.buffer);
    expect(messages[0].body.byteOffset).to.equal(chunk.byteOffset + chunk.length - 1 - body.length);
    // nothing copied any of the body's bytes (the parser copies a few bytes of the deliver method)
    const bodyStart = messages[0].body.byteOffset;
    const bodyEnd = bodyStart + body.length;
    for (const c of copy.getCalls()) {
      const src = c.thisValue as Buffer;
      const from = src.byteOffset + ((c.args[2] as number | undefined) ?? 0);
      const to = src.byteOffset + ((c.args[3] as number | undefined) ?? src.length);
      expect(src.buffer !== chunk.buffer || to <= bodyStart || from >= bodyEnd, 'a copy of body bytes').to.equal(true);
    }
  });

  it('reassembles identical bodies at any split of the stream', () => {
    const body = Buffer.alloc(300_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 13) & 0xff;
    const bytes = Buffer.concat([delivery(body, 4096), delivery(Buffer.from('tiny'), 4096), delivery(Buffer.alloc(0), 4096), delivery(body, 131072)]);
    for (const size of [1, 7, 4095, 4096, 4097, 65536, 100_000, bytes.length]) {
      const frameMax = 131072;
      const split = chunked(bytes, size);
      const got = assemble(split, frameMax);
      expect(
        got.map((m) => m.body.length),
        `chunks of ${size}`,
      ).to.deep.equal([300_000, 4, 0, 300_000]);
      expect(got[0].body.equals(body) && got[3].body.equals(body), `chunks of ${size}`).to.equal(true);
      expect(got[1].body.toString()).to.equal('tiny');
    }
  });

  it('rejects pieces beyond the announced body size as soon as the frame announces them', () => {
    const content = new ContentAssembler(3);
    content.start(new spec.Basic.Deliver());
    expect(content.header(10, new spec.BasicProperties())).to.equal(false);
    expect(content.bodyPiece(Buffer.alloc(4), 6)).to.equal(false);
    // 4 + 2 + a frame rest of 5 > 10
    expect(() => content.bodyPiece(Buffer.alloc(2), 5)).to.throw(FrameError, /body frames on channel 3 exceed the announced body size 10/);
  });

  it('an empty piece changes nothing; a body piece with no header is unexpected', () => {
    const content = new ContentAssembler(2);
    expect(() => content.bodyPiece(Buffer.alloc(1), 0)).to.throw(FrameError, /unexpected body frame on channel 2/);
    content.start(new spec.Basic.Deliver());
    expect(content.header(3, new spec.BasicProperties())).to.equal(false);
    expect(content.bodyPiece(Buffer.alloc(0), 0)).to.equal(false);
    expect(content.bodyPiece(Buffer.from('abc'), 0)).to.equal(true);
    expect(content.body.toString()).to.equal('abc');
  });

  it('reserves memory as bytes arrive: a header announcing 1 GiB followed by 1 KiB allocates at most 16 MiB', () => {
    const content = new ContentAssembler(1);
    content.start(new spec.Basic.Deliver());
    const allocUnsafe = sinon.spy(Buffer, 'allocUnsafe');
    try {
      expect(content.header(1024 * MiB, new spec.BasicProperties())).to.equal(false);
      expect(allocUnsafe.callCount, 'nothing at the header').to.equal(0);
      content.bodyPiece(Buffer.alloc(1024), 1000);
      expect(allocUnsafe.getCalls().map((c) => c.args[0])).to.deep.equal([UPFRONT_BODY_BYTES]);
    } finally {
      sinon.restore();
    }
  });

  it('grows a body above 16 MiB by doubling and keeps every byte', () => {
    const size = UPFRONT_BODY_BYTES * 2 + 12345;
    const body = Buffer.allocUnsafe(size);
    for (let i = 0; i + 4 <= size; i += 4) body.writeUInt32BE(i, i);
    const content = new ContentAssembler(1);
    content.start(new spec.Basic.Deliver());
    content.header(size, new spec.BasicProperties());
    const piece = 1024 * 1024 - 3; // pieces that straddle every growth boundary
    let complete = false;
    for (let off = 0; off < size; off += piece) {
      const part = body.subarray(off, Math.min(size, off + piece));
      complete = content.bodyPiece(Buffer.from(part), 0);
    }
    expect(complete).to.equal(true);
    expect(content.body.length).to.equal(size);
    expect(content.body.equals(body)).to.equal(true);
  });

  it('skips a message: its body is checked against the announced size, counted and dropped, nothing allocated', () => {
    const content = new ContentAssembler(4);
    content.start(new spec.Basic.Deliver());
    const allocUnsafe = sinon.spy(Buffer, 'allocUnsafe');
    try {
      expect(content.skip(10)).to.equal(false);
      expect(content.bodyPiece(Buffer.alloc(4), 0)).to.equal(false);
      expect(() => content.bodyPiece(Buffer.alloc(7), 0)).to.throw(FrameError, /exceed the announced body size 10/);
    } finally {
      sinon.restore();
    }
    const again = new ContentAssembler(4);
    again.start(new spec.Basic.Deliver());
    expect(again.skip(10)).to.equal(false);
    expect(again.bodyPiece(Buffer.alloc(4), 0)).to.equal(false);
    expect(again.bodyPiece(Buffer.alloc(6), 0)).to.equal(true);
    expect([again.properties, again.body.length]).to.deep.equal([null, 0]);
    expect(allocUnsafe.callCount).to.equal(0);
    again.reset();
    again.start(new spec.Basic.Deliver());
    expect(again.skip(0), 'an empty skipped body completes at once').to.equal(true);
  });
});
