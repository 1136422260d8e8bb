/**
 * Streams over AMQP 0-9-1 on the real broker: a durable stream of 10,000
 * messages published with confirms, read from 'first', from an offset, from
 * a Date (sent as an AMQP timestamp, so to the second) and from intervals
 * ('1h', '2s'); each delivery carries its offset in the `x-stream-offset`
 * header (an int64 on the wire, a JS number here). And the client-side rule:
 * a stream consume without a prefetch or with autoAck throws before
 * anything is sent, so the channel (and, for autoAck on RabbitMQ 3.10, the
 * connection) lives on.
 *
 * The stream is written once, in `before`: batch A (offsets 0..4999), a
 * pause past a second boundary, the Date, batch B (5000..9999). Every wait
 * is bounded.
 */
import { expect } from 'chai';
import { inspect } from 'node:util';
import {
  type Callback,
  type Channel,
  type Connection,
  type ConsumeArguments,
  InvalidArgumentError,
  type SelectConnection,
  type StreamOffset,
} from '../../lib';
import { uniqueName } from '../support/broker';
import { cbp, cleanUp, closeConnection, openChannel, openConnection, within } from '../support/callbacks';
import { sleep } from '../support/polling';

const WAIT = 20000;
const BATCH = 5000;
const callbackErrors: unknown[] = [];

function call<T>(what: string, start: (cb: Callback<T>) => void): Promise<T> {
  return within(WAIT, cbp<T>(start), what);
}

/** Publishes bodies `from` .. `from + count - 1` (their numbers as text) with confirms; resolves once all are acked. */
async function publishBatch(ch: Channel, stream: string, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) ch.basicPublish('', stream, String(i));
  await within(
    WAIT,
    cbp((cb) => ch.waitForConfirms(cb)),
    `confirms of ${count} publishes`,
  );
}

/** One delivery: its body (the number published) and its x-stream-offset header. */
interface Read {
  body: number;
  offset: unknown;
}

/**
 * Consumes from `offset` on a channel of its own (prefetch 1000, acking
 * each) until `expected` messages came, or until no more came for `quietMs`
 * (for reads whose end is not known); then closes the channel.
 */
function readFrom(connection: Connection, stream: string, offset: StreamOffset, expected: number, quietMs = 1500): Promise<Read[]> {
  return within(
    WAIT,
    new Promise<Read[]>((resolve, reject) => {
      connection.channel((err, ch) => {
        if (err) return reject(err);
        const reads: Read[] = [];
        let quiet = setTimeout(() => done(), quietMs);
        const done = (): void => {
          clearTimeout(quiet);
          if (ch.isOpen) ch.close();
          resolve(reads);
        };
        ch.basicQos({ prefetchCount: 1000 });
        ch.basicConsume(
          stream,
          (c, m, p, body) => {
            reads.push({ body: Number(body.toString()), offset: p.headers?.['x-stream-offset'] });
            c.basicAck(m.deliveryTag);
            clearTimeout(quiet);
            if (reads.length >= expected) return done();
            quiet = setTimeout(() => done(), quietMs);
          },
          { arguments: { 'x-stream-offset': offset } },
          (e) => {
            if (e) reject(e);
          },
        );
      });
    }),
    `reading from ${inspect(offset)}`,
  );
}

/** The body numbers of a read, as [first, last, count]. */
const span = (reads: Read[]): [number | undefined, number | undefined, number] => [reads[0]?.body, reads[reads.length - 1]?.body, reads.length];

describe('Streams (AMQP 0-9-1)', function () {
  this.timeout(60000);

  let connection: SelectConnection;
  let stream: string;
  let between: Date;

  before(async () => {
    connection = await openConnection({ onCallbackError: (err) => callbackErrors.push(err) });
    stream = uniqueName('stream');
    const ch = await openChannel(connection);
    await call('declare the stream', (cb) =>
      ch.queueDeclare(stream, { durable: true, arguments: { 'x-queue-type': 'stream', 'x-max-age': '1D' } }, cb),
    );
    await call('confirm.select', (cb) => ch.confirmDelivery(null, cb));
    await publishBatch(ch, stream, 0, BATCH);
    // A Date offset is sent in whole seconds and RabbitMQ starts at the first chunk written at or after
    // that second: past the next second boundary, no chunk of batch A qualifies.
    await sleep(1100);
    between = new Date();
    await sleep(50);
    await publishBatch(ch, stream, BATCH, BATCH);
    await call('close', (cb) => ch.close(200, 'done', cb));
  });

  after(async () => {
    if (connection !== undefined) await closeConnection(connection);
    await cleanUp(stream === undefined ? [] : [stream]);
    expect(callbackErrors.splice(0), 'exceptions thrown by callbacks').to.deep.equal([]);
  });

  it("reads all 10,000 from 'first', in order, each with its offset", async () => {
    const reads = await readFrom(connection, stream, 'first', 2 * BATCH);
    expect(reads).to.have.length(2 * BATCH);
    expect(reads.every((r, i) => r.body === i && r.offset === i)).to.equal(true);
  });

  it('reads from a numeric offset: exactly from that message on', async () => {
    const reads = await readFrom(connection, stream, 1234, 2 * BATCH - 1234);
    expect(span(reads)).to.deep.equal([1234, 2 * BATCH - 1, 2 * BATCH - 1234]);
    expect(reads.every((r) => r.offset === r.body)).to.equal(true);
    const big = await readFrom(connection, stream, 9990n, 10);
    expect(span(big), 'a bigint offset').to.deep.equal([9990, 9999, 10]);
  });

  it('reads from a Date, sent as a timestamp: batch B only', async () => {
    const reads = await readFrom(connection, stream, between, BATCH);
    expect(span(reads)).to.deep.equal([BATCH, 2 * BATCH - 1, BATCH]);
    expect(reads[0].offset).to.equal(BATCH);
  });

  it("reads from an interval: '1h' is everything, '2s' only what was written since", async () => {
    const hour = await readFrom(connection, stream, '1h', 2 * BATCH);
    expect(span(hour)).to.deep.equal([0, 2 * BATCH - 1, 2 * BATCH]);
    // Batch C, written more than 2 s after batch B: '2s' read at once starts at C.
    const ch = await openChannel(connection);
    await call('confirm.select', (cb) => ch.confirmDelivery(null, cb));
    await sleep(2500);
    await publishBatch(ch, stream, 2 * BATCH, 100);
    const recent = await readFrom(connection, stream, '2s', 100);
    expect(span(recent)).to.deep.equal([2 * BATCH, 2 * BATCH + 99, 100]);
    expect(recent[0].offset).to.equal(2 * BATCH);
    await call('close', (cb) => ch.close(200, 'done', cb));
  });

  it('cancelling a stream consumer while deliveries flow hands nothing back (a stream refuses basic.reject with 540)', async () => {
    const ch = await openChannel(connection);
    await call('qos', (cb) => ch.basicQos({ prefetchCount: 500 }, cb));
    let delivered = 0;
    const tag = await call<string>('the first delivery', (cb) => {
      const consumerTag = ch.basicConsume(stream, () => (delivered++ === 0 ? cb(null, consumerTag) : undefined), {
        arguments: { 'x-stream-offset': 'first' },
      });
    });
    await call('cancel', (cb) => ch.basicCancel(tag, cb));
    await sleep(200);
    expect(delivered, 'deliveries were in flight').to.be.at.least(1);
    expect([ch.isOpen, connection.isOpen]).to.deep.equal([true, true]);
    await call('close', (cb) => ch.close(200, 'done', cb));
    expect(connection.isOpen).to.equal(true);
  });

  it('refuses a stream consume without a prefetch or with autoAck before sending it; the channel lives on', async () => {
    const ch = await openChannel(connection);
    const first: ConsumeArguments = { 'x-stream-offset': 'first' };
    expect(() => ch.basicConsume(stream, () => undefined, { arguments: first })).to.throw(InvalidArgumentError, /needs a prefetch/);
    await call('declare it again', (cb) =>
      ch.queueDeclare(stream, { durable: true, arguments: { 'x-queue-type': 'stream', 'x-max-age': '1D' } }, cb),
    );
    expect(() => ch.basicConsume(stream, () => undefined), 'declared as a stream on this channel').to.throw(
      InvalidArgumentError,
      /declared it as a stream/,
    );
    await call('qos', (cb) => ch.basicQos({ prefetchCount: 10 }, cb));
    expect(() => ch.basicConsume(stream, () => undefined, { autoAck: true, arguments: first })).to.throw(
      InvalidArgumentError,
      /autoAck must be false/,
    );
    expect(() => ch.basicConsume(stream, () => undefined, { arguments: { 'x-stream-offset': 'bogus' as StreamOffset } })).to.throw(
      InvalidArgumentError,
      /'x-stream-offset' must be/,
    );
    expect(ch.isOpen).to.equal(true);
    // And with what the broker requires, it consumes.
    const got = await call<number>('a delivery', (cb) =>
      ch.basicConsume(stream, (c, m, _p, body) => (c.basicAck(m.deliveryTag), cb(null, Number(body.toString()))), { arguments: first }),
    );
    expect(got).to.equal(0);
    await call('close', (cb) => ch.close(200, 'done', cb));
    expect(connection.isOpen).to.equal(true);
  });
});
