/**
 * pika's "Using Delivery Confirmations with the BlockingConnection", on the
 * promise API: in confirm mode each `await channel.basicPublish(...)`
 * resolves once the broker acked the message, and rejects with an
 * UnroutableError (`mandatory` and no queue took it) or a NackError (the
 * broker refused it), as pika's `basic_publish` raises them.
 *
 *   Step 1: connect, open a channel, declare a queue that holds at most
 *           `--max-length` messages and refuses the next ones (`x-overflow: reject-publish`)
 *   Step 2: `confirmDelivery()`
 *   Step 3: publish `--count` messages to it, mandatory, one at a time:
 *           the first `--max-length` are confirmed, the rest nacked
 *   Step 4: publish one more to a routing key no queue is bound to: unroutable
 *   Step 5: close (`await using` closes the channel and the connection at the end of the scope)
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/blocking-publish.ts --count 5 --max-length 3
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/blocking-publish.ts
 *
 * Options: `--count N` (5), `--max-length N` (3), `--queue NAME` (a private, exclusive queue by default).
 */
import { connect, NackError, UnroutableError } from '../lib';
import { AMQP_URL, option } from './support/cli';

const COUNT = Number(option('count', '5'));
const MAX_LENGTH = Number(option('max-length', '3'));
const QUEUE = option('queue', `coney-blocking-publish-${process.pid}`);

async function main(): Promise<void> {
  // Step 1
  await using connection = await connect(AMQP_URL);
  await using channel = await connection.channel();
  await channel.queueDeclare(QUEUE, {
    exclusive: option('queue', '') === '',
    arguments: { 'x-max-length': MAX_LENGTH, 'x-overflow': 'reject-publish' },
  });

  // Step 2
  await channel.confirmDelivery();

  // Step 3 and 4: pika's try / except around basic_publish
  const outcome = { confirmed: 0, nacked: 0, unroutable: 0 };
  const publish = async (routingKey: string, body: string): Promise<void> => {
    try {
      await channel.basicPublish('', routingKey, body, { contentType: 'text/plain', deliveryMode: 1 }, /* mandatory */ true);
      outcome.confirmed += 1;
      console.log(`${body}: publish was confirmed`);
    } catch (err) {
      if (err instanceof UnroutableError) {
        outcome.unroutable += 1;
        console.log(`${body}: could not be routed (${err.message})`);
      } else if (err instanceof NackError) {
        outcome.nacked += 1;
        console.log(`${body}: nacked by the broker (${err.message})`);
      } else {
        throw err; // the channel or connection closed: the outcome is unknown
      }
    }
  };
  for (let i = 1; i <= COUNT; i++) await publish(QUEUE, `message ${i} of ${COUNT}`);
  await publish(`${QUEUE}-nobody-listens`, 'message to nowhere');

  console.log(`confirmed ${outcome.confirmed}, nacked ${outcome.nacked}, unroutable ${outcome.unroutable}`);
  // Step 5: the channel, then the connection, close here
}

main().catch((err: unknown) => {
  console.error(`failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  process.exitCode = 1;
});
