/**
 * Two consumers on one queue, against the real broker: single active
 * consumer (`x-single-active-consumer`, classic and quorum queues) gives
 * every message to the first consumer until it cancels, then to the other;
 * consumer priorities (`x-priority`) give the messages to the higher
 * priority while it has room in its prefetch window, and the rest to the
 * lower one.
 *
 * Each consumer has a channel of its own (the prefetch is per consumer).
 * Every wait is bounded; queues are deleted after each test.
 */
import { expect } from 'chai';
import { type Callback, type Channel, type Connection, type ConsumeArguments, type QueueArguments, spec } from '../../lib';
import { uniqueName } from '../support/broker';
import { cbp, cleanUp, closeConnection, openChannel, openConnection, within } from '../support/callbacks';
import { eventually, sleep } from '../support/polling';

const WAIT = 15000;
/** How long "no more deliveries" is watched for. */
const QUIET_MS = 300;
const connections: Connection[] = [];
const queues: string[] = [];
const callbackErrors: unknown[] = [];

function call<T>(what: string, start: (cb: Callback<T>) => void): Promise<T> {
  return within(WAIT, cbp<T>(start), what);
}

async function connect(): Promise<Connection> {
  const connection = await openConnection({ onCallbackError: (err) => callbackErrors.push(err) });
  connections.push(connection);
  return connection;
}

/** A consumer on a channel of its own: the bodies it got, and the tags it has not acked yet. */
interface TestConsumer {
  channel: Channel;
  tag: string;
  bodies: string[];
  unacked: number[];
}

/** Starts a consumer with `prefetch` on a new channel; resolves once the broker confirmed it (consume-ok). */
async function consumer(connection: Connection, queue: string, prefetch: number, ack: boolean, args: ConsumeArguments = {}): Promise<TestConsumer> {
  const channel = await openChannel(connection);
  await call('qos', (cb) => channel.basicQos({ prefetchCount: prefetch }, cb));
  const c: TestConsumer = { channel, tag: '', bodies: [], unacked: [] };
  const ok = await call<spec.Basic.ConsumeOk>('consume', (cb) =>
    channel.basicConsume(
      queue,
      (ch, m, _p, body) => {
        c.bodies.push(body.toString());
        if (ack) ch.basicAck(m.deliveryTag);
        else c.unacked.push(m.deliveryTag);
      },
      { arguments: args },
      cb,
    ),
  );
  c.tag = ok.consumerTag;
  return c;
}

/** Publishes `bodies` with confirms on a channel of its own. */
async function publish(connection: Connection, queue: string, bodies: string[]): Promise<void> {
  const ch = await openChannel(connection);
  await call('confirm.select', (cb) => ch.confirmDelivery(null, cb));
  for (const body of bodies) ch.basicPublish('', queue, body);
  await within(
    WAIT,
    cbp((cb) => ch.waitForConfirms(cb)),
    'confirms',
  );
  await call('close', (cb) => ch.close(200, 'done', cb));
}

const numbered = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

async function declare(connection: Connection, args: QueueArguments): Promise<string> {
  const ch = await openChannel(connection);
  const queue = uniqueName('consumers');
  queues.push(queue);
  await call('declare', (cb) => ch.queueDeclare(queue, { durable: true, arguments: args }, cb));
  await call('close', (cb) => ch.close(200, 'done', cb));
  return queue;
}

describe('Consumers: single active consumer, priorities', function () {
  this.timeout(60000);

  afterEach(async () => {
    for (const c of connections.splice(0)) await closeConnection(c);
    await cleanUp(queues.splice(0));
    expect(callbackErrors.splice(0), 'exceptions thrown by callbacks').to.deep.equal([]);
  });

  for (const type of ['classic', 'quorum'] as const) {
    it(`x-single-active-consumer (${type}): only the first consumer gets messages; after it cancels, the other takes over`, async () => {
      const connection = await connect();
      const queue = await declare(connection, { 'x-queue-type': type, 'x-single-active-consumer': true });
      const first = await consumer(connection, queue, 50, true);
      const second = await consumer(connection, queue, 50, true);
      await publish(connection, queue, numbered('a', 10));
      await eventually(() => first.bodies.length === 10, WAIT, 'the active consumer got all 10');
      await sleep(QUIET_MS);
      expect(first.bodies).to.deep.equal(numbered('a', 10));
      expect(second.bodies, 'the waiting consumer got nothing').to.deep.equal([]);

      await call('cancel the active consumer', (cb) => first.channel.basicCancel(first.tag, cb));
      await publish(connection, queue, numbered('b', 10));
      await eventually(() => second.bodies.length === 10, WAIT, 'the other consumer took over');
      await sleep(QUIET_MS);
      expect(second.bodies).to.deep.equal(numbered('b', 10));
      expect(first.bodies).to.have.length(10);
    });
  }

  it('x-priority: the higher priority consumer gets every message while it has room, the lower one the rest', async () => {
    const connection = await connect();
    const queue = await declare(connection, {});
    // Room for everything: the low-priority consumer gets nothing.
    const roomy = await consumer(connection, queue, 100, true, { 'x-priority': 10 });
    const low = await consumer(connection, queue, 100, true);
    await publish(connection, queue, numbered('a', 20));
    await eventually(() => roomy.bodies.length === 20, WAIT, 'the high-priority consumer got all 20');
    await sleep(QUIET_MS);
    expect(low.bodies).to.deep.equal([]);
    await call('cancel', (cb) => roomy.channel.basicCancel(roomy.tag, cb));

    // A prefetch of 3, never acked: 3 to the high priority, the other 17 to the low one.
    const narrow = await consumer(connection, queue, 3, false, { 'x-priority': 10 });
    await publish(connection, queue, numbered('b', 20));
    await eventually(() => narrow.bodies.length + low.bodies.length === 20, WAIT, 'all 20 delivered');
    await sleep(QUIET_MS);
    expect(narrow.bodies).to.deep.equal(numbered('b', 3));
    expect(low.bodies).to.deep.equal(numbered('b', 20).slice(3));

    // Room again once it acks: the next messages go to it.
    for (const tag of narrow.unacked.splice(0)) narrow.channel.basicAck(tag);
    await sleep(QUIET_MS);
    await publish(connection, queue, numbered('c', 3));
    await eventually(() => narrow.bodies.length === 6, WAIT, 'the high-priority consumer got the next 3');
    await sleep(QUIET_MS);
    expect(narrow.bodies.slice(3)).to.deep.equal(numbered('c', 3));
    expect(low.bodies).to.have.length(17);
  });
});
