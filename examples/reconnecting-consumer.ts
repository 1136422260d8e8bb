/**
 * The README's hand-written recovery recipe, whole: a consumer that
 * reconnects on the same loop after every close it did not ask for (a lost
 * socket, a missed heartbeat, a broker restarting: 320 CONNECTION_FORCED),
 * and stops only when it closed the connection itself or the login was refused.
 *
 * (pika's own recipe, which does not recover when the broker closes the
 * connection, is examples/consume-recover.ts.)
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/reconnecting-consumer.ts
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/reconnecting-consumer.ts
 * and publish to the default exchange with routing key `reconnecting` (the queue).
 *
 * Options: `--queue NAME` (reconnecting), `--count N` (stop after N
 * messages), `--retry-delay SECONDS` (5).
 */
import { AuthenticationError, type Connection, ConnectionClosedByClient, NodeIOLoop, SelectConnection, URLParameters } from '../lib';
import { AMQP_URL, option } from './support/cli';

const QUEUE = option('queue', 'reconnecting');
const STOP_AFTER = Number(option('count', '0'));
const RETRY_DELAY = Number(option('retry-delay', '5'));

// One loop for every connection this process makes: it outlives each of them.
const ioloop = new NodeIOLoop();
const parameters = new URLParameters(AMQP_URL);
let received = 0;
let current: Connection | null = null;

function connect(): void {
  current = new SelectConnection({
    parameters,
    ioloop,
    stopIOLoopOnClose: false, // the loop must stay up between connections
    onOpen: startConsuming,
    onOpenError: (_c, err) => {
      if (err instanceof AuthenticationError) return stop(`login refused, not retrying: ${err.message}`);
      console.log(`could not connect (${err.name}), retrying in ${RETRY_DELAY} s`);
      ioloop.callLater(RETRY_DELAY, connect);
    },
    onClose: (_c, reason) => {
      if (reason instanceof ConnectionClosedByClient) return ioloop.stop(); // we closed it: done
      // lost, heartbeat timeout, or the broker shutting down or restarting (320 CONNECTION_FORCED)
      console.log(`connection closed (${reason.name}: ${reason.message}), reconnecting in ${RETRY_DELAY} s`);
      ioloop.callLater(RETRY_DELAY, connect);
    },
  });
}

function startConsuming(connection: Connection): void {
  connection.channel((err, channel) => {
    if (err) return; // the connection's onClose reports what happened
    channel.queueDeclare(QUEUE, { durable: true }, (err) => {
      if (err) return console.error(`declare failed: ${err.message}`);
      channel.basicConsume(QUEUE, (ch, method, _properties, body) => {
        received += 1;
        console.log(`received #${received}: ${body.toString()}`);
        ch.basicAck(method.deliveryTag);
        if (STOP_AFTER > 0 && received >= STOP_AFTER) connection.close();
      });
      console.log(`consuming on queue ${QUEUE}`);
    });
  });
}

function stop(why: string): void {
  console.log(why);
  process.exitCode = 1;
  ioloop.stop();
}

process.on('SIGINT', () => (current?.isOpen ? current.close() : ioloop.stop()));

connect();
void ioloop.start().then(() => console.log(`stopped after ${received} messages`));
