/**
 * A consumer cancelled by the broker, as RabbitMQ 4.3 does on a consumer
 * timeout (rabbitmq-server #17317): instead of closing the channel with 406
 * (the 3.x form), it releases the delivery the consumer held too long and
 * sends `basic.cancel` with no-wait, keeping the consumer registered (idle)
 * until the client ends it. On the fake broker: the cancel reaches the
 * channel's cancel callbacks, the consumer gets no more deliveries, coney
 * ends it on the broker with a basic.cancel of its own, and the channel
 * goes on (acks, a new consumer under the same tag).
 */
import { expect } from 'chai';
import { type Channel, spec } from '../../lib';
import type { FakeSession } from '../support/fake-broker';
import { openChannel, openOnFakeBroker, type OpenFakeBrokerConnection } from '../support/virtual-broker';

function deliver(consumerTag: string, deliveryTag: number): spec.Basic.Deliver {
  return new spec.Basic.Deliver({ consumerTag, deliveryTag, redelivered: false, exchange: '', routingKey: 'jobs' });
}

/** Names of the methods the client sent on `channel` after it opened, in order. */
function sentAfterOpen(session: FakeSession, channel: number): string[] {
  return session.methods
    .filter((m) => m.channel === channel)
    .map((m) => m.method.name)
    .slice(1);
}

/** A channel with consumer 'c1' on 'jobs' that has received delivery 1; what onMessage and the cancel callbacks saw. */
function consuming(): { s: OpenFakeBrokerConnection; ch: Channel; got: number[]; cancels: spec.Basic.Cancel[] } {
  const s = openOnFakeBroker();
  const ch = openChannel(s);
  const got: number[] = [];
  const cancels: spec.Basic.Cancel[] = [];
  ch.addOnCancelCallback((_c, m) => cancels.push(m));
  ch.basicQos({ prefetchCount: 1 });
  ch.basicConsume('jobs', (_c, m) => got.push(m.deliveryTag), { consumerTag: 'c1' });
  s.loop.runUntilIdle();
  s.session.sendContent(ch.channelNumber, deliver('c1', 1), Buffer.from('slow job'));
  s.loop.runUntilIdle();
  expect(got).to.deep.equal([1]);
  return { s, ch, got, cancels };
}

describe('consumer cancelled by the broker (RabbitMQ 4.3 consumer timeout)', () => {
  it('reaches the cancel callbacks, stops the deliveries and ends the consumer with a basic.cancel of our own', () => {
    const { s, ch, got, cancels } = consuming();
    // Hold our cancel's reply, to see what happens meanwhile.
    const cancelOks: Array<() => void> = [];
    s.broker.onMethod = (session, channel, m) => {
      if (!(m instanceof spec.Basic.Cancel)) return;
      cancelOks.push(() => session.send(channel, new spec.Basic.CancelOk({ consumerTag: m.consumerTag })));
      return true;
    };
    s.session.send(ch.channelNumber, new spec.Basic.Cancel({ consumerTag: 'c1', noWait: true }));
    s.loop.runUntilIdle();
    expect(cancels.map((m) => [m.consumerTag, m.noWait])).to.deep.equal([['c1', true]]);
    expect(ch.consumerTags).to.deep.equal([]);
    expect(ch.isOpen).to.equal(true);
    // RabbitMQ's no-wait cancel gets no cancel-ok (before 4.3 that is an unknown method, 503):
    // our own basic.cancel, which every version answers, ends the consumer instead.
    expect(s.session.sent(spec.Basic.CancelOk)).to.deep.equal([]);
    expect(s.session.sent(spec.Basic.Cancel).map((m) => [m.consumerTag, m.noWait])).to.deep.equal([['c1', false]]);

    // The held delivery can still be acked (that settles it on a 4.3 broker); on the wire, after our cancel.
    ch.basicAck(1);
    // A delivery for the tag that arrives anyway does not reach onMessage.
    s.session.sendContent(ch.channelNumber, deliver('c1', 2), Buffer.from('late'));
    s.loop.runUntilIdle();
    expect(got).to.deep.equal([1]);
    expect(sentAfterOpen(s.session, ch.channelNumber)).to.deep.equal(['basic.qos', 'basic.consume', 'basic.cancel', 'basic.ack']);
    expect(s.session.sent(spec.Basic.Ack).map((m) => m.deliveryTag)).to.deep.equal([1]);
    cancelOks.forEach((send) => send());
    s.loop.runUntilIdle();
    expect(ch.isOpen).to.equal(true);
    expect(ch.consumerTags).to.deep.equal([]);
  });

  it('lets the application consume again under the same tag, after our cancel on the wire', () => {
    const { s, ch, got, cancels } = consuming();
    ch.addOnCancelCallback((channel, m) => channel.basicConsume('jobs', (_c, d) => got.push(d.deliveryTag * 100), { consumerTag: m.consumerTag }));
    s.session.send(ch.channelNumber, new spec.Basic.Cancel({ consumerTag: 'c1', noWait: true }));
    s.loop.runUntilIdle();
    expect(cancels).to.have.length(1);
    expect(sentAfterOpen(s.session, ch.channelNumber)).to.deep.equal(['basic.qos', 'basic.consume', 'basic.cancel', 'basic.consume']);
    expect(ch.consumerTags).to.deep.equal(['c1']);
    s.session.sendContent(ch.channelNumber, deliver('c1', 2), Buffer.from('next job'));
    s.loop.runUntilIdle();
    expect(got).to.deep.equal([1, 200]);
  });

  it('answers a cancel that asks for a reply (noWait false) with cancel-ok, and sends no cancel of its own', () => {
    const { s, ch, cancels } = consuming();
    s.session.send(ch.channelNumber, new spec.Basic.Cancel({ consumerTag: 'c1', noWait: false }));
    s.loop.runUntilIdle();
    expect(cancels.map((m) => m.consumerTag)).to.deep.equal(['c1']);
    expect(s.session.sent(spec.Basic.CancelOk).map((m) => m.consumerTag)).to.deep.equal(['c1']);
    expect(s.session.sent(spec.Basic.Cancel)).to.deep.equal([]);
  });

  it('sends nothing for a tag it no longer consumes with, nor on a closing channel', () => {
    const { s, ch, cancels } = consuming();
    s.session.send(ch.channelNumber, new spec.Basic.Cancel({ consumerTag: 'unknown', noWait: true }));
    s.loop.runUntilIdle();
    expect(s.session.sent(spec.Basic.Cancel)).to.deep.equal([]);
    // Closing: our close cancels c1 first; the broker's cancel crosses it.
    s.broker.onMethod = (_session, _channel, m) => m instanceof spec.Channel.Close;
    ch.close();
    s.session.send(ch.channelNumber, new spec.Basic.Cancel({ consumerTag: 'c1', noWait: true }));
    s.loop.runUntilIdle();
    expect(cancels.map((m) => m.consumerTag)).to.deep.equal(['unknown', 'c1']);
    expect(sentAfterOpen(s.session, ch.channelNumber)).to.deep.equal(['basic.qos', 'basic.consume', 'basic.cancel', 'channel.close']);
  });
});
