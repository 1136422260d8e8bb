/**
 * The asynchronous consumer with automatic recovery: the same flow as
 * examples/asynchronous-consumer.ts (declare, bind, qos, consume, ack), and
 * none of its reconnect code. With `recovery: true` the connection comes
 * back by itself after the broker closes or drops it, and redeclares the
 * exchange, queue and binding, re-applies qos and re-registers the consumer
 * on the same Channel object. (examples/asynchronous-consumer.ts keeps pika's
 * hand-written recipe, for applications that want to decide each step.)
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/asynchronous-consumer-recovery.ts
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/asynchronous-consumer-recovery.ts
 * and publish to exchange `message` with routing key `example.text`, e.g.
 *   amqp-publish -u "$AMQP_URL" -e message -r example.text -b hello
 * then `rabbitmqctl close_connection` it, or restart the broker: it goes on.
 *
 * Options: `--exchange NAME` (message), `--queue NAME` (text),
 * `--routing-key KEY` (example.text), `--name NAME` (the connection name).
 * Ctrl-C (SIGINT) closes the connection and ends the process.
 */
import { type Callback, type Channel, type Connection, SelectConnection, URLParameters, spec } from '../lib';
import { AMQP_URL, exitOnOpenError, option } from './support/cli';

const exchange = option('exchange', 'message');
const queue = option('queue', 'text');
const routingKey = option('routing-key', 'example.text');
const url = new URL(AMQP_URL);
url.searchParams.set('connection_name', option('name', `coney-consumer-recovery-${process.pid}`));

const connection = new SelectConnection({
  parameters: new URLParameters(url.toString()),
  recovery: { initialDelay: 0.5, maxDelay: 30 },
  onOpen: (c) => c.channel(onChannelOpen),
  onOpenError: exitOnOpenError,
  onRecovering: (_c, reason, attempt) => console.log(`connection lost (${reason.name}: ${reason.message}); reconnecting, round ${attempt}`),
  onRecovered: () => console.log('recovered: consuming again'),
  onRecoveryFailed: (_c, err) => console.error(`recovery gave up: ${err.message}`),
  onClose: (_c: Connection, reason) => console.log(`connection closed: ${reason.message}`),
});

const onChannelOpen: Callback<Channel> = (err, channel) => {
  if (err !== null) throw err;
  channel.exchangeDeclare(exchange, { type: 'topic' });
  channel.queueDeclare(queue, { durable: true });
  channel.queueBind(queue, exchange, routingKey);
  channel.basicQos({ prefetchCount: 1 });
  // The consumer is recorded with its tag and callback, and comes back after each recovery.
  channel.basicConsume(queue, onMessage, {}, (e) => {
    if (e === null) console.log(`consuming on queue ${queue}`);
  });
};

function onMessage(channel: Channel, method: spec.Basic.Deliver, _properties: spec.BasicProperties, body: Buffer): void {
  console.log(`received message #${method.deliveryTag}: ${body.toString()}`);
  // An ack of a message from before an outage is dropped: the broker redelivers that message.
  channel.basicAck(method.deliveryTag);
}

process.once('SIGINT', () => {
  if (!connection.isClosing && !connection.isClosed) connection.close();
});
