/**
 * Hardening against the real RabbitMQ (issue 10): a channel error under a
 * flood of deliveries closes only that channel; a poison message (headers
 * nested too deep) and a message above maxMessageSize are rejected to the
 * dead-letter exchange while the connection carries on.
 *
 * Every wait is bounded and every connection closed after each test.
 */
import { expect } from 'chai';
import * as amqplib from 'amqplib';
import * as sinon from 'sinon';
import {
  type Callback,
  type Channel,
  ChannelClosedByBroker,
  ChannelClosedByClient,
  type Connection,
  type ConnectionParametersOptions,
  type SelectConnection,
  UndecodableMessageError,
  spec,
} from '../../lib';
import { amqpUrl, uniqueName } from '../support/broker';
import { brokerParameters, cbp, closeConnection, openChannel, openConnection, within } from '../support/callbacks';
import { eventually } from '../support/polling';

const WAIT = 10000;
const connections: Connection[] = [];
const callbackErrors: unknown[] = [];

async function connect(overrides: ConnectionParametersOptions = {}): Promise<SelectConnection> {
  const connection = await openConnection({ parameters: brokerParameters(overrides), onCallbackError: (err) => callbackErrors.push(err) });
  connections.push(connection);
  return connection;
}

function call<T>(what: string, start: (cb: Callback<T>) => void): Promise<T> {
  return within(WAIT, cbp<T>(start), what);
}

async function messageCount(ch: Channel, queue: string): Promise<number> {
  const ok = await call<spec.Queue.DeclareOk>('passive declare', (cb) => ch.queueDeclare(queue, { passive: true }, cb));
  return ok.messageCount;
}

/** A work queue whose rejected messages go to a dead-letter queue; returns both names. */
async function queueWithDeadLetters(ch: Channel): Promise<{ queue: string; dead: string }> {
  const queue = uniqueName('hardening');
  const dead = `${queue}.dead`;
  await call('declare dead', (cb) => ch.queueDeclare(dead, {}, cb));
  await call('declare queue', (cb) => ch.queueDeclare(queue, { arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dead } }, cb));
  return { queue, dead };
}

describe('Hardening against RabbitMQ', function () {
  this.timeout(120000);

  afterEach(async () => {
    sinon.restore();
    for (const c of connections.splice(0)) await closeConnection(c);
    expect(callbackErrors.splice(0), 'exceptions thrown by callbacks').to.deep.equal([]);
  });

  it('a channel error under a flood of deliveries closes only that channel, 50 times out of 50', async () => {
    const setup = await connect();
    const setupCh = await openChannel(setup);
    const queue = uniqueName('flood');
    await call('declare', (cb) => setupCh.queueDeclare(queue, {}, cb));
    const body = Buffer.alloc(200, 'x');
    for (let i = 0; i < 3000; i++) setupCh.basicPublish('', queue, body);
    await eventually(async () => (await messageCount(setupCh, queue)) === 3000, WAIT, '3000 messages queued');
    let survived = 0;
    for (let trial = 0; trial < 50; trial++) {
      const connection = await connect();
      const other = await openChannel(connection);
      const ch = await openChannel(connection);
      await call('qos', (cb) => ch.basicQos({ prefetchCount: 1000 }, cb));
      let delivered = 0;
      ch.basicConsume(queue, () => void delivered++);
      await eventually(() => delivered > 0, WAIT, 'deliveries flowing');
      const reasons: Error[] = [];
      ch.addOnCloseCallback((_c, r) => reasons.push(r));
      const err = await within(
        WAIT,
        new Promise<Error | null>((resolve) => ch.queueDeclare(uniqueName('missing'), { passive: true }, (e) => resolve(e))),
        'passive declare',
      );
      expect(err).to.be.instanceOf(ChannelClosedByBroker);
      // frames for the closed channel may still arrive: give them a moment, then check the rest
      await new Promise((r) => setTimeout(r, 20));
      expect(connection.isOpen, `trial ${trial}: the connection survives`).to.equal(true);
      expect(await messageCount(other, queue)).to.be.a('number');
      expect(reasons).to.have.length(1);
      survived++;
      await closeConnection(connection);
      connections.splice(connections.indexOf(connection), 1);
    }
    expect(survived).to.equal(50);
  });

  it('a poison message (headers nested 1,000 levels, accepted by RabbitMQ) is dead-lettered; the consumer carries on', async () => {
    const connection = await connect();
    const ch = await openChannel(connection);
    const { queue, dead } = await queueWithDeadLetters(ch);
    // amqplib encodes what coney refuses to: a table nested 1,000 levels deep
    let nested: unknown = 'leaf';
    for (let i = 0; i < 1000; i++) nested = { n: nested };
    const publisher = await amqplib.connect(amqpUrl());
    try {
      const pch = await publisher.createConfirmChannel();
      pch.sendToQueue(queue, Buffer.from('poison'), { headers: { deep: nested } });
      pch.sendToQueue(queue, Buffer.from('fine'), { messageId: 'fine' });
      await pch.waitForConfirms();
    } finally {
      await publisher.close();
    }
    const warnings: string[] = [];
    sinon.stub(process, 'emitWarning').callsFake((w: string | Error) => void warnings.push(String(w)));
    const errors: Error[] = [];
    ch.addOnErrorCallback((_c, e) => errors.push(e));
    const got: string[] = [];
    ch.basicConsume(queue, (c, m, p) => {
      got.push(p.messageId ?? '?');
      c.basicAck(m.deliveryTag);
    });
    await eventually(() => got.length === 1, WAIT, 'the good message arrives');
    expect(got).to.deep.equal(['fine']);
    expect(errors).to.have.length(1);
    expect(errors[0]).to.be.instanceOf(UndecodableMessageError);
    expect((errors[0] as UndecodableMessageError).queue).to.equal(queue);
    expect(warnings.join('\n')).to.match(new RegExp(`delivery 1 .*queue "${queue}".*nested more than 128`));
    await eventually(async () => (await messageCount(ch, dead)) === 1, WAIT, 'the poison message is dead-lettered');
    expect(connection.isOpen && ch.isOpen).to.equal(true);
  });

  it('a message above maxMessageSize closes its channel (406, naming the limit) and is dead-lettered; the connection carries on', async () => {
    const connection = await connect({ maxMessageSize: 1000 });
    const admin = await openChannel(connection);
    const { queue, dead } = await queueWithDeadLetters(admin);
    admin.basicPublish('', queue, Buffer.alloc(5000, 'b'), { messageId: 'big' });
    const ch = await openChannel(connection);
    const reasons: Error[] = [];
    ch.addOnCloseCallback((_c, r) => reasons.push(r));
    const got: string[] = [];
    ch.basicConsume(queue, (_c, _m, p) => got.push(p.messageId ?? '?'));
    await eventually(() => reasons.length === 1, WAIT, 'the channel closes');
    expect(got).to.deep.equal([]);
    expect(reasons[0]).to.be.instanceOf(ChannelClosedByClient);
    expect((reasons[0] as ChannelClosedByClient).replyCode).to.equal(406);
    expect(reasons[0].message).to.match(/body of 5000 bytes, more than maxMessageSize 1000/);
    await eventually(async () => (await messageCount(admin, dead)) === 1, WAIT, 'the big message is dead-lettered');
    expect(connection.isOpen && admin.isOpen).to.equal(true);
  });
});
