/**
 * The broker's consumer timeout, as coney reports it (issue 14): RabbitMQ
 * 3.10 closes a channel with 406 PRECONDITION_FAILED when a delivery on it
 * stays unacknowledged longer than `consumer_timeout` (milliseconds,
 * rabbitmq.conf; default 30 minutes). The channel's close callback must get
 * a ChannelClosedByBroker saying so, and the connection must go on.
 *
 * How 3.10.8 checks it (read from its rabbit_channel and measured here): not
 * at the deadline, but on the channel's periodic tick, every
 * `channel_tick_interval` ms, counted from the channel's opening (or from
 * its waking up, when it hibernated idle with nothing unacknowledged). That
 * interval is 60000 by default and has no rabbitmq.conf key, only an
 * advanced.config one. So with the defaults the channel closes at the first
 * tick past the timeout: with `consumer_timeout = 1000` it closed 60.0 s
 * after it opened (measured), and by the same code 1 ms or 50 s would close
 * it then too; no value of `consumer_timeout` alone makes this test take less
 * than a minute. This spec therefore starts its own node (not the shared test
 * broker, whose settings every other spec relies on) with
 * `channel_tick_interval = 100` (as RabbitMQ's own test suites do) and
 * `consumer_timeout = 500`: the close comes 500-600 ms after the delivery,
 * and the node's start (~6 s) is most of this file's time. consumer_timeout
 * accepts any value from 1 ms (the schema refuses 0; 1 ms with a 100 ms tick
 * closed the channel 96 ms after the delivery); 500 ms leaves room to see
 * that the broker waited for the timeout rather than closing the channel for
 * some other reason.
 */
import { expect } from 'chai';
import { type Channel, ChannelClosedByBroker, type GetMessage, type SelectConnection, spec } from '../../lib';
import { type Broker, startBroker } from '../../tools/rabbitmq-node';
import { cbp, closeConnection, openChannel, openConnection, within } from '../support/callbacks';

/** consumer_timeout of the node this spec starts, in ms. */
const CONSUMER_TIMEOUT = 500;
/** How often that node's channels check it (rabbit's channel_tick_interval), in ms. */
const TICK = 100;
/** Upper bound of one wait on the broker. */
const WAIT = 20000;

describe('consumer timeout (a node of its own with consumer_timeout = 500 ms, checked every 100 ms)', function () {
  // The node's start (about 6 s on 2 cores; more on a loaded machine) is in before().
  this.timeout(120000);

  let broker: Broker | undefined;
  let connection: SelectConnection | undefined;
  /** Exceptions thrown by callbacks given to coney; the test fails on any. */
  const callbackErrors: unknown[] = [];

  before(async function () {
    broker = await startBroker({
      // No signal handlers inside mocha: the 'exit' hook and the watchdog still stop the node if mocha dies.
      handleSignals: false,
      extraConfig: [`consumer_timeout = ${CONSUMER_TIMEOUT}`],
      advancedConfig: `[{rabbit, [{channel_tick_interval, ${TICK}}]}].`,
    });
  });

  after(async function () {
    if (connection) await closeConnection(connection).catch(() => undefined);
    await broker?.stop();
  });

  it('closes the channel of an unacknowledged delivery with 406 PRECONDITION_FAILED, reported as ChannelClosedByBroker', async () => {
    connection = await openConnection({ parameters: broker!.url, onCallbackError: (err) => callbackErrors.push(err) });
    const ch = await within(WAIT, openChannel(connection), 'opening a channel');
    const ok = await within(
      WAIT,
      cbp<spec.Queue.DeclareOk>((cb) => ch.queueDeclare('', { exclusive: true }, cb)),
      'declaring a queue',
    );

    let delivered = false;
    const closed = new Promise<Error>((resolve) => ch.addOnCloseCallback((_ch, reason) => resolve(reason)));
    ch.basicConsume(ok.queue, () => {
      delivered = true; // and never acknowledged
    });
    // Timed from the publish, which comes before the delivery the broker times.
    const publishedAt = Date.now();
    ch.basicPublish('', ok.queue, 'never acked');

    const reason = await within(WAIT, closed, 'the broker closing the channel');
    const waited = Date.now() - publishedAt;
    expect(delivered, 'the message was delivered').to.equal(true);
    expect(reason).to.be.instanceOf(ChannelClosedByBroker);
    const byBroker = reason as ChannelClosedByBroker;
    expect(byBroker.replyCode).to.equal(406);
    expect(byBroker.replyText).to.match(/^PRECONDITION_FAILED - delivery acknowledgement on channel \d+ timed out/);
    expect(byBroker.replyText).to.include(`Timeout value used: ${CONSUMER_TIMEOUT} ms`);
    expect(waited, 'ms from the publish to the close').to.be.at.least(CONSUMER_TIMEOUT - 10);
    expect(ch.isClosed).to.equal(true);

    // Only the channel closed: the connection goes on, and the message is back in the queue.
    expect(connection.isOpen).to.equal(true);
    const other: Channel = await within(WAIT, openChannel(connection), 'opening another channel');
    const again = await within(
      WAIT,
      cbp<GetMessage | null>((cb) => other.basicGet(ok.queue, cb, { autoAck: true })),
      'getting the message back',
    );
    expect(again?.body.toString()).to.equal('never acked');
    expect(again?.method.redelivered).to.equal(true);
    expect(callbackErrors).to.deep.equal([]);
  });
});
