import { expect } from 'chai';
import { InvalidArgumentError } from '../../lib/errors';
import type { Frame } from '../../lib/wire/frame';
import { FrameParser } from '../../lib/wire/frame-parser';
import { FrameWriter, LARGE_BODY_THRESHOLD, encodeMethodFrame, encodeSecretMethodFrame, secretMethodPayloadSize } from '../../lib/wire/frame-writer';
import * as sinon from 'sinon';
import * as spec from '../../lib/wire/spec';

function parse(chunks: Buffer[], frameMax = 0): Frame[] {
  const p = new FrameParser();
  p.frameMax = frameMax;
  const out: Frame[] = [];
  for (const c of chunks) p.push(c, (f) => out.push(f));
  return out;
}

function methodOf(f: Frame): spec.AMQPMethod {
  if (f.type !== 1) throw new Error(`frame type ${f.type} is not a method frame`);
  return f.method;
}

function pattern(n: number, salt = 0): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + salt) & 0xff;
  return b;
}

describe('wire/frame-writer', () => {
  it('writePublish: method frame, header frame, body frames split at frameMax - 8', () => {
    const fw = new FrameWriter();
    const body = pattern(10000);
    fw.writePublish(3, 'ex', 'rk', false, { contentType: 'text/plain', deliveryMode: 2 }, body, 4096);
    const frames = parse(fw.take(), 4096);
    expect(frames.map((f) => f.type)).to.deep.equal([1, 2, 3, 3, 3]);
    const [m, h, ...bodies] = frames;
    if (m.type !== 1 || h.type !== 2) throw new Error('order');
    expect(m.channel).to.equal(3);
    expect(m.method).to.deep.equal(new spec.Basic.Publish({ exchange: 'ex', routingKey: 'rk' }));
    expect(h.bodySize).to.equal(10000);
    expect(h.properties.toJSON()).to.deep.equal({ contentType: 'text/plain', deliveryMode: 2 });
    expect(bodies.map((b) => (b.type === 3 ? b.payload.length : -1))).to.deep.equal([4088, 4088, 1824]);
    expect(Buffer.concat(bodies.map((b) => (b as { payload: Buffer }).payload))).to.deep.equal(body);
  });

  it('writePublish with an empty body writes no body frame', () => {
    const fw = new FrameWriter();
    fw.writePublish(1, '', 'q', true, undefined, Buffer.alloc(0), 131072);
    const frames = parse(fw.take());
    expect(frames.map((f) => f.type)).to.deep.equal([1, 2]);
    expect(frames[1]).to.include({ bodySize: 0 });
    expect((methodOf(frames[0]) as spec.Basic.Publish).mandatory).to.equal(true);
  });

  it('a body of exactly frameMax - 8 bytes is one body frame; one byte more is two', () => {
    for (const [n, count] of [
      [4088, 1],
      [4089, 2],
      [8176, 2],
    ]) {
      const fw = new FrameWriter();
      fw.writePublish(1, '', 'q', false, undefined, pattern(n), 4096);
      expect(
        parse(fw.take(), 4096).filter((f) => f.type === 3),
        `${n}`,
      ).to.have.length(count);
    }
  });

  it('frameMax 0 means 131072', () => {
    const fw = new FrameWriter();
    fw.writePublish(1, '', 'q', false, undefined, pattern(131072), 0);
    const bodies = parse(fw.take()).filter((f) => f.type === 3);
    expect(bodies.map((b) => (b as { payload: Buffer }).payload.length)).to.deep.equal([131064, 8]);
  });

  it('references large bodies instead of copying them', () => {
    const body = pattern(100000);
    const fw2 = new FrameWriter();
    fw2.writePublish(1, 'ex', 'rk', false, { messageId: 'big' }, body, 40000);
    const before = fw2.length;
    const chunks = fw2.take();
    expect(chunks.reduce((n, c) => n + c.length, 0)).to.equal(before);
    const views = chunks.filter((c) => c.buffer === body.buffer);
    expect(views.map((v) => [v.byteOffset - body.byteOffset, v.length])).to.deep.equal([
      [0, 39992],
      [39992, 39992],
      [79984, 20016],
    ]);
    const frames = parse(chunks, 40000);
    expect(Buffer.concat(frames.filter((f) => f.type === 3).map((f) => (f as { payload: Buffer }).payload))).to.deep.equal(body);
    // a body just under the threshold is copied
    const fw3 = new FrameWriter();
    const small = pattern(LARGE_BODY_THRESHOLD - 1);
    fw3.writePublish(1, 'ex', 'rk', false, undefined, small, 131072);
    expect(fw3.take().some((c) => c.buffer === small.buffer)).to.equal(false);
  });

  it('take() hands out chunks that later writes never overwrite', () => {
    const fw = new FrameWriter(8192);
    const taken: { chunks: Buffer[]; snapshot: Buffer }[] = [];
    let published = 0;
    for (let turn = 0; turn < 300; turn++) {
      // a mix of small turns (copied out), bigger turns (handed out in place) and large bodies (referenced)
      const n = turn % 3 === 0 ? 1 : turn % 3 === 1 ? 40 : 3;
      for (let i = 0; i < n; i++) {
        const size = turn % 7 === 0 ? 40000 : (turn * 13 + i * 101) % 1500;
        fw.writePublish(1, 'ex', `rk.${turn}.${i}`, false, { headers: { turn, i } }, pattern(size, turn + i), 16384);
        published++;
        if (i % 5 === 0) fw.writeMethod(1, new spec.Basic.Ack({ deliveryTag: turn * 100 + i }));
      }
      const chunks = fw.take();
      taken.push({ chunks, snapshot: Buffer.concat(chunks) });
    }
    // every chunk still holds the bytes it held when it was taken
    for (const [i, t] of taken.entries()) {
      expect(Buffer.concat(t.chunks).equals(t.snapshot), `turn ${i}`).to.equal(true);
    }
    // and the whole stream parses
    const frames = parse(
      taken.map((t) => t.snapshot),
      16384,
    );
    expect(frames.filter((f) => f.type === 2)).to.have.length(published);
  });

  it('take() returns [] when nothing is pending, and length counts pending bytes', () => {
    const fw = new FrameWriter();
    expect(fw.take()).to.deep.equal([]);
    expect(fw.length).to.equal(0);
    fw.writeHeartbeat();
    expect(fw.length).to.equal(8);
    fw.writeProtocolHeader();
    expect(fw.length).to.equal(16);
    expect(Buffer.concat(fw.take()).toString('latin1')).to.equal('\x08\x00\x00\x00\x00\x00\x00\xceAMQP\x00\x00\x09\x01');
    expect(fw.length).to.equal(0);
  });

  it('a write that throws leaves nothing behind', () => {
    const fw = new FrameWriter();
    fw.writeHeartbeat();
    expect(() => fw.writePublish(1, 'ex', 'r'.repeat(256), false, undefined, Buffer.from('x'), 131072)).to.throw(
      InvalidArgumentError,
      /routing key is 256 bytes/,
    );
    expect(() => fw.writePublish(1, 'ex', 'rk', false, { priority: 300 }, Buffer.from('x'), 131072)).to.throw(InvalidArgumentError, /priority/);
    expect(() => fw.writeMethod(1, new spec.Queue.Declare({ arguments: { bad: Symbol('x') as unknown as string } }))).to.throw(
      InvalidArgumentError,
      /'bad'/,
    );
    expect(() => fw.writeMethod(70000, new spec.Basic.Ack())).to.throw(InvalidArgumentError, /channel/);
    // a content header larger than frameMax
    expect(() => fw.writePublish(1, 'ex', 'rk', false, { headers: { big: 'x'.repeat(5000) } }, Buffer.from('x'), 4096)).to.throw(
      InvalidArgumentError,
      /exceeds frame-max 4096/,
    );
    expect(fw.length).to.equal(8);
    fw.writeMethod(1, new spec.Basic.Ack({ deliveryTag: 5 }));
    const frames = parse(fw.take());
    expect(frames.map((f) => f.type)).to.deep.equal([8, 1]);
  });

  it('writeContent after writeMethod sends a delivery (for test peers)', () => {
    const fw = new FrameWriter();
    fw.writeMethod(2, new spec.Basic.Deliver({ consumerTag: 't', deliveryTag: 9, exchange: 'e', routingKey: 'r' }));
    fw.writeContent(2, { appId: 'a' }, Buffer.from('payload'), 4096);
    const frames = parse(fw.take());
    expect(frames.map((f) => [f.type, (f as { channel: number }).channel])).to.deep.equal([
      [1, 2],
      [2, 2],
      [3, 2],
    ]);
  });

  it('encodeMethodFrame is a standalone frame', () => {
    const buf = encodeMethodFrame(0, new spec.Connection.CloseOk());
    expect(buf.toString('hex')).to.equal('01000000000004000a0033ce');
  });

  it('writeFrame sends a frame encoded beforehand as writeMethod would, in order with the frames around it', () => {
    const declare = new spec.Queue.Declare({ queue: 'q', arguments: { 'x-max-length': 10 } });
    const viaWriteMethod = new FrameWriter();
    viaWriteMethod.writeHeartbeat();
    viaWriteMethod.writeMethod(3, declare);
    viaWriteMethod.writeHeartbeat();
    const viaWriteFrame = new FrameWriter();
    viaWriteFrame.writeHeartbeat();
    viaWriteFrame.writeFrame(encodeMethodFrame(3, declare));
    viaWriteFrame.writeHeartbeat();
    expect(Buffer.concat(viaWriteFrame.take())).to.deep.equal(Buffer.concat(viaWriteMethod.take()));
  });

  it('writeFrame copies frames larger than its free space', () => {
    const fw = new FrameWriter(1024);
    const frame = encodeMethodFrame(1, new spec.Queue.Declare({ queue: 'q', arguments: { big: 'v'.repeat(200000) } }));
    fw.writeHeartbeat();
    fw.writeFrame(frame);
    const frames = parse(fw.take(), 1 << 20);
    expect(frames.map((f) => f.type)).to.deep.equal([8, 1]);
    expect((methodOf(frames[1]) as spec.Queue.Declare).arguments['big']).to.have.length(200000);
  });

  it('encodeMethodFrame rejects a channel number out of range, and throws what encoding throws', () => {
    expect(() => encodeMethodFrame(65536, new spec.Connection.CloseOk())).to.throw(InvalidArgumentError, /channel number/);
    expect(() => encodeMethodFrame(1, new spec.Queue.Declare({ queue: 'q'.repeat(256) }))).to.throw(InvalidArgumentError, /256 bytes/);
  });

  it('grows for frames larger than its buffer', () => {
    const fw = new FrameWriter(1024);
    const big = 'v'.repeat(200000);
    fw.writeMethod(1, new spec.Queue.Declare({ queue: 'q', arguments: { big } }));
    fw.writePublish(1, '', 'q', false, { headers: { big } }, pattern(20000), 1 << 20);
    const frames = parse(fw.take(), 1 << 20);
    expect(frames.map((f) => f.type)).to.deep.equal([1, 1, 2, 3]);
    expect((methodOf(frames[0]) as spec.Queue.Declare).arguments['big']).to.equal(big);
  });

  describe('writeSecretMethod (connection.start-ok with a password)', () => {
    const PASSWORD = Buffer.from('S3cr3tPw-Zq9');
    const startOk = (extra: Record<string, unknown> = {}) =>
      new spec.Connection.StartOk({
        clientProperties: { product: 'test', ...extra },
        mechanism: 'PLAIN',
        response: Buffer.concat([Buffer.from('\0user\0'), PASSWORD]),
        locale: 'en_US',
      });
    const holds = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).includes(PASSWORD);

    afterEach(() => sinon.restore());

    it('writes the same bytes as writeMethod, in order with the frames around it, as a chunk of its own', () => {
      const expected = encodeMethodFrame(0, startOk());
      const fw = new FrameWriter();
      fw.writeHeartbeat();
      fw.writeSecretMethod(0, startOk());
      fw.writeMethod(0, new spec.Connection.TuneOk({ channelMax: 1, frameMax: 4096, heartbeat: 0 }));
      const chunks = fw.take();
      expect(chunks).to.have.length(3);
      expect(chunks[1]).to.deep.equal(expected);
      const frames = parse(chunks);
      expect(frames.map((f) => f.type)).to.deep.equal([8, 1, 1]);
      expect(Buffer.from((methodOf(frames[1]) as spec.Connection.StartOk).response as Buffer).subarray(6)).to.deep.equal(PASSWORD);
    });

    it("zeroes the method's response at once and the frame on wipeTakenSecrets(), never earlier", () => {
      const fw = new FrameWriter();
      const method = startOk();
      fw.writeSecretMethod(0, method);
      expect((method.response as Buffer).every((b) => b === 0)).to.equal(true);
      expect(fw.holdsTakenSecrets).to.equal(false);
      const [chunk] = fw.take();
      expect(holds(chunk)).to.equal(true);
      expect(fw.holdsTakenSecrets).to.equal(true);
      fw.writeHeartbeat();
      fw.take();
      expect(holds(chunk), 'kept until the owner says the transport is done').to.equal(true);
      fw.wipeTakenSecrets();
      expect(chunk.every((b) => b === 0)).to.equal(true);
      expect(fw.holdsTakenSecrets).to.equal(false);
    });

    it('never writes the secret into the reused buffer, nor leaves it in a buffer it grew out of', () => {
      const allocated: Buffer[] = [];
      const allocUnsafe = Buffer.allocUnsafe;
      sinon.stub(Buffer, 'allocUnsafe').callsFake((n: number) => {
        const b = allocUnsafe(n);
        allocated.push(b);
        return b;
      });
      const fw = new FrameWriter();
      // Large client properties: the scratch buffer grows (twice) while encoding.
      fw.writeSecretMethod(0, startOk({ padding: 'x'.repeat(9000) }));
      const chunks = fw.take();
      fw.writeMethod(0, new spec.Connection.Open({ virtualHost: '/' }));
      fw.take();
      fw.wipeTakenSecrets();
      sinon.restore();
      expect(allocated.length).to.be.greaterThan(2);
      expect(allocated.filter(holds)).to.deep.equal([]);
      expect(chunks.filter(holds)).to.deep.equal([]);
    });

    it('leaves nothing queued and nothing readable when encoding throws', () => {
      const fw = new FrameWriter();
      const allocated: Buffer[] = [];
      const allocUnsafe = Buffer.allocUnsafe;
      sinon.stub(Buffer, 'allocUnsafe').callsFake((n: number) => {
        const b = allocUnsafe(n);
        allocated.push(b);
        return b;
      });
      const bad = startOk();
      bad.locale = 'l'.repeat(300); // after the response: a shortstr too long
      expect(() => fw.writeSecretMethod(0, bad)).to.throw(InvalidArgumentError);
      sinon.restore();
      expect(fw.length).to.equal(0);
      expect(fw.take()).to.deep.equal([]);
      expect(allocated.filter(holds)).to.deep.equal([]);
      expect(holds(bad.response as Buffer)).to.equal(false);
    });

    it('writeSecretFrame queues a frame of encodeSecretMethodFrame uncopied, until wipeTakenSecrets', () => {
      const fw = new FrameWriter();
      const method = startOk();
      const frame = encodeSecretMethodFrame(0, method);
      expect(frame).to.deep.equal(encodeMethodFrame(0, startOk()));
      expect(holds(method.response as Buffer), 'the method itself is left as is').to.equal(true);
      fw.writeHeartbeat();
      fw.writeSecretFrame(frame);
      const chunks = fw.take();
      expect(chunks).to.have.length(2);
      expect(chunks[1]).to.equal(frame);
      fw.wipeTakenSecrets();
      expect(frame.every((b) => b === 0)).to.equal(true);
    });

    it('secretMethodPayloadSize measures like an encoding and zeroes its scratch copies', () => {
      const method = startOk({ padding: 'y'.repeat(5000) });
      const allocated: Buffer[] = [];
      const allocUnsafe = Buffer.allocUnsafe;
      sinon.stub(Buffer, 'allocUnsafe').callsFake((n: number) => {
        const b = allocUnsafe(n);
        allocated.push(b);
        return b;
      });
      const size = secretMethodPayloadSize(method);
      sinon.restore();
      expect(size + 8).to.equal(encodeMethodFrame(0, method).length);
      expect(allocated.filter(holds)).to.deep.equal([]);
      expect(holds(method.response as Buffer), 'the method itself is left alone').to.equal(true);
    });
  });
});
