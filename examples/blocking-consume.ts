/**
 * pika's "Using the BlockingChannel.consume generator to consume messages",
 * on the promise API: `for await` over `channel.consume(queue)`, ack each
 * message, and stop with `channel.cancel()`, which cancels the consumer,
 * requeues the messages delivered but not yet handed out, and says how many
 * those were.
 *
 *   Step 1: connect, open a channel, declare the queue
 *   Step 2: (`--publish N`) publish N messages to it, so there is something to consume
 *   Step 3: consume: print and ack each message; `inactivityTimeout` makes the
 *           iterator yield `null` after that many idle seconds (pika's `inactivity_timeout`)
 *   Step 4: after `--count` messages, or once idle: `await channel.cancel()`
 *           (the loop then finishes) and print the requeued count
 *   Step 5: close
 *
 * consume() sets a prefetch of 100 when the channel has none: at most that
 * many messages wait in its buffer, so cancel() requeues at most that many.
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/blocking-consume.ts --publish 20 --count 10
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/blocking-consume.ts --queue test
 *
 * Options: `--queue NAME` (coney-blocking-consume), `--publish N` (0),
 * `--count N` (stop after N messages; 10), `--idle SECONDS` (stop after that long without one; 5).
 */
import { connect } from '../lib';
import { AMQP_URL, option } from './support/cli';

const QUEUE = option('queue', 'coney-blocking-consume');
const PUBLISH = Number(option('publish', '0'));
const COUNT = Number(option('count', '10'));
const IDLE = Number(option('idle', '5'));

async function main(): Promise<void> {
  // Step 1
  await using connection = await connect(AMQP_URL);
  await using channel = await connection.channel();
  await channel.queueDeclare(QUEUE);

  // Step 2
  for (let i = 1; i <= PUBLISH; i++) await channel.basicPublish('', QUEUE, `message ${i} of ${PUBLISH}`);
  if (PUBLISH > 0) console.log(`published ${PUBLISH} messages to ${QUEUE}`);

  // Step 3
  console.log(`consuming from ${QUEUE}`);
  let received = 0;
  let requeued = 0;
  for await (const message of channel.consume(QUEUE, { inactivityTimeout: IDLE })) {
    if (message === null) {
      console.log(`no message for ${IDLE} s`);
    } else {
      received += 1;
      console.log(`#${message.deliveryTag} ${message.routingKey}: ${message.body.toString()}`);
      await message.ack();
    }
    // Step 4: cancel() ends the iterator, so the loop finishes on its next turn.
    // (A `break` would cancel the consumer too, but would not tell the requeued count.)
    if (message === null || received === COUNT) requeued = await channel.cancel();
  }
  console.log(`received ${received}, requeued ${requeued} messages`);
  // Step 5: the channel, then the connection, close here
}

main().catch((err: unknown) => {
  console.error(`failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  process.exitCode = 1;
});
