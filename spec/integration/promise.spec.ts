/**
 * The promise API against a real RabbitMQ (issue 15): the scenarios of the
 * callback integration specs in promise form. Every wait is bounded
 * (`within`), names are unique per run, and every connection is closed
 * after each test.
 */
import { expect } from 'chai';
import {
  AMQPChannelError,
  type AsyncConnection,
  ChannelClosedByBroker,
  connect,
  ConnectionClosedByClient,
  type Message,
  NackError,
  ProbableAuthenticationError,
  RpcTimeoutError,
  spec,
  UnroutableError,
  URLParameters,
} from '../../lib';
import { amqpUrl, uniqueName } from '../support/broker';
import { within } from '../support/callbacks';

/** Upper bound of any single wait on the broker. */
const WAIT = 10000;

describe('promise API against RabbitMQ', function () {
  this.timeout(60000);
  const connections: AsyncConnection[] = [];
  /** Errors that reached onCallbackError: each test expects none unless it says so. */
  let reported: unknown[] = [];

  async function open(): Promise<AsyncConnection> {
    const connection = await within(WAIT, connect(amqpUrl(), { onCallbackError: (err) => reported.push(err) }), 'connect');
    connections.push(connection);
    return connection;
  }

  beforeEach(() => {
    reported = [];
  });
  afterEach(async () => {
    for (const c of connections.splice(0)) if (!c.isClosed && !c.isClosing) await within(WAIT, c.close(), 'close');
    expect(reported, 'errors reported to onCallbackError').to.deep.equal([]);
  });

  it('rejects a wrong password with ProbableAuthenticationError', async () => {
    const url = new URL(amqpUrl());
    url.password = 'wrong';
    const err = await connect(url.toString()).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ProbableAuthenticationError);
  });

  it('declares and binds, publishes and gets', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const exchange = uniqueName('p-x');
    const queue = uniqueName('p-q');
    expect(await channel.exchangeDeclare(exchange, { type: 'direct', autoDelete: true })).to.be.instanceOf(spec.Exchange.DeclareOk);
    const ok = await channel.queueDeclare(queue, { exclusive: true });
    expect(ok.queue).to.equal(queue);
    await channel.queueBind(queue, exchange, 'rk');
    expect(await channel.basicGet(queue)).to.equal(null);
    await channel.basicPublish(exchange, 'rk', 'hello', { contentType: 'text/plain', headers: { n: 1 } });
    let message: Message | null = null;
    for (let i = 0; i < 50 && message === null; i++) message = await channel.basicGet(queue);
    expect(message!.body.toString()).to.equal('hello');
    expect([message!.exchange, message!.routingKey, message!.redelivered]).to.deep.equal([exchange, 'rk', false]);
    expect(message!.properties.headers).to.deep.equal({ n: 1 });
    await message!.ack();
    expect((await channel.queueDelete(queue)).messageCount).to.equal(0);
    await channel.exchangeDelete(exchange);
  });

  it('confirm mode: ack, nack (x-overflow reject-publish) and unroutable', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const queue = uniqueName('p-full');
    await channel.queueDeclare(queue, { exclusive: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    await channel.confirmDelivery();
    await channel.basicPublish('', queue, 'first');
    const nacked = await channel.basicPublish('', queue, 'second').then(
      () => null,
      (e: unknown) => e,
    );
    expect(nacked).to.be.instanceOf(NackError);
    const unroutable = await channel.basicPublish('', uniqueName('p-nowhere'), 'lost', {}, true).then(
      () => null,
      (e: unknown) => e,
    );
    expect(unroutable).to.be.instanceOf(UnroutableError);
    // many un-awaited publishes, then all of them at once
    const many = Array.from({ length: 500 }, (_, i) => channel.basicPublish('', queue, `m${i}`).catch((e: Error) => e.name));
    const outcomes = await within(WAIT, Promise.all(many), 'confirms');
    expect(new Set(outcomes)).to.deep.equal(new Set(['NackError']));
  });

  it('for-await consume with ack; breaking out requeues the buffered messages', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const queue = uniqueName('p-consume');
    await channel.queueDeclare(queue, { exclusive: true });
    await channel.confirmDelivery();
    await Promise.all(Array.from({ length: 10 }, (_, i) => channel.basicPublish('', queue, `m${i}`)));
    await channel.basicQos({ prefetchCount: 5 });
    const got: string[] = [];
    const it = channel.consume(queue);
    for await (const message of it) {
      got.push(message!.body.toString());
      await message!.ack();
      if (got.length === 3) {
        await new Promise((resolve) => setTimeout(resolve, 200)); // the window refills: the buffer holds more
        expect(it.buffered).to.be.at.most(5);
        break;
      }
    }
    expect(got).to.deep.equal(['m0', 'm1', 'm2']);
    // the 7 others are all back in the queue, ready
    const ok = await channel.queueDeclare(queue, { passive: true });
    expect(ok.messageCount).to.equal(7);
    expect(ok.consumerCount).to.equal(0);
  });

  it('cancel() resolves to the number requeued, and inactivityTimeout yields null', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const queue = uniqueName('p-cancel');
    await channel.queueDeclare(queue, { exclusive: true });
    const it = channel.consume(queue, { inactivityTimeout: 0.2 });
    expect((await it.next()).value).to.equal(null);
    for (let i = 0; i < 4; i++) await channel.basicPublish('', queue, `m${i}`);
    const first = await within(WAIT, it.next(), 'first message');
    expect(first.value!.body.toString()).to.equal('m0');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await channel.cancel()).to.equal(3);
    expect(await it.next()).to.deep.equal({ value: undefined, done: true });
    await first.value!.ack();
    const ok = await channel.queueDeclare(queue, { passive: true });
    expect(ok.messageCount).to.equal(3);
  });

  it('the iterator throws when the broker cancels the consumer (queue deleted elsewhere)', async () => {
    const connection = await open();
    const channel = await connection.channel();
    const other = await connection.channel();
    const queue = uniqueName('p-deleted');
    await channel.queueDeclare(queue);
    const it = channel.consume(queue);
    const next = it.next();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await other.queueDelete(queue);
    const err = await within(WAIT, next, 'broker cancel').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(AMQPChannelError);
    expect((err as Error).message).to.match(/cancelled by the broker/);
    expect(channel.isOpen).to.equal(true);
  });

  it('rpc with a responder, and without one', async () => {
    const connection = await open();
    const server = await connection.channel();
    const client = await connection.channel();
    const queue = uniqueName('p-rpc');
    await server.queueDeclare(queue, { exclusive: true });
    await server.basicConsume(queue, async (request) => {
      await server.reply(request, `re: ${request.body.toString()}`);
      await request.ack();
    });
    const replies = await within(
      WAIT,
      Promise.all(Array.from({ length: 20 }, (_, i) => client.rpc('', queue, `q${i}`, { timeout: 5 }))),
      'rpc replies',
    );
    expect(replies.map((r) => r.body.toString())).to.deep.equal(Array.from({ length: 20 }, (_, i) => `re: q${i}`));
    // no queue at all: returned at once
    const unroutable = await client.rpc('', uniqueName('p-nobody'), 'x', { timeout: 5 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(unroutable).to.be.instanceOf(UnroutableError);
    // a queue nobody consumes: the timeout
    const idle = uniqueName('p-idle');
    await server.queueDeclare(idle, { exclusive: true });
    const timedOut = await client.rpc('', idle, 'x', { timeout: 0.3 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(timedOut).to.be.instanceOf(RpcTimeoutError);
  });

  it('a channel error rejects the call and closes only that channel', async () => {
    const connection = await open();
    const bad = await connection.channel();
    const good = await connection.channel();
    const err = await bad.queueDeclare(uniqueName('p-missing'), { passive: true }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ChannelClosedByBroker);
    expect((err as ChannelClosedByBroker).replyCode).to.equal(404);
    expect(bad.isClosed).to.equal(true);
    expect(good.isOpen).to.equal(true);
    expect(connection.isOpen).to.equal(true);
    await good.queueDeclare('', { exclusive: true });
  });

  it('await using closes channel and connection at the end of the scope', async () => {
    let seen: AsyncConnection | undefined;
    const reasons: Error[] = [];
    {
      await using connection = await connect(new URLParameters(amqpUrl()), { onClose: (_c, reason) => reasons.push(reason) });
      seen = connection;
      await using channel = await connection.channel();
      await channel.queueDeclare('', { exclusive: true });
    }
    expect(seen.isClosed).to.equal(true);
    expect(reasons).to.have.length(1);
    expect(reasons[0]).to.be.instanceOf(ConnectionClosedByClient);
  });

  it('leaves no unhandled rejection behind for promises nobody awaited', async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      const connection = await open();
      const channel = await connection.channel();
      const queue = uniqueName('p-forget');
      await channel.queueDeclare(queue, { exclusive: true, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } });
      await channel.confirmDelivery();
      for (let i = 0; i < 10; i++) void channel.basicPublish('', queue, 'nacked');
      await new Promise((resolve) => setTimeout(resolve, 200));
      void channel.queueDeclare(uniqueName('p-missing'), { passive: true });
      void channel.basicPublish('', queue, 'cut short');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(channel.isClosed).to.equal(true);
    } finally {
      process.off('unhandledRejection', listener);
    }
    expect(unhandled).to.deep.equal([]);
  });
});
