/**
 * The Channel against a real RabbitMQ (issue 4): every method with its
 * options and decoded reply, ordering, channel numbers, message content,
 * consumers, confirms, returns, transactions, errors and closing.
 *
 * Every wait is bounded (`within` / `eventually`), names are unique per run,
 * and every connection is closed after each test. Exceptions thrown inside
 * callbacks (failed assertions included) reach `onCallbackError` and fail
 * the test that caused them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import {
  type BasicPropertiesInit,
  type Callback,
  type ErrorCallback,
  type Channel,
  ChannelClosedByBroker,
  ChannelClosedByClient,
  ChannelWrongStateError,
  type Connection,
  ConnectionClosedByBroker,
  ConnectionClosedByClient,
  type ConnectionParametersOptions,
  Decimal,
  DuplicateConsumerTag,
  type GetMessage,
  NoFreeChannelsError,
  type SelectConnection,
  spec,
} from '../../lib';
import { rabbitmqctl, uniqueName } from '../support/broker';
import { brokerParameters, cbp, closeConnection, openChannel, openConnection, within } from '../support/callbacks';
import { eventually, sleep } from '../support/polling';

/** Upper bound of any single wait on the broker. */
const WAIT = 10000;

const connections: Connection[] = [];
/** Exceptions thrown by user callbacks (see onCallbackError). */
const callbackErrors: unknown[] = [];

/** Opens a connection to the test broker, closed again after the test. */
async function connect(overrides: ConnectionParametersOptions = {}): Promise<SelectConnection> {
  const connection = await openConnection({
    parameters: brokerParameters(overrides),
    onCallbackError: (err) => callbackErrors.push(err),
  });
  connections.push(connection);
  return connection;
}

/** Opens a channel (bounded). */
function channelOf(connection: Connection): Promise<Channel> {
  return within(WAIT, openChannel(connection), 'opening a channel');
}

/** A connection and one open channel on it. */
async function connectWithChannel(overrides: ConnectionParametersOptions = {}): Promise<{ connection: SelectConnection; ch: Channel }> {
  const connection = await connect(overrides);
  return { connection, ch: await channelOf(connection) };
}

/** Runs an error-first call; resolves with its result (bounded). */
function call<T>(what: string, start: (cb: Callback<T>) => void): Promise<T> {
  return within(WAIT, cbp<T>(start), what);
}

/** Runs an error-first call that must fail; resolves with the error (bounded). */
function failure(what: string, start: (cb: ErrorCallback) => void): Promise<Error> {
  return within(
    WAIT,
    new Promise<Error>((resolve, reject) => {
      start((err) => (err === null ? reject(new Error(`${what} succeeded, but was expected to fail`)) : resolve(err)));
    }),
    what,
  );
}

/** Declares a fresh exclusive queue and returns its name. */
async function freshQueue(ch: Channel, options: Parameters<Channel['queueDeclare']>[1] = {}): Promise<string> {
  const ok = await call<spec.Queue.DeclareOk>('queue.declare', (cb) => ch.queueDeclare(uniqueName('ch-q'), { exclusive: true, ...options }, cb));
  return ok.queue;
}

/** Passive declare: how many messages and consumers the broker reports. */
async function queueState(ch: Channel, queue: string): Promise<{ messages: number; consumers: number }> {
  const ok = await call<spec.Queue.DeclareOk>('passive queue.declare', (cb) => ch.queueDeclare(queue, { passive: true }, cb));
  return { messages: ok.messageCount, consumers: ok.consumerCount };
}

/**
 * Polls the passive declare until it reports `expected`. RabbitMQ answers the
 * queue's `stat` call with priority, ahead of deliveries and requeues still in
 * its mailbox, so a count read right after a publish may lag behind it.
 */
async function settledQueueState(
  ch: Channel,
  queue: string,
  expected: { messages: number; consumers: number },
): Promise<{ messages: number; consumers: number }> {
  const deadline = Date.now() + WAIT;
  for (;;) {
    const state = await queueState(ch, queue);
    if ((state.messages === expected.messages && state.consumers === expected.consumers) || Date.now() > deadline) return state;
    await sleep(10);
  }
}

function get(ch: Channel, queue: string, autoAck = true): Promise<GetMessage | null> {
  return call<GetMessage | null>('basic.get', (cb) => ch.basicGet(queue, cb, { autoAck }));
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** A test that also fails when a callback threw (for example a failed assertion inside one). */
function itBroker(title: string, fn: () => Promise<void>): Mocha.Test {
  return it(title, async () => {
    await fn();
    expect(callbackErrors, 'exceptions thrown by callbacks').to.deep.equal([]);
  });
}

/** The broker's pid of the connection whose client properties carry `connectionName`. */
async function connectionPid(connectionName: string): Promise<string> {
  const deadline = Date.now() + WAIT;
  for (;;) {
    const out = await rabbitmqctl(['list_connections', '--no-table-headers', '-q', 'pid', 'client_properties']);
    const line = out.split('\n').find((l) => l.includes(`"${connectionName}"`));
    if (line !== undefined) return line.split('\t')[0];
    if (Date.now() > deadline) throw new Error(`connection ${connectionName} not listed by rabbitmqctl:\n${out}`);
    await sleep(100);
  }
}

describe('Channel (integration, RabbitMQ)', function () {
  this.timeout(60000);

  afterEach(async () => {
    const open = connections.splice(0);
    await Promise.all(open.map((c) => closeConnection(c).catch(() => undefined)));
    callbackErrors.splice(0);
  });

  describe('exchange methods', () => {
    itBroker('declares, passively declares and deletes an exchange, with decoded replies', async () => {
      const { ch } = await connectWithChannel();
      const name = uniqueName('ch-x');
      const ok = await call('exchange.declare', (cb) => ch.exchangeDeclare(name, { type: 'topic', autoDelete: false, durable: false }, cb));
      expect(ok).to.be.instanceOf(spec.Exchange.DeclareOk);
      const passive = await call('passive exchange.declare', (cb) => ch.exchangeDeclare(name, { type: 'topic', passive: true }, cb));
      expect(passive).to.be.instanceOf(spec.Exchange.DeclareOk);
      const deleted = await call('exchange.delete', (cb) => ch.exchangeDelete(name, {}, cb));
      expect(deleted).to.be.instanceOf(spec.Exchange.DeleteOk);
      const err = await failure('passive declare of the deleted exchange', (cb) => ch.exchangeDeclare(name, { passive: true }, cb));
      expect(err).to.be.instanceOf(ChannelClosedByBroker);
      expect((err as ChannelClosedByBroker).replyCode).to.equal(404);
    });

    itBroker('routes a message over an exchange-to-exchange binding, and stops after unbind', async () => {
      const { ch } = await connectWithChannel();
      const source = uniqueName('ch-src');
      const destination = uniqueName('ch-dst');
      await call('declare source', (cb) => ch.exchangeDeclare(source, { type: 'direct' }, cb));
      await call('declare destination', (cb) => ch.exchangeDeclare(destination, { type: 'fanout' }, cb));
      const queue = await freshQueue(ch);
      await call('queue.bind', (cb) => ch.queueBind(queue, destination, '', {}, cb));
      const bound = await call('exchange.bind', (cb) => ch.exchangeBind(destination, source, 'rk', {}, cb));
      expect(bound).to.be.instanceOf(spec.Exchange.BindOk);
      ch.basicPublish(source, 'rk', 'via e2e');
      ch.basicPublish(source, 'other', 'not routed');
      const message = await get(ch, queue);
      expect(message?.body.toString()).to.equal('via e2e');
      expect(message?.method.exchange).to.equal(source);
      expect(await get(ch, queue)).to.equal(null);
      const unbound = await call('exchange.unbind', (cb) => ch.exchangeUnbind(destination, source, 'rk', {}, cb));
      expect(unbound).to.be.instanceOf(spec.Exchange.UnbindOk);
      ch.basicPublish(source, 'rk', 'after unbind');
      expect(await get(ch, queue)).to.equal(null);
      await call('delete source', (cb) => ch.exchangeDelete(source, {}, cb));
      await call('delete destination', (cb) => ch.exchangeDelete(destination, {}, cb));
    });

    itBroker('exchangeDelete with ifUnused fails with 406 while the exchange has bindings', async () => {
      const { connection, ch } = await connectWithChannel();
      const exchange = uniqueName('ch-x');
      await call('exchange.declare', (cb) => ch.exchangeDeclare(exchange, { type: 'fanout' }, cb));
      const queue = await freshQueue(ch);
      await call('queue.bind', (cb) => ch.queueBind(queue, exchange, '', {}, cb));
      const err = await failure('exchange.delete ifUnused', (cb) => ch.exchangeDelete(exchange, { ifUnused: true }, cb));
      expect(err).to.be.instanceOf(ChannelClosedByBroker);
      expect((err as ChannelClosedByBroker).replyCode).to.equal(406);
      const ch2 = await channelOf(connection);
      await call('exchange.delete', (cb) => ch2.exchangeDelete(exchange, {}, cb));
    });
  });

  describe('queue methods', () => {
    itBroker('declares a server-named queue; DeclareOk carries queue, messageCount and consumerCount', async () => {
      const { ch } = await connectWithChannel();
      const ok = await call<spec.Queue.DeclareOk>('queue.declare', (cb) => ch.queueDeclare('', { exclusive: true }, cb));
      expect(ok).to.be.instanceOf(spec.Queue.DeclareOk);
      expect(ok.queue).to.match(/^amq\.gen-/);
      expect([ok.messageCount, ok.consumerCount]).to.deep.equal([0, 0]);
      ch.basicPublish('', ok.queue, 'one');
      ch.basicPublish('', ok.queue, 'two');
      expect(await settledQueueState(ch, ok.queue, { messages: 2, consumers: 0 })).to.deep.equal({ messages: 2, consumers: 0 });
      ch.basicConsume(ok.queue, () => undefined, { autoAck: false });
      expect((await queueState(ch, ok.queue)).consumers).to.equal(1);
    });

    itBroker('binds and unbinds a queue (routing key defaults to the queue name)', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      const bound = await call('queue.bind', (cb) => ch.queueBind(queue, 'amq.direct', undefined, {}, cb));
      expect(bound).to.be.instanceOf(spec.Queue.BindOk);
      ch.basicPublish('amq.direct', queue, 'routed by default key');
      expect((await get(ch, queue))?.body.toString()).to.equal('routed by default key');
      await call('queue.bind explicit key', (cb) => ch.queueBind(queue, 'amq.direct', 'explicit', {}, cb));
      const unbound = await call('queue.unbind', (cb) => ch.queueUnbind(queue, 'amq.direct', undefined, {}, cb));
      expect(unbound).to.be.instanceOf(spec.Queue.UnbindOk);
      ch.basicPublish('amq.direct', queue, 'no longer routed');
      ch.basicPublish('amq.direct', 'explicit', 'still routed');
      expect((await get(ch, queue))?.body.toString()).to.equal('still routed');
      expect(await get(ch, queue)).to.equal(null);
    });

    itBroker('purges a queue; ok.messageCount says how many', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      for (let i = 0; i < 3; i++) ch.basicPublish('', queue, `m${i}`);
      const ok = await call<spec.Queue.PurgeOk>('queue.purge', (cb) => ch.queuePurge(queue, cb));
      expect(ok).to.be.instanceOf(spec.Queue.PurgeOk);
      expect(ok.messageCount).to.equal(3);
      expect((await queueState(ch, queue)).messages).to.equal(0);
    });

    itBroker('deletes a queue; ok.messageCount says how many messages went with it', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      ch.basicPublish('', queue, 'a');
      ch.basicPublish('', queue, 'b');
      const ok = await call<spec.Queue.DeleteOk>('queue.delete', (cb) => ch.queueDelete(queue, {}, cb));
      expect(ok).to.be.instanceOf(spec.Queue.DeleteOk);
      expect(ok.messageCount).to.equal(2);
      const err = await failure('passive declare of the deleted queue', (cb) => ch.queueDeclare(queue, { passive: true }, cb));
      expect((err as ChannelClosedByBroker).replyCode).to.equal(404);
    });

    itBroker('queueDelete ifEmpty fails with 406 on a queue with messages', async () => {
      const { connection, ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      ch.basicPublish('', queue, 'keep me');
      const err = await failure('queue.delete ifEmpty', (cb) => ch.queueDelete(queue, { ifEmpty: true }, cb));
      expect(err).to.be.instanceOf(ChannelClosedByBroker);
      expect((err as ChannelClosedByBroker).replyCode).to.equal(406);
      expect((err as ChannelClosedByBroker).replyText).to.match(/PRECONDITION_FAILED/);
      const ch2 = await channelOf(connection);
      expect((await queueState(ch2, queue)).messages).to.equal(1);
    });

    itBroker('queueDelete ifUnused fails with 406 on a queue with a consumer', async () => {
      const { connection, ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      const ch2 = await channelOf(connection);
      await call('basic.consume', (cb) => ch2.basicConsume(queue, () => undefined, {}, cb));
      const err = await failure('queue.delete ifUnused', (cb) => ch.queueDelete(queue, { ifUnused: true }, cb));
      expect((err as ChannelClosedByBroker).replyCode).to.equal(406);
      expect(ch2.isOpen).to.equal(true);
      expect((await queueState(ch2, queue)).consumers).to.equal(1);
    });
  });

  describe('basic methods', () => {
    itBroker('basicQos limits unacknowledged deliveries to prefetchCount', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      const ok = await call('basic.qos', (cb) => ch.basicQos({ prefetchCount: 2 }, cb));
      expect(ok).to.be.instanceOf(spec.Basic.QosOk);
      await call('basic.qos global', (cb) => ch.basicQos({ prefetchCount: 10, global: true }, cb));
      for (let i = 0; i < 5; i++) ch.basicPublish('', queue, `m${i}`);
      const got: spec.Basic.Deliver[] = [];
      await call('basic.consume', (cb) => ch.basicConsume(queue, (_c, m) => got.push(m), {}, cb));
      await eventually(() => got.length === 2, WAIT, 'two deliveries');
      await sleep(200);
      expect(got).to.have.length(2);
      ch.basicAck(got[1].deliveryTag, true);
      await eventually(() => got.length === 4, WAIT, 'two more deliveries');
      await sleep(100);
      expect(got).to.have.length(4);
    });

    itBroker('basicAck, basicNack and basicReject settle messages as asked', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      for (let i = 0; i < 6; i++) ch.basicPublish('', queue, `m${i}`);
      const messages: GetMessage[] = [];
      for (let i = 0; i < 6; i++) messages.push((await get(ch, queue, false))!);
      expect(messages.map((m) => m.body.toString())).to.deep.equal(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
      ch.basicAck(messages[0].method.deliveryTag); // m0 gone
      ch.basicNack(messages[1].method.deliveryTag, false, false); // m1 dropped
      ch.basicReject(messages[2].method.deliveryTag, true); // m2 back
      ch.basicReject(messages[3].method.deliveryTag, false); // m3 dropped
      ch.basicNack(messages[5].method.deliveryTag, true, true); // m4, m5 back
      expect(await settledQueueState(ch, queue, { messages: 3, consumers: 0 })).to.deep.equal({ messages: 3, consumers: 0 });
      const back: string[] = [];
      for (let i = 0; i < 3; i++) {
        const m = (await get(ch, queue))!;
        expect(m.method.redelivered).to.equal(true);
        back.push(m.body.toString());
      }
      expect(back.sort()).to.deep.equal(['m2', 'm4', 'm5']);
    });

    itBroker('basicRecover(true) redelivers unacknowledged messages', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      ch.basicPublish('', queue, 'recover me');
      const got: Array<{ m: spec.Basic.Deliver; body: string }> = [];
      await call('basic.consume', (cb) => ch.basicConsume(queue, (_c, m, _p, body) => got.push({ m, body: body.toString() }), {}, cb));
      await eventually(() => got.length === 1, WAIT, 'the first delivery');
      const ok = await call('basic.recover', (cb) => ch.basicRecover(true, cb));
      expect(ok).to.be.instanceOf(spec.Basic.RecoverOk);
      await eventually(() => got.length === 2, WAIT, 'the redelivery');
      expect(got[1].body).to.equal('recover me');
      expect(got[1].m.redelivered).to.equal(true);
    });

    itBroker('basicRecover(false) (the AMQP default) is refused by RabbitMQ with a connection error 540', async () => {
      const { connection, ch } = await connectWithChannel();
      const closed = new Promise<Error>((resolve) => connection.addOnCloseCallback((_c, reason) => resolve(reason)));
      const err = await failure('basic.recover requeue=false', (cb) => ch.basicRecover(false, cb));
      expect(err).to.be.instanceOf(ConnectionClosedByBroker);
      expect((err as ConnectionClosedByBroker).replyCode).to.equal(540);
      expect(await within(WAIT, closed, 'connection close')).to.equal(err);
    });

    itBroker('a throwing completion callback reaches onCallbackError; the channel goes on', async () => {
      const { ch } = await connectWithChannel();
      ch.queueDeclare('', { exclusive: true }, () => {
        throw new Error('user bug in a completion callback');
      });
      const later = await freshQueue(ch);
      expect(later.length).to.be.greaterThan(0);
      expect(callbackErrors.splice(0).map((e) => (e as Error).message)).to.deep.equal(['user bug in a completion callback']);
      expect(ch.isOpen).to.equal(true);
    });

    itBroker('basicGet gives the message with messageCount, redelivered, properties and body, or null', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      expect(await get(ch, queue)).to.equal(null);
      ch.basicPublish('', queue, 'first', { messageId: 'id-1', contentType: 'text/plain' });
      ch.basicPublish('', queue, 'second');
      const m = (await get(ch, queue, false))!;
      expect(m.method).to.be.instanceOf(spec.Basic.GetOk);
      expect(m.method.messageCount).to.equal(1);
      expect(m.method.redelivered).to.equal(false);
      expect(m.method.routingKey).to.equal(queue);
      expect(m.properties.messageId).to.equal('id-1');
      expect(m.properties.contentType).to.equal('text/plain');
      expect(m.body.toString()).to.equal('first');
      ch.basicReject(m.method.deliveryTag, true);
      const again = (await get(ch, queue))!;
      expect(again.body.toString()).to.equal('first');
      expect(again.method.redelivered).to.equal(true);
      expect((await get(ch, queue))!.body.toString()).to.equal('second');
      expect(await get(ch, queue)).to.equal(null);
    });
  });

  describe('transactions and flow', () => {
    itBroker('txSelect / txCommit deliver the publishes; txRollback discards them', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      expect(await call('tx.select', (cb) => ch.txSelect(cb))).to.be.instanceOf(spec.Tx.SelectOk);
      ch.basicPublish('', queue, 'committed');
      expect((await queueState(ch, queue)).messages).to.equal(0);
      expect(await call('tx.commit', (cb) => ch.txCommit(cb))).to.be.instanceOf(spec.Tx.CommitOk);
      expect((await get(ch, queue))?.body.toString()).to.equal('committed');
      await call('tx.commit (the get)', (cb) => ch.txCommit(cb));
      ch.basicPublish('', queue, 'rolled back');
      expect(await call('tx.rollback', (cb) => ch.txRollback(cb))).to.be.instanceOf(spec.Tx.RollbackOk);
      expect(await get(ch, queue)).to.equal(null);
      expect((await queueState(ch, queue)).messages).to.equal(0);
    });

    itBroker('flow(true) is answered with flow-ok active', async () => {
      const { ch } = await connectWithChannel();
      const ok = await call<spec.Channel.FlowOk>('channel.flow', (cb) => ch.flow(true, cb));
      expect(ok).to.be.instanceOf(spec.Channel.FlowOk);
      expect(ok.active).to.equal(true);
      expect(ch.isOpen).to.equal(true);
    });

    itBroker('flow(false) is refused by RabbitMQ with a connection error 540 NOT_IMPLEMENTED', async () => {
      const { connection, ch } = await connectWithChannel();
      const closed = new Promise<Error>((resolve) => connection.addOnCloseCallback((_c, reason) => resolve(reason)));
      const err = await failure('channel.flow(false)', (cb) => ch.flow(false, cb));
      expect(err).to.be.instanceOf(ConnectionClosedByBroker);
      expect((err as ConnectionClosedByBroker).replyCode).to.equal(540);
      expect(await within(WAIT, closed, 'connection close')).to.equal(err);
      expect(ch.isClosed).to.equal(true);
    });
  });

  describe('no-wait', () => {
    itBroker('a noWait declare calls back once written, with no reply; the entities exist afterwards', async () => {
      const { connection, ch } = await connectWithChannel();
      const queue = uniqueName('ch-nowait-q');
      const exchange = uniqueName('ch-nowait-x');
      const results: unknown[] = [];
      ch.exchangeDeclare(exchange, { type: 'fanout', autoDelete: true, noWait: true }, (err, ok) => results.push(['x', err, ok]));
      ch.queueDeclare(queue, { exclusive: true, noWait: true }, (err, ok) => results.push(['q', err, ok]));
      ch.queueBind(queue, exchange, '', { noWait: true }, (err, ok) => results.push(['b', err, ok]));
      expect(results, 'not called synchronously').to.deep.equal([]);
      await eventually(() => results.length === 3, WAIT, 'the noWait callbacks');
      expect(results).to.deep.equal([
        ['x', null, undefined],
        ['q', null, undefined],
        ['b', null, undefined],
      ]);
      const ch2 = await channelOf(connection);
      expect(await queueState(ch2, queue)).to.deep.equal({ messages: 0, consumers: 0 });
      await call('passive exchange.declare', (cb) => ch2.exchangeDeclare(exchange, { passive: true }, cb));
      ch2.basicPublish(exchange, '', 'through the noWait binding');
      expect((await get(ch2, queue))?.body.toString()).to.equal('through the noWait binding');
    });
  });

  describe('ordering', () => {
    itBroker('many calls issued back to back complete in order, and the queued publish is routed', async () => {
      const { ch } = await connectWithChannel();
      const order: string[] = [];
      const names = Array.from({ length: 50 }, (_v, i) => `${uniqueName('ch-order')}-${i}`);
      for (const name of names) ch.queueDeclare(name, { exclusive: true }, (err, ok) => order.push(err ? `error ${err.message}` : ok.queue));
      ch.queueBind(names[49], 'amq.direct', 'order-key', {}, (err) => order.push(err ? `error ${err.message}` : 'bind'));
      ch.basicPublish('amq.direct', 'order-key', 'after the bind');
      const got = cbp<GetMessage | null>((cb) =>
        ch.basicGet(
          names[49],
          (err, m) => {
            order.push('get');
            cb(err, m);
          },
          { autoAck: true },
        ),
      );
      const message = await within(WAIT, got, 'the basic.get after 52 calls');
      expect(order).to.deep.equal([...names, 'bind', 'get']);
      expect(message?.body.toString()).to.equal('after the bind');
    });

    itBroker('channels are independent: a busy or failed channel does not hold up another', async () => {
      const connection = await connect();
      const [busy, failing, quick] = await Promise.all([channelOf(connection), channelOf(connection), channelOf(connection)]);
      let busyDone = 0;
      for (let i = 0; i < 300; i++) busy.queueDeclare(uniqueName('ch-busy'), { exclusive: true }, () => (busyDone += 1));
      const failed = failure('passive declare of a missing queue', (cb) => failing.queueDeclare(uniqueName('ch-missing'), { passive: true }, cb));
      const queued = failure('a call queued behind the failing one', (cb) => failing.queueDeclare(uniqueName('ch-never'), { exclusive: true }, cb));
      const ok = await call<spec.Queue.DeclareOk>('declare on the quick channel', (cb) => quick.queueDeclare('', { exclusive: true }, cb));
      expect(busyDone, 'the quick channel finished before the busy one').to.be.lessThan(300);
      expect(ok.queue).to.match(/^amq\.gen-/);
      expect(await failed).to.equal(await queued);
      await eventually(() => busyDone === 300, WAIT, 'the busy channel');
      expect(busy.isOpen && quick.isOpen && connection.isOpen).to.equal(true);
    });
  });

  describe('many channels', () => {
    itBroker('twenty channels of one connection work at the same time', async () => {
      const connection = await connect();
      const chs = await Promise.all(Array.from({ length: 20 }, () => channelOf(connection)));
      expect(new Set(chs.map((c) => c.channelNumber)).size).to.equal(20);
      const bodies = await Promise.all(
        chs.map(async (ch, i) => {
          const queue = await freshQueue(ch);
          for (let j = 0; j < 10; j++) ch.basicPublish('', queue, `${i}:${j}`);
          const got: string[] = [];
          for (let j = 0; j < 10; j++) got.push((await get(ch, queue))!.body.toString());
          return got;
        }),
      );
      bodies.forEach((got, i) => expect(got).to.deep.equal(Array.from({ length: 10 }, (_v, j) => `${i}:${j}`)));
    });
  });

  describe('channel numbers', () => {
    itBroker('allocates the lowest free number, reuses it, honours an explicit number and channelMax', async () => {
      const connection = await connect({ channelMax: 3 });
      expect(connection.channelMax).to.equal(3);
      const chs = [await channelOf(connection), await channelOf(connection), await channelOf(connection)];
      expect(chs.map((c) => c.channelNumber)).to.deep.equal([1, 2, 3]);
      let thrown: unknown;
      try {
        connection.channel(() => undefined);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).to.be.instanceOf(NoFreeChannelsError);
      expect((thrown as Error).message).to.match(/channelMax/);
      await call('close channel 2', (cb) => chs[1].close(200, 'bye', cb));
      const again = await channelOf(connection);
      expect(again.channelNumber).to.equal(2);
      await call('close channel 1', (cb) => chs[0].close(200, 'bye', cb));
      await call('close channel 3', (cb) => chs[2].close(200, 'bye', cb));
      const explicit = await call<Channel>('opening channel 3', (cb) => connection.channel(cb, 3));
      expect(explicit.channelNumber).to.equal(3);
      expect(() => connection.channel(() => undefined, 2)).to.throw(/in use/);
      const lowest = await channelOf(connection);
      expect(lowest.channelNumber).to.equal(1);
      expect((await freshQueue(explicit)).length).to.be.greaterThan(0);
    });
  });

  describe('message content', () => {
    itBroker('splits a 100 KiB body at the negotiated frame size (frameMax 4096) and reassembles it', async () => {
      const { connection, ch } = await connectWithChannel({ frameMax: 4096 });
      expect(connection.frameMax).to.equal(4096);
      const queue = await freshQueue(ch);
      const body = randomBytes(100 * 1024);
      ch.basicPublish('', queue, body);
      const viaGet = (await get(ch, queue))!;
      expect(viaGet.body.equals(body)).to.equal(true);
      ch.basicPublish('', queue, body);
      const delivered = await within(
        WAIT,
        new Promise<Buffer>((resolve) => ch.basicConsume(queue, (_c, _m, _p, b) => resolve(b), { autoAck: true })),
        'the delivery',
      );
      expect(delivered.equals(body)).to.equal(true);
    });

    itBroker('an empty body round-trips as an empty Buffer', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      ch.basicPublish('', queue, Buffer.alloc(0), { messageId: 'empty' });
      ch.basicPublish('', queue, '');
      const a = (await get(ch, queue))!;
      const b = (await get(ch, queue))!;
      expect(Buffer.isBuffer(a.body) && a.body.length === 0).to.equal(true);
      expect(a.properties.messageId).to.equal('empty');
      expect(b.body.length).to.equal(0);
    });

    itBroker('a 16 MiB body round-trips intact (sha256)', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      const body = randomBytes(16 * 1024 * 1024);
      const digest = sha256(body);
      ch.basicPublish('', queue, body);
      const viaGet = (await within(
        30000,
        cbp<GetMessage | null>((cb) => ch.basicGet(queue, cb, { autoAck: true })),
        '16 MiB get',
      ))!;
      expect(viaGet.body.length).to.equal(body.length);
      expect(sha256(viaGet.body)).to.equal(digest);
      ch.basicPublish('', queue, body);
      const delivered = await within(
        30000,
        new Promise<Buffer>((resolve) => ch.basicConsume(queue, (_c, _m, _p, b) => resolve(b), { autoAck: true })),
        '16 MiB delivery',
      );
      expect(sha256(delivered)).to.equal(digest);
    });

    for (const frameMax of [131072, 4096]) {
      itBroker(`bodies a consumer keeps stay intact while the socket reuses its read memory (mixed sizes, frameMax ${frameMax})`, async () => {
        // Large bodies are copied out of the socket's chunks, which are then read into again;
        // small ones are views of their chunk, which must then never be overwritten.
        const { ch } = await connectWithChannel({ frameMax });
        const queue = await freshQueue(ch);
        const sizes = [7, 1000, 70000, 0, 300000, 12, 5000, 131060, 20, 200000, 3];
        const count = 330;
        const bodyOf = (i: number) => {
          const b = Buffer.allocUnsafe(sizes[i % sizes.length]);
          for (let k = 0; k < b.length; k++) b[k] = (k * 13 + i * 7 + (k >>> 9)) & 0xff;
          return b;
        };
        for (let i = 0; i < count; i++) ch.basicPublish('', queue, bodyOf(i), { messageId: String(i) });
        const kept: Array<[number, Buffer]> = [];
        await within(
          30000,
          new Promise<void>((resolve) => {
            ch.basicConsume(
              queue,
              (_c, _m, p, body) => {
                kept.push([Number(p.messageId), body]);
                if (kept.length === count) resolve();
              },
              { autoAck: true },
            );
          }),
          `${count} deliveries`,
        );
        const damaged = kept.filter(([i, body]) => !body.equals(bodyOf(i))).map(([i]) => i);
        expect(damaged, 'messages whose body changed after delivery').to.deep.equal([]);
        expect(kept.map(([i]) => i)).to.deep.equal([...Array(count).keys()]);
      });
    }

    itBroker('a kept body of a trickle of messages pins only its own small chunk, not a read slab', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      const kept: Buffer[] = [];
      let next: (() => void) | null = null;
      ch.basicConsume(
        queue,
        (_c, _m, _p, body) => {
          kept.push(body);
          next?.();
        },
        { autoAck: true },
      );
      for (let i = 0; i < 40; i++) {
        const arrived = new Promise<void>((resolve) => (next = resolve));
        ch.basicPublish('', queue, `message ${i}`);
        await within(WAIT, arrived, `delivery ${i}`);
      }
      expect(kept.map(String)).to.deep.equal([...Array(40).keys()].map((i) => `message ${i}`));
      const pinned = Math.max(...kept.map((b) => b.buffer.byteLength));
      expect(pinned, 'bytes of memory behind the largest kept body').to.be.at.most(16 * 1024);
    });

    itBroker('string bodies are UTF-8 (non-ASCII text)', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      const text = 'héllo wörld ✓ 日本語 🐇';
      ch.basicPublish('', queue, text);
      ch.basicPublish('', queue, new Uint8Array(Buffer.from(text, 'utf8')));
      const a = (await get(ch, queue))!;
      const b = (await get(ch, queue))!;
      expect(a.body.equals(Buffer.from(text, 'utf8'))).to.equal(true);
      expect(a.body.toString('utf8')).to.equal(text);
      expect(b.body.toString('utf8')).to.equal(text);
    });

    itBroker('all 14 properties round-trip through the broker', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      const timestamp = new Date(Math.floor(Date.now() / 1000) * 1000);
      const properties: BasicPropertiesInit = {
        contentType: 'application/json',
        contentEncoding: 'identity',
        headers: {
          text: 'naïve ✓',
          int: 42,
          negative: -7,
          big: 2n ** 62n,
          large: 2 ** 40,
          float: 1.5,
          yes: true,
          no: false,
          nothing: null,
          when: new Date(1700000000000),
          price: new Decimal(12345, 2),
          bytes: Buffer.from([0, 1, 2, 0xfe, 0xff]),
          list: [1, 'two', false, [3], { four: 4 }],
          nested: { inner: { deeper: { leaf: 'x', n: -1 } }, empty: {} },
        },
        deliveryMode: 2,
        priority: 7,
        correlationId: 'corr-1',
        replyTo: 'reply-queue',
        expiration: '60000',
        messageId: 'message-1',
        timestamp,
        type: 'test.type',
        userId: 'guest',
        appId: 'coney-tests',
        clusterId: 'cluster-1',
      };
      ch.basicPublish('', queue, 'props', properties);
      const m = (await get(ch, queue))!;
      const p = m.properties;
      expect(p.timestamp).to.be.instanceOf(Date);
      expect(p.timestamp!.getTime()).to.equal(timestamp.getTime());
      const { headers, timestamp: _t, ...simple } = properties;
      for (const [key, value] of Object.entries(simple)) expect((p as unknown as Record<string, unknown>)[key], key).to.equal(value);
      const h = p.headers!;
      expect(h['text']).to.equal('naïve ✓');
      expect([h['int'], h['negative'], h['large'], h['float'], h['yes'], h['no'], h['nothing']]).to.deep.equal([
        42,
        -7,
        2 ** 40,
        1.5,
        true,
        false,
        null,
      ]);
      expect(h['big']).to.equal(2n ** 62n);
      expect((h['when'] as Date).getTime()).to.equal(1700000000000);
      expect(h['price']).to.be.instanceOf(Decimal);
      expect((h['price'] as Decimal).toString()).to.equal('123.45');
      expect(Buffer.isBuffer(h['bytes']) && (h['bytes'] as Buffer).equals(Buffer.from([0, 1, 2, 0xfe, 0xff]))).to.equal(true);
      expect(h['list']).to.deep.equal([1, 'two', false, [3], { four: 4 }]);
      expect(h['nested']).to.deep.equal({ inner: { deeper: { leaf: 'x', n: -1 } }, empty: {} });
      expect(Object.keys(headers!).sort()).to.deep.equal(Object.keys(h).sort());
    });
  });

  describe('consumers', () => {
    itBroker('basicConsume returns the tag at once: generated, or the one given', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      const results: Array<[Error | null, spec.Basic.ConsumeOk | undefined]> = [];
      const generated = ch.basicConsume(
        queue,
        () => undefined,
        {},
        (err, ok) => results.push([err, ok]),
      );
      expect(generated).to.be.a('string').and.not.equal('');
      expect(ch.consumerTags).to.deep.equal([generated]);
      const given = uniqueName('ctag');
      expect(
        ch.basicConsume(
          queue,
          () => undefined,
          { consumerTag: given },
          (err, ok) => results.push([err, ok]),
        ),
      ).to.equal(given);
      await eventually(() => results.length === 2, WAIT, 'both consume-oks');
      expect(results.map(([err, ok]) => [err, ok?.consumerTag])).to.deep.equal([
        [null, generated],
        [null, given],
      ]);
      expect(ch.consumerTags.sort()).to.deep.equal([generated, given].sort());
      expect((await queueState(ch, queue)).consumers).to.equal(2);
    });

    itBroker('delivers in order to the right consumer with method, properties and body', async () => {
      const { ch } = await connectWithChannel();
      const q1 = await freshQueue(ch);
      const q2 = await freshQueue(ch);
      const got1: Array<{ m: spec.Basic.Deliver; p: spec.BasicProperties; body: string; channel: Channel }> = [];
      const got2: string[] = [];
      const tag1 = ch.basicConsume(q1, (channel, m, p, body) => got1.push({ channel, m, p, body: body.toString() }));
      ch.basicConsume(q2, (_c, _m, _p, body) => got2.push(body.toString()), { autoAck: true });
      for (let i = 0; i < 20; i++) {
        ch.basicPublish('', q1, `one-${i}`, { messageId: `id-${i}` });
        ch.basicPublish('', q2, `two-${i}`);
      }
      await eventually(() => got1.length === 20 && got2.length === 20, WAIT, 'all deliveries');
      expect(got1.map((d) => d.body)).to.deep.equal(Array.from({ length: 20 }, (_v, i) => `one-${i}`));
      expect(got2).to.deep.equal(Array.from({ length: 20 }, (_v, i) => `two-${i}`));
      const first = got1[0];
      expect(first.channel).to.equal(ch);
      expect(first.m).to.be.instanceOf(spec.Basic.Deliver);
      expect(first.m.consumerTag).to.equal(tag1);
      expect(first.m.exchange).to.equal('');
      expect(first.m.routingKey).to.equal(q1);
      expect(first.m.redelivered).to.equal(false);
      expect(first.p.messageId).to.equal('id-0');
      const tags = got1.map((d) => d.m.deliveryTag);
      expect(new Set(tags).size).to.equal(20);
      expect(tags).to.deep.equal([...tags].sort((a, b) => a - b));
      ch.basicAck(0, true);
      expect((await queueState(ch, q1)).messages).to.equal(0);
    });

    itBroker('basicCancel stops delivery; later messages stay in the queue', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      const got: string[] = [];
      const tag = ch.basicConsume(queue, (_c, _m, _p, body) => got.push(body.toString()), { autoAck: true });
      ch.basicPublish('', queue, 'before');
      await eventually(() => got.length === 1, WAIT, 'the first delivery');
      const ok = await call<spec.Basic.CancelOk>('basic.cancel', (cb) => ch.basicCancel(tag, cb));
      expect(ok).to.be.instanceOf(spec.Basic.CancelOk);
      expect(ok.consumerTag).to.equal(tag);
      expect(ch.consumerTags).to.deep.equal([]);
      for (let i = 0; i < 3; i++) ch.basicPublish('', queue, `after-${i}`);
      expect(await settledQueueState(ch, queue, { messages: 3, consumers: 0 })).to.deep.equal({ messages: 3, consumers: 0 });
      await sleep(100);
      expect(got).to.deep.equal(['before']);
    });

    itBroker('cancelling a busy consumer loses nothing: deliveries crossing the cancel go back to the queue', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      const total = 500;
      for (let i = 0; i < total; i++) ch.basicPublish('', queue, `m${i}`);
      await settledQueueState(ch, queue, { messages: total, consumers: 0 });
      const received: string[] = [];
      // assigned in the consumer callback: `as` keeps the compiler from narrowing it to null
      let cancelled = null as Promise<unknown> | null;
      const tag = ch.basicConsume(queue, (c, m, _p, body) => {
        received.push(body.toString());
        c.basicAck(m.deliveryTag);
        if (received.length === 10) cancelled = call('basic.cancel', (cb) => c.basicCancel(tag, cb));
      });
      await eventually(() => cancelled !== null, WAIT, 'ten deliveries');
      await cancelled;
      expect(received.length).to.be.at.least(10);
      const left = total - received.length;
      expect(await settledQueueState(ch, queue, { messages: left, consumers: 0 })).to.deep.equal({ messages: left, consumers: 0 });
      const first = (await get(ch, queue))!;
      expect(first.body.toString()).to.equal(`m${received.length}`);
    });

    itBroker('a broker basic.cancel (queue deleted) reaches addOnCancelCallback and drops the tag', async () => {
      const { connection, ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      const cancels: spec.Basic.Cancel[] = [];
      ch.addOnCancelCallback((channel, method) => {
        expect(channel).to.equal(ch);
        cancels.push(method);
      });
      let tag = '';
      await call('basic.consume', (cb) => (tag = ch.basicConsume(queue, () => undefined, {}, cb)));
      const other = await channelOf(connection);
      await call('queue.delete from another channel', (cb) => other.queueDelete(queue, {}, cb));
      await eventually(() => cancels.length === 1, WAIT, 'the broker cancel');
      expect(cancels[0]).to.be.instanceOf(spec.Basic.Cancel);
      expect(cancels[0].consumerTag).to.equal(tag);
      expect(ch.consumerTags).to.deep.equal([]);
      expect(ch.isOpen).to.equal(true);
      await freshQueue(ch);
    });

    itBroker('a duplicate consumer tag throws DuplicateConsumerTag synchronously', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      const tag = uniqueName('ctag');
      ch.basicConsume(queue, () => undefined, { consumerTag: tag });
      expect(() => ch.basicConsume(queue, () => undefined, { consumerTag: tag })).to.throw(DuplicateConsumerTag);
      expect(ch.consumerTags).to.deep.equal([tag]);
      expect((await queueState(ch, queue)).consumers).to.equal(1);
    });

    itBroker('a throwing onMessage reaches onCallbackError and later messages still arrive', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      const got: string[] = [];
      ch.basicConsume(
        queue,
        (_c, _m, _p, body) => {
          got.push(body.toString());
          if (got.length === 1) throw new Error('user bug in onMessage');
        },
        { autoAck: true },
      );
      for (let i = 0; i < 5; i++) ch.basicPublish('', queue, `m${i}`);
      await eventually(() => got.length === 5, WAIT, 'five deliveries');
      expect(got).to.deep.equal(['m0', 'm1', 'm2', 'm3', 'm4']);
      expect(callbackErrors.splice(0).map((e) => (e as Error).message)).to.deep.equal(['user bug in onMessage']);
      expect(ch.isOpen).to.equal(true);
      expect((await queueState(ch, queue)).messages).to.equal(0);
    });
  });

  describe('publisher confirms and returns', () => {
    /** Delivery tags covered by the broker's acks/nacks, given `multiple`. */
    function coverage(events: Array<spec.Basic.Ack | spec.Basic.Nack>): { acked: number[]; nacked: number[]; all: number[] } {
      const settled = new Set<number>();
      const acked: number[] = [];
      const nacked: number[] = [];
      let lowest = 1;
      for (const e of events) {
        const tags = e.multiple ? Array.from({ length: e.deliveryTag - lowest + 1 }, (_v, i) => lowest + i) : [e.deliveryTag];
        for (const t of tags) {
          if (settled.has(t)) continue;
          settled.add(t);
          (e instanceof spec.Basic.Ack ? acked : nacked).push(t);
        }
        while (settled.has(lowest)) lowest += 1;
      }
      const all = [...settled].sort((a, b) => a - b);
      return { acked: acked.sort((a, b) => a - b), nacked: nacked.sort((a, b) => a - b), all };
    }

    itBroker('numbers publishes from 1; the broker acks cover exactly 1..N', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch);
      expect(ch.nextPublishSeqNo).to.equal(0);
      const events: Array<spec.Basic.Ack | spec.Basic.Nack> = [];
      const ok = await call('confirm.select', (cb) =>
        ch.confirmDelivery((channel, method) => {
          expect(channel).to.equal(ch);
          events.push(method);
        }, cb),
      );
      expect(ok).to.be.instanceOf(spec.Confirm.SelectOk);
      expect(ch.nextPublishSeqNo).to.equal(1);
      const n = 200;
      for (let i = 0; i < n; i++) ch.basicPublish('', queue, `m${i}`);
      expect(ch.nextPublishSeqNo).to.equal(n + 1);
      expect(ch.unconfirmedDeliveryTags()).to.have.length(n);
      await eventually(() => coverage(events).all.length >= n, WAIT, 'confirms for every publish');
      expect(ch.unconfirmedDeliveryTags(), 'tags left unanswered after every ack').to.deep.equal([]);
      const { acked, nacked, all } = coverage(events);
      expect(all).to.deep.equal(Array.from({ length: n }, (_v, i) => i + 1));
      expect(acked).to.have.length(n);
      expect(nacked).to.deep.equal([]);
      expect(events.every((e) => e instanceof spec.Basic.Ack)).to.equal(true);
      await sleep(50);
      expect(coverage(events).all).to.have.length(n);
      ch.basicPublish('', queue, 'single');
      await eventually(() => events.some((e) => e.deliveryTag === n + 1), WAIT, 'the single ack');
      expect(events[events.length - 1].deliveryTag).to.equal(n + 1);
    });

    itBroker('the broker nacks publishes rejected by x-overflow reject-publish', async () => {
      const { ch } = await connectWithChannel();
      const queue = await freshQueue(ch, { arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
      const events: Array<spec.Basic.Ack | spec.Basic.Nack> = [];
      await call('confirm.select', (cb) => ch.confirmDelivery((_c, method) => events.push(method), cb));
      for (let i = 0; i < 3; i++) ch.basicPublish('', queue, `m${i}`);
      await eventually(() => coverage(events).all.length === 3, WAIT, 'confirms for three publishes');
      const { acked, nacked } = coverage(events);
      expect(acked).to.deep.equal([1]);
      expect(nacked).to.deep.equal([2, 3]);
      expect(ch.unconfirmedDeliveryTags(), 'nacked tags are answered too').to.deep.equal([]);
      expect(events.some((e) => e instanceof spec.Basic.Nack)).to.equal(true);
      expect((await queueState(ch, queue)).messages).to.equal(1);
    });

    itBroker('an unroutable mandatory publish comes back to addOnReturnCallback with 312 NO_ROUTE', async () => {
      const { ch } = await connectWithChannel();
      const returns: Array<{ m: spec.Basic.Return; p: spec.BasicProperties; body: Buffer }> = [];
      ch.addOnReturnCallback((channel, m, p, body) => {
        expect(channel).to.equal(ch);
        returns.push({ m, p, body });
      });
      const key = uniqueName('nowhere');
      ch.basicPublish('amq.direct', key, 'come back', { messageId: 'returned-1', headers: { a: 1 } }, true);
      ch.basicPublish('amq.direct', key, 'not mandatory: dropped', {}, false);
      await eventually(() => returns.length === 1, WAIT, 'the return');
      const { m, p, body } = returns[0];
      expect(m).to.be.instanceOf(spec.Basic.Return);
      expect([m.replyCode, m.replyText, m.exchange, m.routingKey]).to.deep.equal([312, 'NO_ROUTE', 'amq.direct', key]);
      expect(p.messageId).to.equal('returned-1');
      expect(p.headers).to.deep.equal({ a: 1 });
      expect(body.toString()).to.equal('come back');
      await freshQueue(ch);
      expect(returns).to.have.length(1);
    });
  });

  describe('channel errors', () => {
    itBroker('a passive declare of a missing queue closes only that channel with 404, for every pending call', async () => {
      const connection = await connect();
      const ch = await channelOf(connection);
      const other = await channelOf(connection);
      const closes: Array<[Channel, Error]> = [];
      ch.addOnCloseCallback((channel, reason) => closes.push([channel, reason]));
      const results: Array<[string, Error | null]> = [];
      const record = (what: string) => (err: Error | null) => results.push([what, err]);
      ch.queueDeclare(uniqueName('ch-missing'), { passive: true }, record('passive'));
      ch.queueDeclare(uniqueName('ch-after'), { exclusive: true }, record('declare'));
      ch.exchangeDeclare(uniqueName('ch-after-x'), { type: 'fanout' }, record('exchange'));
      ch.basicPublish('', 'nowhere', 'queued publish');
      ch.basicGet('nowhere', record('get'));
      ch.basicQos({ prefetchCount: 1 }, record('qos'));
      ch.queueDeclare(uniqueName('ch-nowait'), { noWait: true }, record('nowait'));
      await eventually(() => closes.length === 1, WAIT, 'the channel close');
      await sleep(50);
      const reason = closes[0][1] as ChannelClosedByBroker;
      expect(closes[0][0]).to.equal(ch);
      expect(reason).to.be.instanceOf(ChannelClosedByBroker);
      expect(reason.replyCode).to.equal(404);
      expect(reason.replyText).to.match(/^NOT_FOUND - no queue/);
      expect(results.map(([what]) => what)).to.deep.equal(['passive', 'declare', 'exchange', 'get', 'qos', 'nowait']);
      expect(results.every(([, err]) => err === reason)).to.equal(true);
      expect(ch.isClosed).to.equal(true);
      expect(connection.isOpen).to.equal(true);
      expect(other.isOpen).to.equal(true);
      expect((await freshQueue(other)).length).to.be.greaterThan(0);
      // The broker may still have frames on the wire for a number it closed: that number is handed out last.
      const replacement = await channelOf(connection);
      expect(replacement.channelNumber).to.not.equal(ch.channelNumber);
      await freshQueue(replacement);
    });

    itBroker('redeclaring a queue with other flags fails with 406 PRECONDITION_FAILED', async () => {
      const { connection, ch } = await connectWithChannel();
      const queue = uniqueName('ch-redeclare');
      await call('queue.declare', (cb) => ch.queueDeclare(queue, { autoDelete: true }, cb));
      const err = await failure('redeclare', (cb) => ch.queueDeclare(queue, { autoDelete: false, durable: true }, cb));
      expect(err).to.be.instanceOf(ChannelClosedByBroker);
      expect((err as ChannelClosedByBroker).replyCode).to.equal(406);
      expect((err as ChannelClosedByBroker).replyText).to.match(/PRECONDITION_FAILED/);
      const ch2 = await channelOf(connection);
      await call('queue.delete', (cb) => ch2.queueDelete(queue, {}, cb));
    });

    itBroker("using another connection's exclusive queue fails with 405 RESOURCE_LOCKED", async () => {
      const { ch: owner } = await connectWithChannel();
      const queue = await freshQueue(owner);
      const { connection, ch } = await connectWithChannel();
      const err = await failure('declare of a foreign exclusive queue', (cb) => ch.queueDeclare(queue, { exclusive: true }, cb));
      expect(err).to.be.instanceOf(ChannelClosedByBroker);
      expect((err as ChannelClosedByBroker).replyCode).to.equal(405);
      expect((err as ChannelClosedByBroker).replyText).to.match(/RESOURCE_LOCKED/);
      expect(connection.isOpen).to.equal(true);
      expect(owner.isOpen).to.equal(true);
    });

    itBroker('an async error (publish to a missing exchange) crossing our own channel.close still closes cleanly', async () => {
      const connection = await connect();
      const ch = await channelOf(connection);
      const closes: Error[] = [];
      ch.addOnCloseCallback((_c, reason) => closes.push(reason));
      ch.basicPublish(uniqueName('ch-no-such-exchange'), 'k', 'x');
      const closed = call('channel.close', (cb) => ch.close(200, 'bye', cb));
      await closed;
      expect(closes).to.have.length(1);
      expect(ch.isClosed).to.equal(true);
      // Either reason is right, depending on which close the broker saw first.
      expect(closes[0]).to.satisfy((e: Error) => e instanceof ChannelClosedByClient || (e as ChannelClosedByBroker).replyCode === 404);
      for (let i = 0; i < 5; i++) {
        const again = await channelOf(connection);
        expect(again.channelNumber).to.equal(ch.channelNumber);
        await freshQueue(again);
        await call('close again', (cb) => again.close(200, 'bye', cb));
      }
      expect(connection.isOpen).to.equal(true);
    });
  });

  describe('closing a channel', () => {
    itBroker('cancels its consumers first, then closes; onClose fires once with ChannelClosedByClient', async () => {
      const connection = await connect();
      const ch = await channelOf(connection);
      const observer = await channelOf(connection);
      const queue = await freshQueue(observer);
      await call('basic.consume', (cb) => ch.basicConsume(queue, () => undefined, {}, cb));
      await call('basic.consume 2', (cb) => ch.basicConsume(queue, () => undefined, { autoAck: true }, cb));
      expect((await queueState(observer, queue)).consumers).to.equal(2);
      const closes: Error[] = [];
      ch.addOnCloseCallback((_c, reason) => closes.push(reason));
      const closed = call('channel.close', (cb) => ch.close(200, 'done here', cb));
      expect(ch.isClosing).to.equal(true);
      expect(() => ch.close()).to.throw(ChannelWrongStateError);
      expect(await closed).to.be.instanceOf(spec.Channel.CloseOk);
      expect(ch.isClosed).to.equal(true);
      expect(ch.consumerTags).to.deep.equal([]);
      expect((await queueState(observer, queue)).consumers).to.equal(0);
      await sleep(50);
      expect(closes).to.have.length(1);
      expect(closes[0]).to.be.instanceOf(ChannelClosedByClient);
      expect([(closes[0] as ChannelClosedByClient).replyCode, (closes[0] as ChannelClosedByClient).replyText]).to.deep.equal([200, 'done here']);
      expect(() => ch.close()).to.throw(ChannelWrongStateError);
    });

    itBroker('every call on a closed channel throws ChannelWrongStateError synchronously', async () => {
      const { ch } = await connectWithChannel();
      await call('channel.close', (cb) => ch.close(200, 'bye', cb));
      const calls: Array<[string, () => unknown]> = [
        ['basicPublish', () => ch.basicPublish('', 'q', 'x')],
        ['queueDeclare', () => ch.queueDeclare('q', {}, () => undefined)],
        ['queueBind', () => ch.queueBind('q', 'amq.direct')],
        ['queuePurge', () => ch.queuePurge('q')],
        ['queueDelete', () => ch.queueDelete('q')],
        ['exchangeDeclare', () => ch.exchangeDeclare('x')],
        ['exchangeDelete', () => ch.exchangeDelete('x')],
        ['exchangeBind', () => ch.exchangeBind('a', 'b')],
        ['basicConsume', () => ch.basicConsume('q', () => undefined)],
        ['basicCancel', () => ch.basicCancel('tag')],
        ['basicGet', () => ch.basicGet('q', () => undefined)],
        ['basicAck', () => ch.basicAck(1)],
        ['basicNack', () => ch.basicNack(1)],
        ['basicReject', () => ch.basicReject(1)],
        ['basicQos', () => ch.basicQos({ prefetchCount: 1 })],
        ['basicRecover', () => ch.basicRecover(true)],
        ['confirmDelivery', () => ch.confirmDelivery(() => undefined)],
        ['txSelect', () => ch.txSelect()],
        ['txCommit', () => ch.txCommit()],
        ['txRollback', () => ch.txRollback()],
        ['flow', () => ch.flow(true)],
        ['close', () => ch.close()],
      ];
      for (const [name, fn] of calls) expect(fn, name).to.throw(ChannelWrongStateError);
    });
  });

  describe('when the connection closes', () => {
    itBroker('a client close closes every channel once; calls made before it are answered, later ones throw', async () => {
      const connection = await connect();
      const chs = await Promise.all([channelOf(connection), channelOf(connection), channelOf(connection)]);
      const queue = await freshQueue(chs[0]);
      chs[1].basicConsume(queue, () => undefined);
      const closes: Array<[number, Error]> = [];
      for (const ch of chs) ch.addOnCloseCallback((c, reason) => closes.push([c.channelNumber, reason]));
      const results: Array<Error | null> = [];
      for (let i = 0; i < 5; i++) chs[2].queueDeclare(uniqueName('ch-pending'), { exclusive: true }, (err) => results.push(err));
      const reasonP = closeConnection(connection);
      expect(() => chs[0].queueDeclare('x')).to.throw(ChannelWrongStateError);
      const reason = await reasonP;
      expect(reason).to.be.instanceOf(ConnectionClosedByClient);
      expect(results).to.have.length(5);
      expect(results).to.deep.equal([null, null, null, null, null]);
      expect(closes.map(([n]) => n).sort()).to.deep.equal(chs.map((c) => c.channelNumber).sort());
      for (const [, r] of closes) {
        expect(r).to.be.instanceOf(ChannelClosedByClient);
        expect([(r as ChannelClosedByClient).replyCode, (r as ChannelClosedByClient).replyText]).to.deep.equal([200, 'Normal shutdown']);
      }
      expect(chs.every((c) => c.isClosed)).to.equal(true);
    });

    itBroker('a broker-forced close (rabbitmqctl close_connection) closes every channel and fails pending calls with its reason', async () => {
      const name = uniqueName('ch-forced');
      const connection = await connect({ clientProperties: { connection_name: name } });
      const chs = await Promise.all([channelOf(connection), channelOf(connection)]);
      const closes: Error[] = [];
      for (const ch of chs) ch.addOnCloseCallback((_c, reason) => closes.push(reason));
      const connectionClosed = new Promise<Error>((resolve) => connection.addOnCloseCallback((_c, r) => resolve(r)));
      // Keep calls in flight and queued on channel 1 until the close arrives.
      const outcomes: Array<Error | null> = [];
      const next = (): void => {
        if (!chs[0].isOpen) return;
        chs[0].queueDeclare('', { exclusive: true }, (err) => {
          outcomes.push(err);
          if (err === null) next();
        });
      };
      for (let i = 0; i < 3; i++) next();
      chs[1].basicConsume(await freshQueue(chs[1]), () => undefined);
      const pid = await connectionPid(name);
      await rabbitmqctl(['close_connection', pid, 'test']);
      const reason = (await within(WAIT, connectionClosed, 'the forced close')) as ConnectionClosedByBroker;
      expect(reason).to.be.instanceOf(ConnectionClosedByBroker);
      expect(reason.replyCode).to.equal(320);
      expect(reason.replyText).to.match(/test/);
      const failures = outcomes.filter((e) => e !== null);
      expect(failures).to.have.length(3);
      expect(failures.every((e) => e === reason)).to.equal(true);
      expect(closes).to.deep.equal([reason, reason]);
      expect(chs.every((c) => c.isClosed)).to.equal(true);
      expect(() => chs[1].basicPublish('', 'q', 'x')).to.throw(ChannelWrongStateError);
    });
  });

  describe('concurrency', () => {
    itBroker('a publisher and a consumer on two channels of one connection: 1,000 messages, exactly once, in order', async () => {
      const connection = await connect();
      const [publisher, consumer] = await Promise.all([channelOf(connection), channelOf(connection)]);
      const queue = await freshQueue(consumer);
      const received: number[] = [];
      await call('basic.qos', (cb) => consumer.basicQos({ prefetchCount: 50 }, cb));
      await call('basic.consume', (cb) =>
        consumer.basicConsume(
          queue,
          (ch, m, p, body) => {
            received.push(Number(body.toString()));
            expect(p.messageId).to.equal(body.toString());
            ch.basicAck(m.deliveryTag);
          },
          {},
          cb,
        ),
      );
      const total = 1000;
      let sent = 0;
      const publishSome = (): void => {
        for (let i = 0; i < 25 && sent < total; i++, sent++) publisher.basicPublish('', queue, String(sent), { messageId: String(sent) });
        if (sent < total) setImmediate(publishSome);
      };
      publishSome();
      await eventually(() => received.length >= total, 30000, '1,000 deliveries');
      await sleep(100);
      expect(received).to.have.length(total);
      expect(received).to.deep.equal(Array.from({ length: total }, (_v, i) => i));
      expect((await queueState(publisher, queue)).messages).to.equal(0);
    });
  });
});
