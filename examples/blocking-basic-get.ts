/**
 * pika's "Using the BlockingChannel.basic_get", on the promise API:
 * `await channel.basicGet(queue)` resolves to a Message, or to `null` when
 * the queue is empty (pika's `(None, None, None)`).
 *
 *   Step 1: connect, open a channel, declare the queue
 *   Step 2: get once from the empty queue: `null`
 *   Step 3: publish `--count` messages
 *   Step 4: get, print and ack until the queue is empty
 *           (`message.method.messageCount` says how many are left)
 *   Step 5: close
 *
 * One round trip per message: fine for occasional polling; consume() is for throughput.
 * (The callback version is examples/basic-get.ts.)
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/blocking-basic-get.ts --count 3
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/blocking-basic-get.ts
 *
 * Options: `--count N` (3), `--queue NAME` (a private, exclusive queue by default).
 */
import { connect, spec } from '../lib';
import { AMQP_URL, option } from './support/cli';

const COUNT = Number(option('count', '3'));
const QUEUE = option('queue', `coney-blocking-get-${process.pid}`);

async function main(): Promise<void> {
  // Step 1
  await using connection = await connect(AMQP_URL);
  await using channel = await connection.channel();
  await channel.queueDeclare(QUEUE, { exclusive: option('queue', '') === '' });

  // Step 2
  if ((await channel.basicGet(QUEUE)) === null) console.log('no message returned');

  // Step 3
  for (let i = 1; i <= COUNT; i++) await channel.basicPublish('', QUEUE, `message ${i} of ${COUNT}`, { contentType: 'text/plain' });
  console.log(`published ${COUNT} messages to ${QUEUE}`);

  // Step 4
  let got = 0;
  for (let message = await channel.basicGet(QUEUE); message !== null; message = await channel.basicGet(QUEUE)) {
    got += 1;
    const left = message.method instanceof spec.Basic.GetOk ? message.method.messageCount : 0;
    console.log(`got #${message.deliveryTag} (${message.properties.contentType}): ${message.body.toString()} (${left} left)`);
    await message.ack();
  }
  console.log(`queue empty: got ${got} messages`);
  if (got !== COUNT) process.exitCode = 1;
  // Step 5: the channel, then the connection, close here
}

main().catch((err: unknown) => {
  console.error(`failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  process.exitCode = 1;
});
