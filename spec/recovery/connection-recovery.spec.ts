/**
 * Recovery on the VirtualIOLoop against the scripted fake broker, where the
 * point is order and timing: what the new connection is sent and in which
 * order, the backoff bounds in virtual time, and nothing left behind after a
 * close during recovery.
 */
import { expect } from 'chai';
import * as sinon from 'sinon';
import { ConnectionClosedByClient, RecoveryFailedError, StreamLostError, spec } from '../../lib';
import type { RecoveryOptions } from '../../lib/recovery/options';
import type { FakeSession } from '../support/fake-broker';
import { connectToFakeBroker, openChannel, type FakeBrokerConnection } from '../support/virtual-broker';

interface Log {
  recovering: Array<{ at: number; reason: Error; attempt: number }>;
  recovered: number[];
  failed: Error[];
  renames: Array<[string, string]>;
}

function openRecovering(recovery: RecoveryOptions | true = { initialDelay: 0.5 }): FakeBrokerConnection & { log: Log } {
  const log: Log = { recovering: [], recovered: [], failed: [], renames: [] };
  const s = connectToFakeBroker({
    select: {
      recovery,
      onRecovering: (_c, reason, attempt) => log.recovering.push({ at: s.loop.now(), reason, attempt }),
      onRecovered: () => log.recovered.push(s.loop.now()),
      onRecoveryFailed: (_c, err) => log.failed.push(err),
      onQueueNameChange: (_c, o, n) => log.renames.push([o, n]),
    },
  });
  s.loop.runUntilIdle();
  expect(s.connection.isOpen).to.equal(true);
  return { ...s, log };
}

/** The methods a session received, as "channel:name" (connection handshake left out). */
function sent(session: FakeSession): string[] {
  return session.methods.filter((m) => m.channel !== 0).map((m) => `${m.channel}:${m.method.name}`);
}

function cut(s: FakeBrokerConnection): void {
  s.broker.session.peer.destroy(new Error('cut'));
  s.loop.runUntilIdle();
}

describe('connection recovery (virtual loop)', () => {
  let random: sinon.SinonStub | null = null;
  afterEach(() => {
    random?.restore();
    random = null;
  });

  it('rebuilds in order: topology, then per channel qos, confirm mode, consumers, republishing, then held calls', () => {
    const s = openRecovering({ initialDelay: 0.1 });
    const ch = openChannel(s);
    ch.exchangeDeclare('x', { type: 'fanout' });
    ch.queueDeclare('q', { durable: true });
    ch.queueBind('q', 'x');
    ch.basicQos({ prefetchCount: 10 });
    ch.confirmDelivery(null);
    const deliveries: number[] = [];
    ch.basicConsume('q', (_c, m) => deliveries.push(m.deliveryTag), { consumerTag: 'c1' });
    s.loop.runUntilIdle();
    const acked: Array<Error | null> = [];
    ch.basicPublish('', 'q', 'one', {}, { onConfirm: (e) => acked.push(e) });
    s.loop.runUntilIdle();
    const first = s.broker.session;
    first.sendContent(
      ch.channelNumber,
      new spec.Basic.Deliver({ consumerTag: 'c1', deliveryTag: 1, exchange: '', routingKey: 'q' }),
      Buffer.from('a'),
    );
    s.loop.runUntilIdle();
    cut(s);
    expect(s.connection.isRecovering).to.equal(true);
    expect(s.connection.isOpen).to.equal(false);
    expect(s.log.recovering.map((r) => [r.attempt, r.reason.constructor])).to.deep.equal([[1, StreamLostError]]);
    // made while recovering: held, in order
    ch.basicAck(1); // from before the outage: dropped
    ch.queueDeclare('later');
    ch.basicPublish('', 'q', 'two', {}, { onConfirm: (e) => acked.push(e) });
    s.loop.advance(1);
    expect(s.log.recovered).to.have.length(1);
    const second = s.broker.session;
    expect(second).to.not.equal(first);
    const n = ch.channelNumber;
    const order = sent(second);
    const topology = order.slice(0, 5);
    expect(topology.map((m) => m.split(':')[1])).to.deep.equal(['channel.open', 'exchange.declare', 'queue.declare', 'queue.bind', 'channel.close']);
    expect(order.slice(5)).to.deep.equal([
      `${n}:channel.open`,
      `${n}:basic.qos`,
      `${n}:confirm.select`,
      `${n}:basic.consume`,
      `${n}:basic.publish`,
      `${n}:queue.declare`,
      `${n}:basic.publish`,
    ]);
    expect(second.published.map((p) => p.body.toString())).to.deep.equal(['one', 'two']);
    expect(second.sent(spec.Basic.Ack), 'the stale ack').to.deep.equal([]);
    // the broker numbers from 1 again; the application's numbers go on
    second.send(n, new spec.Basic.Ack({ deliveryTag: 2, multiple: true }));
    second.sendContent(n, new spec.Basic.Deliver({ consumerTag: 'c1', deliveryTag: 1, exchange: '', routingKey: 'q' }), Buffer.from('b'));
    s.loop.runUntilIdle();
    expect(acked).to.deep.equal([null, null]);
    expect(ch.unconfirmedDeliveryTags()).to.deep.equal([]);
    expect(ch.nextPublishSeqNo).to.equal(3);
    expect(deliveries).to.deep.equal([1, 2]);
    ch.basicAck(2);
    s.loop.runUntilIdle();
    expect(
      second.sent(spec.Basic.Ack).map((m) => m.deliveryTag),
      'the broker gets its own tag',
    ).to.deep.equal([1]);
  });

  it('waits a jittered, capped exponential backoff between rounds (full jitter) in virtual time', () => {
    random = sinon.stub(Math, 'random').returns(0.999);
    const s = openRecovering({ initialDelay: 0.5, maxDelay: 4, maxAttempts: 7 });
    s.broker.close(); // every reconnect is refused from now on
    cut(s);
    s.loop.advance(60);
    const rounds = s.log.recovering;
    expect(rounds.map((r) => r.attempt)).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
    const waits = rounds.slice(1).map((r, i) => r.at - rounds[i].at);
    const caps = [0.5, 1, 2, 4, 4, 4];
    waits.forEach((w, i) => expect(w, `wait before round ${i + 2}`).to.be.within(0.999 * caps[i] - 1e-9, caps[i] + 0.01));
    expect(s.log.failed).to.have.length(1);
    expect(s.log.failed[0]).to.be.instanceOf(RecoveryFailedError);
    expect(s.events.closes).to.deep.equal(s.log.failed);
    expect(s.loop.pendingTimerCount, 'timers left').to.equal(0);
  });

  it('leaves no timer after close() during recovery, and reports the close once', () => {
    const s = openRecovering({ initialDelay: 5 });
    const ch = openChannel(s);
    const channelCloses: Error[] = [];
    ch.addOnCloseCallback((_c, reason) => channelCloses.push(reason));
    cut(s);
    const held: Array<Error | null> = [];
    ch.queueDeclare('q', {}, (err) => held.push(err));
    s.connection.close();
    s.loop.runUntilIdle();
    expect(s.events.closes).to.have.length(1);
    expect(s.events.closes[0]).to.be.instanceOf(ConnectionClosedByClient);
    expect(held).to.have.length(1);
    expect(held[0]).to.be.instanceOf(Error);
    expect(channelCloses).to.have.length(1);
    expect(s.log.failed).to.deep.equal([]);
    expect(s.loop.pendingTimerCount, 'timers left').to.equal(0);
    s.loop.advance(30);
    expect(s.broker.sessions).to.have.length(1);
  });

  it('renames a server-named queue: bindings and consumers follow, onQueueNameChange tells', () => {
    const s = openRecovering({ initialDelay: 0 });
    let next = 1;
    s.broker.onMethod = (session, channel, m) => {
      if (!(m instanceof spec.Queue.Declare) || m.queue !== '') return false;
      session.send(channel, new spec.Queue.DeclareOk({ queue: `amq.gen-${next++}`, messageCount: 0, consumerCount: 0 }));
      return true;
    };
    const ch = openChannel(s);
    ch.queueDeclare('', { exclusive: true });
    s.loop.runUntilIdle();
    ch.queueBind('amq.gen-1', 'logs');
    ch.basicConsume('amq.gen-1', () => undefined, { consumerTag: 'c' });
    s.loop.runUntilIdle();
    cut(s);
    s.loop.advance(1);
    expect(s.log.renames).to.deep.equal([['amq.gen-1', 'amq.gen-2']]);
    const methods = s.broker.session.methods.map((m) => m.method);
    expect(methods.filter((m): m is spec.Queue.Bind => m instanceof spec.Queue.Bind).map((m) => m.queue)).to.deep.equal(['amq.gen-2']);
    expect(methods.filter((m): m is spec.Basic.Consume => m instanceof spec.Basic.Consume).map((m) => [m.queue, m.consumerTag])).to.deep.equal([
      ['amq.gen-2', 'c'],
    ]);
  });

  it('tells a consumer left out by filter through its cancel callbacks', () => {
    const s = openRecovering({ initialDelay: 0, filter: (e) => e.kind !== 'consumer' || e.consumerTag !== 'dropped' });
    const ch = openChannel(s);
    const cancelled: string[] = [];
    ch.addOnCancelCallback((_c, m) => cancelled.push(m.consumerTag));
    ch.basicConsume('q', () => undefined, { consumerTag: 'kept' });
    ch.basicConsume('q', () => undefined, { consumerTag: 'dropped' });
    s.loop.runUntilIdle();
    cut(s);
    s.loop.advance(1);
    expect(cancelled).to.deep.equal(['dropped']);
    expect(ch.consumerTags).to.deep.equal(['kept']);
  });

  it('is off by default: a lost connection closes as before', () => {
    const s = connectToFakeBroker();
    s.loop.runUntilIdle();
    cut(s);
    expect(s.connection.isClosed).to.equal(true);
    expect(s.connection.isRecovering).to.equal(false);
    expect(s.events.closes[0]).to.be.instanceOf(StreamLostError);
  });

  it('closes a channel in a transaction instead of recovering it, and recovers the others', () => {
    const s = openRecovering({ initialDelay: 0 });
    const tx = openChannel(s);
    const plain = openChannel(s);
    s.broker.onMethod = (session, channel, m) => {
      if (!(m instanceof spec.Tx.Select)) return false;
      session.send(channel, new spec.Tx.SelectOk());
      return true;
    };
    tx.txSelect();
    s.loop.runUntilIdle();
    const closes: Error[] = [];
    tx.addOnCloseCallback((_c, reason) => closes.push(reason));
    cut(s);
    expect(closes).to.have.length(1);
    expect(closes[0]).to.be.instanceOf(StreamLostError);
    expect(tx.isClosed).to.equal(true);
    expect(plain.isRecovering).to.equal(true);
    s.loop.advance(1);
    expect(plain.isOpen).to.equal(true);
    expect(sent(s.broker.session).filter((m) => m.endsWith('channel.open'))).to.deep.equal([`${plain.channelNumber}:channel.open`]);
  });

  it('with republish: false, tells each unanswered publish the outage reason once and numbers on', () => {
    const s = openRecovering({ initialDelay: 0, republish: false });
    const ch = openChannel(s);
    ch.confirmDelivery(null);
    s.loop.runUntilIdle();
    const outcomes: Array<Error | null> = [];
    ch.basicPublish('', 'q', 'a', {}, { onConfirm: (e) => outcomes.push(e) });
    ch.basicPublish('', 'q', 'b', {}, { onConfirm: (e) => outcomes.push(e) });
    s.loop.runUntilIdle();
    const waited: Array<Error | null> = [];
    ch.waitForConfirms((e) => waited.push(e));
    cut(s);
    expect(outcomes.map((e) => e?.constructor)).to.deep.equal([StreamLostError, StreamLostError]);
    expect(waited.map((e) => e?.constructor)).to.deep.equal([StreamLostError]);
    expect(ch.unconfirmedDeliveryTags()).to.deep.equal([]);
    s.loop.advance(1);
    expect(s.broker.session.published).to.deep.equal([]);
    ch.basicPublish('', 'q', 'c', {}, { onConfirm: (e) => outcomes.push(e) });
    s.loop.runUntilIdle();
    expect(ch.unconfirmedDeliveryTags()).to.deep.equal([3]);
    s.broker.session.send(ch.channelNumber, new spec.Basic.Ack({ deliveryTag: 1, multiple: false }));
    s.loop.runUntilIdle();
    expect(outcomes).to.have.length(3);
    expect(outcomes[2]).to.equal(null);
  });

  it('holds a channel made while recovering and opens it with the others; close() while recovering closes at once', () => {
    const s = openRecovering({ initialDelay: 2 });
    const kept = openChannel(s);
    const dropped = openChannel(s);
    cut(s);
    let made: unknown = null;
    const late = s.connection.channel((err, ch) => (made = err ?? ch));
    late.queueDeclare('held-on-late');
    const closed: Array<Error | null> = [];
    dropped.close(200, 'bye', (err) => closed.push(err));
    expect(closed).to.deep.equal([null]);
    expect(dropped.isClosed).to.equal(true);
    expect(made).to.equal(null);
    s.loop.advance(3);
    expect(made).to.equal(late);
    expect(kept.isOpen && late.isOpen).to.equal(true);
    const methods = sent(s.broker.session);
    expect(methods).to.include(`${late.channelNumber}:queue.declare`);
    expect(methods.filter((m) => m.startsWith(`${dropped.channelNumber}:`))).to.deep.equal([]);
  });

  it('returns false from basicPublish past the high-water mark while recovering, and fires drain after', () => {
    const s = openRecovering({ initialDelay: 1 });
    const ch = openChannel(s);
    let drains = 0;
    s.connection.addOnDrainCallback(() => (drains += 1));
    cut(s);
    const big = Buffer.alloc(64 * 1024);
    const answers: boolean[] = [];
    for (let i = 0; i < 64; i++) answers.push(ch.basicPublish('', 'q', big));
    expect(answers[0]).to.equal(true);
    expect(answers[answers.length - 1]).to.equal(false);
    expect(s.connection.writableNeedDrain).to.equal(true);
    s.loop.advance(2);
    s.loop.runUntilIdle();
    expect(s.broker.session.published).to.have.length(64);
    expect(drains).to.equal(1);
    expect(s.connection.writableNeedDrain).to.equal(false);
  });

  it('retries a round, not the entity, when the old connection still holds an exclusive queue (405)', () => {
    const s = openRecovering({ initialDelay: 0.1, onEntityError: () => 'abort' });
    const ch = openChannel(s);
    ch.queueDeclare('mine', { exclusive: true });
    s.loop.runUntilIdle();
    let locked = 2;
    s.broker.onMethod = (session, channel, m) => {
      if (!(m instanceof spec.Queue.Declare) || locked === 0) return false;
      locked -= 1;
      session.send(channel, new spec.Channel.Close({ replyCode: 405, replyText: 'RESOURCE_LOCKED', failingClassId: 50, failingMethodId: 10 }));
      return true;
    };
    cut(s);
    s.loop.advance(10);
    expect(s.log.failed).to.deep.equal([]);
    expect(s.log.recovered).to.have.length(1);
    expect(s.broker.sessions).to.have.length(4); // the first, two locked tries, the one that worked
    expect(s.log.recovering.map((r) => r.attempt)).to.deep.equal([1, 2, 3]);
  });

  it('starts on a blocked-connection timeout, and not on a refused vhost (530)', () => {
    const s = openRecovering({ initialDelay: 0 });
    s.broker.session.send(0, new spec.Connection.Close({ replyCode: 530, replyText: 'NOT_ALLOWED', failingClassId: 0, failingMethodId: 0 }));
    s.loop.runUntilIdle();
    expect(s.log.recovering).to.deep.equal([]);
    expect(s.connection.isClosed).to.equal(true);
    const b = connectToFakeBroker({ parameters: { blockedConnectionTimeout: 1 }, select: { recovery: { initialDelay: 0 } } });
    b.loop.runUntilIdle();
    b.broker.session.send(0, new spec.Connection.Blocked({ reason: 'memory' }));
    b.loop.advance(1.5);
    expect(b.connection.isOpen).to.equal(true);
    expect(b.broker.sessions).to.have.length(2);
  });

  it('gives a synchronous call in flight at the drop the close reason once, and does not send it again', () => {
    const s = openRecovering({ initialDelay: 0 });
    const ch = openChannel(s);
    s.broker.onMethod = (_session, _channel, m) => m instanceof spec.Queue.Declare && m.queue === 'unanswered';
    const results: Array<Error | null> = [];
    ch.queueDeclare('unanswered', {}, (err) => results.push(err));
    s.loop.runUntilIdle();
    s.broker.onMethod = null;
    cut(s);
    s.loop.advance(1);
    expect(results.map((e) => e?.constructor)).to.deep.equal([StreamLostError]);
    expect(s.broker.session.sent(spec.Queue.Declare).map((m) => m.queue)).to.deep.equal([]);
    expect(ch.isOpen).to.equal(true);
  });

  it("reopens a confirm channel whose first answer after recovery is a nack (3.10's quorum failover), keeping that nack", () => {
    const s = openRecovering({ initialDelay: 0 });
    const ch = openChannel(s);
    ch.confirmDelivery(null);
    s.loop.runUntilIdle();
    const outcomes = new Map<string, Array<string>>();
    for (const body of ['a', 'b', 'c']) {
      outcomes.set(body, []);
      ch.basicPublish('', 'q', body, {}, { onConfirm: (e) => outcomes.get(body)!.push(e === null ? 'ack' : e.name) });
    }
    s.loop.runUntilIdle();
    cut(s);
    s.loop.advance(1);
    const session = s.broker.session;
    expect(session.published.map((p) => p.body.toString())).to.deep.equal(['a', 'b', 'c']);
    session.send(ch.channelNumber, new spec.Basic.Nack({ deliveryTag: 1, multiple: false, requeue: false }));
    s.loop.advance(1);
    // closed and restored under the same number, b and c republished, a's nack kept
    expect(sent(session).filter((m) => m.startsWith(`${ch.channelNumber}:`))).to.deep.equal([
      `${ch.channelNumber}:channel.open`,
      `${ch.channelNumber}:confirm.select`,
      `${ch.channelNumber}:basic.publish`,
      `${ch.channelNumber}:basic.publish`,
      `${ch.channelNumber}:basic.publish`,
      `${ch.channelNumber}:channel.close`,
      `${ch.channelNumber}:channel.open`,
      `${ch.channelNumber}:confirm.select`,
      `${ch.channelNumber}:basic.publish`,
      `${ch.channelNumber}:basic.publish`,
    ]);
    expect(session.published.slice(3).map((p) => p.body.toString())).to.deep.equal(['b', 'c']);
    session.send(ch.channelNumber, new spec.Basic.Ack({ deliveryTag: 2, multiple: true }));
    s.loop.runUntilIdle();
    expect(Object.fromEntries(outcomes)).to.deep.equal({ a: ['NackError'], b: ['ack'], c: ['ack'] });
    expect(ch.unconfirmedDeliveryTags()).to.deep.equal([]);
    expect(ch.isOpen).to.equal(true);
    // a later nack is an ordinary nack: no reopen
    ch.basicPublish('', 'q', 'd', {}, { onConfirm: () => undefined });
    s.loop.runUntilIdle();
    session.send(ch.channelNumber, new spec.Basic.Nack({ deliveryTag: 3, multiple: false, requeue: false }));
    s.loop.advance(1);
    expect(sent(session).filter((m) => m.endsWith('channel.close'))).to.have.length(1);
  });
});
