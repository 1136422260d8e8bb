/**
 * The connection engine end to end against a real (throwaway) RabbitMQ:
 * open and close, every way an open can fail, the broker or the network
 * closing an open connection, heartbeats, blocking, backpressure,
 * update-secret and TLS. Every wait is bounded; every connection is closed
 * afterwards; failures must leave no timer and no socket behind.
 */
import { expect } from 'chai';
import * as net from 'node:net';
import {
  AMQPHeartbeatTimeout,
  type Channel,
  type Connection,
  ConnectionBlockedTimeout,
  ConnectionClosedByBroker,
  ConnectionClosedByClient,
  ConnectionParameters,
  ConnectionWorkflowFailed,
  ExternalCredentials,
  NodeIOLoop,
  PlainCredentials,
  ProbableAccessDeniedError,
  ProbableAuthenticationError,
  SelectConnection,
  type SelectConnectionOptions,
  SocketConnectError,
  StackTimeoutError,
  StreamIOLoop,
  StreamLostError,
  URLParameters,
  spec,
} from '../../lib';
import { amqpUrl, amqpsInfo, deniedVhost, rabbitmqctl, uniqueName } from '../support/broker';
import { brokerParameters, cbp, closeConnection, openChannel, within } from '../support/callbacks';
import { activeSockets, clientSocketsTo, freePort, LocalServer } from '../support/net-tools';
import { eventually, sleep } from '../support/polling';
import { TcpProxy } from '../support/tcp-proxy';

/** What a connection reported, and promises of the first report of each kind. */
interface Observed {
  connection: SelectConnection;
  opens: number;
  openErrors: Error[];
  closes: Error[];
  /** Resolves on onOpen, rejects on onOpenError. */
  opened: Promise<SelectConnection>;
  /** Resolves on onOpenError, rejects on onOpen. */
  failed: Promise<Error>;
  /** Resolves on onClose. */
  closed: Promise<Error>;
}

/** Every connection a test created; afterEach closes what is still open. */
const tracked: Connection[] = [];

/** A deferred promise that never counts as unhandled. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Creates a SelectConnection (to the test broker unless `parameters` says otherwise) that records its events. */
function observe(options: SelectConnectionOptions = {}): Observed {
  const opened = deferred<SelectConnection>();
  const failed = deferred<Error>();
  const closed = deferred<Error>();
  const o = { opens: 0, openErrors: [], closes: [], opened: opened.promise, failed: failed.promise, closed: closed.promise } as unknown as Observed;
  o.connection = new SelectConnection({
    parameters: brokerParameters(),
    ...options,
    onOpen: (c) => {
      o.opens += 1;
      opened.resolve(c);
      failed.reject(new Error('the connection opened'));
    },
    onOpenError: (_c, err) => {
      o.openErrors.push(err);
      failed.resolve(err);
      opened.reject(err);
    },
    onClose: (_c, reason) => {
      o.closes.push(reason);
      closed.resolve(reason);
    },
  });
  tracked.push(o.connection);
  return o;
}

/** The test broker's host and port. */
function brokerAddress(): { host: string; port: number } {
  const url = new URLParameters(amqpUrl());
  return { host: url.host, port: url.port };
}

/** The loop a SelectConnection created for itself. */
function loopOf(connection: Connection): NodeIOLoop {
  expect(connection.ioloop).to.be.instanceOf(NodeIOLoop);
  return connection.ioloop as NodeIOLoop;
}

/**
 * Waits for the one open error, then checks the failure contract: reported
 * once, onClose never, no timer and no socket left (socket count back to `baseline`).
 */
async function expectCleanFailure(o: Observed, baseline: number, ms = 20000): Promise<Error> {
  const err = await within(ms, o.failed, 'onOpenError');
  await sleep(100); // a second report would come on a later turn
  expect(o.openErrors, 'onOpenError calls').to.have.length(1);
  expect(o.opens, 'onOpen calls').to.equal(0);
  expect(o.closes, 'onClose calls').to.have.length(0);
  expect(o.connection.isClosed).to.equal(true);
  expect(loopOf(o.connection).pendingTimerCount, 'timers left').to.equal(0);
  // A graceful end waits for the broker's FIN; it comes promptly.
  await eventually(() => activeSockets().length <= baseline, 3000, 'every socket of the attempt closing');
  return err;
}

/** The broker's process id of the connection whose client properties carry `connectionName`. */
async function brokerConnectionPid(connectionName: string): Promise<string> {
  const out = await rabbitmqctl(['list_connections', 'pid', 'client_properties', '--no-table-headers', '-q']);
  const line = out.split('\n').find((l) => l.includes(`{"connection_name","${connectionName}"}`));
  if (line === undefined) throw new Error(`no broker connection named ${connectionName} in:\n${out}`);
  return line.split('\t')[0].trim();
}

/** One column of the broker's view of the connection named `connectionName`. */
async function brokerConnectionInfo(connectionName: string, column: string): Promise<string> {
  const out = await rabbitmqctl(['list_connections', column, 'client_properties', '--no-table-headers', '-q']);
  const line = out.split('\n').find((l) => l.includes(`{"connection_name","${connectionName}"}`));
  if (line === undefined) throw new Error(`no broker connection named ${connectionName} in:\n${out}`);
  return line.split('\t')[0].trim();
}

describe('Connection against RabbitMQ', function () {
  this.timeout(60000);

  afterEach(async function () {
    for (const connection of tracked.splice(0)) {
      if (connection.isOpen) await closeConnection(connection);
      else if (!connection.isClosed && !connection.isClosing) connection.close();
    }
  });

  describe('open and close', function () {
    it('opens once with the negotiated limits and the server properties, and closes once with ConnectionClosedByClient', async function () {
      const baseline = activeSockets().length;
      const o = observe();
      const c = o.connection;
      const loopStopped = within(20000, c.ioloop.start(), 'ioloop.start()');
      expect([c.isOpen, c.isClosing, c.isClosed]).to.deep.equal([false, false, false]);
      await within(10000, o.opened, 'opening');
      expect([c.isOpen, c.isClosing, c.isClosed]).to.deep.equal([true, false, false]);
      expect(c.channelMax).to.equal(2047); // RabbitMQ's default channel_max, below our 65535
      expect(c.frameMax).to.equal(131072);
      expect(c.heartbeat).to.equal(60); // the broker's proposal, accepted
      expect(c.serverProperties['product']).to.equal('RabbitMQ');
      expect(c.serverProperties['version']).to.be.a('string').that.matches(/^3\./);
      expect((c.serverProperties['capabilities'] as Record<string, unknown>)['connection.blocked']).to.equal(true);
      c.close();
      expect([c.isOpen, c.isClosing, c.isClosed]).to.deep.equal([false, true, false]);
      const reason = await within(10000, o.closed, 'closing');
      expect(reason).to.be.instanceOf(ConnectionClosedByClient);
      expect((reason as ConnectionClosedByClient).replyCode).to.equal(200);
      expect((reason as ConnectionClosedByClient).replyText).to.equal('Normal shutdown');
      expect([c.isOpen, c.isClosing, c.isClosed]).to.deep.equal([false, false, true]);
      await loopStopped; // stopIOLoopOnClose: the connection owns its loop
      await sleep(100);
      expect(o.closes).to.have.length(1);
      expect(o.opens).to.equal(1);
      expect(loopOf(c).pendingTimerCount).to.equal(0);
      await eventually(() => activeSockets().length <= baseline, 3000, 'the socket closing');
    });

    it('negotiates channelMax, frameMax and heartbeat down to what the client asks for', async function () {
      const o = observe({ parameters: brokerParameters({ channelMax: 10, frameMax: 8192, heartbeat: 30 }) });
      const c = await within(10000, o.opened, 'opening');
      expect([c.channelMax, c.frameMax, c.heartbeat]).to.deep.equal([10, 8192, 30]);
      // A message larger than frameMax goes out in several body frames and comes back whole.
      const ch = await openChannel(c);
      const q = await cbp<spec.Queue.DeclareOk>((cb) => ch.queueDeclare('', { exclusive: true }, cb));
      const body = Buffer.alloc(50000, 7);
      ch.basicPublish('', q.queue, body);
      const got = await within(10000, waitForMessage(ch, q.queue), 'basicGet');
      expect(got.equals(body)).to.equal(true);
    });
  });

  describe('failures to open', function () {
    it('reports a wrong password as ProbableAuthenticationError (the broker closes with 403)', async function () {
      const baseline = activeSockets().length;
      const o = observe({ parameters: brokerParameters({ credentials: new PlainCredentials('guest', 'wrong') }) });
      const err = await expectCleanFailure(o, baseline);
      expect(err).to.be.instanceOf(ProbableAuthenticationError);
      expect(err.message).to.match(/403|ACCESS_REFUSED/);
    });

    it('does not retry a refused login even with several connection attempts', async function () {
      const baseline = activeSockets().length;
      const o = observe({
        parameters: brokerParameters({ credentials: new PlainCredentials('nobody', 'x'), connectionAttempts: 3, retryDelay: 0.2 }),
      });
      const err = await expectCleanFailure(o, baseline);
      expect(err).to.be.instanceOf(ProbableAuthenticationError);
    });

    it('reports a virtual host without permission as ProbableAccessDeniedError', async function () {
      const baseline = activeSockets().length;
      const o = observe({ parameters: brokerParameters({ virtualHost: deniedVhost() }) });
      const err = await expectCleanFailure(o, baseline);
      expect(err).to.be.instanceOf(ProbableAccessDeniedError);
      expect(err.message).to.contain(deniedVhost());
    });

    it('reports a refused port as SocketConnectError', async function () {
      const baseline = activeSockets().length;
      const port = await freePort();
      const o = observe({ parameters: new ConnectionParameters({ host: '127.0.0.1', port }) });
      const loopStopped = within(5000, o.connection.ioloop.start(), 'ioloop.start()');
      const err = await expectCleanFailure(o, baseline);
      await loopStopped; // the connection owns its loop: a failed open stops it too
      expect(err).to.be.instanceOf(SocketConnectError);
      expect(err.message).to.contain('ECONNREFUSED');
      expect(err.message).to.contain(String(port));
    });

    it('makes connectionAttempts attempts retryDelay apart, then fails with ConnectionWorkflowFailed listing them', async function () {
      const baseline = activeSockets().length;
      const port = await freePort();
      const started = Date.now();
      const o = observe({ parameters: new ConnectionParameters({ host: '127.0.0.1', port, connectionAttempts: 3, retryDelay: 0.2 }) });
      const err = (await expectCleanFailure(o, baseline)) as ConnectionWorkflowFailed;
      expect(err).to.be.instanceOf(ConnectionWorkflowFailed);
      expect(err.attempts).to.have.length(3);
      for (const attempt of err.attempts) expect(attempt).to.be.instanceOf(SocketConnectError);
      expect(Date.now() - started).to.be.at.least(400 - 20); // two pauses of retryDelay
    });

    it('bounds a TLS handshake the server never answers with socketTimeout (SocketConnectError, timed out)', async function () {
      const baseline = activeSockets().length;
      const server = await LocalServer.start();
      try {
        const started = Date.now();
        const o = observe({ parameters: new ConnectionParameters({ host: '127.0.0.1', port: server.port, ssl: true, socketTimeout: 0.5 }) });
        const err = await within(5000, o.failed, 'onOpenError');
        expect(err).to.be.instanceOf(SocketConnectError);
        expect(err.message).to.match(/TLS handshake .* timed out/);
        expect(Date.now() - started).to.be.within(400, 3000);
        await server.close();
        await expectCleanFailure(o, baseline);
      } finally {
        await server.close();
      }
    });

    it('bounds an AMQP handshake the server never answers with stackTimeout (StackTimeoutError)', async function () {
      const baseline = activeSockets().length;
      const server = await LocalServer.start();
      try {
        const o = observe({ parameters: new ConnectionParameters({ host: '127.0.0.1', port: server.port, stackTimeout: 0.5 }) });
        const err = await within(5000, o.failed, 'onOpenError');
        expect(err).to.be.instanceOf(StackTimeoutError);
        await server.close();
        await expectCleanFailure(o, baseline);
      } finally {
        await server.close();
      }
    });

    it('cancels a connect still pending when stackTimeout (shorter than socketTimeout) expires', async function () {
      const server = await LocalServer.start(); // TLS never completes: the connect stays pending
      try {
        const o = observe({
          parameters: new ConnectionParameters({
            host: '127.0.0.1',
            port: server.port,
            ssl: true,
            socketTimeout: 0.6,
            stackTimeout: 0.3,
            connectionAttempts: 2,
            retryDelay: 0.2,
          }),
        });
        // The first connect's socketTimeout (0.6 s) falls inside the second attempt (0.5-0.8 s).
        const err = (await within(5000, o.failed, 'onOpenError')) as ConnectionWorkflowFailed;
        expect(err).to.be.instanceOf(ConnectionWorkflowFailed);
        expect(err.attempts.map((e) => e.constructor.name)).to.deep.equal(['StackTimeoutError', 'StackTimeoutError']);
        expect(loopOf(o.connection).pendingTimerCount, 'timers left').to.equal(0);
        await eventually(() => clientSocketsTo(server.port).length === 0, 1000, 'the client sockets closing');
        await sleep(700); // past every socketTimeout: nothing more may be reported
        expect(o.openErrors).to.have.length(1);
        expect(o.closes).to.have.length(0);
      } finally {
        await server.close();
      }
    });

    it('fails over to the second parameter set when the first port is dead', async function () {
      const port = await freePort();
      const broker = brokerParameters();
      const o = observe({ parameters: [new ConnectionParameters({ host: '127.0.0.1', port }), broker] });
      const c = await within(10000, o.opened, 'opening');
      expect(c.parameters?.port).to.equal(broker.port);
      expect(o.openErrors).to.have.length(0);
    });

    it('fails over to the second parameter set after the first connected and timed out', async function () {
      // The first attempt's transport is dropped; its late close must not disturb the second attempt.
      const server = await LocalServer.start();
      try {
        const broker = brokerParameters();
        const o = observe({
          parameters: [new ConnectionParameters({ host: '127.0.0.1', port: server.port, stackTimeout: 0.3 }), broker],
        });
        const c = await within(10000, o.opened, 'opening');
        expect(c.parameters?.port).to.equal(broker.port);
        await sleep(200);
        expect(c.isOpen).to.equal(true);
        expect(o.closes).to.have.length(0);
      } finally {
        await server.close();
      }
    });
  });

  describe('closed under us', function () {
    it('reports a broker-forced close as ConnectionClosedByBroker(320) to the connection, its channels and pending calls', async function () {
      const name = uniqueName('forced');
      const o = observe({ parameters: brokerParameters({ clientProperties: { connection_name: name } }) });
      const c = await within(10000, o.opened, 'opening');
      const ch = await openChannel(c);
      const channelClose = new Promise<Error>((resolve) => ch.addOnCloseCallback((_ch, r) => resolve(r)));
      const q = await cbp<spec.Queue.DeclareOk>((cb) => ch.queueDeclare('', { exclusive: true }, cb));
      // Keep one call in flight at all times, so that the close finds one pending.
      const results: Array<Error | null> = [];
      const chain = new Promise<Error>((resolve) => {
        const next = (): void =>
          ch.queueDeclare(q.queue, { passive: true }, (err) => {
            results.push(err);
            if (err !== null) resolve(err);
            else next();
          });
        next();
      });
      const pid = await brokerConnectionPid(name);
      await rabbitmqctl(['close_connection', pid, 'go away']);
      const reason = await within(10000, o.closed, 'onClose');
      expect(reason).to.be.instanceOf(ConnectionClosedByBroker);
      expect((reason as ConnectionClosedByBroker).replyCode).to.equal(320);
      expect((reason as ConnectionClosedByBroker).replyText).to.contain('go away');
      expect(await within(1000, channelClose, 'channel onClose')).to.equal(reason);
      expect(await within(1000, chain, 'pending call')).to.equal(reason);
      expect(results.filter((r) => r !== null)).to.have.length(1);
      expect(ch.isClosed).to.equal(true);
      await sleep(100);
      expect(o.closes).to.have.length(1);
      expect(loopOf(c).pendingTimerCount).to.equal(0);
    });

    it('reports a socket destroyed under it as StreamLostError, once', async function () {
      const sockets: net.Socket[] = [];
      const ioloop = new StreamIOLoop({
        openStream: (target) => {
          const socket = net.connect({ host: target.host, port: target.port });
          sockets.push(socket);
          return socket;
        },
      });
      const o = observe({ ioloop });
      const c = await within(10000, o.opened, 'opening');
      const ch = await openChannel(c);
      const channelClose = new Promise<Error>((resolve) => ch.addOnCloseCallback((_ch, r) => resolve(r)));
      expect(sockets).to.have.length(1);
      sockets[0].destroy();
      const reason = await within(5000, o.closed, 'onClose');
      expect(reason).to.be.instanceOf(StreamLostError);
      expect(await within(1000, channelClose, 'channel onClose')).to.equal(reason);
      await sleep(100);
      expect(o.closes).to.have.length(1);
      expect(c.isClosed).to.equal(true);
      expect(ioloop.pendingTimerCount).to.equal(0);
    });
  });

  describe('heartbeats', function () {
    it('keeps an idle connection with heartbeat 1 open (our heartbeats satisfy the broker)', async function () {
      const name = uniqueName('heartbeat');
      const o = observe({ parameters: brokerParameters({ heartbeat: 1, clientProperties: { connection_name: name } }) });
      const c = await within(10000, o.opened, 'opening');
      expect(c.heartbeat).to.equal(1);
      const idle = sleep(4000);
      expect(await brokerConnectionInfo(name, 'timeout')).to.equal('1');
      await idle;
      expect(c.isOpen).to.equal(true);
      expect(o.closes).to.have.length(0);
      expect(await brokerConnectionInfo(name, 'state')).to.equal('running');
    });

    it('times out with AMQPHeartbeatTimeout when the broker falls silent', async function () {
      const { host, port } = brokerAddress();
      const proxy = await TcpProxy.start(host, port);
      try {
        const o = observe({ parameters: brokerParameters({ host: '127.0.0.1', port: proxy.port, heartbeat: 1 }) });
        const c = await within(10000, o.opened, 'opening');
        await sleep(1500);
        expect(c.isOpen).to.equal(true);
        proxy.goSilent();
        const paused = Date.now();
        const reason = await within(6000, o.closed, 'onClose');
        expect(reason).to.be.instanceOf(AMQPHeartbeatTimeout);
        // Silence since the broker's last heartbeat (at most ~1 s before the pause) reaches 2 s, seen at a 0.5 s tick.
        expect(Date.now() - paused).to.be.within(900, 4000);
        await sleep(100);
        expect(o.closes).to.have.length(1);
        expect(loopOf(c).pendingTimerCount).to.equal(0);
      } finally {
        await proxy.close();
      }
    });
  });

  describe('blocked connections', function () {
    afterEach(async function () {
      // ALWAYS: the broker is shared by every test of the run.
      await rabbitmqctl(['set_vm_memory_high_watermark', '0.4']);
    });

    it('reports connection.blocked on a memory alarm and connection.unblocked when it clears', async function () {
      const o = observe();
      const c = await within(10000, o.opened, 'opening');
      const ch = await openChannel(c);
      const blocked = new Promise<spec.Connection.Blocked>((resolve) => c.addOnConnectionBlockedCallback((_c, m) => resolve(m)));
      const unblocked = new Promise<spec.Connection.Unblocked>((resolve) => c.addOnConnectionUnblockedCallback((_c, m) => resolve(m)));
      await rabbitmqctl(['set_vm_memory_high_watermark', '0']);
      ch.basicPublish('', uniqueName('blocked'), 'x'); // the broker blocks a connection when it publishes
      const method = await within(10000, blocked, 'connection.blocked');
      expect(method).to.be.instanceOf(spec.Connection.Blocked);
      expect(method.reason).to.match(/memory/i);
      expect(c.isBlocked).to.equal(true);
      await rabbitmqctl(['set_vm_memory_high_watermark', '0.4']);
      await within(10000, unblocked, 'connection.unblocked');
      expect(c.isBlocked).to.equal(false);
      expect(c.isOpen).to.equal(true);
    });

    it('closes a connection blocked longer than blockedConnectionTimeout with ConnectionBlockedTimeout', async function () {
      const o = observe({ parameters: brokerParameters({ blockedConnectionTimeout: 1 }) });
      const c = await within(10000, o.opened, 'opening');
      const ch = await openChannel(c);
      const blocked = new Promise<void>((resolve) => c.addOnConnectionBlockedCallback(() => resolve()));
      await rabbitmqctl(['set_vm_memory_high_watermark', '0']);
      ch.basicPublish('', uniqueName('blocked'), 'x');
      await within(10000, blocked, 'connection.blocked');
      const since = Date.now();
      const reason = await within(5000, o.closed, 'onClose');
      expect(reason).to.be.instanceOf(ConnectionBlockedTimeout);
      expect(Date.now() - since).to.be.within(800, 3500);
      expect(ch.isClosed).to.equal(true);
      expect(loopOf(c).pendingTimerCount).to.equal(0);
    });
  });

  describe('backpressure', function () {
    it('keeps the outbound buffer bounded while publishing 200k messages of 1 KiB as fast as drain allows', async function () {
      this.timeout(180000);
      const o = observe();
      const c = await within(10000, o.opened, 'opening');
      const ch = await openChannel(c);
      const queue = uniqueName('backpressure');
      await cbp((cb) => ch.queueDeclare(queue, {}, cb));
      try {
        const total = 200000;
        const body = Buffer.alloc(1024, 1);
        const stats = await within(150000, publishWithBackpressure(c, ch, queue, body, total), 'publishing');
        expect(stats.waits, 'basicPublish returned false at least once').to.be.greaterThan(0);
        if (process.env['CONEY_VERBOSE']) console.log('backpressure', stats);
        expect(stats.maxBuffered, 'outboundBufferedBytes').to.be.below(2 * 1024 * 1024);
        await within(60000, waitForQueueLength(ch, queue, total), 'all messages queued');
      } finally {
        if (ch.isOpen) await cbp((cb) => ch.queueDelete(queue, {}, cb));
      }
    });
  });

  describe('RabbitMQ extensions', function () {
    it('update-secret with PLAIN: RabbitMQ answers update-secret-ok and the connection goes on', async function () {
      const o = observe();
      const c = await within(10000, o.opened, 'opening');
      const err = await within(10000, new Promise<Error | null>((resolve) => c.updateSecret('guest', 'token refresh', resolve)), 'update-secret');
      expect(err).to.equal(null);
      // The internal backend does not re-check the secret: a wrong one is accepted too (RabbitMQ 3.10).
      const err2 = await within(10000, new Promise<Error | null>((resolve) => c.updateSecret('not-the-password', 'x', resolve)), 'update-secret');
      expect(err2).to.equal(null);
      const ch = await openChannel(c);
      expect(ch.isOpen).to.equal(true);
    });

    it('channel.flow: RabbitMQ answers flow(true) and closes the connection with 540 on flow(false)', async function () {
      const o = observe();
      const c = await within(10000, o.opened, 'opening');
      const ch = await openChannel(c);
      const ok = await cbp<spec.Channel.FlowOk>((cb) => ch.flow(true, cb));
      expect(ok.active).to.equal(true);
      const err = await within(10000, new Promise<Error | null>((resolve) => ch.flow(false, (e) => resolve(e))), 'flow(false)');
      expect(err).to.be.instanceOf(ConnectionClosedByBroker);
      expect((err as ConnectionClosedByBroker).replyCode).to.equal(540);
      const reason = await within(5000, o.closed, 'onClose');
      expect(reason).to.equal(err);
    });
  });

  describe('TLS', function () {
    it('opens an amqps URL with ssl_options naming the CA file', async function () {
      const info = amqpsInfo();
      const url = `${info.url}?ssl_options=${encodeURIComponent(JSON.stringify({ ca_certs: info.caFile }))}`;
      const o = observe({ parameters: new URLParameters(url) });
      const c = await within(10000, o.opened, 'opening');
      expect(c.serverProperties['product']).to.equal('RabbitMQ');
      const ch = await openChannel(c);
      expect(ch.isOpen).to.equal(true);
    });

    it('opens with ConnectionParameters and ssl: { ca }', async function () {
      const info = amqpsInfo();
      const url = new URLParameters(info.url);
      const o = observe({
        parameters: new ConnectionParameters({ host: url.host, port: url.port, credentials: url.credentials, ssl: { ca: info.ca } }),
      });
      await within(10000, o.opened, 'opening');
    });

    it('fails with a SocketConnectError naming the certificate problem without the CA', async function () {
      const baseline = activeSockets().length;
      const info = amqpsInfo();
      const o = observe({ parameters: new URLParameters(info.url) });
      const err = await expectCleanFailure(o, baseline);
      expect(err).to.be.instanceOf(SocketConnectError);
      expect(err.message).to.match(/TLS handshake/);
      expect(err.message).to.match(/certificate/i);
    });

    it('logs in with SASL EXTERNAL and the client certificate', async function () {
      const info = amqpsInfo();
      const url = new URLParameters(info.url);
      const name = uniqueName('external');
      const o = observe({
        parameters: new ConnectionParameters({
          host: url.host,
          port: url.port,
          credentials: new ExternalCredentials(),
          ssl: { ca: info.ca, cert: info.cert, key: info.key },
          clientProperties: { connection_name: name },
        }),
      });
      const c = await within(10000, o.opened, 'opening');
      expect(c.serverProperties['product']).to.equal('RabbitMQ');
      expect(await brokerConnectionInfo(name, 'user')).to.equal(info.clientUser);
      expect(await brokerConnectionInfo(name, 'auth_mechanism')).to.equal('EXTERNAL');
    });
  });
});

/** Fetches one message from `queue` with basic.get, polling until there is one. */
async function waitForMessage(ch: Channel, queue: string): Promise<Buffer> {
  for (;;) {
    const message = await cbp<{ body: Buffer } | null>((cb) => ch.basicGet(queue, cb, { autoAck: true }));
    if (message) return message.body;
    await sleep(20);
  }
}

/** Polls a passive queue.declare until the queue holds `count` messages. */
async function waitForQueueLength(ch: Channel, queue: string, count: number): Promise<void> {
  for (;;) {
    const ok = await cbp<spec.Queue.DeclareOk>((cb) => ch.queueDeclare(queue, { passive: true }, cb));
    if (ok.messageCount >= count) {
      expect(ok.messageCount).to.equal(count);
      return;
    }
    await sleep(100);
  }
}

/**
 * Publishes `total` messages, pausing whenever basicPublish returns false
 * until the connection's drain callback. Records the largest outbound backlog.
 */
function publishWithBackpressure(
  c: Connection,
  ch: Channel,
  queue: string,
  body: Buffer,
  total: number,
): Promise<{ maxBuffered: number; waits: number }> {
  return new Promise((resolve) => {
    let sent = 0;
    let waits = 0;
    let maxBuffered = 0;
    let waiting = false;
    const pump = (): void => {
      waiting = false;
      while (sent < total) {
        const more = ch.basicPublish('', queue, body);
        sent += 1;
        maxBuffered = Math.max(maxBuffered, c.outboundBufferedBytes);
        if (!more) {
          expect(c.writableNeedDrain).to.equal(true);
          waits += 1;
          waiting = true;
          return;
        }
      }
      resolve({ maxBuffered, waits });
    };
    c.addOnDrainCallback(() => {
      maxBuffered = Math.max(maxBuffered, c.outboundBufferedBytes);
      if (waiting) pump();
    });
    pump();
  });
}
