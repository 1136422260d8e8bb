/**
 * Quorum queues on the real broker: a poison message that every consumer
 * nacks comes back with its `x-delivery-count` header (an int64 on the
 * wire, a JS number here) until `x-delivery-limit`, then lands in the
 * dead-letter queue with reason `delivery_limit`; with either dead-letter
 * strategy.
 *
 * Every wait is bounded; queues are deleted after each test.
 */
import { expect } from 'chai';
import { type Callback, type Channel, type Connection, type FieldTable, type GetMessage, type QueueArguments, spec } from '../../lib';
import { uniqueName } from '../support/broker';
import { cbp, cleanUp, closeConnection, openChannel, openConnection, within } from '../support/callbacks';

const WAIT = 15000;
const connections: Connection[] = [];
const queues: string[] = [];
const callbackErrors: unknown[] = [];

async function channel(): Promise<Channel> {
  const connection = await openConnection({ onCallbackError: (err) => callbackErrors.push(err) });
  connections.push(connection);
  return openChannel(connection);
}

function call<T>(what: string, start: (cb: Callback<T>) => void): Promise<T> {
  return within(WAIT, cbp<T>(start), what);
}

/** Declares a durable queue, deleted after the test. */
async function declare(ch: Channel, queue: string, args: QueueArguments): Promise<void> {
  queues.push(queue);
  await call('declare ' + queue, (cb) => ch.queueDeclare(queue, { durable: true, arguments: args }, cb));
}

/** Publishes with confirms; resolves once the broker acked. */
async function publishConfirmed(ch: Channel, queue: string, body: string): Promise<void> {
  await call('confirm.select', (cb) => ch.confirmDelivery(null, cb));
  ch.basicPublish('', queue, body, { deliveryMode: 2 });
  await within(
    WAIT,
    cbp((cb) => ch.waitForConfirms(cb)),
    'confirms',
  );
}

describe('Quorum queues', function () {
  this.timeout(60000);

  afterEach(async () => {
    for (const c of connections.splice(0)) await closeConnection(c);
    await cleanUp(queues.splice(0));
    expect(callbackErrors.splice(0), 'exceptions thrown by callbacks').to.deep.equal([]);
  });

  for (const strategy of ['at-most-once', 'at-least-once'] as const) {
    it(`x-delivery-limit: a message nacked until the limit is dead-lettered (${strategy}), x-delivery-count a number`, async () => {
      const ch = await channel();
      const queue = uniqueName('qq-poison');
      const dead = `${queue}.dead`;
      await declare(ch, dead, { 'x-queue-type': 'quorum' });
      await declare(ch, queue, {
        'x-queue-type': 'quorum',
        'x-delivery-limit': 2,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': dead,
        'x-dead-letter-strategy': strategy,
        // at-least-once dead-lettering requires it (RabbitMQ falls back to at-most-once otherwise)
        ...(strategy === 'at-least-once' ? { 'x-overflow': 'reject-publish' as const } : {}),
      });
      await publishConfirmed(ch, queue, 'poison');

      const deliveries: Array<{ redelivered: boolean; count: unknown }> = [];
      const consumer = await channel();
      await call('qos', (cb) => consumer.basicQos({ prefetchCount: 1 }, cb));
      consumer.basicConsume(queue, (c, m, p) => {
        deliveries.push({ redelivered: m.redelivered, count: p.headers?.['x-delivery-count'] });
        c.basicNack(m.deliveryTag, false, true);
      });
      const deadLettered = await call<{ properties: spec.BasicProperties; body: Buffer }>('the dead-lettered message', (cb) =>
        consumer.basicConsume(dead, (c, m, properties, body) => {
          c.basicAck(m.deliveryTag);
          cb(null, { properties, body });
        }),
      );

      // Delivered limit + 1 times: the third nack exceeded the limit of 2.
      expect(deliveries.map((d) => d.redelivered)).to.deep.equal([false, true, true]);
      // Absent on the first delivery (RabbitMQ 3.x), then the returns so far, decoded as JS numbers.
      expect(deliveries[0].count ?? 0).to.equal(0);
      expect(deliveries.slice(1).map((d) => [typeof d.count, d.count])).to.deep.equal([
        ['number', 1],
        ['number', 2],
      ]);
      expect(deadLettered.body.toString()).to.equal('poison');
      const headers = deadLettered.properties.headers!;
      expect(headers['x-first-death-reason']).to.equal('delivery_limit');
      expect(headers['x-first-death-queue']).to.equal(queue);
      const [death] = headers['x-death'] as FieldTable[];
      expect([death['reason'], death['queue'], typeof death['count']]).to.deep.equal(['delivery_limit', queue, 'number']);
      const ok = await call<spec.Queue.DeclareOk>('passive declare', (cb) => ch.queueDeclare(queue, { passive: true }, cb));
      expect(ok.messageCount, 'the poison message left the queue').to.equal(0);
    });
  }

  it('x-delivery-count comes with basic.get too, as a number', async () => {
    const ch = await channel();
    const queue = uniqueName('qq-get');
    await declare(ch, queue, { 'x-queue-type': 'quorum' });
    await publishConfirmed(ch, queue, 'again');
    const first = await call<GetMessage | null>('first get', (cb) => ch.basicGet(queue, cb));
    expect(first?.properties.headers?.['x-delivery-count'] ?? 0).to.equal(0);
    ch.basicReject(first!.method.deliveryTag, true);
    const second = await call<GetMessage | null>('second get', (cb) => ch.basicGet(queue, cb));
    expect(second?.method.redelivered).to.equal(true);
    expect(second?.properties.headers?.['x-delivery-count']).to.equal(1);
    ch.basicAck(second!.method.deliveryTag);
  });
});
