/**
 * rabbitpy's multi-threaded example in Node: one connection, shared by
 * worker threads, each with a channel of its own (rabbitpy's rule: never
 * share a channel between threads).
 *
 *   Step 1: connect on the main thread; declare the exchange and the queue, bind them
 *   Step 2: start a consumer thread: `connection.openChannelPort()` makes a
 *           channel for it, transferred as a MessagePort; in the thread,
 *           `channelFromPort(port)` gives the promise API's channel (examples/threads-channel-per-worker-thread.ts)
 *   Step 3: start a publisher thread the same way: it publishes `--count` messages
 *           (with publisher confirms with `--confirms`)
 *   Step 4: wait for the consumer thread to have received them all (it acks
 *           each and ends its loop); check that each arrived exactly once; close
 *
 * The connection stays on the main thread: its socket, heartbeats and
 * frames. Each thread's calls and deliveries cross its port in one batch
 * per loop turn. A thread that ends or crashes closes its channel (the
 * broker requeues what it had not acked); the connection goes on.
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/threads-channel-per-worker.ts
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/threads-channel-per-worker.ts --count 10000 --confirms
 *
 * Options: `--count N` (100), `--confirms`, `--queue NAME` (threading_queue), `--exchange NAME` (threading_example).
 */
import * as path from 'node:path';
import { Worker, type MessagePort } from 'node:worker_threads';
import { connect } from '../lib';
import { AMQP_URL, flag, option } from './support/cli';

const COUNT = Number(option('count', '100'));
const CONFIRMS = flag('confirms');
const QUEUE = option('queue', 'threading_queue');
const EXCHANGE = option('exchange', 'threading_example');
const THREAD_FILE = path.join(__dirname, 'threads-channel-per-worker-thread.ts');

/**
 * Starts the thread file with its job and its channel's port (transferred).
 * The file is TypeScript: a worker does not inherit tsx from this process,
 * so a two-line script registers it first (compiled to .js, `new Worker(file, ...)` is enough).
 */
function startThread(job: Record<string, unknown>, port: MessagePort): Worker {
  const workerData = { ...job, port };
  return new Worker(`require('tsx/cjs'); require(${JSON.stringify(THREAD_FILE)});`, { eval: true, workerData, transferList: [port] });
}

/** Resolves with the thread's exit code; prints what it reports. */
function joined(worker: Worker, name: string, onMessage: (m: { body?: string; published?: number; done?: number }) => void): Promise<number> {
  worker.on('message', onMessage);
  worker.on('error', (err) => console.log(`${name} thread failed: ${err.message}`));
  return new Promise((resolve) => worker.once('exit', resolve));
}

async function main(): Promise<void> {
  // Step 1
  await using connection = await connect(AMQP_URL);
  {
    await using channel = await connection.channel();
    await channel.exchangeDeclare(EXCHANGE, { type: 'direct' });
    await channel.queueDeclare(QUEUE);
    await channel.queueBind(QUEUE, EXCHANGE, 'test');
  }
  console.log(`declared ${EXCHANGE} -> ${QUEUE}; ${COUNT} messages${CONFIRMS ? ' with publisher confirms' : ''}`);

  // Step 2
  const seen = new Map<string, number>();
  const consumer = startThread({ role: 'consume', queue: QUEUE, count: COUNT }, await connection.openChannelPort());
  const consumerDone = joined(consumer, 'consumer', (m) => {
    if (m.body !== undefined) seen.set(m.body, (seen.get(m.body) ?? 0) + 1);
    if (m.done !== undefined) console.log(`consumer thread: received and acked ${m.done} messages`);
  });

  // Step 3
  const publisher = startThread(
    { role: 'publish', exchange: EXCHANGE, routingKey: 'test', count: COUNT, confirms: CONFIRMS },
    await connection.openChannelPort(),
  );
  const publisherDone = joined(publisher, 'publisher', (m) => {
    if (m.published !== undefined) console.log(`publisher thread: published ${m.published} messages${CONFIRMS ? ', every one confirmed' : ''}`);
  });

  // Step 4
  const [publisherCode, consumerCode] = await Promise.all([publisherDone, consumerDone]);
  const once = [...seen.values()].filter((n) => n === 1).length;
  const ok = publisherCode === 0 && consumerCode === 0 && seen.size === COUNT && once === COUNT;
  console.log(`${seen.size} distinct messages received, ${once} exactly once: ${ok ? 'OK' : 'FAILED'}`);
  process.exitCode = ok ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
