import { expect } from 'chai';
import * as sinon from 'sinon';
import * as net from 'net';
import * as tls from 'tls';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawn } from 'child_process';
import { NodeIOLoop } from '../../lib/adapters/node-ioloop';
import { StreamIOLoop } from '../../lib/adapters/stream-ioloop';
import { StreamLostError, SocketConnectError } from '../../lib/errors';
import { PlainCredentials } from '../../lib/engine/credentials';
import { ConnectionParameters } from '../../lib/engine/parameters';
import { URLParameters } from '../../lib/engine/url-parameters';
import type { Transport, TransportHandlers, TransportTarget } from '../../lib/engine/ioloop';

const LIB = path.resolve(__dirname, '../../lib/adapters/node-ioloop.ts');

/** A target with the defaults a connection would fill in. */
function target(over: Partial<TransportTarget>): TransportTarget {
  return { host: '127.0.0.1', port: 0, tls: false, socketTimeout: 5, tcpOptions: {}, ...over };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Records what a transport reports. */
class Recorder implements TransportHandlers {
  chunks: Buffer[] = [];
  closes: Array<Error | null> = [];
  drains = 0;
  private waiters: Array<() => void> = [];
  onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.wake();
  }
  onClose(err: Error | null): void {
    this.closes.push(err);
    this.wake();
  }
  onDrain(): void {
    this.drains++;
  }
  get bytes(): string {
    return Buffer.concat(this.chunks).toString();
  }
  /** Resolves once `cond` holds (checked after each event). */
  until(cond: () => boolean): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => (cond() ? resolve() : this.waiters.push(check));
      this.waiters.push(check);
    });
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** connect() as a promise of [err, transport]. */
function connect(loop: NodeIOLoop, t: TransportTarget, rec: Recorder): Promise<[Error | null, Transport | undefined]> {
  return new Promise((resolve) => {
    let calls = 0;
    loop.connect(t, rec, (err, transport) => {
      calls++;
      expect(calls).to.equal(1);
      resolve([err, transport]);
    });
  });
}

/** A net.Server on loopback that hands each socket to `onSocket`. */
async function server(onSocket: (s: net.Socket) => void = () => {}): Promise<{ srv: net.Server; port: number; sockets: net.Socket[] }> {
  const sockets: net.Socket[] = [];
  const srv = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { srv, port: (srv.address() as net.AddressInfo).port, sockets };
}

function closeServer(s: { srv: net.Server; sockets: net.Socket[] }): Promise<void> {
  for (const sock of s.sockets) sock.destroy();
  return new Promise((r) => s.srv.close(() => r()));
}

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const s = await server();
  await closeServer(s);
  return s.port;
}

/** Runs a TypeScript snippet in a child process; resolves with its exit code, output and run time. */
function runChild(code: string): Promise<{ status: number | null; stdout: string; stderr: string; ms: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coney-ioloop-'));
  const file = path.join(dir, 'child.ts');
  fs.writeFileSync(file, `import { NodeIOLoop } from ${JSON.stringify(LIB)};\n${code}\n`);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', require.resolve('tsx/cjs'), file], { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => {
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ status, stdout, stderr, ms: Date.now() - started });
    });
  });
}

describe('NodeIOLoop', function () {
  let loop: NodeIOLoop;
  beforeEach(() => {
    loop = new NodeIOLoop();
  });
  afterEach(() => loop.stop());

  describe('timers and callbacks', function () {
    it('fires timers in order of their delays and drops fired handles', async function () {
      const order: string[] = [];
      loop.callLater(0.03, () => order.push('c'));
      loop.callLater(0.01, () => order.push('a'));
      loop.callLater(0.02, () => order.push('b'));
      expect(loop.pendingTimerCount).to.equal(3);
      await sleep(60);
      expect(order).to.deep.equal(['a', 'b', 'c']);
      expect(loop.pendingTimerCount).to.equal(0);
    });

    it('removeTimeout cancels a timer and ignores unknown or fired handles', async function () {
      const spy = sinon.spy();
      const h = loop.callLater(0.01, spy);
      const fired = loop.callLater(0, () => {});
      await sleep(5);
      loop.removeTimeout(h);
      loop.removeTimeout(h);
      loop.removeTimeout(fired);
      loop.removeTimeout({ id: 12345 });
      expect(loop.pendingTimerCount).to.equal(0);
      await sleep(30);
      expect(spy.called).to.equal(false);
    });

    it('keeps delays beyond setTimeout range pending instead of firing at once', async function () {
      const spy = sinon.spy();
      const h = loop.callLater(3e6, spy); // ~35 days: more than 2^31-1 ms
      await sleep(20);
      expect(spy.called).to.equal(false);
      expect(loop.pendingTimerCount).to.equal(1);
      loop.removeTimeout(h);
      expect(loop.pendingTimerCount).to.equal(0);
    });

    it('runs callbacks FIFO; those added while draining run in the next batch', async function () {
      const order: string[] = [];
      let queuedDuringA = -1;
      loop.addCallback(() => {
        order.push('a');
        loop.addCallback(() => order.push('c'));
        queuedDuringA = loop.pendingCallbackCount;
      });
      loop.addCallbackThreadsafe(() => order.push('b'));
      expect(loop.pendingCallbackCount).to.equal(2);
      expect(order).to.deep.equal([]); // never synchronous
      await sleep(10);
      expect(order).to.deep.equal(['a', 'b', 'c']);
      expect(queuedDuringA).to.equal(1); // 'c' waited in the next batch, not in 'a's
    });

    it('runs callbacks and timers without start()', async function () {
      const spy = sinon.spy();
      loop.addCallback(spy);
      loop.callLater(0, spy);
      await sleep(10);
      expect(spy.callCount).to.equal(2);
    });

    it('an exception in a callback does not lose the others; it goes to onError', async function () {
      const errors: unknown[] = [];
      loop.onError = (e) => errors.push(e);
      const order: number[] = [];
      const boom = new Error('boom');
      loop.addCallback(() => order.push(1));
      loop.addCallback(() => {
        throw boom;
      });
      loop.addCallback(() => order.push(3));
      loop.callLater(0, () => {
        throw new Error('timer boom');
      });
      await sleep(20);
      expect(order).to.deep.equal([1, 3]);
      // setImmediate vs a 0 ms setTimeout: Node does not fix their order, so compare as a set.
      expect((errors as Error[]).map((e) => e.message)).to.have.members(['boom', 'timer boom']);
      expect(errors).to.include(boom);
    });

    it('now() is monotonic seconds', async function () {
      const a = loop.now();
      await sleep(20);
      const b = loop.now();
      expect(b - a).to.be.within(0.015, 1);
    });
  });

  describe('start and stop', function () {
    it('start() returns one promise while running; stop() settles it; restart works', async function () {
      const p1 = loop.start();
      expect(loop.start()).to.equal(p1);
      expect(loop.isRunning).to.equal(true);
      loop.callLater(0.01, () => loop.stop());
      await p1;
      expect(loop.isRunning).to.equal(false);
      loop.stop(); // idempotent
      const p2 = loop.start();
      expect(p2).to.not.equal(p1);
      loop.addCallback(() => loop.stop());
      await p2;
    });

    it('keeps the process alive until a callLater stop (child process)', async function () {
      this.timeout(30000);
      const r = await runChild(`
        const loop = new NodeIOLoop();
        const t0 = performance.now();
        loop.callLater(0.2, () => loop.stop());
        loop.start().then(() => console.log('stopped after ' + Math.round(performance.now() - t0)));
      `);
      expect(r.status, r.stderr).to.equal(0);
      const ms = Number(/stopped after (\d+)/.exec(r.stdout)?.[1]);
      expect(ms, r.stdout + r.stderr).to.be.at.least(199);
    });

    it("keeps the process alive by itself: stop comes from an unref'd timer (child process)", async function () {
      this.timeout(30000);
      // Without the loop's own handle, Node would exit at once with start() pending.
      const r = await runChild(`
        const loop = new NodeIOLoop();
        const t0 = performance.now();
        setTimeout(() => loop.stop(), 200).unref();
        loop.start().then(() => console.log('stopped after ' + Math.round(performance.now() - t0)));
      `);
      expect(r.status, r.stderr).to.equal(0);
      const ms = Number(/stopped after (\d+)/.exec(r.stdout)?.[1]);
      expect(ms, r.stdout + r.stderr).to.be.at.least(199);
    });

    it('rethrows a callback exception asynchronously when there is no onError, after the other callbacks (child process)', async function () {
      this.timeout(30000);
      const r = await runChild(`
        const loop = new NodeIOLoop();
        loop.addCallback(() => { throw new Error('callback exploded'); });
        loop.addCallback(() => console.log('second callback ran'));
      `);
      const output = `status ${r.status}\n${r.stdout}\n${r.stderr}`;
      expect(r.status, output).to.not.equal(0);
      expect(r.stdout, output).to.contain('second callback ran');
      expect(r.stderr, output).to.contain('callback exploded');
    });
  });

  describe('connect over TCP', function () {
    it('connects, writes a batch in order as one chunk, and reads', async function () {
      const got: Buffer[] = [];
      const s = await server((sock) => {
        sock.on('data', (d) => got.push(d));
        sock.write('hello client');
      });
      const rec = new Recorder();
      const [err, tr] = await connect(loop, target({ port: s.port }), rec);
      expect(err).to.equal(null);
      expect(tr!.write([Buffer.from('one,'), Buffer.from('two,'), Buffer.from('three')])).to.equal(true);
      await rec.until(() => rec.bytes === 'hello client');
      while (Buffer.concat(got).length < 13) await sleep(5);
      expect(Buffer.concat(got).toString()).to.equal('one,two,three');
      expect(got).to.have.length(1); // corked: one writev, one segment on loopback
      expect(tr!.bufferedBytes).to.equal(0);
      tr!.destroy();
      await rec.until(() => rec.closes.length > 0);
      await closeServer(s);
    });

    it("reports the peer's end as onClose(null), once", async function () {
      const s = await server((sock) => sock.end('bye'));
      const rec = new Recorder();
      const [err] = await connect(loop, target({ port: s.port }), rec);
      expect(err).to.equal(null);
      await rec.until(() => rec.closes.length > 0);
      await sleep(20);
      expect(rec.closes).to.deep.equal([null]);
      expect(rec.bytes).to.equal('bye');
      await closeServer(s);
    });

    it('reports a reset by the peer as a StreamLostError, once', async function () {
      const s = await server((sock) => setTimeout(() => sock.resetAndDestroy(), 10));
      const rec = new Recorder();
      await connect(loop, target({ port: s.port }), rec);
      await rec.until(() => rec.closes.length > 0);
      await sleep(20);
      expect(rec.closes).to.have.length(1);
      const e = rec.closes[0]!;
      expect(e).to.be.instanceOf(StreamLostError);
      expect(e.message).to.contain('ECONNRESET');
      expect((e.cause as NodeJS.ErrnoException).code).to.equal('ECONNRESET');
      await closeServer(s);
    });

    it('end() flushes, closes, and reports onClose(null) once', async function () {
      let serverGot = '';
      let serverEnded = false;
      const s = await server((sock) => {
        sock.on('data', (d: Buffer) => (serverGot += d.toString()));
        sock.on('end', () => (serverEnded = true));
      });
      const rec = new Recorder();
      const [, tr] = await connect(loop, target({ port: s.port }), rec);
      tr!.write([Buffer.from('last words')]);
      tr!.end();
      tr!.end();
      expect(tr!.write([Buffer.from('ignored')])).to.equal(true);
      await rec.until(() => rec.closes.length > 0);
      expect(rec.closes).to.deep.equal([null]);
      expect(serverGot).to.equal('last words');
      expect(serverEnded).to.equal(true);
      await closeServer(s);
    });

    it('destroy() reports onClose(null) once, asynchronously', async function () {
      const s = await server();
      const rec = new Recorder();
      const [, tr] = await connect(loop, target({ port: s.port }), rec);
      tr!.destroy();
      expect(rec.closes).to.deep.equal([]);
      tr!.destroy();
      await rec.until(() => rec.closes.length > 0);
      await sleep(20);
      expect(rec.closes).to.deep.equal([null]);
      await closeServer(s);
    });

    it('routes what done and the transport handlers throw to onError; the transport goes on', async function () {
      const errors: unknown[] = [];
      loop.onError = (e) => errors.push(e);
      const s = await server((sock) => {
        sock.write('one');
        setTimeout(() => sock.end('two'), 20);
      });
      const rec = new Recorder();
      const onData = rec.onData.bind(rec);
      rec.onData = (chunk) => {
        onData(chunk);
        throw new Error(`onData threw on ${chunk.toString()}`);
      };
      await new Promise<void>((resolve) =>
        loop.connect(target({ port: s.port }), rec, () => {
          resolve();
          throw new Error('done threw');
        }),
      );
      await rec.until(() => rec.closes.length > 0);
      expect(rec.bytes).to.equal('onetwo');
      expect(rec.closes).to.deep.equal([null]);
      expect((errors as Error[]).map((e) => e.message)).to.deep.equal(['done threw', 'onData threw on one', 'onData threw on two']);
      await closeServer(s);
    });

    it('sets TCP_NODELAY by default and keep-alive when asked', async function () {
      const noDelay = sinon.spy(net.Socket.prototype, 'setNoDelay');
      const keepAlive = sinon.spy(net.Socket.prototype, 'setKeepAlive');
      try {
        const s = await server();
        const rec = new Recorder();
        const [, a] = await connect(loop, target({ port: s.port }), rec);
        expect(noDelay.calledWith(true)).to.equal(true);
        expect(keepAlive.called).to.equal(false);
        const [, b] = await connect(
          loop,
          target({ port: s.port, tcpOptions: { noDelay: false, keepAlive: true, keepAliveInitialDelay: 1500 } }),
          new Recorder(),
        );
        expect(noDelay.calledWith(false)).to.equal(true);
        expect(keepAlive.calledWith(true, 1500)).to.equal(true);
        a!.destroy();
        b!.destroy();
        await closeServer(s);
      } finally {
        noDelay.restore();
        keepAlive.restore();
      }
    });

    it('fails with a SocketConnectError naming host:port and ECONNREFUSED', async function () {
      const port = await freePort();
      const [err, tr] = await connect(loop, target({ port }), new Recorder());
      expect(tr).to.equal(undefined);
      expect(err).to.be.instanceOf(SocketConnectError);
      expect(err!.message).to.contain(`127.0.0.1:${port}`).and.to.contain('ECONNREFUSED');
      expect((err!.cause as NodeJS.ErrnoException).code).to.equal('ECONNREFUSED');
      expect(loop.pendingTimerCount).to.equal(0);
    });

    it('fails with a SocketConnectError on a DNS failure', async function () {
      const [err] = await connect(loop, target({ host: 'no-such-host.invalid', port: 5672 }), new Recorder());
      expect(err).to.be.instanceOf(SocketConnectError);
      expect(err!.message).to.match(/no-such-host\.invalid:5672 failed: (ENOTFOUND|EAI_AGAIN)|timed out/);
    });

    it('turns an invalid port into a SocketConnectError, asynchronously', async function () {
      let called = false;
      const p = new Promise<Error | null>((resolve) =>
        loop.connect(target({ port: 70000 }), new Recorder(), (err) => {
          called = true;
          resolve(err);
        }),
      );
      expect(called).to.equal(false);
      const err = await p;
      expect(err).to.be.instanceOf(SocketConnectError);
      expect(err!.message).to.contain('70000');
    });

    it('abort() before the connect completes: done is never called, nothing is left behind', async function () {
      const s = await server();
      const before = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
      const done = sinon.spy();
      const abort = loop.connect(target({ port: s.port }), new Recorder(), done);
      expect(loop.pendingTimerCount).to.equal(1); // the socketTimeout
      abort();
      abort();
      expect(loop.pendingTimerCount).to.equal(0);
      await sleep(50);
      expect(done.called).to.equal(false);
      const after = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
      expect(after).to.be.at.most(before);
      await closeServer(s);
    });

    it('abort() after done does nothing', async function () {
      const s = await server((sock) => sock.write('x'));
      const rec = new Recorder();
      let abort: () => void = () => {};
      const [err, tr] = await new Promise<[Error | null, Transport | undefined]>((resolve) => {
        abort = loop.connect(target({ port: s.port }), rec, (e, t) => resolve([e, t]));
      });
      expect(err).to.equal(null);
      abort();
      await rec.until(() => rec.bytes === 'x');
      expect(rec.closes).to.deep.equal([]);
      tr!.destroy();
      await closeServer(s);
    });

    it('leaves no connect listeners on the socket it hands over', async function () {
      const s = await server();
      const [, tr] = await connect(loop, target({ port: s.port }), new Recorder());
      const sock = (tr as unknown as { stream: net.Socket }).stream;
      expect(sock.listenerCount('connect')).to.equal(0);
      expect(sock.listenerCount('close')).to.equal(1); // the transport's own
      expect(sock.listenerCount('error')).to.equal(1);
      tr!.destroy();
      await closeServer(s);
    });
  });

  describe('connect over a Unix socket', function () {
    it('connects to target.path', async function () {
      if (process.platform === 'win32') this.skip();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coney-unix-'));
      const sockPath = path.join(dir, 'broker.sock');
      const srv = net.createServer((s) => s.end('over unix'));
      await new Promise<void>((r) => srv.listen(sockPath, r));
      const rec = new Recorder();
      const [err] = await connect(loop, target({ host: 'ignored', port: 1, path: sockPath }), rec);
      expect(err).to.equal(null);
      await rec.until(() => rec.closes.length > 0);
      expect(rec.bytes).to.equal('over unix');
      await new Promise((r) => srv.close(r));
      const [err2] = await connect(loop, target({ path: sockPath }), new Recorder());
      expect(err2).to.be.instanceOf(SocketConnectError);
      expect(err2!.message).to.contain(sockPath);
      fs.rmSync(dir, { recursive: true, force: true });
    });
  });

  describe('connect over TLS', function () {
    let dir: string;
    let key: Buffer;
    let cert: Buffer;

    before(function () {
      this.timeout(20000);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coney-tls-'));
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          path.join(dir, 'key.pem'),
          '-out',
          path.join(dir, 'cert.pem'),
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost,IP:127.0.0.1',
        ],
        { stdio: 'ignore' },
      );
      key = fs.readFileSync(path.join(dir, 'key.pem'));
      cert = fs.readFileSync(path.join(dir, 'cert.pem'));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    async function tlsServer(host: string): Promise<{ srv: tls.Server; port: number; sni: Array<string | false> }> {
      const sni: Array<string | false> = [];
      const srv = tls.createServer({ key, cert }, (s) => {
        sni.push((s as tls.TLSSocket & { servername: string | false }).servername);
        s.on('error', () => {});
        s.on('data', (d) => s.write(`echo:${d}`));
      });
      srv.on('tlsClientError', () => {});
      await new Promise<void>((r) => srv.listen(0, host, r));
      return { srv, port: (srv.address() as net.AddressInfo).port, sni };
    }

    it('connects when the CA is trusted; no SNI for an IP address', async function () {
      const s = await tlsServer('127.0.0.1');
      const rec = new Recorder();
      const [err, tr] = await connect(loop, target({ port: s.port, tls: { ca: cert } }), rec);
      expect(err).to.equal(null);
      tr!.write([Buffer.from('ping')]);
      await rec.until(() => rec.bytes === 'echo:ping');
      expect(s.sni).to.deep.equal([false]);
      tr!.destroy();
      await rec.until(() => rec.closes.length > 0);
      expect(rec.closes).to.deep.equal([null]);
      await new Promise((r) => s.srv.close(r));
    });

    it('sends the host name as SNI by default', async function () {
      const s = await tlsServer('localhost');
      const [err, tr] = await connect(loop, target({ host: 'localhost', port: s.port, tls: { ca: cert } }), new Recorder());
      expect(err).to.equal(null);
      while (s.sni.length === 0) await sleep(5); // the server side may finish after the client
      expect(s.sni).to.deep.equal(['localhost']);
      tr!.destroy();
      await new Promise((r) => s.srv.close(r));
    });

    it('fails with a SocketConnectError naming the TLS reason without the CA', async function () {
      const s = await tlsServer('127.0.0.1');
      const [err] = await connect(loop, target({ port: s.port, tls: {} }), new Recorder());
      expect(err).to.be.instanceOf(SocketConnectError);
      expect(err!.message).to.contain(`TLS handshake with 127.0.0.1:${s.port} failed`).and.to.contain('self-signed certificate');
      expect((err!.cause as NodeJS.ErrnoException).code).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT');
      expect(loop.pendingTimerCount).to.equal(0);
      await new Promise((r) => s.srv.close(r));
    });

    it('StreamIOLoop waits for the handshake of a TLS socket it is given', async function () {
      const s = await tlsServer('127.0.0.1');
      const seen: TransportTarget[] = [];
      const streams = new StreamIOLoop({
        openStream: (t) => {
          seen.push(t);
          return tls.connect({ host: '127.0.0.1', port: s.port, ca: cert });
        },
      });
      const rec = new Recorder();
      const [err, tr] = await connect(streams, target({ port: 1 }), rec);
      expect(err).to.equal(null);
      const sock = (tr as unknown as { stream: tls.TLSSocket }).stream;
      expect(sock.authorized).to.equal(true);
      expect(seen[0].port).to.equal(1);
      tr!.write([Buffer.from('hi')]);
      await rec.until(() => rec.bytes === 'echo:hi');
      tr!.destroy();
      const [err2] = await connect(
        new StreamIOLoop({ openStream: () => tls.connect({ host: '127.0.0.1', port: s.port }) }),
        target({ port: s.port }),
        new Recorder(),
      );
      expect(err2).to.be.instanceOf(SocketConnectError);
      expect(err2!.message).to.contain('TLS handshake').and.to.contain('self-signed certificate');
      await new Promise((r) => s.srv.close(r));
    });

    it('times out after socketTimeout when the server never answers the TLS hello', async function () {
      let serverSawClose = false;
      // Plain TCP: accepts, reads, never speaks TLS.
      const s = await server((sock) => sock.resume().on('close', () => (serverSawClose = true)));
      const t0 = Date.now();
      const [err] = await connect(loop, target({ port: s.port, tls: {}, socketTimeout: 0.3 }), new Recorder());
      const ms = Date.now() - t0;
      expect(err).to.be.instanceOf(SocketConnectError);
      expect(err!.message).to.equal(`TLS handshake with 127.0.0.1:${s.port} timed out after 0.3s`);
      expect(ms).to.be.within(280, 1500);
      expect(loop.pendingTimerCount).to.equal(0);
      await sleep(50);
      expect(serverSawClose).to.equal(true); // the client socket was closed
      await closeServer(s);
    });

    it('abort() during the handshake: done is never called, the socket is closed', async function () {
      const s = await server();
      const done = sinon.spy();
      const abort = loop.connect(target({ port: s.port, tls: {}, socketTimeout: 0.2 }), new Recorder(), done);
      while (s.sockets.length === 0) await sleep(5);
      abort();
      expect(loop.pendingTimerCount).to.equal(0);
      await sleep(300);
      expect(done.called).to.equal(false);
      await closeServer(s);
    });

    describe('a warning when certificate verification is off', function () {
      let warn: sinon.SinonStub;
      let savedEnv: string | undefined;
      beforeEach(() => {
        savedEnv = process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
        // Swallows Node's own warning about the variable as well.
        warn = sinon.stub(process, 'emitWarning');
      });
      afterEach(() => {
        warn.restore();
        if (savedEnv === undefined) delete process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
        else process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = savedEnv;
      });
      const coneyWarnings = () =>
        warn
          .getCalls()
          .filter((c) => c.args[1] === 'ConeyWarning')
          .map((c) => String(c.args[0]));

      it('warns once per loop and target for rejectUnauthorized: false, naming host:port only', async function () {
        const s = await tlsServer('127.0.0.1');
        const t = target({ port: s.port, tls: { rejectUnauthorized: false, passphrase: 'Pa55phrase' } });
        const [err, tr] = await connect(loop, t, new Recorder());
        expect(err).to.equal(null);
        tr!.destroy();
        const [err2, tr2] = await connect(loop, { ...t, tls: { rejectUnauthorized: false } }, new Recorder());
        expect(err2).to.equal(null);
        tr2!.destroy();
        const messages = coneyWarnings();
        expect(messages).to.have.length(1);
        expect(messages[0]).to.contain(`127.0.0.1:${s.port}`).and.to.contain('rejectUnauthorized: false');
        expect(messages[0]).not.to.contain('Pa55');
        // Another loop (another connection) warns again.
        const other = new NodeIOLoop();
        const [err3, tr3] = await connect(other, t, new Recorder());
        expect(err3).to.equal(null);
        tr3!.destroy();
        expect(coneyWarnings()).to.have.length(2);
        await new Promise((r) => s.srv.close(r));
      });

      it('warns for NODE_TLS_REJECT_UNAUTHORIZED=0 when the options leave the flag unset', async function () {
        process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = '0';
        const s = await tlsServer('127.0.0.1');
        const [err, tr] = await connect(loop, target({ port: s.port, tls: {} }), new Recorder());
        expect(err).to.equal(null);
        tr!.destroy();
        expect(coneyWarnings()).to.have.length(1);
        expect(coneyWarnings()[0]).to.contain('NODE_TLS_REJECT_UNAUTHORIZED=0').and.to.contain(`127.0.0.1:${s.port}`);
        // An explicit rejectUnauthorized: true overrides the variable: verified, no warning.
        const [err2] = await connect(new NodeIOLoop(), target({ port: s.port, tls: { rejectUnauthorized: true } }), new Recorder());
        expect(err2).to.be.instanceOf(SocketConnectError);
        expect(coneyWarnings()).to.have.length(1);
        await new Promise((r) => s.srv.close(r));
      });

      it('warns for ssl: { rejectUnauthorized: false } and for a URL with ssl_options verify none, without credentials', async function () {
        const s = await tlsServer('127.0.0.1');
        const fromParams = new ConnectionParameters({
          host: '127.0.0.1',
          port: s.port,
          ssl: { rejectUnauthorized: false },
          credentials: new PlainCredentials('bob', 'Hunt3r22'),
        }).transportTarget();
        const fromUrl = new URLParameters(
          `amqps://bob:Hunt3r22@127.0.0.1:${s.port}/?ssl_options=${encodeURIComponent(JSON.stringify({ verify: 'none' }))}`,
        ).transportTarget();
        for (const t of [fromParams, fromUrl]) {
          const [err, tr] = await connect(new NodeIOLoop(), t, new Recorder());
          expect(err).to.equal(null);
          tr!.destroy();
        }
        const messages = coneyWarnings();
        expect(messages).to.have.length(2);
        for (const m of messages) {
          expect(m).to.contain(`127.0.0.1:${s.port}`);
          expect(m).not.to.contain('bob').and.not.to.contain('Hunt3r');
        }
        await new Promise((r) => s.srv.close(r));
      });

      it('does not warn when the certificate is verified', async function () {
        const s = await tlsServer('127.0.0.1');
        const [err, tr] = await connect(loop, target({ port: s.port, tls: { ca: cert } }), new Recorder());
        expect(err).to.equal(null);
        tr!.destroy();
        expect(coneyWarnings()).to.deep.equal([]);
        await new Promise((r) => s.srv.close(r));
      });

      it('keeps verification on for an explicit rejectUnauthorized: undefined (Node reads it as false)', async function () {
        const s = await tlsServer('127.0.0.1');
        const [err] = await connect(loop, target({ port: s.port, tls: { rejectUnauthorized: undefined } }), new Recorder());
        expect(err).to.be.instanceOf(SocketConnectError);
        expect(err!.message).to.contain('self-signed certificate');
        expect(coneyWarnings()).to.deep.equal([]);
        await new Promise((r) => s.srv.close(r));
      });
    });
  });
});

describe('adapters: async loop callbacks', () => {
  it("an async callback's rejection reaches the loop's onError, never an unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (r: unknown): void => void unhandled.push(r);
    process.on('unhandledRejection', onUnhandled);
    try {
      const errors: unknown[] = [];
      const loop = new NodeIOLoop({ onError: (e) => errors.push(e) });
      loop.addCallback(async () => {
        throw new Error('async callback failed');
      });
      loop.callLater(0, async () => {
        throw new Error('async timer failed');
      });
      await new Promise((r) => setTimeout(r, 30));
      expect(errors.map((e) => (e as Error).message).sort()).to.deep.equal(['async callback failed', 'async timer failed']);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).to.deep.equal([]);
  });
});
