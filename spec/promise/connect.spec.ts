import { expect } from 'chai';
import {
  AMQPConnectionError,
  AsyncConnection,
  connect,
  ConnectionWrongStateError,
  ProbableAuthenticationError,
  SelectConnection,
  SocketConnectError,
  VirtualIOLoop,
} from '../../lib';
import * as spec from '../../lib/wire/spec';
import { FakeBroker } from '../support/fake-broker';
import { deliver, openFake, rejects, turns } from './fake';

/** A self-driving loop with a fake broker on it, for the specs that connect by hand. */
function fakeBroker(options: ConstructorParameters<typeof FakeBroker>[1] = {}): { loop: VirtualIOLoop; broker: FakeBroker } {
  const loop = new VirtualIOLoop();
  const broker = new FakeBroker(loop, options);
  void loop.start();
  return { loop, broker };
}

describe('promise API: connect() and AsyncConnection', () => {
  it('resolves to an open AsyncConnection over a SelectConnection', async () => {
    const s = await openFake();
    expect(s.connection).to.be.instanceOf(AsyncConnection);
    expect(s.connection.selectConnection).to.be.instanceOf(SelectConnection);
    expect(s.connection.isOpen).to.equal(true);
    expect(s.connection.ioloop).to.equal(s.loop);
    await s.connection.close();
    expect(s.connection.isClosed).to.equal(true);
    await rejects(s.connection.close(), ConnectionWrongStateError);
    await rejects(s.connection.channel(), ConnectionWrongStateError);
    s.loop.stop();
  });

  it('rejects with the error class the callbacks get (a refused login)', async () => {
    const { loop, broker } = fakeBroker();
    broker.onMethod = (session, _ch, m) => {
      if (!(m instanceof spec.Connection.StartOk)) return false;
      session.send(0, new spec.Connection.Close({ replyCode: 403, replyText: 'ACCESS_REFUSED - Login was refused' }));
      return true;
    };
    await rejects(connect('amqp://fake-broker', { ioloop: loop }), ProbableAuthenticationError, /Login was refused/);
    loop.stop();
  });

  it('rejects with SocketConnectError when nothing listens', async () => {
    const { loop } = fakeBroker();
    await rejects(connect('amqp://nowhere', { ioloop: loop }), SocketConnectError);
    loop.stop();
  });

  it('rejects on a bad option, never throws', async () => {
    await rejects(connect('amqp://fake-broker', { recovery: { maxAttemps: 1 } } as never), Error, /maxAttemps/);
  });

  it('an aborted signal aborts the attempt and rejects with its reason', async () => {
    const { loop, broker } = fakeBroker();
    const controller = new AbortController();
    // aborted in the middle of the handshake
    broker.onMethod = (_session, _ch, m) => {
      if (!(m instanceof spec.Connection.StartOk)) return false;
      controller.abort(new Error('stop connecting'));
      return true;
    };
    await rejects(connect('amqp://fake-broker', { ioloop: loop, signal: controller.signal }), Error, /stop connecting/);
    // already aborted: nothing is attempted
    const sessions = broker.sessions.length;
    await rejects(connect('amqp://fake-broker', { ioloop: loop, signal: controller.signal }), Error, /stop connecting/);
    // aborted before the loop ran
    const late = new AbortController();
    const opening = connect('amqp://fake-broker', { ioloop: loop, signal: late.signal });
    late.abort(new Error('changed my mind'));
    await rejects(opening, Error, /changed my mind/);
    expect(broker.sessions.length).to.equal(sessions);
    loop.stop();
  });

  it('await using closes the connection at the end of the scope', async () => {
    const { loop } = fakeBroker();
    let kept: AsyncConnection | undefined;
    {
      await using connection = await connect('amqp://fake-broker', { ioloop: loop });
      kept = connection;
      await using channel = await connection.channel();
      await channel.queueDeclare('q');
    }
    expect(kept.isClosed).to.equal(true);
    loop.stop();
  });

  it('an unexpected close with no onClose goes to onCallbackError, never an uncaught exception', async () => {
    const s = await openFake();
    s.session.peer.destroy(new Error('cable cut'));
    await turns();
    expect(s.connection.isClosed).to.equal(true);
    expect(s.reported).to.have.length(1);
    expect(s.reported[0]).to.be.instanceOf(AMQPConnectionError);
    expect((s.reported[0] as Error).message).to.match(/no onClose callback handles it/);
    s.loop.stop();
  });

  it('with recovery on, a consume() iterator carries on across a recovery', async () => {
    const s = await openFake({ recovery: { initialDelay: 0.1 } });
    const channel = await s.connection.channel();
    const it = channel.consume('jobs');
    await turns();
    deliver(s, channel.channelNumber, it.consumerTag, 1, 'before');
    deliver(s, channel.channelNumber, it.consumerTag, 2, 'buffered at the outage');
    await turns();
    expect((await it.next()).value!.body.toString()).to.equal('before');
    s.session.peer.destroy(new Error('cable cut'));
    const recovered = s.broker.sessions.length;
    while (s.broker.sessions.length === recovered || !s.connection.isOpen) await turns(1);
    await turns();
    const session = s.broker.session;
    expect(session.sent(spec.Basic.Consume).map((c) => c.consumerTag)).to.deep.equal([it.consumerTag]);
    session.sendContent(
      channel.channelNumber,
      new spec.Basic.Deliver({ consumerTag: it.consumerTag, deliveryTag: 1, exchange: '', routingKey: 'jobs', redelivered: true }),
      Buffer.from('after'),
    );
    const next = await it.next();
    expect(next.value!.body.toString()).to.equal('after');
    expect(next.value!.redelivered).to.equal(true);
    await s.stop();
  });
});
