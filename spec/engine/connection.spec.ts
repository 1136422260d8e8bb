/**
 * Connection engine unit tests on the deterministic virtual loop with a
 * scripted fake broker: the handshake, failures and their error classes,
 * retries, heartbeats, malformed input, close paths and backpressure.
 */
import { expect } from 'chai';
import * as sinon from 'sinon';
import {
  AMQPHeartbeatTimeout,
  Channel,
  Connection,
  ConnectionBlockedTimeout,
  ConnectionClosedByBroker,
  ConnectionClosedByClient,
  ConnectionOpenAborted,
  ConnectionParameters,
  ConnectionWorkflowFailed,
  ConnectionWrongStateError,
  FrameError,
  IncompatibleProtocolError,
  InvalidArgumentError,
  PlainCredentials,
  ProbableAccessDeniedError,
  ProbableAuthenticationError,
  SocketConnectError,
  StackTimeoutError,
  StreamLostError,
  VirtualIOLoop,
  ExternalCredentials,
  AuthenticationError,
  ChannelClosedByBroker,
  spec,
} from '../../lib';
import { Duplex } from 'stream';
import { DuplexTransport } from '../../lib';
import { FrameWriter } from '../../lib/wire/frame-writer';
import { FakeBroker } from '../support/fake-broker';
import { connectToFakeBroker, openChannel } from '../support/virtual-broker';

describe('Connection (virtual loop, fake broker)', () => {
  describe('handshake', () => {
    it('sends the protocol header, start-ok with PLAIN and capabilities, tune-ok and open', () => {
      const { loop, broker, connection, events } = connectToFakeBroker({
        parameters: { virtualHost: 'vh', credentials: new PlainCredentials('user', 'pw'), channelMax: 100, frameMax: 65536 },
        broker: { channelMax: 2047, frameMax: 131072, heartbeat: 60 },
      });
      expect(connection.isOpen).to.equal(false);
      loop.runUntilIdle();
      expect(events.opened).to.equal(1);
      expect(connection.isOpen).to.equal(true);
      const session = broker.session;
      const startOk = session.sent(spec.Connection.StartOk)[0];
      expect(startOk.mechanism).to.equal('PLAIN');
      expect(Buffer.from(startOk.response as Buffer).toString()).to.equal('\0user\0pw');
      const caps = startOk.clientProperties['capabilities'] as Record<string, unknown>;
      for (const cap of [
        'publisher_confirms',
        'exchange_exchange_bindings',
        'basic.nack',
        'consumer_cancel_notify',
        'connection.blocked',
        'authentication_failure_close',
        'per_consumer_qos',
      ]) {
        expect(caps[cap], cap).to.equal(true);
      }
      expect(startOk.clientProperties['product']).to.equal('coney');
      const tuneOk = session.sent(spec.Connection.TuneOk)[0];
      expect(tuneOk.channelMax).to.equal(100);
      expect(tuneOk.frameMax).to.equal(65536);
      expect(tuneOk.heartbeat).to.equal(60);
      expect(session.sent(spec.Connection.Open)[0].virtualHost).to.equal('vh');
      expect([connection.channelMax, connection.frameMax, connection.heartbeat]).to.deep.equal([100, 65536, 60]);
      expect(connection.serverProperties['product']).to.equal('fake-broker');
    });

    it('lets a heartbeat callable pick the interval from the broker value', () => {
      const { loop, connection } = connectToFakeBroker({ parameters: { heartbeat: (_c: unknown, v: number) => v * 2 }, broker: { heartbeat: 7 } });
      loop.runUntilIdle();
      expect(connection.heartbeat).to.equal(14);
    });

    it('erases credentials after start-ok with eraseOnConnect', () => {
      const credentials = new PlainCredentials('u', 'p', true);
      const { loop, events } = connectToFakeBroker({ parameters: { credentials } });
      loop.runUntilIdle();
      expect(events.opened).to.equal(1);
      expect(credentials.erased).to.equal(true);
    });

    describe('no copy of the password is kept after the handshake', () => {
      const PASSWORD = 'S3cr3tPw-Zq9';
      /** Every Buffer reachable from the connection's outbound buffer (its frame writer, pending chunks, secrets). */
      function outboundBuffers(connection: Connection): Uint8Array[] {
        const outbound = (connection as unknown as { outbound: object }).outbound;
        const skip = new Set(['loop', 'host', 'transport', 'flushCallback']);
        const seen = new Set<object>();
        const found: Uint8Array[] = [];
        const walk = (value: unknown, top: boolean): void => {
          if (value === null || typeof value !== 'object' || seen.has(value)) return;
          seen.add(value);
          if (value instanceof Uint8Array) return void found.push(value);
          for (const key of Reflect.ownKeys(value)) {
            if (top && typeof key === 'string' && skip.has(key)) continue;
            walk((value as Record<string | symbol, unknown>)[key], false);
          }
        };
        walk(outbound, true);
        expect(found.length, 'the frame writer buffer at least').to.be.greaterThan(0);
        return found;
      }
      const holdsPassword = (b: Uint8Array): boolean => Buffer.from(b.buffer, b.byteOffset, b.byteLength).includes(Buffer.from(PASSWORD.slice(0, 6)));

      /** Records the chunks the connection hands to its transport and the SASL responses it builds. */
      function record(loop: VirtualIOLoop) {
        const written: Buffer[] = [];
        const connect = loop.connect.bind(loop);
        sinon.stub(loop, 'connect').callsFake((target, handlers, done) =>
          connect(target, handlers, (err, transport) => {
            if (!transport) return done(err);
            done(err, {
              write: (chunks: Buffer[]) => {
                written.push(...chunks);
                return transport.write(chunks);
              },
              get bufferedBytes() {
                return transport.bufferedBytes;
              },
              end: () => transport.end(),
              destroy: () => transport.destroy(),
            });
          }),
        );
        return written;
      }

      afterEach(() => sinon.restore());

      it('with eraseOnConnect: the start-ok frame and the SASL response are zeroed once written', () => {
        const credentials = new PlainCredentials('user', PASSWORD, true);
        const responses: Buffer[] = [];
        const response = PlainCredentials.prototype.response;
        sinon.stub(PlainCredentials.prototype, 'response').callsFake(function (this: PlainCredentials) {
          const r = response.call(this);
          responses.push(r);
          return r;
        });
        const { loop, broker, connection, events } = connectToFakeBroker({ parameters: { credentials } });
        const written = record(loop);
        loop.runUntilIdle();
        expect(events.opened).to.equal(1);
        // The broker got the real bytes: nothing was zeroed before the transport took them.
        const startOk = broker.session.sent(spec.Connection.StartOk)[0];
        expect(Buffer.from(startOk.response as Buffer).toString()).to.equal(`\0user\0${PASSWORD}`);
        expect(credentials.erased).to.equal(true);
        // Nothing held by the outbound buffer / frame writer has it any more...
        expect(outboundBuffers(connection).filter(holdsPassword)).to.deep.equal([]);
        // ...nor what was handed to the transport, nor the SASL response Buffer.
        expect(written.length).to.be.greaterThan(0);
        expect(written.filter(holdsPassword)).to.deep.equal([]);
        expect(responses).to.have.length(1);
        expect(responses[0].every((b) => b === 0)).to.equal(true);
        // The connection works on.
        openChannel({ loop, connection });
      });

      it('with eraseOnConnect: zeroes at detach a start-ok the transport never got', () => {
        const credentials = new PlainCredentials('user', PASSWORD, true);
        const { loop, connection } = connectToFakeBroker({ parameters: { credentials } });
        const written = record(loop);
        // Drop the transport right after start-ok is queued, before the flush.
        const onStart = (connection as unknown as { onStart(m: unknown): void }).onStart;
        sinon.stub(connection as unknown as { onStart(m: unknown): void }, 'onStart').callsFake(function (this: unknown, m: unknown) {
          onStart.call(this, m);
          connection.close();
        });
        loop.runUntilIdle();
        expect(credentials.erased, 'start-ok was built').to.equal(true);
        expect(written.filter(holdsPassword)).to.deep.equal([]);
        expect(outboundBuffers(connection).filter(holdsPassword)).to.deep.equal([]);
      });

      it('without eraseOnConnect (documented): the credentials keep the password for reconnects and the frame is not wiped', () => {
        const credentials = new PlainCredentials('user', PASSWORD);
        const { loop, broker, connection, events } = connectToFakeBroker({ parameters: { credentials } });
        loop.runUntilIdle();
        expect(events.opened).to.equal(1);
        expect(Buffer.from(broker.session.sent(spec.Connection.StartOk)[0].response as Buffer).toString()).to.equal(`\0user\0${PASSWORD}`);
        expect(credentials.password).to.equal(PASSWORD);
        // The start-ok went through the reused output buffer like any frame; its bytes stay until overwritten.
        expect(outboundBuffers(connection).some(holdsPassword)).to.equal(true);
      });
    });

    it('fails with a clear AuthenticationError when no mechanism fits', () => {
      const { loop, events } = connectToFakeBroker({
        parameters: { credentials: new ExternalCredentials() },
        broker: { mechanisms: 'PLAIN AMQPLAIN' },
      });
      loop.runUntilIdle();
      expect(events.openErrors).to.have.length(1);
      expect(events.openErrors[0]).to.be.instanceOf(AuthenticationError);
      expect(events.openErrors[0].message).to.match(/EXTERNAL/);
      expect(loop.pendingTimerCount).to.equal(0);
    });

    it('maps another protocol header from the peer to IncompatibleProtocolError', () => {
      const loop = new VirtualIOLoop();
      const errs: Error[] = [];
      loop.listen('fake-broker', 5672, (peer) => {
        peer.onData(() => peer.write(Buffer.from('AMQP\x00\x00\x09\x00', 'latin1')));
      });
      const connection = new Connection({
        ioloop: loop,
        parameters: new ConnectionParameters({ host: 'fake-broker' }),
        onOpenError: (_c, e) => errs.push(e),
      });
      loop.runUntilIdle();
      expect(errs).to.have.length(1);
      expect(errs[0]).to.be.instanceOf(IncompatibleProtocolError);
      expect(errs[0].message).to.contain('0-9-0');
      expect(connection.isClosed).to.equal(true);
      expect(loop.pendingTimerCount).to.equal(0);
    });

    it('reports a socket closed after start-ok as ProbableAuthenticationError', () => {
      const { loop, broker, events, connection } = connectToFakeBroker();
      broker.onMethod = (session, _ch, m) => {
        if (m instanceof spec.Connection.StartOk) {
          session.peer.end();
          return true;
        }
        return false;
      };
      loop.runUntilIdle();
      expect(events.openErrors).to.have.length(1);
      expect(events.openErrors[0]).to.be.instanceOf(ProbableAuthenticationError);
      expect(events.opened).to.equal(0);
      expect(events.closes).to.have.length(0);
      expect(connection.isClosed).to.equal(true);
      expect(loop.pendingTimerCount).to.equal(0);
    });

    it('reports connection.close 403 after start-ok as ProbableAuthenticationError', () => {
      const { loop, broker, events } = connectToFakeBroker();
      broker.onMethod = (session, _ch, m) => {
        if (m instanceof spec.Connection.StartOk) {
          session.send(0, new spec.Connection.Close({ replyCode: 403, replyText: 'ACCESS_REFUSED - Login was refused' }));
          return true;
        }
        return false;
      };
      loop.runUntilIdle();
      expect(events.openErrors).to.have.length(1);
      expect(events.openErrors[0]).to.be.instanceOf(ProbableAuthenticationError);
      expect(events.openErrors[0].message).to.contain('Login was refused');
      expect(broker.session.sent(spec.Connection.CloseOk)).to.have.length(1);
    });

    it('reports a refused connection.open as ProbableAccessDeniedError', () => {
      const { loop, broker, events } = connectToFakeBroker({ parameters: { virtualHost: 'secret' } });
      broker.onMethod = (session, _ch, m) => {
        if (m instanceof spec.Connection.Open) {
          session.send(0, new spec.Connection.Close({ replyCode: 530, replyText: "NOT_ALLOWED - access to vhost 'secret' refused" }));
          return true;
        }
        return false;
      };
      loop.runUntilIdle();
      expect(events.openErrors).to.have.length(1);
      expect(events.openErrors[0]).to.be.instanceOf(ProbableAccessDeniedError);
      expect(events.openErrors[0].message).to.contain('secret');
    });

    it('fails with SocketConnectError when nothing listens, once', () => {
      const { loop, events } = connectToFakeBroker({ parameters: { host: 'nowhere' } });
      loop.runUntilIdle();
      expect(events.openErrors).to.have.length(1);
      expect(events.openErrors[0]).to.be.instanceOf(SocketConnectError);
      expect(loop.pendingTimerCount).to.equal(0);
    });

    it('bounds the whole handshake with stackTimeout', () => {
      const { loop, broker, events } = connectToFakeBroker({ parameters: { stackTimeout: 3 } });
      broker.onMethod = () => true; // answers nothing after connection.start
      loop.advance(2.9);
      expect(events.openErrors).to.have.length(0);
      loop.advance(0.2);
      expect(events.openErrors).to.have.length(1);
      expect(events.openErrors[0]).to.be.instanceOf(StackTimeoutError);
      expect(loop.pendingTimerCount).to.equal(0);
    });

    it('bounds the TCP connect with socketTimeout', () => {
      const { loop, events } = connectToFakeBroker({ parameters: { socketTimeout: 2 }, broker: { acceptDelay: Infinity } });
      loop.advance(2.1);
      expect(events.openErrors).to.have.length(1);
      expect(events.openErrors[0]).to.be.instanceOf(SocketConnectError);
      expect(events.openErrors[0].message).to.match(/timed out/);
    });
  });

  describe('connection workflow', () => {
    it('tries each parameter set, connectionAttempts rounds with retryDelay, and lists every cause', () => {
      const loop = new VirtualIOLoop();
      const errs: Error[] = [];
      const parameters = [
        new ConnectionParameters({ host: 'a', connectionAttempts: 3, retryDelay: 5 }),
        new ConnectionParameters({ host: 'b', connectionAttempts: 3, retryDelay: 5 }),
      ];
      new Connection({ ioloop: loop, parameters, onOpenError: (_c, e) => errs.push(e) });
      loop.runUntilIdle();
      expect(errs).to.have.length(0);
      loop.advance(5);
      expect(errs).to.have.length(0);
      loop.advance(5);
      expect(errs).to.have.length(1);
      const failure = errs[0] as ConnectionWorkflowFailed;
      expect(failure).to.be.instanceOf(ConnectionWorkflowFailed);
      expect(failure.attempts).to.have.length(6);
      expect(failure.message).to.contain('attempt 6');
      expect(failure.attempts.every((e) => e instanceof SocketConnectError)).to.equal(true);
      expect(loop.pendingTimerCount).to.equal(0);
    });

    it("follows pika with unequal sets: the whole list each round, the last set's attempts and retryDelay", () => {
      const loop = new VirtualIOLoop();
      const errs: Error[] = [];
      const parameters = [
        new ConnectionParameters({ host: 'primary', connectionAttempts: 1, retryDelay: 30 }),
        new ConnectionParameters({ host: 'backup', connectionAttempts: 3, retryDelay: 0.001 }),
      ];
      new Connection({ ioloop: loop, parameters, onOpenError: (_c, e) => errs.push(e) });
      loop.runUntilIdle();
      loop.advance(0.001);
      loop.advance(0.001);
      expect(errs).to.have.length(1);
      const hosts = (errs[0] as ConnectionWorkflowFailed).attempts.map((e) => /(primary|backup)/.exec(e.message)?.[1]);
      expect(hosts).to.deep.equal(['primary', 'backup', 'primary', 'backup', 'primary', 'backup']);
      expect(loop.now(), 'two retry delays of the last set (0.001 s), not the first set (30 s)').to.be.below(1);
    });

    it('a peer that drops the socket after the protocol header is an IncompatibleProtocolError (pika)', () => {
      const loop = new VirtualIOLoop();
      loop.listen('other-protocol', 5672, (peer) => peer.onData(() => peer.end()));
      const errs: Error[] = [];
      new Connection({
        ioloop: loop,
        parameters: new ConnectionParameters({ host: 'other-protocol', connectionAttempts: 2 }),
        onOpenError: (_c, e) => errs.push(e),
      });
      loop.runUntilIdle();
      expect(errs).to.have.length(1);
      expect(errs[0]).to.be.instanceOf(IncompatibleProtocolError);
      expect(errs[0].message).to.match(/after the protocol header, before connection\.start/);
    });

    it('falls over to the second host when the first is down', () => {
      const loop = new VirtualIOLoop();
      const broker = new FakeBroker(loop, { host: 'b' });
      let opened = 0;
      const connection = new Connection({
        ioloop: loop,
        parameters: [new ConnectionParameters({ host: 'a' }), new ConnectionParameters({ host: 'b' })],
        onOpen: () => (opened += 1),
      });
      loop.runUntilIdle();
      expect(opened).to.equal(1);
      expect(connection.parameters?.host).to.equal('b');
      expect(broker.sessions).to.have.length(1);
    });

    it('does not retry a refused login', () => {
      const loop = new VirtualIOLoop();
      const broker = new FakeBroker(loop);
      broker.onMethod = (session, _ch, m) => {
        if (m instanceof spec.Connection.StartOk) {
          session.send(0, new spec.Connection.Close({ replyCode: 403, replyText: 'ACCESS_REFUSED' }));
          return true;
        }
        return false;
      };
      const errs: Error[] = [];
      new Connection({
        ioloop: loop,
        parameters: new ConnectionParameters({ host: 'fake-broker', connectionAttempts: 5, retryDelay: 1 }),
        onOpenError: (_c, e) => errs.push(e),
      });
      loop.advance(10);
      expect(broker.sessions).to.have.length(1);
      expect(errs).to.have.length(1);
      expect(errs[0]).to.be.instanceOf(ProbableAuthenticationError);
    });

    it('close() before the loop ran aborts with ConnectionOpenAborted without connecting', () => {
      const { loop, broker, connection, events } = connectToFakeBroker();
      connection.close();
      expect(connection.isClosing).to.equal(true);
      loop.runUntilIdle();
      expect(events.openErrors).to.have.length(1);
      expect(events.openErrors[0]).to.be.instanceOf(ConnectionOpenAborted);
      expect(broker.sessions).to.have.length(0);
      expect(connection.isClosed).to.equal(true);
      expect(loop.pendingTimerCount).to.equal(0);
    });

    it('close() while opening aborts with ConnectionOpenAborted and leaves nothing scheduled', () => {
      const { loop, connection, events } = connectToFakeBroker({ parameters: { stackTimeout: 30 }, broker: { acceptDelay: Infinity } });
      loop.runUntilIdle();
      connection.close();
      loop.runUntilIdle();
      expect(events.openErrors).to.have.length(1);
      expect(events.openErrors[0]).to.be.instanceOf(ConnectionOpenAborted);
      expect(events.closes).to.have.length(0);
      expect(loop.pendingTimerCount).to.equal(0);
    });
  });

  describe('heartbeats', () => {
    it('sends a heartbeat when idle for an interval and times out after two silent intervals', () => {
      const { loop, broker, connection, events } = connectToFakeBroker({ broker: { heartbeat: 10 } });
      loop.runUntilIdle();
      expect(connection.heartbeat).to.equal(10);
      const session = broker.session;
      const heartbeats = () => session.frames.filter((f) => f.type === spec.FRAME_HEARTBEAT).length;
      loop.advance(10);
      expect(heartbeats()).to.be.greaterThan(0);
      // The broker keeps sending heartbeats for a while: the connection stays up.
      for (let i = 0; i < 6; i++) {
        session.sendRaw(Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce]));
        loop.advance(5);
      }
      expect(events.closes).to.have.length(0);
      // Then silence: closed within (2 intervals + one check period).
      loop.advance(25);
      expect(events.closes).to.have.length(1);
      expect(events.closes[0]).to.be.instanceOf(AMQPHeartbeatTimeout);
      expect(connection.isClosed).to.equal(true);
      expect(loop.pendingTimerCount).to.equal(0);
    });

    it('sends no heartbeat while other traffic flows', () => {
      const { loop, broker, connection } = connectToFakeBroker({ broker: { heartbeat: 10 } });
      loop.runUntilIdle();
      const ch = openChannel({ loop, connection });
      const session = broker.session;
      for (let i = 0; i < 20; i++) {
        ch.basicPublish('', 'q', 'x');
        session.sendRaw(Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce]));
        loop.advance(2);
      }
      expect(session.frames.filter((f) => f.type === spec.FRAME_HEARTBEAT)).to.have.length(0);
    });
  });

  describe('malformed input and faults', () => {
    it('closes with 501 and a FrameError on a bad frame end', () => {
      const { loop, broker, events } = connectToFakeBroker();
      loop.runUntilIdle();
      broker.session.sendRaw(Buffer.from([8, 0, 0, 0, 0, 0, 0, 0x00]));
      loop.runUntilIdle();
      expect(events.closes).to.have.length(1);
      expect(events.closes[0]).to.be.instanceOf(FrameError);
      const close = broker.session.sent(spec.Connection.Close)[0];
      expect(close.replyCode).to.equal(501);
    });

    it('closes only this connection (541) when handling a frame throws something that is not a FrameError', () => {
      const { loop, broker, connection, events } = connectToFakeBroker();
      loop.runUntilIdle();
      const ch = openChannel({ loop, connection });
      const stub = sinon.stub(Channel.prototype, 'onMethodFrame').throws(new TypeError('engine bug'));
      try {
        broker.session.send(ch.channelNumber, new spec.Basic.Ack({ deliveryTag: 1 }));
        expect(() => loop.runUntilIdle(), 'nothing escapes into the loop').to.not.throw();
      } finally {
        stub.restore();
      }
      expect(events.closes).to.have.length(1);
      expect(events.closes[0]).to.be.instanceOf(FrameError);
      expect(events.closes[0].message).to.match(/internal error while handling a frame: TypeError: engine bug/);
      expect(broker.session.sent(spec.Connection.Close)[0].replyCode).to.equal(541);
    });

    it('closes with 504 on a frame for a channel that is not open', () => {
      const { loop, broker, events } = connectToFakeBroker();
      loop.runUntilIdle();
      broker.session.send(9, new spec.Channel.OpenOk());
      loop.runUntilIdle();
      expect(events.closes).to.have.length(1);
      expect(events.closes[0]).to.be.instanceOf(FrameError);
      expect(events.closes[0].message).to.contain('channel 9');
      expect(broker.session.sent(spec.Connection.Close)[0].replyCode).to.equal(504);
    });

    it('reports a socket cut mid-frame as StreamLostError and fails pending callbacks', () => {
      const { loop, broker, connection, events } = connectToFakeBroker();
      loop.runUntilIdle();
      const ch = openChannel({ loop, connection });
      broker.onMethod = () => true; // no answers from now on
      const results: Array<Error | null> = [];
      ch.queueDeclare('q', {}, (err) => results.push(err));
      loop.runUntilIdle();
      broker.session.sendRaw(Buffer.from([1, 0, 1, 0, 0, 0, 40, 0, 50]));
      broker.session.peer.destroy(new Error('ECONNRESET'));
      loop.runUntilIdle();
      expect(events.closes).to.have.length(1);
      expect(events.closes[0]).to.be.instanceOf(StreamLostError);
      expect(results).to.have.length(1);
      expect(results[0]).to.equal(events.closes[0]);
      expect(ch.isClosed).to.equal(true);
      expect(loop.pendingTimerCount).to.equal(0);
    });

    it('keeps going when a user callback throws, and reports the exception', () => {
      const errors: unknown[] = [];
      const { loop, connection, events } = connectToFakeBroker({ onCallbackError: (e) => errors.push(e) });
      connection.addOnOpenCallback(() => {
        throw new Error('user bug');
      });
      loop.runUntilIdle();
      expect(events.opened).to.equal(1);
      expect(errors).to.have.length(1);
      expect((errors[0] as Error).message).to.equal('user bug');
      const ch = openChannel({ loop, connection });
      expect(ch.isOpen).to.equal(true);
    });
  });

  describe('close', () => {
    it('closes channels first, then the connection; onClose fires once with ConnectionClosedByClient', () => {
      const { loop, broker, connection, events } = connectToFakeBroker();
      loop.runUntilIdle();
      const ch1 = openChannel({ loop, connection });
      const ch2 = openChannel({ loop, connection });
      const chCloses: Error[] = [];
      ch1.addOnCloseCallback((_c, r) => chCloses.push(r));
      ch2.addOnCloseCallback((_c, r) => chCloses.push(r));
      connection.close(200, 'bye');
      expect(connection.isClosing).to.equal(true);
      expect(() => connection.close()).to.throw(ConnectionWrongStateError);
      loop.runUntilIdle();
      const names = broker.session.methods.map((m) => m.method.name);
      const lastChannelClose = names.lastIndexOf('channel.close');
      expect(lastChannelClose).to.be.greaterThan(-1);
      expect(names.indexOf('connection.close')).to.be.greaterThan(lastChannelClose);
      expect(events.closes).to.have.length(1);
      const reason = events.closes[0] as ConnectionClosedByClient;
      expect(reason).to.be.instanceOf(ConnectionClosedByClient);
      expect([reason.replyCode, reason.replyText]).to.deep.equal([200, 'bye']);
      expect(chCloses).to.have.length(2);
      expect(connection.isClosed).to.equal(true);
      expect(() => connection.channel()).to.throw(ConnectionWrongStateError);
      expect(loop.pendingTimerCount).to.equal(0);
    });

    it('gives ConnectionClosedByBroker with code and text, and fails every pending channel callback', () => {
      const { loop, broker, connection, events } = connectToFakeBroker();
      loop.runUntilIdle();
      const ch = openChannel({ loop, connection });
      broker.onMethod = () => true;
      const results: Array<Error | null> = [];
      ch.queueDeclare('a', {}, (err) => results.push(err));
      ch.queueDeclare('b', {}, (err) => results.push(err));
      loop.runUntilIdle();
      broker.session.send(0, new spec.Connection.Close({ replyCode: 320, replyText: 'CONNECTION_FORCED - bye' }));
      loop.runUntilIdle();
      expect(events.closes).to.have.length(1);
      const reason = events.closes[0] as ConnectionClosedByBroker;
      expect(reason).to.be.instanceOf(ConnectionClosedByBroker);
      expect(reason.replyCode).to.equal(320);
      expect(reason.replyText).to.equal('CONNECTION_FORCED - bye');
      expect(results).to.deep.equal([reason, reason]);
      expect(broker.session.sent(spec.Connection.CloseOk)).to.have.length(1);
    });

    it('lets nothing pile up for the stream once the connection is closed', () => {
      const { loop, connection } = connectToFakeBroker();
      loop.runUntilIdle();
      connection.close();
      loop.runUntilIdle();
      expect(connection.isClosed).to.equal(true);
      connection.sendMethod(1, new spec.Basic.Ack({ deliveryTag: 1 })); // what a late internal write would do
      connection.sendHeartbeat();
      expect(connection.outboundBufferedBytes).to.equal(0);
      expect(loop.pendingCallbackCount).to.equal(0);
    });

    it('reports StreamLostError, not a clean close, when the socket drops before close-ok', () => {
      const { loop, broker, connection, events } = connectToFakeBroker();
      loop.runUntilIdle();
      broker.onMethod = (session, _ch, m) => {
        if (m instanceof spec.Connection.Close) {
          session.peer.destroy(new Error('ECONNRESET'));
          return true;
        }
        return false;
      };
      connection.close();
      loop.runUntilIdle();
      expect(events.closes).to.have.length(1);
      expect(events.closes[0]).to.be.instanceOf(StreamLostError);
      expect(events.closes[0].message).to.contain('before the broker confirmed the close');
    });

    it('gives up waiting for close-ok after a timeout', () => {
      const { loop, broker, connection, events } = connectToFakeBroker();
      loop.runUntilIdle();
      broker.onMethod = () => true;
      connection.close();
      loop.advance(5);
      expect(events.closes).to.have.length(0);
      loop.advance(10);
      expect(events.closes).to.have.length(1);
      expect(events.closes[0]).to.be.instanceOf(ConnectionClosedByClient);
    });
  });

  describe('blocked connections', () => {
    it('reports blocked and unblocked, and closes after blockedConnectionTimeout', () => {
      const { loop, broker, connection, events } = connectToFakeBroker({ parameters: { blockedConnectionTimeout: 30 } });
      loop.runUntilIdle();
      const blocked = sinon.spy();
      const unblocked = sinon.spy();
      connection.addOnConnectionBlockedCallback(blocked);
      connection.addOnConnectionUnblockedCallback(unblocked);
      broker.session.send(0, new spec.Connection.Blocked({ reason: 'low on memory' }));
      loop.runUntilIdle();
      expect(blocked.calledOnce).to.equal(true);
      expect((blocked.firstCall.args[1] as spec.Connection.Blocked).reason).to.equal('low on memory');
      expect(connection.isBlocked).to.equal(true);
      loop.advance(20);
      broker.session.send(0, new spec.Connection.Unblocked());
      loop.runUntilIdle();
      expect(unblocked.calledOnce).to.equal(true);
      loop.advance(20);
      expect(events.closes).to.have.length(0);
      broker.session.send(0, new spec.Connection.Blocked({ reason: 'disk' }));
      loop.advance(31);
      expect(events.closes).to.have.length(1);
      expect(events.closes[0]).to.be.instanceOf(ConnectionBlockedTimeout);
    });
  });

  describe('backpressure', () => {
    it('returns false from basicPublish above the high-water mark, then calls the drain callback', () => {
      const { loop, broker, connection } = connectToFakeBroker();
      loop.runUntilIdle();
      const ch = openChannel({ loop, connection });
      const backpressure = sinon.spy();
      const drained = sinon.spy();
      connection.addBackpressureCallback(backpressure);
      connection.addOnDrainCallback(drained);
      broker.session.peer.pause();
      const body = Buffer.alloc(1000);
      let accepted = 0;
      while (ch.basicPublish('', 'q', body)) {
        accepted += 1;
        if (accepted > 100000) throw new Error('basicPublish never returned false');
      }
      expect(connection.writableNeedDrain).to.equal(true);
      expect(backpressure.calledOnce).to.equal(true);
      loop.runUntilIdle();
      expect(drained.called).to.equal(false);
      broker.session.peer.resume();
      loop.runUntilIdle();
      expect(drained.calledOnce).to.equal(true);
      expect(connection.writableNeedDrain).to.equal(false);
      expect(broker.session.published.length).to.equal(accepted + 1);
    });
  });

  describe('channels', () => {
    it('allocates the lowest free number, reuses it after close, and honours channelMax', () => {
      const { loop, connection } = connectToFakeBroker({ parameters: { channelMax: 2 } });
      loop.runUntilIdle();
      const a = openChannel({ loop, connection });
      const b = openChannel({ loop, connection });
      expect([a.channelNumber, b.channelNumber]).to.deep.equal([1, 2]);
      expect(() => connection.channel()).to.throw(/channelMax/);
      a.close();
      loop.runUntilIdle();
      const c = openChannel({ loop, connection });
      expect(c.channelNumber).to.equal(1);
    });

    it('throws a bad table value from the call that made it, even when the call is queued', () => {
      const { loop, broker, connection } = connectToFakeBroker();
      loop.runUntilIdle();
      const ch = openChannel({ loop, connection });
      broker.onMethod = () => true; // no replies: the next calls stay queued
      ch.queueDeclare('first');
      expect(() => ch.queueDeclare('second', { arguments: { bad: Symbol('x') as never } })).to.throw(InvalidArgumentError, /bad/);
      expect(() => ch.queueBind('q', 'x', 'k', { arguments: { f: (() => 1) as never } })).to.throw(InvalidArgumentError);
      loop.runUntilIdle();
      expect(broker.session.sent(spec.Queue.Declare).map((m) => m.queue)).to.deep.equal(['first']);
      expect(ch.isOpen).to.equal(true);
    });

    it('gives a broker channel.close to that channel only', () => {
      const { loop, broker, connection, events } = connectToFakeBroker();
      loop.runUntilIdle();
      const a = openChannel({ loop, connection });
      const b = openChannel({ loop, connection });
      const reasons: Error[] = [];
      a.addOnCloseCallback((_c, r) => reasons.push(r));
      broker.session.send(a.channelNumber, new spec.Channel.Close({ replyCode: 404, replyText: 'NOT_FOUND - no queue' }));
      loop.runUntilIdle();
      expect(reasons).to.have.length(1);
      expect(reasons[0]).to.be.instanceOf(ChannelClosedByBroker);
      expect((reasons[0] as ChannelClosedByBroker).replyCode).to.equal(404);
      expect(a.isClosed).to.equal(true);
      expect(b.isOpen).to.equal(true);
      expect(connection.isOpen).to.equal(true);
      expect(events.closes).to.have.length(0);
      expect(broker.session.methods.some((m) => m.channel === a.channelNumber && m.method instanceof spec.Channel.CloseOk)).to.equal(true);
    });
  });
  describe('attempts do not disturb each other', () => {
    it('ignores the late close of a transport that an earlier attempt dropped', () => {
      const loop = new VirtualIOLoop();
      loop.listen('silent', 5672, () => undefined); // accepts, never answers
      const broker = new FakeBroker(loop, { host: 'b' });
      const errs: Error[] = [];
      let opened = 0;
      const connection = new Connection({
        ioloop: loop,
        parameters: [new ConnectionParameters({ host: 'silent', stackTimeout: 1 }), new ConnectionParameters({ host: 'b' })],
        onOpen: () => (opened += 1),
        onOpenError: (_c, e) => errs.push(e),
      });
      loop.advance(1.5);
      expect(errs).to.deep.equal([]);
      expect(opened).to.equal(1);
      expect(connection.parameters?.host).to.equal('b');
      expect(broker.sessions).to.have.length(1);
    });

    it('cancels the pending connect when stackTimeout expires first', () => {
      // Attempt 1: 0-1 s, attempt 2: 1.5-2.5 s; attempt 1's socketTimeout (1.8 s) must not touch attempt 2.
      const { loop, events } = connectToFakeBroker({
        parameters: { socketTimeout: 1.8, stackTimeout: 1, connectionAttempts: 2, retryDelay: 0.5 },
        broker: { acceptDelay: Infinity },
      });
      loop.advance(2.4);
      expect(events.openErrors).to.deep.equal([]);
      loop.advance(0.2);
      expect(events.openErrors).to.have.length(1);
      const failure = events.openErrors[0] as ConnectionWorkflowFailed;
      expect(failure).to.be.instanceOf(ConnectionWorkflowFailed);
      expect(failure.attempts.map((e) => e.constructor.name)).to.deep.equal(['StackTimeoutError', 'StackTimeoutError']);
      expect(loop.pendingTimerCount).to.equal(0);
      loop.advance(5);
      expect(events.openErrors).to.have.length(1);
    });

    it('fails the attempt when the broker falls silent between tune and open-ok (heartbeat)', () => {
      const { loop, broker, events } = connectToFakeBroker({ parameters: { stackTimeout: 30 }, broker: { heartbeat: 1 } });
      broker.onMethod = (_s, _ch, m) => m instanceof spec.Connection.Open; // never answers connection.open
      loop.advance(2.6);
      expect(events.openErrors).to.have.length(1);
      expect(events.openErrors[0]).to.be.instanceOf(AMQPHeartbeatTimeout);
      expect(events.closes).to.have.length(0);
      expect(loop.pendingTimerCount).to.equal(0);
    });
  });

  describe('faults after open', () => {
    it('closes with 501 and a FrameError on garbage, and releases everything', () => {
      const { loop, broker, connection, events } = connectToFakeBroker({ broker: { heartbeat: 30 } });
      loop.runUntilIdle();
      broker.session.sendRaw(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
      loop.runUntilIdle();
      expect(events.closes).to.have.length(1);
      expect(events.closes[0]).to.be.instanceOf(FrameError);
      const closes = broker.session.sent(spec.Connection.Close);
      expect(closes).to.have.length(1);
      expect(closes[0].replyCode).to.equal(501);
      expect(connection.isClosed).to.equal(true);
      expect(broker.session.peer.closed).to.equal(true);
      expect(loop.pendingTimerCount).to.equal(0);
    });

    it('reports a socket cut in the middle of a large delivery as StreamLostError; the partial message is dropped', () => {
      const { loop, broker, connection, events } = connectToFakeBroker({ broker: { frameMax: 131072 } });
      loop.runUntilIdle();
      const ch = openChannel({ loop, connection });
      const onMessage = sinon.spy();
      const tag = ch.basicConsume('q', onMessage);
      loop.runUntilIdle();
      const channelCloses: Error[] = [];
      ch.addOnCloseCallback((_c, r) => channelCloses.push(r));
      const w = new FrameWriter(1024);
      w.writeMethod(ch.channelNumber, new spec.Basic.Deliver({ consumerTag: tag, deliveryTag: 1, exchange: '', routingKey: 'q' }));
      w.writeContent(ch.channelNumber, {}, Buffer.alloc(1 << 20, 3), 131072);
      const bytes = Buffer.concat(w.take());
      broker.session.sendRaw(bytes.subarray(0, 300000)); // two body frames and a part of the third
      loop.runUntilIdle();
      broker.session.peer.destroy();
      loop.runUntilIdle();
      expect(events.closes).to.have.length(1);
      expect(events.closes[0]).to.be.instanceOf(StreamLostError);
      expect(onMessage.called).to.equal(false);
      expect(channelCloses).to.deep.equal([events.closes[0]]);
      expect(loop.pendingTimerCount).to.equal(0);
    });

    it('does not act on frames that follow a connection.close in the same chunk', () => {
      const { loop, broker, connection, events } = connectToFakeBroker();
      loop.runUntilIdle();
      const blocked = sinon.spy();
      connection.addOnConnectionBlockedCallback(blocked);
      const w = new FrameWriter(1024);
      w.writeMethod(0, new spec.Connection.Close({ replyCode: 320, replyText: 'CONNECTION_FORCED - bye' }));
      w.writeMethod(0, new spec.Connection.Blocked({ reason: 'late' }));
      broker.session.sendRaw(Buffer.concat(w.take()));
      loop.runUntilIdle();
      expect(events.closes).to.have.length(1);
      expect(events.closes[0]).to.be.instanceOf(ConnectionClosedByBroker);
      expect(blocked.called).to.equal(false);
      expect(connection.isBlocked).to.equal(false);
      expect(broker.session.sent(spec.Connection.CloseOk)).to.have.length(1);
    });
  });

  describe('DuplexTransport.end() safety timer', () => {
    /** A stream whose peer never closes its side: only a destroy ends it. */
    function silentPeerStream(): Duplex {
      return new Duplex({
        read() {},
        write(_c, _e, cb) {
          cb();
        },
      });
    }

    it("destroys the stream 2 s after end() when the peer never closes, with an unref'd timer", () => {
      const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        const stream = silentPeerStream();
        const closes: Array<Error | null> = [];
        const transport = new DuplexTransport(stream, { onData: () => undefined, onDrain: () => undefined, onClose: (e) => closes.push(e) });
        transport.end();
        expect(clock.countTimers()).to.equal(1);
        clock.tick(1999);
        expect(stream.destroyed).to.equal(false);
        clock.tick(1);
        expect(stream.destroyed).to.equal(true);
      } finally {
        clock.restore();
      }
    });

    it("does not keep the process alive by itself (the timer is unref'd)", () => {
      const stream = silentPeerStream();
      const transport = new DuplexTransport(stream, { onData: () => undefined, onDrain: () => undefined, onClose: () => undefined });
      transport.end();
      // White-box: the only observable alternative is a child process that must exit.
      const timer = (transport as unknown as { endTimer: NodeJS.Timeout | null }).endTimer;
      expect(timer).to.not.equal(null);
      expect(timer!.hasRef()).to.equal(false);
      transport.destroy();
    });

    it('clears the timer when the peer closes in time', async () => {
      const stream = silentPeerStream();
      const closes: Array<Error | null> = [];
      const transport = new DuplexTransport(stream, { onData: () => undefined, onDrain: () => undefined, onClose: (e) => closes.push(e) });
      const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        transport.end();
        stream.push(null); // the peer's FIN
        await new Promise((resolve) => setImmediate(resolve));
        expect(closes).to.deep.equal([null]);
        expect(clock.countTimers()).to.equal(0);
      } finally {
        clock.restore();
      }
    });
  });

  describe('no silent failures (issue 11)', () => {
    afterEach(() => sinon.restore());

    it('an open failure with no onOpenError and no onClose goes to onCallbackError (else it is rethrown)', () => {
      const loop = new VirtualIOLoop(); // nothing listens: the connect is refused
      const reported: unknown[] = [];
      new Connection({ ioloop: loop, parameters: new ConnectionParameters({ host: 'nowhere' }), onCallbackError: (e) => reported.push(e) });
      loop.runUntilIdle();
      expect(reported).to.have.length(1);
      expect(String(reported[0])).to.match(/the connection to .*nowhere.* could not open and no onOpenError or onClose callback handles it/);
      expect((reported[0] as Error).cause).to.be.instanceOf(Error);
    });

    it('an open failure with a handler is not reported twice', () => {
      const loop = new VirtualIOLoop();
      const reported: unknown[] = [];
      const failures: Error[] = [];
      new Connection({
        ioloop: loop,
        parameters: new ConnectionParameters({ host: 'nowhere' }),
        onOpenError: (_c, e) => failures.push(e),
        onCallbackError: (e) => reported.push(e),
      });
      loop.runUntilIdle();
      expect([failures.length, reported.length]).to.deep.equal([1, 0]);
    });

    it('a broker close with no onClose is reported; a close the application asked for is not', () => {
      const loop = new VirtualIOLoop();
      new FakeBroker(loop, { host: 'b' });
      const reported: unknown[] = [];
      const connection = new Connection({
        ioloop: loop,
        parameters: new ConnectionParameters({ host: 'b' }),
        onCallbackError: (e) => reported.push(e),
      });
      loop.runUntilIdle();
      expect(connection.isOpen).to.equal(true);
      connection.close();
      loop.runUntilIdle();
      expect(reported).to.deep.equal([]);
      const broker = new FakeBroker(loop, { host: 'c' });
      const second = new Connection({ ioloop: loop, parameters: new ConnectionParameters({ host: 'c' }), onCallbackError: (e) => reported.push(e) });
      loop.runUntilIdle();
      broker.session.send(0, new spec.Connection.Close({ replyCode: 320, replyText: 'CONNECTION_FORCED - shutdown' }));
      loop.runUntilIdle();
      expect(second.isClosed).to.equal(true);
      expect(reported.map(String)).to.satisfy(
        (m: string[]) => m.length === 1 && /closed and no onOpenError or onClose.*CONNECTION_FORCED/.test(m[0]),
      );
    });

    it('routes the rejection of an async callback like a throw, never as an unhandled rejection', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        const reported: unknown[] = [];
        const { loop, broker, connection } = connectToFakeBroker({ onCallbackError: (e) => reported.push(e) });
        loop.runUntilIdle();
        const ch = openChannel({ loop, connection });
        ch.basicConsume(
          'q',
          async () => {
            throw new Error('consumer failed');
          },
          { consumerTag: 'c' },
        );
        connection.addOnConnectionBlockedCallback(async () => {
          throw new Error('blocked handler failed');
        });
        ch.queueDeclare('q', {}, async () => {
          throw new Error('completion failed');
        });
        loop.runUntilIdle();
        broker.session.sendContent(
          ch.channelNumber,
          new spec.Basic.Deliver({ consumerTag: 'c', deliveryTag: 1, exchange: '', routingKey: 'q' }),
          Buffer.from('x'),
        );
        broker.session.send(0, new spec.Connection.Blocked({ reason: 'memory' }));
        loop.runUntilIdle();
        await new Promise((r) => setImmediate(r));
        await new Promise((r) => setImmediate(r));
        expect(reported.map((e) => (e as Error).message).sort()).to.deep.equal(['blocked handler failed', 'completion failed', 'consumer failed']);
        expect(connection.isOpen && ch.isOpen).to.equal(true);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
      expect(unhandled).to.deep.equal([]);
    });

    it('a channel closed by the broker with no close callback and no pending call warns, naming channel, code and text', () => {
      const { loop, broker, connection } = connectToFakeBroker();
      loop.runUntilIdle();
      const ch = openChannel({ loop, connection });
      const warnings: string[] = [];
      sinon.stub(process, 'emitWarning').callsFake((w: string | Error) => void warnings.push(String(w)));
      broker.session.send(ch.channelNumber, new spec.Channel.Close({ replyCode: 406, replyText: 'PRECONDITION_FAILED - unknown delivery tag 999' }));
      loop.runUntilIdle();
      expect(warnings).to.deep.equal([
        `channel ${ch.channelNumber} was closed: (406) PRECONDITION_FAILED - unknown delivery tag 999 (no close callback is registered on it, and no pending call was told)`,
      ]);
      // with a close callback, or a pending call that gets the error, there is no warning
      const other = openChannel({ loop, connection });
      other.addOnCloseCallback(() => undefined);
      broker.session.send(other.channelNumber, new spec.Channel.Close({ replyCode: 404, replyText: 'NOT_FOUND' }));
      const third = openChannel({ loop, connection });
      broker.onMethod = () => true;
      third.queueDeclare('missing', { passive: true }, () => undefined);
      loop.runUntilIdle();
      broker.session.send(third.channelNumber, new spec.Channel.Close({ replyCode: 404, replyText: 'NOT_FOUND' }));
      loop.runUntilIdle();
      expect(warnings).to.have.length(1);
    });
  });

  describe('callbacks can be removed; drain has a one-shot form (issue 11)', () => {
    it('remove...Callback stops a callback; onceDrain fires once and never piles up', () => {
      const { loop, broker, connection } = connectToFakeBroker();
      loop.runUntilIdle();
      const ch = openChannel({ loop, connection });
      let blocked = 0;
      const onBlocked = (): void => void blocked++;
      connection.addOnConnectionBlockedCallback(onBlocked);
      broker.session.send(0, new spec.Connection.Blocked({ reason: 'x' }));
      loop.runUntilIdle();
      expect(connection.removeOnConnectionBlockedCallback(onBlocked)).to.equal(true);
      expect(connection.removeOnConnectionBlockedCallback(onBlocked), 'already removed').to.equal(false);
      broker.session.send(0, new spec.Connection.Blocked({ reason: 'x' }));
      loop.runUntilIdle();
      expect(blocked).to.equal(1);
      // a publisher that waits with onceDrain on every false: one call per drain, no registrations left
      let drains = 0;
      let falses = 0;
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 5000; i++) {
          if (!ch.basicPublish('', 'q', Buffer.alloc(1024))) {
            falses++;
            connection.onceDrain(() => void drains++);
            break;
          }
        }
        loop.runUntilIdle();
      }
      expect(falses).to.equal(3);
      expect(drains).to.equal(3);
      expect((connection as unknown as { drainCallbacks: { size: number } }).drainCallbacks.size).to.equal(0);
      // onceDrain with nothing to drain still runs, soon
      let soon = 0;
      connection.onceDrain(() => void soon++);
      loop.runUntilIdle();
      expect(soon).to.equal(1);
    });

    it('channel callbacks have remove forms too', () => {
      const { loop, broker, connection } = connectToFakeBroker();
      loop.runUntilIdle();
      const ch = openChannel({ loop, connection });
      const flows: boolean[] = [];
      const onFlow = (_c: Channel, active: boolean): void => void flows.push(active);
      ch.addOnFlowCallback(onFlow);
      broker.session.send(ch.channelNumber, new spec.Channel.Flow({ active: false }));
      loop.runUntilIdle();
      expect(ch.removeOnFlowCallback(onFlow)).to.equal(true);
      broker.session.send(ch.channelNumber, new spec.Channel.Flow({ active: true }));
      loop.runUntilIdle();
      expect(flows).to.deep.equal([false]);
      const noop = (): void => undefined;
      for (const [add, remove] of [
        [ch.addOnCloseCallback, ch.removeOnCloseCallback],
        [ch.addOnCancelCallback, ch.removeOnCancelCallback],
        [ch.addOnReturnCallback, ch.removeOnReturnCallback],
        [ch.addOnErrorCallback, ch.removeOnErrorCallback],
      ] as const) {
        add.call(ch, noop);
        expect(remove.call(ch, noop)).to.equal(true);
        expect(remove.call(ch, noop)).to.equal(false);
      }
    });
  });

  describe('a peer that is not an AMQP broker is named (issue 11)', () => {
    for (const [what, bytes, hint] of [
      ['a TLS port (alert record)', Buffer.from('15030300020246', 'hex'), /answered with a TLS record: it expects TLS\. Use amqps:\/\//],
      ['a TLS port (handshake record)', Buffer.from('160303004a02', 'hex'), /TLS record/],
      ['an HTTP server', Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n', 'latin1'), /answered with HTTP: it is a web server/],
    ] as const) {
      it(`${what}: IncompatibleProtocolError suggesting the right scheme or port, not "unknown frame type"`, () => {
        const loop = new VirtualIOLoop();
        loop.listen('odd', 5672, (peer) => peer.onData(() => peer.write(bytes)));
        const errors: Error[] = [];
        new Connection({
          ioloop: loop,
          parameters: new ConnectionParameters({ host: 'odd', connectionAttempts: 3, retryDelay: 0 }),
          onOpenError: (_c, e) => errors.push(e),
        });
        loop.runUntilIdle();
        expect(errors).to.have.length(1);
        expect(errors[0]).to.be.instanceOf(IncompatibleProtocolError);
        expect(errors[0].message).to.match(hint);
        expect(errors[0].message).to.contain('odd');
      });
    }
  });
});
