/**
 * Continuation-passing style, as in pika's SelectConnection docs: every step
 * is a callback that starts the next one.
 *
 *   Step 1: connect (the connection opens once the loop runs)
 *   Step 2: on open, open a channel
 *   Step 3: on the channel, declare a queue
 *   Step 4: once declared, start consuming (and publish a few messages)
 *   Step 5: handle each delivery (print and ack it)
 *
 * Ctrl-C closes the connection cleanly (pika's KeyboardInterrupt pattern:
 * `connection.close()`, and the loop stops on its own once it is closed).
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/publish-consume.ts --count 10
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/publish-consume.ts
 *
 * Options: `--count N` publishes N messages and stops after receiving N
 * (default: publish 10, then consume until Ctrl-C); `--queue NAME`.
 */
import { type Callback, type Channel, type Connection, SelectConnection, URLParameters, spec } from '../lib';
import { AMQP_URL, exitOnOpenError } from './support/cli';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}
const count = option('count') === undefined ? undefined : Number(option('count'));
const QUEUE = option('queue') ?? `coney-publish-consume-${process.pid}`;

let channel: Channel | undefined;
let received = 0;

// Step #2
function onConnected(connection: Connection): void {
  console.log('connected; opening a channel');
  connection.channel(onChannelOpen);
}

// Step #3 (typed as a Callback<Channel>: once `err` is ruled out, `newChannel` is a Channel)
const onChannelOpen: Callback<Channel> = (err, newChannel) => {
  if (err) throw err;
  channel = newChannel;
  // autoDelete: the queue goes away with its last consumer, so the example leaves nothing behind.
  channel.queueDeclare(QUEUE, { durable: false, exclusive: false, autoDelete: true }, onQueueDeclared);
};

// Step #4
const onQueueDeclared: Callback<spec.Queue.DeclareOk> = (err, ok) => {
  if (err) throw err;
  console.log(`queue ${ok.queue} declared; consuming`);
  channel!.basicConsume(QUEUE, handleDelivery, {}, (err) => {
    if (err) throw err;
    // Something to consume: publish the messages once the consumer is registered.
    const n = count ?? 10;
    for (let i = 1; i <= n; i++) channel!.basicPublish('', QUEUE, `message #${i}`, { contentType: 'text/plain' });
    console.log(`published ${n} messages`);
  });
};

// Step #5
function handleDelivery(ch: Channel, method: spec.Basic.Deliver, _properties: spec.BasicProperties, body: Buffer): void {
  received += 1;
  console.log(`received #${method.deliveryTag}: ${body.toString()}`);
  ch.basicAck(method.deliveryTag);
  if (count !== undefined && received === count && connection.isOpen) {
    console.log(`received ${received} messages; closing`);
    connection.close();
  }
}

// Step #1: connect to RabbitMQ
const connection = new SelectConnection({
  parameters: new URLParameters(AMQP_URL),
  onOpen: onConnected,
  onOpenError: exitOnOpenError,
  onClose: (_c, reason) => console.log(`connection closed: ${reason.message}`),
});

// pika's `except KeyboardInterrupt: connection.close(); connection.ioloop.start()`.
// In Node the loop keeps running while the signal handler runs, so closing is enough:
// the SelectConnection stops its own loop once the close completes.
process.once('SIGINT', () => {
  console.log('SIGINT: closing the connection');
  if (connection.isOpen) connection.close();
  else if (!connection.isClosed && !connection.isClosing) connection.close(); // still opening: abort
});

// Loop so we can communicate with RabbitMQ; resolves once the connection has closed.
void connection.ioloop.start().then(() => {
  console.log(`done: received ${received} messages`);
});
