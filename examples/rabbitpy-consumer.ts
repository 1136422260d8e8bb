/**
 * rabbitpy's consumer example, on the promise API: rabbitpy's
 * `for message in queue:` becomes `for await (const message of channel.consume(queue))`,
 * and `message.ack()` is the same call. Its `except KeyboardInterrupt` becomes
 * an AbortSignal that Ctrl-C aborts: the iterator then ends (the consumer is
 * cancelled, buffered messages are requeued) and the `await using` scopes
 * close the channel and the connection.
 *
 *   Step 1: connect, open a channel (`await using`, rabbitpy's `with` blocks)
 *   Step 2: consume the queue: print each message's properties and body, ack it
 *   Step 3: stop on Ctrl-C, or after `--count` messages
 *
 * The publisher is examples/rabbitpy-publisher.ts (run it first: it declares the queue).
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/rabbitpy-consumer.ts
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/rabbitpy-consumer.ts
 *
 * Options: `--queue NAME` (example), `--count N` (stop after N messages; 0: until Ctrl-C).
 */
import { connect } from '../lib';
import { AMQP_URL, option } from './support/cli';

const QUEUE = option('queue', 'example');
const COUNT = Number(option('count', '0'));

async function main(): Promise<void> {
  const interrupted = new AbortController();
  process.once('SIGINT', () => interrupted.abort());

  // Step 1
  await using connection = await connect(AMQP_URL);
  await using channel = await connection.channel();

  // Step 2
  console.log(`consuming from ${QUEUE}; Ctrl-C stops`);
  let received = 0;
  for await (const message of channel.consume(QUEUE, { signal: interrupted.signal })) {
    received += 1;
    const { contentType, messageId, timestamp } = message!.properties; // never null: no inactivityTimeout
    console.log(`message #${message!.deliveryTag}: ${message!.exchange} / ${message!.routingKey}`);
    console.log(`  contentType ${contentType}, messageId ${messageId}, timestamp ${timestamp?.toISOString()}`);
    console.log(`  body: ${message!.body.toString()}`);
    await message!.ack();
    // Step 3
    if (received === COUNT) break;
  }
  console.log(interrupted.signal.aborted ? `exited consumer after ${received} message(s)` : `received ${received} message(s)`);
}

main().catch((err: unknown) => {
  console.error(`failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  process.exitCode = 1;
});
