/**
 * rabbitpy's publisher example, on the promise API. rabbitpy's
 * `with rabbitpy.Connection(url) as conn:` / `with conn.channel() as channel:`
 * blocks become `await using`: the channel, then the connection, close at
 * the end of the scope, whether it ends normally or by an exception.
 *
 *   Step 1: connect, open a channel
 *   Step 2: declare the exchange and the queue, bind them with the routing key
 *   Step 3: publish `--count` messages; like rabbitpy's `opinionated=True`
 *           message, each gets a `messageId` and a `timestamp`
 *
 * The consumer is examples/rabbitpy-consumer.ts.
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/rabbitpy-publisher.ts --count 3
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/rabbitpy-publisher.ts
 *
 * Options: `--exchange NAME` (test_exchange), `--queue NAME` (example),
 * `--routing-key KEY` (test-routing-key), `--count N` (1).
 */
import { randomUUID } from 'node:crypto';
import { connect } from '../lib';
import { AMQP_URL, option } from './support/cli';

const EXCHANGE = option('exchange', 'test_exchange');
const QUEUE = option('queue', 'example');
const ROUTING_KEY = option('routing-key', 'test-routing-key');
const COUNT = Number(option('count', '1'));

async function main(): Promise<void> {
  // Step 1
  await using connection = await connect(AMQP_URL);
  await using channel = await connection.channel();

  // Step 2
  await channel.exchangeDeclare(EXCHANGE, { type: 'direct' });
  await channel.queueDeclare(QUEUE);
  await channel.queueBind(QUEUE, EXCHANGE, ROUTING_KEY);

  // Step 3
  for (let i = 1; i <= COUNT; i++) {
    await channel.basicPublish(EXCHANGE, ROUTING_KEY, `Lorem ipsum dolor sit amet, consectetur adipiscing elit. (${i} of ${COUNT})`, {
      contentType: 'text/plain',
      messageId: randomUUID(),
      timestamp: new Date(),
    });
  }
  console.log(`published ${COUNT} message(s) to ${EXCHANGE} with routing key ${ROUTING_KEY}`);
}

main().catch((err: unknown) => {
  console.error(`failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  process.exitCode = 1;
});
