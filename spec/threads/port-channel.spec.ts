/**
 * A channel served over a MessagePort (openChannelPort / channelFromPort),
 * both ends in this thread (a MessageChannel works within one thread too),
 * the connection on the virtual loop and the fake broker: the batching
 * (one postMessage per loop turn each way), the AsyncChannel surface,
 * bodies and properties across, errors with their classes, the ends.
 */
import { expect } from 'chai';
import * as sinon from 'sinon';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import {
  ChannelClosedByBroker,
  ChannelWrongStateError,
  ChannelClosedByClient,
  Decimal,
  InvalidArgumentError,
  NackError,
  channelFromPort,
  type PortChannel,
} from '../../lib';
import * as spec from '../../lib/wire/spec';
import { type FakeAsync, openFake, rejects, turns } from '../promise/fake';

/** The methods the client sent on channel `n`. */
function sent<T extends spec.AMQPMethod>(s: FakeAsync, n: number, type: new (...args: never[]) => T): T[] {
  return s.session.methods.filter((m) => m.channel === n && m.method instanceof type).map((m) => m.method as T);
}

/** Waits (a bounded number of loop turns) until `check` holds. */
async function until(check: () => boolean, what: string, maxTurns = 400): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`still not true after ${maxTurns} turns: ${what}`);
}

describe('threads: a channel over a MessagePort', () => {
  let s: FakeAsync;
  let port: MessagePort;
  let channel: PortChannel;
  beforeEach(async () => {
    s = await openFake();
    port = await s.connection.openChannelPort();
    channel = await channelFromPort(port);
  });
  afterEach(async () => {
    sinon.restore();
    await s.stop();
  });

  it('resolves each call to its reply method, as the class the connection thread got', async () => {
    const ok = await channel.queueDeclare('jobs', { durable: true, arguments: { 'x-max-length': 10 } });
    expect(ok).to.be.instanceOf(spec.Queue.DeclareOk);
    expect(ok.queue).to.equal('jobs');
    expect(await channel.exchangeDeclare('x', { type: 'fanout' })).to.be.instanceOf(spec.Exchange.DeclareOk);
    expect(await channel.queueBind('jobs', 'x')).to.be.instanceOf(spec.Queue.BindOk);
    expect(await channel.basicQos({ prefetchCount: 5 })).to.be.instanceOf(spec.Basic.QosOk);
    const declare = sent(s, channel.channelNumber, spec.Queue.Declare)[0];
    expect(declare.durable).to.equal(true);
    expect(declare.arguments).to.deep.equal({ 'x-max-length': 10 });
    expect(channel.isOpen).to.equal(true);
  });

  it('sends the calls of one loop turn in one postMessage, and gets the deliveries of one turn in one', async () => {
    const posts = sinon.spy(port, 'postMessage');
    let batches = 0;
    port.on('message', () => (batches += 1));
    const publishes = [];
    for (let i = 0; i < 100; i++) publishes.push(channel.basicPublish('', 'q', `m${i}`));
    await Promise.all(publishes);
    await until(() => s.session.published.length === 100, '100 publishes at the broker');
    expect(posts.callCount).to.equal(1);
    // the 100 publishes as one record item: [Req.Publishes, first, count, properties]
    expect((posts.firstCall.args[0] as { items: unknown[][] }).items.map((item) => item.slice(0, 3))).to.deep.equal([[11, 0, 100]]);
    expect(s.session.published.map((p) => p.body.toString())).to.deep.equal(Array.from({ length: 100 }, (_, i) => `m${i}`));

    const it = channel.consume('jobs');
    await until(() => sent(s, channel.channelNumber, spec.Basic.Consume).length === 1, 'basic.consume sent');
    const tag = sent(s, channel.channelNumber, spec.Basic.Consume)[0].consumerTag;
    expect(tag).to.equal(it.consumerTag);
    await turns();
    batches = 0;
    for (let i = 1; i <= 50; i++) {
      s.session.sendContent(
        channel.channelNumber,
        new spec.Basic.Deliver({ consumerTag: tag, deliveryTag: i, exchange: '', routingKey: 'jobs' }),
        Buffer.from(`d${i}`),
      );
    }
    await until(() => it.buffered === 50, '50 deliveries buffered');
    expect(batches).to.equal(1);
    posts.resetHistory();
    const got: string[] = [];
    for await (const message of it) {
      got.push(message!.body.toString());
      await message!.ack();
      if (got.length === 50) break;
    }
    await until(() => sent(s, channel.channelNumber, spec.Basic.Ack).length === 50, '50 acks at the broker');
    expect(got[0]).to.equal('d1');
    expect(got[49]).to.equal('d50');
    // the 50 acks went in one batch (with the cancel of the break, made in the same turn)
    const items = (posts.firstCall.args[0] as { items: unknown[][] }).items;
    expect(items.filter((item) => item[0] === 12).map((item) => item[2])).to.deep.equal([50]);
    expect(posts.callCount).to.equal(1);
  });

  it('carries bodies once (an arena transferred) and properties with their field-table values', async () => {
    // The arena is transferred (detached here once posted): its size is read as it is posted.
    const arenas: number[] = [];
    const post = port.postMessage.bind(port);
    sinon.stub(port, 'postMessage').callsFake((batch: { bodies: ArrayBuffer | null }, transfer?: readonly unknown[]) => {
      arenas.push(batch.bodies?.byteLength ?? 0);
      expect(transfer).to.deep.equal(batch.bodies === null ? undefined : [batch.bodies]);
      post(batch, transfer as never);
    });
    const big = Buffer.alloc(300 * 1024, 7);
    const headers = { bin: Buffer.from([1, 2, 3]), dec: new Decimal(12345, 2), n: 5, nested: { a: 'b' } };
    await channel.basicPublish('x', 'k', big, { contentType: 'application/octet-stream', headers, timestamp: new Date(1_700_000_000_000) });
    await channel.basicPublish('x', 'k', 'héllo');
    await until(() => s.session.published.length === 2, 'published');
    const [first, second] = s.session.published;
    expect(first.body.equals(big)).to.equal(true);
    expect(first.properties.contentType).to.equal('application/octet-stream');
    expect(first.properties.headers!['bin']).to.deep.equal(Buffer.from([1, 2, 3]));
    expect(first.properties.headers!['dec']).to.be.instanceOf(Decimal);
    expect(first.properties.timestamp!.getTime()).to.equal(1_700_000_000_000);
    expect(second.body.toString()).to.equal('héllo');
    // one arena for both bodies (then, 8-byte aligned, the two publish records of 5 numbers), in the transfer list
    const bodies = big.length + Buffer.byteLength('héllo');
    expect(arenas[0]).to.equal(Math.ceil(bodies / 8) * 8 + 2 * 5 * 8);

    s.broker.onMethod = (session, ch, m) => {
      if (!(m instanceof spec.Basic.Get)) return false;
      session.sendContent(ch, new spec.Basic.GetOk({ deliveryTag: 9, redelivered: true, exchange: 'x', routingKey: 'k', messageCount: 3 }), big, {
        headers,
        correlationId: 'c1',
      });
      return true;
    };
    const message = await channel.basicGet('q');
    expect(message!.body.equals(big)).to.equal(true);
    expect([message!.deliveryTag, message!.redelivered, message!.exchange, message!.routingKey, message!.messageCount]).to.deep.equal([
      9,
      true,
      'x',
      'k',
      3,
    ]);
    expect(message!.method).to.be.instanceOf(spec.Basic.GetOk);
    expect(message!.properties).to.be.instanceOf(spec.BasicProperties);
    expect(message!.properties.correlationId).to.equal('c1');
    expect(message!.properties.headers!['bin']).to.deep.equal(Buffer.from([1, 2, 3]));
    expect((message!.properties.headers!['dec'] as Decimal).toNumber()).to.equal(123.45);
    await message!.reject(false);
    await until(() => sent(s, channel.channelNumber, spec.Basic.Reject).length === 1, 'reject sent');
    expect(sent(s, channel.channelNumber, spec.Basic.Reject)[0].requeue).to.equal(false);
  });

  it('confirm mode: resolves on the ack, rejects with NackError (the same class) on a nack', async () => {
    await channel.confirmDelivery();
    expect(channel.nextPublishSeqNo).to.equal(1);
    s.broker.onMethod = () => false;
    const a = channel.basicPublish('', 'q', 'a');
    const b = channel.basicPublish('', 'q', 'b');
    expect(channel.nextPublishSeqNo).to.equal(3);
    await until(() => s.session.published.length === 2, 'published');
    s.session.send(channel.channelNumber, new spec.Basic.Ack({ deliveryTag: 1 }));
    s.session.send(channel.channelNumber, new spec.Basic.Nack({ deliveryTag: 2 }));
    await a;
    const err = await rejects(b, NackError);
    expect(err.name).to.equal('NackError');
  });

  it('a broker close reaches the worker as ChannelClosedByBroker with its replyCode; the connection goes on', async () => {
    s.broker.onMethod = (session, ch, m) => {
      if (!(m instanceof spec.Queue.Declare)) return false;
      session.send(ch, new spec.Channel.Close({ replyCode: 404, replyText: 'NOT_FOUND - no queue' }));
      return true;
    };
    const it = channel.consume('jobs');
    const err = await rejects(channel.queueDeclare('missing', { passive: true }), ChannelClosedByBroker);
    expect(err.replyCode).to.equal(404);
    expect(err.replyText).to.equal('NOT_FOUND - no queue');
    expect(err.stack).to.be.a('string');
    await rejects(it.next(), ChannelClosedByBroker);
    expect(channel.isClosed).to.equal(true);
    await rejects(channel.basicPublish('', 'q', 'x'), ChannelWrongStateError);
    await rejects(channel.basicAck(1), ChannelWrongStateError);
    expect(s.connection.isOpen).to.equal(true);
    const other = await s.connection.channel();
    expect(other.isOpen).to.equal(true);
  });

  it('closing the connection closes the port channel with the reason a channel on its thread gets', async () => {
    const local = await s.connection.channel();
    const localIt = local.consume('other');
    const it = channel.consume('jobs');
    await turns();
    await s.connection.close();
    const expected = await rejects(localIt.next(), ChannelClosedByClient);
    const err = await rejects(it.next(), ChannelClosedByClient);
    expect([err.replyCode, err.message]).to.deep.equal([expected.replyCode, expected.message]);
    await until(() => channel.isClosed, 'the port channel closed');
  });

  it('closing the worker end of the port closes the channel on the connection thread', async () => {
    const n = channel.channelNumber;
    port.close();
    await until(() => sent(s, n, spec.Channel.Close).length === 1, 'channel.close sent');
    expect(s.connection.isOpen).to.equal(true);
  });

  it('bad input rejects with InvalidArgumentError, never throws or posts', async () => {
    await rejects(channelFromPort({} as MessagePort), InvalidArgumentError, /MessagePort/);
    await rejects(channel.basicPublish('', 5 as never, 'x'), InvalidArgumentError, /routingKey/);
    await rejects(channel.basicPublish('', 'q', 42 as never), InvalidArgumentError, /body/);
    await rejects(channel.basicPublish('', 'q', 'x', { contentType: (() => 1) as never }), InvalidArgumentError, /contentType/);
    await rejects(channel.queueDeclare('q', { durable: () => true } as never), InvalidArgumentError);
    await rejects(channel.queueDeclare('q', { durabel: true } as never), InvalidArgumentError, /durabel/);
    await rejects(channel.basicConsume('q', 5 as never), InvalidArgumentError);
    await rejects(channel.consume('q', { inactivityTimeout: -1 }).next(), InvalidArgumentError);
    // the channel is fine afterwards
    expect(await channel.queueDeclare('q')).to.be.instanceOf(spec.Queue.DeclareOk);
  });

  it('channelFromPort rejects after its timeout when nothing answers on the port', async () => {
    const { port1, port2 } = new MessageChannel();
    await rejects(channelFromPort(port1, { timeout: 0.05 }), InvalidArgumentError, /no channel answered/);
    port2.close();
  });

  it('outside confirm mode, publishes wait once 2048 are not yet written (the port window)', async () => {
    s.session.peer.pause();
    const big = Buffer.alloc(64 * 1024);
    let resolved = 0;
    const publishes = [];
    for (let i = 0; i < 64; i++) publishes.push(channel.basicPublish('', 'q', big).then(() => (resolved += 1)));
    await turns(20);
    expect(resolved).to.be.lessThan(64);
    s.session.peer.resume();
    await Promise.all(publishes);
    expect(resolved).to.equal(64);
  });

  it('basicConsume (handler style) and rpc', async () => {
    const got: string[] = [];
    const tag = await channel.basicConsume('jobs', (m) => {
      got.push(m.body.toString());
      return m.ack();
    });
    s.session.sendContent(
      channel.channelNumber,
      new spec.Basic.Deliver({ consumerTag: tag, deliveryTag: 1, exchange: '', routingKey: 'jobs' }),
      Buffer.from('h'),
    );
    await until(() => got.length === 1, 'handler called');
    expect(channel.consumerTags).to.deep.equal([tag]);
    await channel.basicCancel(tag);
    expect(channel.consumerTags).to.deep.equal([]);

    const reply = channel.rpc('', 'service', 'ping'); // no timeout: the virtual loop would jump to it while the port is busy;
    await until(() => s.session.published.length === 1, 'request published');
    const request = s.session.published[0];
    expect(request.properties.replyTo).to.equal('amq.rabbitmq.reply-to');
    s.session.sendContent(
      channel.channelNumber,
      new spec.Basic.Deliver({
        consumerTag: sent(s, channel.channelNumber, spec.Basic.Consume)[1].consumerTag,
        deliveryTag: 1,
        exchange: '',
        routingKey: 'x',
      }),
      Buffer.from('pong'),
      { correlationId: request.properties.correlationId },
    );
    expect((await reply).body.toString()).to.equal('pong');
  });
});
