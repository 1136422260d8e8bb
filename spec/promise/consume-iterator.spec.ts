import { expect } from 'chai';
import {
  AMQPChannelError,
  type AsyncChannel,
  ChannelClosedByBroker,
  DEFAULT_CONSUME_PREFETCH,
  InvalidArgumentError,
  type Message,
  StreamLostError,
} from '../../lib';
import * as spec from '../../lib/wire/spec';
import { deliver, type FakeAsync, openFake, rejects, sentOn, turns } from './fake';

describe('promise API: consume() iterator', () => {
  let s: FakeAsync;
  let channel: AsyncChannel;
  beforeEach(async () => {
    s = await openFake();
    channel = await s.connection.channel();
  });
  afterEach(() => s.stop());

  it('sets the default prefetch before consuming when none was set, and yields messages in order', async () => {
    const it = channel.consume('jobs');
    await turns();
    const qos = sentOn(s, channel, spec.Basic.Qos);
    expect(qos.map((q) => q.prefetchCount)).to.deep.equal([DEFAULT_CONSUME_PREFETCH]);
    const methods = s.session.methods.filter((m) => m.channel === channel.channelNumber).map((m) => m.method.name);
    expect(methods.indexOf('basic.qos')).to.be.lessThan(methods.indexOf('basic.consume'));
    deliver(s, channel.channelNumber, it.consumerTag, 1, 'a');
    deliver(s, channel.channelNumber, it.consumerTag, 2, 'b');
    const got: string[] = [];
    for await (const message of it) {
      got.push(message!.body.toString());
      await message!.ack();
      if (got.length === 2) break;
    }
    expect(got).to.deep.equal(['a', 'b']);
    expect(sentOn(s, channel, spec.Basic.Ack).map((a) => a.deliveryTag)).to.deep.equal([1, 2]);
  });

  it('keeps the prefetch the application set', async () => {
    await channel.basicQos({ prefetchCount: 3 });
    channel.consume('jobs');
    await turns();
    expect(sentOn(s, channel, spec.Basic.Qos).map((q) => q.prefetchCount)).to.deep.equal([3]);
  });

  it('breaking out cancels the consumer and requeues what was buffered but never handed out', async () => {
    const it = channel.consume('jobs');
    await turns();
    for (let tag = 1; tag <= 4; tag++) deliver(s, channel.channelNumber, it.consumerTag, tag, `m${tag}`);
    await turns();
    expect(it.buffered).to.equal(4);
    for await (const message of it) {
      expect(message!.deliveryTag).to.equal(1);
      break;
    }
    await turns();
    expect(sentOn(s, channel, spec.Basic.Cancel).map((c) => c.consumerTag)).to.deep.equal([it.consumerTag]);
    expect(sentOn(s, channel, spec.Basic.Reject).map((r) => [r.deliveryTag, r.requeue])).to.deep.equal([
      [2, true],
      [3, true],
      [4, true],
    ]);
    expect(await it.next()).to.deep.equal({ value: undefined, done: true });
    expect(channel.consumerTags).to.deep.equal([]);
  });

  it('cancel() ends the iterators and resolves to the number requeued', async () => {
    const a = channel.consume('a');
    const b = channel.consume('b');
    await turns();
    deliver(s, channel.channelNumber, a.consumerTag, 1, 'x');
    deliver(s, channel.channelNumber, b.consumerTag, 2, 'y');
    deliver(s, channel.channelNumber, b.consumerTag, 3, 'z');
    await turns();
    const waiting = a.next();
    expect((await waiting).value!.deliveryTag).to.equal(1);
    const pending = a.next();
    expect(await channel.cancel()).to.equal(2);
    expect(await pending).to.deep.equal({ value: undefined, done: true });
    expect(await b.next()).to.deep.equal({ value: undefined, done: true });
  });

  it('cancel(tag) ends only that iterator', async () => {
    const a = channel.consume('a');
    const b = channel.consume('b');
    await turns();
    deliver(s, channel.channelNumber, a.consumerTag, 1, 'x');
    await turns();
    expect(await channel.cancel(a.consumerTag)).to.equal(1);
    expect(channel.consumerTags).to.deep.equal([b.consumerTag]);
  });

  it('yields null after inactivityTimeout seconds without a message', async () => {
    const it = channel.consume('jobs', { inactivityTimeout: 5 });
    const started = s.loop.now();
    const first = await it.next();
    expect(first).to.deep.equal({ value: null, done: false });
    expect(s.loop.now() - started).to.be.closeTo(5, 0.01);
    const next = it.next();
    deliver(s, channel.channelNumber, it.consumerTag, 1, 'late');
    expect((await next).value!.body.toString()).to.equal('late');
    await it.return();
  });

  it('throws once the broker cancels the consumer, after handing out what came before', async () => {
    const it = channel.consume('jobs');
    await turns();
    deliver(s, channel.channelNumber, it.consumerTag, 1, 'before');
    s.session.send(channel.channelNumber, new spec.Basic.Cancel({ consumerTag: it.consumerTag, noWait: true }));
    await turns();
    expect((await it.next()).value!.body.toString()).to.equal('before');
    await rejects(it.next(), AMQPChannelError, /cancelled by the broker/);
  });

  it('throws the close reason when the channel closes, at once', async () => {
    const it = channel.consume('jobs');
    await turns();
    deliver(s, channel.channelNumber, it.consumerTag, 1, 'buffered');
    s.session.send(channel.channelNumber, new spec.Channel.Close({ replyCode: 406, replyText: 'PRECONDITION_FAILED' }));
    await turns();
    await rejects(it.next(), ChannelClosedByBroker);
  });

  it('a pending next() rejects when the channel closes', async () => {
    const it = channel.consume('jobs');
    const pending = it.next();
    await turns();
    s.session.send(channel.channelNumber, new spec.Channel.Close({ replyCode: 404, replyText: 'NOT_FOUND' }));
    await rejects(pending, ChannelClosedByBroker);
  });

  it('an aborted signal ends it like breaking out', async () => {
    const controller = new AbortController();
    const it = channel.consume('jobs', { signal: controller.signal });
    await turns();
    deliver(s, channel.channelNumber, it.consumerTag, 1, 'x');
    await turns();
    const seen: Array<Message | null> = [];
    const loop = (async () => {
      for await (const m of it) {
        seen.push(m);
        controller.abort();
      }
    })();
    await loop;
    await turns();
    expect(seen.length).to.equal(1);
    expect(sentOn(s, channel, spec.Basic.Cancel).length).to.equal(1);
  });

  it('a bad option fails the first next(), never a throw', async () => {
    const it = channel.consume('jobs', { inactivityTimeout: -1 });
    await rejects(it.next(), InvalidArgumentError);
    const typo = channel.consume('jobs', { autoAk: true } as never);
    await rejects(typo.next(), InvalidArgumentError);
  });

  it('basicConsume (handler style) resolves to the tag and wraps deliveries as Messages', async () => {
    const got: string[] = [];
    const tag = await channel.basicConsume('jobs', async (message) => {
      got.push(`${message.consumerTag}:${message.body.toString()}`);
      await message.ack();
    });
    deliver(s, channel.channelNumber, tag, 1, 'h');
    await turns();
    expect(got).to.deep.equal([`${tag}:h`]);
    expect(await channel.cancel(tag)).to.equal(0);
    expect(channel.consumerTags).to.deep.equal([]);
  });

  it('a throwing handler goes to onCallbackError', async () => {
    await channel.basicConsume('jobs', () => {
      throw new Error('handler broke');
    });
    deliver(s, channel.channelNumber, channel.consumerTags[0], 1, 'x');
    await turns();
    expect(s.reported.map((e) => (e as Error).message)).to.deep.equal(['handler broke']);
  });
});

describe('promise API: consume() across a connection loss', () => {
  it('throws the reason when its consume was in flight at the drop (never a silent idle)', async () => {
    const s = await openFake({ recovery: { initialDelay: 0 } });
    try {
      const channel = await s.connection.channel();
      s.broker.onMethod = (_session, _ch, m) => m instanceof spec.Basic.Consume; // no consume-ok: it stays in flight
      const it = channel.consume('jobs'); // no inactivity timer: virtual time would jump to it
      const first = it.next();
      await turns();
      s.broker.onMethod = null;
      s.session.peer.destroy(new Error('cut'));
      const err = await rejects(first, StreamLostError);
      expect(err.message).to.match(/connection lost/);
    } finally {
      await s.stop();
    }
  });
});
