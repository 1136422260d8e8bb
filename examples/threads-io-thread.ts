/**
 * CPU-heavy work on the main thread without losing the connection: with
 * `connect(url, { ioThread: true })` coney runs the connection (socket,
 * parser, heartbeats) in an I/O thread of its own, so a handler that
 * blocks this thread for seconds no longer starves the heartbeats. Compare
 * examples/worker-threads-consumer.ts, which moves the work to worker
 * threads instead; here the work stays where it is and nothing else changes.
 *
 *   Step 1: connect with a short heartbeat (`--heartbeat`, 1 s) and `ioThread: true`;
 *           declare the queue, publish `--jobs` jobs, consume with `--prefetch`
 *   Step 2: for each message, busy-loop `--work` seconds ON THIS THREAD (no await
 *           in between: this thread's event loop is blocked)
 *   Step 3: ack it; meanwhile the I/O thread kept sending heartbeats, and the
 *           next deliveries waited there (at most the prefetch)
 *   Step 4: once every job is acked, one round trip (a passive queue.declare)
 *           proves the acks arrived; close: the I/O thread ends; exit code 0
 *
 * `--no-io-thread` runs the same code on a connection of this thread: with
 * heartbeat 1 s and 5 s of blocking the broker drops the connection
 * ("missed heartbeats from client"), the ack goes nowhere, the message is
 * requeued, and this example exits with code 3.
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/threads-io-thread.ts
 *   npx tsx tools/with-broker.ts npx tsx examples/threads-io-thread.ts --no-io-thread
 *
 * Options: `--jobs N` (2), `--work SECONDS` (5), `--heartbeat SECONDS` (1),
 * `--prefetch N` (2), `--queue NAME` (coney-io-thread), `--no-io-thread`.
 */
import { type AsyncConnection, connect, ConnectionParameters, type IOThreadConnection, URLParameters } from '../lib';
import { AMQP_URL, flag, option } from './support/cli';

const JOBS = Number(option('jobs', '2'));
const WORK_SECONDS = Number(option('work', '5'));
const HEARTBEAT = Number(option('heartbeat', '1'));
const PREFETCH = Number(option('prefetch', '2'));
const QUEUE = option('queue', 'coney-io-thread');
const IO_THREAD = !flag('no-io-thread');
const started = Date.now();

function log(message: string): void {
  console.log(`${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s  ${message}`);
}

/** CPU work that never yields: this thread's event loop is blocked meanwhile. */
function work(seconds: number): void {
  const deadline = Date.now() + seconds * 1000;
  let x = 0;
  while (Date.now() < deadline) for (let i = 0; i < 10000; i++) x = (x * 31 + i) % 1000003;
  if (x < 0) log('unreachable');
}

async function main(): Promise<void> {
  // Step 1
  const url = new URLParameters(AMQP_URL);
  const parameters = new ConnectionParameters({
    host: url.host,
    port: url.port,
    virtualHost: url.virtualHost,
    credentials: url.credentials,
    heartbeat: HEARTBEAT,
  });
  let lost: Error | null = null;
  const onClose = (_c: unknown, reason: Error): void => {
    if (!closing) lost = reason;
  };
  let closing = false;
  const connection: AsyncConnection | IOThreadConnection = IO_THREAD
    ? await connect(parameters, { ioThread: true, onClose })
    : await connect(parameters, { onClose });
  log(`connected, heartbeat ${HEARTBEAT} s, ${IO_THREAD ? 'I/O in a thread of its own (ioThread: true)' : 'I/O on this thread (--no-io-thread)'}`);
  const channel = await connection.channel();
  await channel.queueDeclare(QUEUE);
  for (let job = 1; job <= JOBS; job++) await channel.basicPublish('', QUEUE, JSON.stringify({ job }));
  await channel.basicQos({ prefetchCount: PREFETCH });

  // Steps 2 and 3
  let acked = 0;
  try {
    for await (const message of channel.consume(QUEUE)) {
      const { job } = JSON.parse(message!.body.toString()) as { job: number };
      log(`job ${job}: working ${WORK_SECONDS} s on the main thread (its event loop blocked)${message!.redelivered ? ' [redelivered]' : ''}`);
      work(WORK_SECONDS);
      await message!.ack();
      acked += 1;
      log(`job ${job}: done, ack sent (${acked}/${JOBS})`);
      if (acked === JOBS) break;
    }
    // Step 4
    const ok = await channel.queueDeclare(QUEUE, { passive: true });
    log(`broker answered: ${ok.messageCount} messages ready in ${QUEUE}; connection open: ${connection.isOpen}`);
    closing = true;
    await connection.close();
    log(`all ${JOBS} jobs done and acked; connection closed cleanly`);
    process.exitCode = 0;
  } catch (err) {
    log(`connection lost: ${(lost ?? (err as Error)).constructor.name}: ${(lost ?? (err as Error)).message}`);
    log(`acks sent: ${acked}/${JOBS}; the broker requeues every unacked message`);
    if (connection.isOpen) await connection.close();
    process.exitCode = 3;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
