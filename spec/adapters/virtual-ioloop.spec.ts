import { expect } from 'chai';
import * as sinon from 'sinon';
import { VirtualIOLoop, VirtualPeer } from '../../lib/adapters/virtual-ioloop';
import { SocketConnectError, StreamLostError } from '../../lib/errors';
import type { Transport, TransportHandlers, TransportTarget } from '../../lib/engine/ioloop';

function target(over: Partial<TransportTarget> = {}): TransportTarget {
  return { host: 'rabbit', port: 5672, tls: false, socketTimeout: 10, tcpOptions: {}, ...over };
}

/** Handlers that record everything, with the loop time of each close. */
function recorder(loop: VirtualIOLoop) {
  const rec = {
    chunks: [] as Buffer[],
    closes: [] as Array<Error | null>,
    closedAt: -1,
    drains: 0,
    handlers: {} as TransportHandlers,
    get text(): string {
      return Buffer.concat(rec.chunks).toString();
    },
  };
  rec.handlers = {
    onData: (c) => void rec.chunks.push(c),
    onClose: (e) => {
      rec.closes.push(e);
      rec.closedAt = loop.now();
    },
    onDrain: () => rec.drains++,
  };
  return rec;
}

/** Listens on rabbit:5672, connects, runs until accepted; returns both ends. */
function open(loop: VirtualIOLoop, listenOptions = {}) {
  const peers: VirtualPeer[] = [];
  loop.listen('rabbit', 5672, (p) => peers.push(p), listenOptions);
  const rec = recorder(loop);
  let transport: Transport | undefined;
  loop.connect(target(), rec.handlers, (err, t) => {
    expect(err).to.equal(null);
    transport = t;
  });
  loop.runUntilIdle();
  expect(transport, 'connected').to.not.equal(undefined);
  return { rec, transport: transport!, peer: peers[0] };
}

describe('VirtualIOLoop', function () {
  let loop: VirtualIOLoop;
  beforeEach(() => {
    loop = new VirtualIOLoop();
  });
  afterEach(() => loop.stop());

  describe('time, timers and callbacks', function () {
    it('starts at 0 and only moves when told', function () {
      expect(loop.now()).to.equal(0);
      loop.runUntilIdle();
      expect(loop.now()).to.equal(0);
      loop.advance(2.5);
      expect(loop.now()).to.equal(2.5);
    });

    it("fires timers in time order, equal times in scheduling order, with now() at each timer's time", function () {
      const seen: Array<[string, number]> = [];
      const at = (name: string) => () => seen.push([name, loop.now()]);
      loop.callLater(3, at('c'));
      loop.callLater(1, at('a1'));
      loop.callLater(1, at('a2'));
      loop.callLater(2, at('b'));
      loop.callLater(1, at('a3'));
      expect(loop.pendingTimerCount).to.equal(5);
      expect(loop.nextTimerAt).to.equal(1);
      loop.advance(2);
      expect(seen).to.deep.equal([
        ['a1', 1],
        ['a2', 1],
        ['a3', 1],
        ['b', 2],
      ]);
      expect(loop.now()).to.equal(2);
      expect(loop.pendingTimerCount).to.equal(1);
      loop.advance(5);
      expect(seen[4]).to.deep.equal(['c', 3]);
      expect(loop.now()).to.equal(7);
    });

    it('runs callbacks before timers and between timers', function () {
      const order: string[] = [];
      loop.callLater(1, () => {
        order.push('t1');
        loop.addCallback(() => order.push('cb-after-t1'));
      });
      loop.callLater(1, () => order.push('t2'));
      loop.addCallback(() => order.push('cb'));
      loop.advance(1);
      expect(order).to.deep.equal(['cb', 't1', 'cb-after-t1', 't2']);
    });

    it('fires timers scheduled during advance() when they fall inside the window', function () {
      const seen: number[] = [];
      loop.callLater(1, () => {
        seen.push(loop.now());
        loop.callLater(0.5, () => seen.push(loop.now()));
        loop.callLater(5, () => seen.push(loop.now()));
      });
      loop.advance(2);
      expect(seen).to.deep.equal([1, 1.5]);
      loop.advance(10);
      expect(seen).to.deep.equal([1, 1.5, 6]);
    });

    it('removeTimeout cancels; unknown and fired handles are ignored', function () {
      const spy = sinon.spy();
      const h = loop.callLater(1, spy);
      const fired = loop.callLater(0, () => {});
      loop.runUntil(() => false, 0);
      loop.removeTimeout(fired);
      loop.removeTimeout(h);
      loop.removeTimeout(h);
      loop.removeTimeout({ id: 999 });
      expect(loop.pendingTimerCount).to.equal(0);
      loop.advance(10);
      expect(spy.called).to.equal(false);
    });

    it('stays small when timers are re-armed and removed many times (heartbeat pattern)', function () {
      let h = loop.callLater(60, () => {});
      for (let i = 0; i < 10000; i++) {
        loop.removeTimeout(h);
        h = loop.callLater(60, () => {});
      }
      expect(loop.pendingTimerCount).to.equal(1);
      expect((loop as unknown as { heap: { size: number } }).heap.size).to.be.below(100);
    });

    it('runUntilIdle runs nested callbacks FIFO without moving time', function () {
      const order: number[] = [];
      loop.addCallback(() => {
        order.push(1);
        loop.addCallback(() => {
          order.push(3);
          loop.addCallback(() => order.push(5));
        });
      });
      loop.addCallbackThreadsafe(() => order.push(2));
      loop.callLater(0, () => order.push(99));
      loop.addCallback(() => order.push(4));
      expect(loop.pendingCallbackCount).to.equal(3);
      loop.runUntilIdle();
      expect(order).to.deep.equal([1, 2, 4, 3, 5]);
      expect(loop.pendingCallbackCount).to.equal(0);
      expect(loop.pendingTimerCount).to.equal(1); // a 0 s timer still needs time to move
    });

    it('guards against callbacks that reschedule themselves forever', function () {
      const small = new VirtualIOLoop({ maxCallbacksPerRun: 1000 });
      const again = () => small.addCallback(again);
      small.addCallback(again);
      expect(() => small.runUntilIdle()).to.throw(/more than 1000 callbacks/);
    });

    it('runUntil stops as soon as the predicate holds, or gives up after maxSeconds', function () {
      let ticks = 0;
      const tick = () => {
        ticks++;
        loop.callLater(10, tick);
      };
      loop.callLater(10, tick);
      expect(loop.runUntil(() => ticks === 3)).to.equal(true);
      expect(loop.now()).to.equal(30);
      expect(loop.runUntil(() => ticks === 100, 25)).to.equal(false);
      expect(loop.now()).to.equal(55);
      expect(ticks).to.equal(5);
      expect(new VirtualIOLoop().runUntil(() => false)).to.equal(false); // nothing scheduled
    });

    it('a throwing callback does not lose the others; the run throws it at its end', function () {
      const order: number[] = [];
      loop.addCallback(() => order.push(1));
      loop.addCallback(() => {
        throw new Error('boom');
      });
      loop.addCallback(() => order.push(3));
      expect(() => loop.runUntilIdle()).to.throw('boom');
      expect(order).to.deep.equal([1, 3]);
      loop.addCallback(() => {
        throw new Error('x');
      });
      loop.callLater(1, () => {
        throw new Error('y');
      });
      expect(() => loop.advance(1)).to.throw(AggregateError);
    });

    it('sends exceptions to onError when set', function () {
      const errors: unknown[] = [];
      loop.onError = (e) => errors.push(e);
      loop.addCallback(() => {
        throw new Error('caught');
      });
      loop.runUntilIdle();
      expect((errors[0] as Error).message).to.equal('caught');
    });

    it('refuses a run started from inside a callback', function () {
      const errors: unknown[] = [];
      loop.onError = (e) => errors.push(e);
      loop.addCallback(() => loop.runUntilIdle());
      loop.runUntilIdle();
      expect((errors[0] as Error).message).to.match(/inside a callback/);
    });
  });

  describe('start() / stop(): self-driving', function () {
    it('runs callbacks and jumps from timer to timer, letting promises interleave', async function () {
      const seen: Array<[string, number]> = [];
      loop.callLater(30, () => seen.push(['t30', loop.now()]));
      loop.callLater(10, async () => {
        seen.push(['t10', loop.now()]);
        await Promise.resolve();
        seen.push(['after await', loop.now()]); // a microtask: before the loop's next step
      });
      loop.callLater(60, () => loop.stop());
      const t0 = Date.now();
      await loop.start();
      expect(Date.now() - t0).to.be.below(1000);
      expect(seen).to.deep.equal([
        ['t10', 10],
        ['after await', 10],
        ['t30', 30],
      ]);
      expect(loop.now()).to.equal(60);
      expect(loop.isRunning).to.equal(false);
    });

    it('sleeps with nothing to do and wakes on new work', async function () {
      const p = loop.start();
      expect(loop.start()).to.equal(p);
      await new Promise((r) => setTimeout(r, 20));
      expect(loop.now()).to.equal(0);
      loop.callLater(5, () => loop.stop());
      await p;
      expect(loop.now()).to.equal(5);
    });

    it('can be restarted after stop()', async function () {
      loop.addCallback(() => loop.stop());
      await loop.start();
      const spy = sinon.spy();
      loop.callLater(1, spy);
      loop.callLater(2, () => loop.stop());
      await loop.start();
      expect(spy.calledOnce).to.equal(true);
    });

    it('sends exceptions to onError, or rethrows them asynchronously, and keeps going', async function () {
      const errors: unknown[] = [];
      loop.onError = (e) => errors.push(e);
      loop.callLater(1, () => {
        throw new Error('to the hook');
      });
      loop.callLater(2, () => loop.stop());
      await loop.start();
      expect((errors[0] as Error).message).to.equal('to the hook');

      // Without a hook the error is rethrown as an uncaught exception (mocha's handler set aside meanwhile).
      loop.onError = undefined;
      const saved = process.listeners('uncaughtException');
      process.removeAllListeners('uncaughtException');
      try {
        const uncaught = new Promise<Error>((resolve) => process.once('uncaughtException', resolve));
        const after = sinon.spy();
        loop.addCallback(() => {
          throw new Error('uncaught one');
        });
        loop.addCallback(after);
        loop.callLater(1, () => loop.stop());
        await loop.start();
        expect((await uncaught).message).to.equal('uncaught one');
        expect(after.calledOnce).to.equal(true);
      } finally {
        for (const l of saved) process.on('uncaughtException', l);
      }
    });

    it('a step that stops the loop fires no more timers', async function () {
      const late = sinon.spy();
      loop.callLater(1, () => loop.stop());
      loop.callLater(1, late);
      await loop.start();
      expect(late.called).to.equal(false);
      expect(loop.pendingTimerCount).to.equal(1);
    });
  });

  describe('virtual connections', function () {
    it('connects to a listener; bytes flow both ways, one chunk per write, in order', function () {
      const { rec, transport, peer } = open(loop);
      expect(peer.target.host).to.equal('rabbit');
      expect(transport.write([Buffer.from('AMQP'), Buffer.from([0, 0, 9, 1])])).to.equal(true);
      transport.write([Buffer.from('second')]);
      expect(peer.received).to.deep.equal([]); // delivered through the loop, not synchronously
      loop.runUntilIdle();
      expect(peer.received.map((b) => b.toString('hex'))).to.deep.equal(['414d515000000901', Buffer.from('second').toString('hex')]);
      const onData = sinon.spy();
      peer.onData(onData);
      peer.write('frame-part-1');
      peer.write(Buffer.from('frame-part-2'));
      loop.runUntilIdle();
      expect(rec.chunks.map(String)).to.deep.equal(['frame-part-1', 'frame-part-2']);
      transport.write([Buffer.from('x')]);
      loop.runUntilIdle();
      expect(onData.calledOnceWith(Buffer.from('x'))).to.equal(true);
      expect(peer.receivedBytes().length).to.equal(8 + 6 + 1);
    });

    it("can split the peer's bytes into chunks of a given size", function () {
      const { rec, peer } = open(loop);
      peer.write(Buffer.from('0123456789'), 4);
      loop.runUntilIdle();
      expect(rec.chunks.map(String)).to.deep.equal(['0123', '4567', '89']);
    });

    it('copies what the client writes (the caller may reuse its buffers)', function () {
      const { transport, peer } = open(loop);
      const buf = Buffer.from('abc');
      transport.write([buf]);
      buf.write('zzz');
      loop.runUntilIdle();
      expect(peer.received[0].toString()).to.equal('abc');
    });

    it('client end(): data flushed, both sides close with null once', function () {
      const { rec, transport, peer } = open(loop);
      const peerClose = sinon.spy();
      peer.onClose(peerClose);
      peer.write('in flight to client');
      transport.write([Buffer.from('close-ok')]);
      transport.end();
      transport.end();
      expect(transport.write([Buffer.from('dropped')])).to.equal(true);
      loop.runUntilIdle();
      expect(peer.received.map(String)).to.deep.equal(['close-ok']);
      expect(rec.chunks.map(String)).to.deep.equal(['in flight to client']);
      expect(peerClose.calledOnceWith(null)).to.equal(true);
      expect(rec.closes).to.deep.equal([null]);
      expect(peer.closed).to.equal(true);
      expect(peer.closeError).to.equal(null);
    });

    it('peer end(): the client gets the data first, then onClose(null) once', function () {
      const { rec, peer } = open(loop);
      peer.write('bye');
      peer.end();
      peer.write('ignored');
      expect(peer.ending).to.equal(true);
      loop.runUntilIdle();
      expect(rec.chunks.map(String)).to.deep.equal(['bye']);
      expect(rec.closes).to.deep.equal([null]);
      loop.runUntilIdle();
      expect(rec.closes).to.have.length(1);
    });

    it('peer destroy(): the client gets one StreamLostError; data in flight is dropped', function () {
      const { rec, peer } = open(loop);
      peer.write('lost');
      peer.destroy();
      loop.runUntilIdle();
      expect(rec.chunks).to.deep.equal([]);
      expect(rec.closes).to.have.length(1);
      const err = rec.closes[0]!;
      expect(err).to.be.instanceOf(StreamLostError);
      expect(err.message).to.contain('ECONNRESET');
      expect(peer.closed).to.equal(true);
    });

    it('peer destroy(err) puts err in the cause', function () {
      const { rec, peer } = open(loop);
      const cause = Object.assign(new Error('broken pipe'), { code: 'EPIPE' });
      peer.destroy(cause);
      loop.runUntilIdle();
      expect(rec.closes[0]!.message).to.equal('Stream connection lost: EPIPE (broken pipe)');
      expect(rec.closes[0]!.cause).to.equal(cause);
    });

    it('client destroy(): onClose(null) once, asynchronously; the peer sees a reset', function () {
      const { rec, transport, peer } = open(loop);
      const peerClose = sinon.spy();
      peer.onClose(peerClose);
      transport.write([Buffer.from('never arrives')]);
      transport.destroy();
      transport.destroy();
      expect(rec.closes).to.deep.equal([]);
      loop.runUntilIdle();
      expect(rec.closes).to.deep.equal([null]);
      expect(peer.received).to.deep.equal([]);
      expect(peerClose.firstCall.args[0]).to.be.instanceOf(StreamLostError);
      expect(transport.bufferedBytes).to.equal(0);
    });

    it('refuses a connect to an address nobody listens on, on the next callback', function () {
      const done = sinon.spy();
      loop.connect(target({ port: 5673 }), recorder(loop).handlers, done);
      expect(done.called).to.equal(false);
      loop.runUntilIdle();
      expect(done.calledOnce).to.equal(true);
      const err = done.firstCall.args[0] as Error;
      expect(err).to.be.instanceOf(SocketConnectError);
      expect(err.message).to.equal('TCP connect to rabbit:5673 failed: ECONNREFUSED (connect ECONNREFUSED rabbit:5673)');
      expect((err.cause as NodeJS.ErrnoException).code).to.equal('ECONNREFUSED');
      expect(loop.pendingTimerCount).to.equal(0);
    });

    it('stops accepting when the listener is closed', function () {
      const close = loop.listen('rabbit', 5672, () => {});
      expect(() => loop.listen('rabbit', 5672, () => {})).to.throw(/EADDRINUSE/);
      close();
      const done = sinon.spy();
      loop.connect(target(), recorder(loop).handlers, done);
      loop.runUntilIdle();
      expect(done.firstCall.args[0]).to.be.instanceOf(SocketConnectError);
    });

    it('acceptDelay: connected after that much virtual time', function () {
      loop.listen('rabbit', 5672, () => {}, { acceptDelay: 2 });
      const done = sinon.spy();
      loop.connect(target(), recorder(loop).handlers, done);
      loop.advance(1.9);
      expect(done.called).to.equal(false);
      loop.advance(0.1);
      expect(done.calledOnce).to.equal(true);
      expect(done.firstCall.args[0]).to.equal(null);
      expect(loop.pendingTimerCount).to.equal(0); // the socketTimeout was cancelled
    });

    it('acceptDelay beyond socketTimeout: SocketConnectError timeout at socketTimeout', function () {
      for (const acceptDelay of [Infinity, 30]) {
        const l = new VirtualIOLoop();
        l.listen('rabbit', 5672, () => expect.fail('accepted'), { acceptDelay });
        const done = sinon.spy();
        l.connect(target({ socketTimeout: 5 }), recorder(l).handlers, done);
        expect(l.runUntil(() => done.called)).to.equal(true);
        expect(l.now()).to.equal(5);
        const err = done.firstCall.args[0] as Error;
        expect(err).to.be.instanceOf(SocketConnectError);
        expect(err.message).to.equal('TCP connect to rabbit:5672 timed out after 5s');
        l.advance(100);
        expect(done.calledOnce).to.equal(true);
        expect(l.pendingTimerCount).to.equal(0);
      }
    });

    it('abort(): done is never called and nothing stays scheduled', function () {
      loop.listen('rabbit', 5672, () => expect.fail('accepted'), { acceptDelay: 1 });
      const done = sinon.spy();
      const abort = loop.connect(target(), recorder(loop).handlers, done);
      loop.runUntilIdle(); // the accept timer is now armed
      abort();
      expect(loop.pendingTimerCount).to.equal(0);
      loop.advance(20);
      expect(done.called).to.equal(false);
    });

    it('Unix-socket targets are looked up as listen(path, 0)', function () {
      const peers: VirtualPeer[] = [];
      loop.listen('/var/run/rabbit.sock', 0, (p) => peers.push(p));
      const done = sinon.spy();
      loop.connect(target({ path: '/var/run/rabbit.sock' }), recorder(loop).handlers, done);
      loop.runUntilIdle();
      expect(done.firstCall.args[0]).to.equal(null);
      expect(peers).to.have.length(1);
    });

    it('pause()/resume(): bufferedBytes grows, write returns false at the high-water mark, then onDrain', function () {
      const { rec, transport, peer } = open(loop, { highWaterMark: 100 });
      peer.pause();
      expect(peer.paused).to.equal(true);
      expect(transport.write([Buffer.alloc(60)])).to.equal(true);
      expect(transport.write([Buffer.alloc(30), Buffer.alloc(30)])).to.equal(false);
      loop.advance(10);
      expect(transport.bufferedBytes).to.equal(120);
      expect(peer.clientBufferedBytes).to.equal(120);
      expect(peer.received).to.deep.equal([]);
      expect(rec.drains).to.equal(0);
      peer.resume();
      loop.runUntilIdle();
      expect(peer.received.map((b) => b.length)).to.deep.equal([60, 60]);
      expect(transport.bufferedBytes).to.equal(0);
      expect(rec.drains).to.equal(1);
    });

    it('default high-water mark is 64 KiB; a big unpaused write drains on delivery', function () {
      const { rec, transport } = open(loop);
      expect(transport.write([Buffer.alloc(64 * 1024 - 1)])).to.equal(true);
      expect(transport.write([Buffer.alloc(1)])).to.equal(false);
      loop.runUntilIdle();
      expect(rec.drains).to.equal(1);
    });

    it('runs a whole exchange with the loop driving itself', async function () {
      loop.listen('rabbit', 5672, (peer) => {
        peer.onData((chunk) => {
          if (chunk.toString() === 'ping') loop.callLater(3, () => peer.write('pong'));
        });
      });
      const rec = recorder(loop);
      rec.handlers.onData = (c) => {
        rec.chunks.push(c);
        loop.stop();
      };
      loop.connect(target(), rec.handlers, (err, t) => {
        expect(err).to.equal(null);
        t!.write([Buffer.from('ping')]);
      });
      await loop.start();
      expect(rec.text).to.equal('pong');
      expect(loop.now()).to.equal(3);
    });
  });
});
