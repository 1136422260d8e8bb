/**
 * Polling with `basic.get` instead of a consumer: fetch one message at a
 * time until the queue says it is empty (`basic.get-empty`, a `null` message).
 *
 *   Step 1: connect, open a channel, declare a queue
 *   Step 2: publish `--count` messages to it, so there is something to fetch
 *   Step 3: `basicGet` one message; ack it; `ok.messageCount` tells how many remain
 *   Step 4: repeat until the callback gets `null` (the queue is empty), then close
 *
 * basic.get is a round trip per message: fine for occasional polling, slow
 * for throughput (use basicConsume with a prefetch for that).
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/basic-get.ts --count 5
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/basic-get.ts
 *
 * Options: `--count N` messages to publish first (5), `--queue NAME`
 * (a private, exclusive queue by default).
 */
import { type Channel, SelectConnection, URLParameters } from '../lib';
import { AMQP_URL, option, exitOnOpenError } from './support/cli';

const COUNT = Number(option('count', '5'));
const QUEUE = option('queue', `coney-basic-get-${process.pid}`);

let got = 0;

// Step 3 and 4
function poll(channel: Channel): void {
  channel.basicGet(QUEUE, (err, message) => {
    if (err) return console.error(`basic.get failed: ${err.message}`);
    if (message === null || message === undefined) {
      console.log(`queue empty: got ${got} messages`);
      connection.close();
      return;
    }
    got += 1;
    console.log(`got #${message.method.deliveryTag}: ${message.body.toString()} (${message.method.messageCount} left)`);
    channel.basicAck(message.method.deliveryTag);
    poll(channel);
  });
}

// Step 1
const connection = new SelectConnection({
  parameters: new URLParameters(AMQP_URL),
  onOpenError: exitOnOpenError,
  onClose: (_c, reason) => {
    console.log(`connection closed: ${reason.message}`);
    process.exitCode = got === COUNT ? 0 : 1;
  },
  onOpen: (conn) =>
    conn.channel((err, channel) => {
      if (err) throw err;
      const ch = channel;
      ch.queueDeclare(QUEUE, { exclusive: option('queue', '') === '' }, (err) => {
        if (err) throw err;
        // Step 2
        for (let i = 1; i <= COUNT; i++) ch.basicPublish('', QUEUE, `message ${i} of ${COUNT}`);
        console.log(`published ${COUNT} messages to ${QUEUE}`);
        // Calls on one channel are sent in order: the gets follow the publishes.
        poll(ch);
      });
    }),
});

void connection.ioloop.start();
