import { expect } from 'chai';
import { AsyncChannel, ChannelClosedByBroker, ChannelWrongStateError, InvalidArgumentError, Message, UnroutableError } from '../../lib';
import * as spec from '../../lib/wire/spec';
import { type FakeAsync, openFake, rejects, sentOn, turns } from './fake';

describe('promise API: AsyncChannel', () => {
  let s: FakeAsync;
  let channel: AsyncChannel;
  beforeEach(async () => {
    s = await openFake();
    channel = await s.connection.channel();
  });
  afterEach(() => s.stop());

  it('resolves each call to its reply method', async () => {
    const ok = await channel.queueDeclare('jobs', { durable: true });
    expect(ok).to.be.instanceOf(spec.Queue.DeclareOk);
    expect(ok.queue).to.equal('jobs');
    expect(await channel.exchangeDeclare('x', { type: 'fanout' })).to.be.instanceOf(spec.Exchange.DeclareOk);
    expect(await channel.queueBind('jobs', 'x')).to.be.instanceOf(spec.Queue.BindOk);
    expect(await channel.basicQos({ prefetchCount: 5 })).to.be.instanceOf(spec.Basic.QosOk);
    expect(sentOn(s, channel, spec.Queue.Declare)[0].durable).to.equal(true);
  });

  it('rejects, never throws, on a bad argument or a closed channel', async () => {
    const bad = channel.queueDeclare('q', { durabel: true } as never);
    await rejects(bad, InvalidArgumentError);
    await channel.close();
    expect(channel.isClosed).to.equal(true);
    await rejects(channel.basicPublish('', 'q', 'x'), ChannelWrongStateError);
    await rejects(channel.queueDeclare('q'), ChannelWrongStateError);
    await rejects(channel.basicAck(1), ChannelWrongStateError);
  });

  it('a broker close rejects the call in flight with ChannelClosedByBroker and closes only that channel', async () => {
    const other = await s.connection.channel();
    s.broker.onMethod = (session, ch, m) => {
      if (!(m instanceof spec.Queue.Declare) || ch !== channel.channelNumber) return false;
      session.send(ch, new spec.Channel.Close({ replyCode: 404, replyText: 'NOT_FOUND - no queue' }));
      return true;
    };
    const err = await channel.queueDeclare('missing', { passive: true }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ChannelClosedByBroker);
    expect((err as ChannelClosedByBroker).replyCode).to.equal(404);
    expect(channel.isClosed).to.equal(true);
    expect(other.isOpen).to.equal(true);
    expect(s.connection.isOpen).to.equal(true);
  });

  it('basicGet resolves to a Message bound to its channel, or null', async () => {
    let empty = true;
    s.broker.onMethod = (session, ch, m) => {
      if (!(m instanceof spec.Basic.Get)) return false;
      if (empty) session.send(ch, new spec.Basic.GetEmpty());
      else
        session.sendContent(
          ch,
          new spec.Basic.GetOk({ deliveryTag: 7, redelivered: true, exchange: 'x', routingKey: 'k', messageCount: 0 }),
          Buffer.from('hi'),
          { contentType: 'text/plain' },
        );
      return true;
    };
    expect(await channel.basicGet('q')).to.equal(null);
    empty = false;
    const message = await channel.basicGet('q');
    expect(message).to.be.instanceOf(Message);
    expect(message!.body.toString()).to.equal('hi');
    expect([message!.deliveryTag, message!.redelivered, message!.exchange, message!.routingKey]).to.deep.equal([7, true, 'x', 'k']);
    expect(message!.properties.contentType).to.equal('text/plain');
    expect(message!.consumerTag).to.equal(undefined);
    await message!.ack();
    await message!.nack(false, false);
    await message!.reject();
    await turns();
    expect(sentOn(s, channel, spec.Basic.Ack)[0].deliveryTag).to.equal(7);
    expect(sentOn(s, channel, spec.Basic.Nack)[0].requeue).to.equal(false);
    expect(sentOn(s, channel, spec.Basic.Reject)[0].requeue).to.equal(true);
  });

  it('basicPublish outside confirm mode resolves at once under the high-water mark', async () => {
    await channel.basicPublish('', 'q', 'one', { contentType: 'text/plain' });
    await turns();
    expect(s.session.published.map((p) => p.body.toString())).to.deep.equal(['one']);
  });

  it('basicPublish waits for the drain above the high-water mark', async () => {
    s.session.peer.pause();
    const big = Buffer.alloc(256 * 1024);
    let resolved = 0;
    const publishes = [];
    for (let i = 0; i < 20; i++) publishes.push(channel.basicPublish('', 'q', big).then(() => (resolved += 1)));
    await turns();
    expect(s.connection.selectConnection.writableNeedDrain).to.equal(true);
    expect(resolved).to.be.lessThan(20);
    s.session.peer.resume();
    await Promise.all(publishes);
    expect(resolved).to.equal(20);
  });

  describe('in confirm mode', () => {
    beforeEach(async () => {
      expect(await channel.confirmDelivery()).to.be.instanceOf(spec.Confirm.SelectOk);
    });

    it('resolves on the ack, rejects with NackError on a nack (single and multiple)', async () => {
      const outcomes: string[] = [];
      const track = (p: Promise<void>, i: number): Promise<void> =>
        p.then(
          () => void outcomes.push(`${i} ack`),
          (e: Error) => void outcomes.push(`${i} ${e.name}`),
        );
      const all = [1, 2, 3, 4].map((i) => track(channel.basicPublish('', 'q', `m${i}`), i));
      await turns();
      s.session.send(channel.channelNumber, new spec.Basic.Ack({ deliveryTag: 2, multiple: true }));
      s.session.send(channel.channelNumber, new spec.Basic.Nack({ deliveryTag: 3, multiple: false }));
      s.session.send(channel.channelNumber, new spec.Basic.Ack({ deliveryTag: 4, multiple: false }));
      await Promise.all(all);
      expect(outcomes).to.deep.equal(['1 ack', '2 ack', '3 NackError', '4 ack']);
    });

    it('rejects a mandatory publish that came back with UnroutableError', async () => {
      const p = channel.basicPublish('', 'nowhere', 'lost', {}, true);
      const fine = channel.basicPublish('', 'nowhere', 'other', {}, true);
      await turns();
      s.session.sendContent(
        channel.channelNumber,
        new spec.Basic.Return({ replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: 'nowhere' }),
        Buffer.from('lost'),
      );
      s.session.send(channel.channelNumber, new spec.Basic.Ack({ deliveryTag: 2, multiple: true }));
      await rejects(p, UnroutableError, /NO_ROUTE/);
      await fine;
    });

    it('rejects what is unanswered with the close reason when the channel closes', async () => {
      const p = channel.basicPublish('', 'q', 'x');
      await turns();
      s.session.send(channel.channelNumber, new spec.Channel.Close({ replyCode: 406, replyText: 'PRECONDITION_FAILED - boom' }));
      await rejects(p, ChannelClosedByBroker);
    });

    it('waitForConfirms resolves once all are answered', async () => {
      void channel.basicPublish('', 'q', 'a');
      void channel.basicPublish('', 'q', 'b');
      let done = false;
      const waiting = channel.waitForConfirms().then(() => (done = true));
      await turns();
      expect(done).to.equal(false);
      s.session.send(channel.channelNumber, new spec.Basic.Ack({ deliveryTag: 2, multiple: true }));
      await waiting;
      expect(channel.unconfirmedDeliveryTags()).to.deep.equal([]);
    });

    it('publishes made before confirm-select is answered are numbered too', async () => {
      const fresh = await s.connection.channel();
      const selecting = fresh.confirmDelivery();
      const p = fresh.basicPublish('', 'q', 'early');
      await selecting;
      await turns();
      s.session.send(fresh.channelNumber, new spec.Basic.Ack({ deliveryTag: 1, multiple: false }));
      await p;
    });
  });

  it('a promise nobody awaits never becomes an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await channel.confirmDelivery();
      void channel.basicPublish('', 'q', 'nacked');
      void channel.basicPublish('', 'q', 'closed');
      void channel.queueDeclare('bad', { nope: 1 } as never);
      await turns();
      s.session.send(channel.channelNumber, new spec.Basic.Nack({ deliveryTag: 1, multiple: false }));
      await turns();
      void channel.queueDeclare('x');
      s.session.send(channel.channelNumber, new spec.Channel.Close({ replyCode: 406, replyText: 'PRECONDITION_FAILED' }));
      await turns(10);
      void channel.basicPublish('', 'q', 'after close');
      void channel.close();
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).to.deep.equal([]);
  });

  it('warns when the broker closes a channel nobody waited on', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      s.session.send(channel.channelNumber, new spec.Channel.Close({ replyCode: 406, replyText: 'PRECONDITION_FAILED - idle' }));
      await turns();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(channel.isClosed).to.equal(true);
    expect(warnings.map((w) => `${w.name}: ${w.message}`)).to.deep.equal([
      `ConeyWarning: channel ${channel.channelNumber} was closed: (406) PRECONDITION_FAILED - idle (no pending call was told)`,
    ]);
  });

  it('await using closes the channel at the end of the scope', async () => {
    let inner: AsyncChannel | undefined;
    {
      await using ch = await s.connection.channel();
      inner = ch;
      expect(ch.isOpen).to.equal(true);
    }
    expect(inner.isClosed).to.equal(true);
  });
});
