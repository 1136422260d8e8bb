/**
 * pika's `consume_recover` example: the simplest connection recovery, a
 * retry loop around "connect and consume".
 *
 *   while (true) {
 *     try: connect, declare, consume until stopped
 *     ConnectionClosedByBroker -> don't recover (the broker or an operator meant it)
 *     AMQPChannelError         -> don't recover (a bug in our declarations, say)
 *     other AMQPConnectionError -> recover: wait, then go round again
 *   }
 *
 * pika writes this with BlockingConnection and exceptions; here `consumeOnce()`
 * runs one connection on its own I/O loop and returns a promise that settles
 * when that connection ends: resolved after a clean stop (Ctrl-C or
 * `--count`), rejected with the error that ended it otherwise (the
 * connection's close reason, a channel's close reason, or the open error).
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/consume-recover.ts
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/consume-recover.ts
 * and publish to exchange `test_exchange` with routing key `standard_key`.
 *
 * Options: `--queue NAME` (standard), `--exchange NAME` (test_exchange),
 * `--count N` (stop after N messages), `--retries N` (give up after N
 * recoveries; default: never), `--retry-delay SECONDS` (1), `--passive`
 * (declare the queue passively: a missing queue is then a channel error).
 */
import {
  AMQPChannelError,
  AMQPConnectionError,
  type Channel,
  ChannelClosedByClient,
  ConnectionClosedByBroker,
  ConnectionClosedByClient,
  SelectConnection,
  URLParameters,
} from '../lib';
import { AMQP_URL, option, flag } from './support/cli';

const QUEUE = option('queue', 'standard');
const EXCHANGE = option('exchange', 'test_exchange');
const STOP_AFTER = Number(option('count', '0'));
const RETRIES = Number(option('retries', 'Infinity'));
const RETRY_DELAY = Number(option('retry-delay', '1'));
const PASSIVE = flag('passive');

let received = 0;
/** Set by Ctrl-C or --count: close the current connection and leave the loop. */
let stopping = false;
let current: SelectConnection | null = null;

/** One connection: connect, declare, consume. Settles when the connection is over. */
function consumeOnce(): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let channelError: Error | null = null;
    const connection = new SelectConnection({
      parameters: new URLParameters(AMQP_URL),
      onOpenError: (_c, err) => reject(err),
      onClose: (_c, reason) => {
        // A channel error made us close the connection: report the channel error.
        if (channelError !== null) reject(channelError);
        else if (reason instanceof ConnectionClosedByClient && stopping) resolve();
        else reject(reason);
      },
      onOpen: (conn) =>
        conn.channel((err, channel) => {
          if (err) return; // the connection's own close reports what happened
          setUp(channel, (err) => {
            channelError = err;
            if (conn.isOpen) conn.close();
          });
        }),
    });
    current = connection;
    // Each connection has its own loop; await until it has closed (it stops its loop then).
    void connection.ioloop.start();
  });
}

/** Declares the exchange, queue and binding, then consumes; `onChannelError` if the broker closes the channel. */
function setUp(channel: Channel, onChannelError: (err: Error) => void): void {
  channel.addOnCloseCallback((_ch, reason) => {
    if (reason instanceof AMQPChannelError && !(reason instanceof ChannelClosedByClient)) onChannelError(reason);
  });
  channel.exchangeDeclare(EXCHANGE, { type: 'direct', durable: true });
  channel.queueDeclare(QUEUE, { passive: PASSIVE, autoDelete: !PASSIVE });
  channel.queueBind(QUEUE, EXCHANGE, 'standard_key');
  channel.basicQos({ prefetchCount: 1 });
  channel.basicConsume(
    QUEUE,
    (ch, method, _props, body) => {
      received += 1;
      console.log(`received #${received}: ${body.toString()}`);
      ch.basicAck(method.deliveryTag);
      if (STOP_AFTER > 0 && received >= STOP_AFTER) stop();
    },
    {},
    (err) => {
      if (!err) console.log(`consuming on queue ${QUEUE}`);
    },
  );
}

function stop(): void {
  stopping = true;
  if (current !== null && !current.isClosed && !current.isClosing) current.close();
}

process.on('SIGINT', stop);

async function main(): Promise<number> {
  let recoveries = 0;
  for (;;) {
    try {
      await consumeOnce();
      console.log(`stopped cleanly after ${received} messages`);
      return 0;
    } catch (err) {
      // Don't recover if the connection was closed by the broker
      if (err instanceof ConnectionClosedByBroker) {
        console.log(`connection closed by broker, not recovering: ${err.message}`);
        return 0;
      }
      // Don't recover on channel errors
      if (err instanceof AMQPChannelError) {
        console.log(`channel error, not recovering: ${err.message}`);
        return 1;
      }
      // Recover on all other connection errors
      if (err instanceof AMQPConnectionError) {
        if (stopping) return 0;
        if (recoveries >= RETRIES) {
          console.log(`connection error, giving up after ${recoveries} recoveries: ${err.message}`);
          return 1;
        }
        recoveries += 1;
        console.log(`connection error, recovering (#${recoveries}) in ${RETRY_DELAY} s: ${err.constructor.name}: ${err.message}`);
        await new Promise((r) => setTimeout(r, RETRY_DELAY * 1000));
        if (stopping) return 0;
        continue;
      }
      throw err;
    }
  }
}

void main().then((code) => {
  process.exitCode = code;
});
