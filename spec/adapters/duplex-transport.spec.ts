import { expect } from 'chai';
import * as sinon from 'sinon';
import * as net from 'net';
import { Duplex } from 'stream';
import { DuplexTransport } from '../../lib/adapters/duplex-transport';
import { StreamIOLoop } from '../../lib/adapters/stream-ioloop';
import { NodeIOLoop } from '../../lib/adapters/node-ioloop';
import { SocketConnectError, StreamLostError } from '../../lib/errors';
import type { Transport, TransportHandlers, TransportTarget } from '../../lib/engine/ioloop';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function target(over: Partial<TransportTarget> = {}): TransportTarget {
  return { host: 'broker.example', port: 5672, tls: false, socketTimeout: 5, tcpOptions: {}, ...over };
}

/** Handlers that record everything. */
function recorder() {
  const rec = {
    chunks: [] as Buffer[],
    closes: [] as Array<Error | null>,
    drains: 0,
    handlers: {} as TransportHandlers,
  };
  rec.handlers = {
    onData: (c) => void rec.chunks.push(c),
    onClose: (e) => rec.closes.push(e),
    onDrain: () => rec.drains++,
  };
  return rec;
}

/**
 * One side of an in-process duplex pair: what one side writes, the other
 * reads. `_writev` is implemented so that tests can see corked batches.
 */
class PairSide extends Duplex {
  other!: PairSide;
  writevCalls: Buffer[][] = [];
  /** When set, writes complete only when release() is called (to build up writableLength). */
  hold = false;
  private held: Array<() => void> = [];

  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.other.push(chunk);
    this.complete(cb);
  }
  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    this.writevCalls.push(chunks.map((c) => c.chunk));
    this.other.push(Buffer.concat(chunks.map((c) => c.chunk)));
    this.complete(cb);
  }
  override _final(cb: () => void): void {
    this.other.push(null);
    cb();
  }
  release(): void {
    this.hold = false;
    const h = this.held;
    this.held = [];
    for (const f of h) f();
  }
  private complete(cb: () => void): void {
    if (this.hold) this.held.push(cb);
    else cb();
  }
}

function pair(opts: ConstructorParameters<typeof Duplex>[0] = {}): [PairSide, PairSide] {
  const a = new PairSide(opts);
  const b = new PairSide(opts);
  a.other = b;
  b.other = a;
  return [a, b];
}

describe('DuplexTransport', function () {
  it('writes a batch corked (one _writev), in order', async function () {
    const [a, b] = pair();
    const rec = recorder();
    const tr = new DuplexTransport(a, rec.handlers);
    const got: Buffer[] = [];
    b.on('data', (d: Buffer) => got.push(d));
    expect(tr.write([Buffer.from('a'), Buffer.alloc(0), Buffer.from('b'), Buffer.from('c')])).to.equal(true);
    await sleep(5);
    expect(a.writevCalls.map((c) => c.map(String))).to.deep.equal([['a', 'b', 'c']]);
    expect(Buffer.concat(got).toString()).to.equal('abc');
  });

  it('hands incoming chunks to onData without copying', async function () {
    const [a, b] = pair();
    const rec = recorder();
    new DuplexTransport(a, rec.handlers);
    const chunk = Buffer.from('payload');
    b.write(chunk);
    await sleep(5);
    expect(rec.chunks).to.have.length(1);
    expect(rec.chunks[0]).to.equal(chunk); // the same object
  });

  it('returns false above the high-water mark, reports bufferedBytes, then onDrain', async function () {
    const [a] = pair({ writableHighWaterMark: 8 });
    a.hold = true;
    const rec = recorder();
    const tr = new DuplexTransport(a, rec.handlers);
    expect(tr.write([Buffer.alloc(4)])).to.equal(true);
    expect(tr.write([Buffer.alloc(6), Buffer.alloc(6)])).to.equal(false);
    expect(tr.bufferedBytes).to.equal(16);
    a.release();
    await sleep(5);
    a.release();
    await sleep(5);
    expect(tr.bufferedBytes).to.equal(0);
    expect(rec.drains).to.equal(1);
  });

  it("reports the peer's end as onClose(null) once and destroys the stream", async function () {
    const [a, b] = pair();
    const rec = recorder();
    new DuplexTransport(a, rec.handlers);
    b.end('last');
    await sleep(10);
    expect(rec.closes).to.deep.equal([null]);
    expect(rec.chunks.map(String)).to.deep.equal(['last']);
    expect(a.destroyed).to.equal(true);
  });

  it('reports error + close as one StreamLostError naming the code, with the cause', async function () {
    const [a] = pair();
    const rec = recorder();
    new DuplexTransport(a, rec.handlers);
    const cause = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    a.destroy(cause);
    await sleep(10);
    expect(rec.closes).to.have.length(1);
    const err = rec.closes[0]!;
    expect(err).to.be.instanceOf(StreamLostError);
    expect(err.message).to.equal('Stream connection lost: ECONNRESET (read ECONNRESET)');
    expect(err.cause).to.equal(cause);
  });

  it('reports once whatever order error, end and close come in, and swallows late errors', async function () {
    const [a] = pair();
    const rec = recorder();
    new DuplexTransport(a, rec.handlers);
    a.emit('end');
    a.emit('error', new Error('late'));
    a.emit('close');
    a.emit('error', new Error('later'));
    await sleep(10);
    expect(rec.closes).to.deep.equal([null]);
  });

  it('reports a close nobody asked for (no end, no error) as a StreamLostError', async function () {
    const [a] = pair();
    const rec = recorder();
    new DuplexTransport(a, rec.handlers);
    a.destroy();
    await sleep(10);
    expect(rec.closes).to.have.length(1);
    expect(rec.closes[0]).to.be.instanceOf(StreamLostError);
  });

  it('destroy() reports onClose(null) once, asynchronously, even without a close event', async function () {
    for (const emitClose of [true, false]) {
      const [a] = pair({ emitClose });
      const rec = recorder();
      const tr = new DuplexTransport(a, rec.handlers);
      tr.destroy();
      tr.destroy();
      expect(rec.closes).to.deep.equal([]);
      expect(tr.write([Buffer.from('dropped')])).to.equal(true);
      await sleep(10);
      expect(rec.closes, `emitClose ${emitClose}`).to.deep.equal([null]);
    }
  });

  it("end() flushes then the peer's end completes the close with null", async function () {
    const [a, b] = pair();
    const rec = recorder();
    const tr = new DuplexTransport(a, rec.handlers);
    const got: string[] = [];
    b.on('data', (d) => got.push(String(d)));
    b.on('end', () => b.end());
    tr.write([Buffer.from('bye')]);
    tr.end();
    expect(tr.write([Buffer.from('after end')])).to.equal(true);
    await sleep(10);
    expect(got).to.deep.equal(['bye']);
    expect(rec.closes).to.deep.equal([null]);
  });

  it('end() destroys the stream after endTimeout when the peer never closes', async function () {
    const [a] = pair();
    const rec = recorder();
    const tr = new DuplexTransport(a, rec.handlers, { endTimeout: 0.03 });
    tr.end();
    await sleep(10);
    expect(rec.closes).to.deep.equal([]);
    await sleep(50);
    expect(rec.closes).to.deep.equal([null]);
    expect(a.destroyed).to.equal(true);
  });

  it('stops reporting data after the close', async function () {
    const [a] = pair();
    const rec = recorder();
    new DuplexTransport(a, rec.handlers);
    a.emit('end');
    a.emit('data', Buffer.from('ghost'));
    expect(rec.chunks).to.deep.equal([]);
  });
});

describe('StreamIOLoop', function () {
  /** connect() as a promise. */
  function connect(loop: NodeIOLoop, t: TransportTarget, h: TransportHandlers): Promise<[Error | null, Transport | undefined]> {
    return new Promise((resolve) => loop.connect(t, h, (e, tr) => resolve([e, tr])));
  }

  it("carries a connection over the user's stream and passes the target", async function () {
    const [a, b] = pair();
    const open = sinon.spy((_t: TransportTarget) => a);
    const loop = new StreamIOLoop({ openStream: open });
    const rec = recorder();
    let sync = true;
    const p = connect(loop, target(), rec.handlers).then((r) => {
      expect(sync).to.equal(false); // done never runs inside connect()
      return r;
    });
    sync = false;
    const [err, tr] = await p;
    expect(err).to.equal(null);
    expect(open.firstCall.args[0]).to.deep.include({ host: 'broker.example', port: 5672 });
    const got: string[] = [];
    b.on('data', (d) => got.push(String(d)));
    tr!.write([Buffer.from('AMQP'), Buffer.from([0, 0, 9, 1])]);
    b.write('from broker');
    await sleep(5);
    expect(got).to.deep.equal(['AMQP\x00\x00\x09\x01']);
    expect(rec.chunks.map(String)).to.deep.equal(['from broker']);
    b.end();
    await sleep(5);
    expect(rec.closes).to.deep.equal([null]);
  });

  it('waits for a promise of a stream', async function () {
    const [a] = pair();
    const loop = new StreamIOLoop({ openStream: () => sleep(20).then(() => a) });
    const t0 = Date.now();
    const [err, tr] = await connect(loop, target(), recorder().handlers);
    expect(err).to.equal(null);
    expect(Date.now() - t0).to.be.at.least(15);
    expect((tr as DuplexTransport).stream).to.equal(a);
  });

  it('turns a throw or a rejection into a SocketConnectError with the cause', async function () {
    const boom = new Error('proxy said 403');
    for (const open of [
      () => {
        throw boom;
      },
      () => Promise.reject(boom),
    ]) {
      const loop = new StreamIOLoop({ openStream: open });
      const [err] = await connect(loop, target(), recorder().handlers);
      expect(err).to.be.instanceOf(SocketConnectError);
      expect(err!.message).to.equal('opening a stream to broker.example:5672 failed: proxy said 403');
      expect(err!.cause).to.equal(boom);
    }
  });

  it('rejects something that is not a stream', async function () {
    const loop = new StreamIOLoop({ openStream: () => Promise.resolve(null as unknown as Duplex) });
    const [err] = await connect(loop, target(), recorder().handlers);
    expect(err).to.be.instanceOf(SocketConnectError);
    expect(err!.message).to.contain('not a Duplex stream');
  });

  it('passes a SocketConnectError from openStream through unchanged', async function () {
    const own = new SocketConnectError('tunnel refused');
    const loop = new StreamIOLoop({ openStream: () => Promise.reject(own) });
    const [err] = await connect(loop, target(), recorder().handlers);
    expect(err).to.equal(own);
  });

  it('times out a stream that never comes, and destroys it if it comes late', async function () {
    const [a] = pair();
    let resolveLate: (s: Duplex) => void = () => {};
    const loop = new StreamIOLoop({ openStream: () => new Promise<Duplex>((r) => (resolveLate = r)) });
    const [err] = await connect(loop, target({ socketTimeout: 0.05 }), recorder().handlers);
    expect(err).to.be.instanceOf(SocketConnectError);
    expect(err!.message).to.equal('opening a stream to broker.example:5672 timed out after 0.05s');
    expect(loop.pendingTimerCount).to.equal(0);
    resolveLate(a);
    await sleep(5);
    expect(a.destroyed).to.equal(true);
  });

  it('abort() while the stream is being opened: done is never called, the late stream is destroyed', async function () {
    const [a] = pair();
    const loop = new StreamIOLoop({ openStream: () => sleep(10).then(() => a) });
    const done = sinon.spy();
    const abort = loop.connect(target(), recorder().handlers, done);
    abort();
    await sleep(30);
    expect(done.called).to.equal(false);
    expect(a.destroyed).to.equal(true);
    expect(loop.pendingTimerCount).to.equal(0);
  });

  it('fails when the stream errors before the connection is handed over', async function () {
    const [a] = pair();
    const loop = new StreamIOLoop({ openStream: () => a });
    const p = connect(loop, target(), recorder().handlers);
    a.destroy(Object.assign(new Error('tunnel collapsed'), { code: 'EPIPE' }));
    const [err] = await p;
    expect(err).to.be.instanceOf(SocketConnectError);
    expect(err!.message).to.contain('EPIPE');
  });

  it('waits for a socket that is still connecting, e.g. through a port forward', async function () {
    const srv = net.createServer((s) => s.end('via socket'));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    const loop = new StreamIOLoop({ openStream: (t) => net.connect(port, '127.0.0.1').setNoDelay(t.tcpOptions.noDelay ?? true) });
    const rec = recorder();
    const [err, tr] = await connect(loop, target(), rec.handlers);
    expect(err).to.equal(null);
    expect(((tr as DuplexTransport).stream as net.Socket).connecting).to.equal(false);
    await sleep(20);
    expect(rec.chunks.map(String)).to.deep.equal(['via socket']);
    expect(rec.closes).to.deep.equal([null]);
    srv.close();
    const refused = new StreamIOLoop({ openStream: () => net.connect(port, '127.0.0.1') });
    const [err2] = await connect(refused, target(), recorder().handlers);
    expect(err2).to.be.instanceOf(SocketConnectError);
    expect(err2!.message).to.equal(`TCP connect to broker.example:5672 failed: ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:${port})`);
  });
});
