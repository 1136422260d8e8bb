/**
 * Long-running work without losing the connection: the Node form of pika's
 * "requesting message acknowledgements from another thread".
 *
 * A connection's heartbeats, acks and all other I/O happen on its I/O loop,
 * which is the main thread's event loop. A message handler that computes for
 * seconds blocks that loop: no heartbeats go out, nothing is read, and with a
 * short heartbeat the broker decides the client is dead and drops it.
 *
 *   Step 1: connect with a short heartbeat (`--heartbeat`, 1 s), declare the
 *           queue, publish `--jobs` jobs to it, consume with `--prefetch`
 *   Step 2: for each message, start a `worker_threads` Worker
 *           (examples/worker-threads-worker.cjs) that busy-loops `--work` seconds
 *   Step 3: the main loop stays free: heartbeats keep flowing (a ticker prints
 *           the loop's lag every second to show it)
 *   Step 4: when a worker posts its result, ack the message ON THE LOOP:
 *           `connection.ioloop.addCallbackThreadsafe(() => ackMessage(channel, tag))`.
 *           (In Node the 'message' event already runs on the main thread, so
 *           this is where pika's add_callback_threadsafe goes; the channel
 *           must be the one the message came from, and still open.)
 *   Step 5: once every job is acked, make one round trip (a passive
 *           queue.declare: its reply proves the acks before it arrived), close;
 *           exit code 0
 *
 * `--block` does the same work on the loop itself, to show the failure. With
 * heartbeat 1 s and 5 s of blocking: RabbitMQ misses our heartbeats, logs
 * "missed heartbeats from client, timeout: 1s" and closes the socket without
 * a connection.close. When the loop wakes up, the ack sent after the work goes
 * nowhere, the round trip of step 5 never gets its answer, and our side closes
 * the connection with an AMQPConnectionError: a StreamLostError (the socket
 * the broker closed is noticed first) or an AMQPHeartbeatTimeout (our own
 * checker notices first that nothing was read for two intervals). The broker
 * requeues the unacked message: it is delivered again on the next connection
 * (the work is done twice). This example then exits with code 3, and the
 * message is still in the queue.
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/worker-threads-consumer.ts
 *   npx tsx tools/with-broker.ts npx tsx examples/worker-threads-consumer.ts --block
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/worker-threads-consumer.ts --jobs 4 --work 10
 *
 * Options: `--jobs N` (2), `--work SECONDS` per job (5), `--heartbeat SECONDS` (1),
 * `--prefetch N` jobs in parallel (2), `--queue NAME` (coney-work), `--block`.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { type Channel, ConnectionParameters, SelectConnection, type TimerHandle, URLParameters, spec } from '../lib';
import { AMQP_URL, option, flag, exitOnOpenError } from './support/cli';

const JOBS = Number(option('jobs', '2'));
const WORK_SECONDS = Number(option('work', '5'));
const HEARTBEAT = Number(option('heartbeat', '1'));
const PREFETCH = Number(option('prefetch', '2'));
const QUEUE = option('queue', 'coney-work');
const BLOCK = flag('block');
const WORKER_FILE = path.join(__dirname, 'worker-threads-worker.cjs');

let acked = 0;
let closing = false;
let ticker: TimerHandle | null = null;
const started = Date.now();

function log(message: string): void {
  console.log(`${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s  ${message}`);
}

/** The busy loop of the worker file, for `--block`: the same work, but on the I/O loop. */
function workOnTheLoop(seconds: number): number {
  const deadline = Date.now() + seconds * 1000;
  let x = 0;
  while (Date.now() < deadline) for (let i = 0; i < 10000; i++) x = (x * 31 + i) % 1000003;
  return x;
}

// Step 4: runs on the loop. `channel` must be the channel the message came from.
function ackMessage(channel: Channel, deliveryTag: number, job: number): void {
  if (!channel.isOpen) {
    // Closed meanwhile: the broker has requeued the message; it will be redelivered.
    log(`job ${job}: done, but channel ${channel.channelNumber} is closed: cannot ack (the message will be redelivered)`);
    return;
  }
  channel.basicAck(deliveryTag);
  acked += 1;
  log(`job ${job}: ack sent (${acked}/${JOBS})`);
  if (acked === JOBS) finish(channel);
}

// Step 5. An ack has no reply: before closing, make one round trip on the same channel
// (a passive queue.declare). Its answer proves that the broker got the acks sent before it.
function finish(channel: Channel): void {
  channel.queueDeclare(QUEUE, { passive: true }, (err, ok) => {
    if (err) return log(`round trip failed: ${err.constructor.name}: ${err.message}`);
    log(`broker answered: ${ok.messageCount} messages ready in ${QUEUE}; closing`);
    closing = true;
    connection.close();
  });
}

// Step 2
function onMessage(channel: Channel, method: spec.Basic.Deliver, _props: spec.BasicProperties, body: Buffer): void {
  const { job, seconds } = JSON.parse(body.toString()) as { job: number; seconds: number };
  const tag = method.deliveryTag;
  if (BLOCK) {
    log(`job ${job}: working ${seconds} s ON THE I/O LOOP (--block): no heartbeats meanwhile`);
    workOnTheLoop(seconds);
    log(`job ${job}: work done (the loop was blocked ${seconds} s); acking`);
    ackMessage(channel, tag, job);
    return;
  }
  log(`job ${job}: handing ${seconds} s of work to a worker thread`);
  // execArgv []: the worker is plain JavaScript and needs no TypeScript loader (such as tsx) of ours.
  const worker = new Worker(WORKER_FILE, { workerData: { job, seconds }, execArgv: [] });
  worker.once('message', (result: { iterations: number }) => {
    log(`job ${job}: worker finished (${result.iterations} iterations)`);
    connection.ioloop.addCallbackThreadsafe(() => ackMessage(channel, tag, job));
  });
  worker.once('error', (err) => {
    log(`job ${job}: worker failed: ${err.message}; rejecting`);
    connection.ioloop.addCallbackThreadsafe(() => {
      if (channel.isOpen) channel.basicReject(tag, false);
    });
  });
}

// Step 3: show that the loop is free (lag ~0) or blocked (lag ~ the work time).
function tick(expectedAt: number): void {
  ticker = connection.ioloop.callLater(1, () => {
    const lag = Date.now() - expectedAt - 1000;
    log(`loop alive, lag ${lag} ms, ${acked}/${JOBS} acked`);
    tick(Date.now());
  });
}

// Step 1
const url = new URLParameters(AMQP_URL);
const connection = new SelectConnection({
  parameters: new ConnectionParameters({
    host: url.host,
    port: url.port,
    virtualHost: url.virtualHost,
    credentials: url.credentials,
    ssl: url.ssl,
    heartbeat: HEARTBEAT,
  }),
  onOpenError: exitOnOpenError,
  onClose: (_c, reason) => {
    if (ticker !== null) connection.ioloop.removeTimeout(ticker);
    if (closing && acked === JOBS) {
      log(`all ${JOBS} jobs done and acked; connection closed cleanly: ${reason.message}`);
      process.exitCode = 0;
    } else {
      log(`connection lost: ${reason.constructor.name}: ${reason.message}`);
      log(`acks sent: ${acked}/${JOBS}; any sent after the broker dropped us are lost, and it requeues every unacked message`);
      process.exitCode = 3;
    }
  },
  onOpen: (conn) => {
    log(`connected, heartbeat ${conn.heartbeat} s, mode: ${BLOCK ? 'work on the loop (--block)' : 'worker threads'}`);
    conn.channel((err, channel) => {
      if (err) throw err;
      const ch = channel;
      ch.queueDeclare(QUEUE);
      for (let job = 1; job <= JOBS; job++) ch.basicPublish('', QUEUE, JSON.stringify({ job, seconds: WORK_SECONDS }));
      ch.basicQos({ prefetchCount: PREFETCH });
      ch.basicConsume(QUEUE, onMessage, {}, (err) => {
        if (err) throw err;
        log(`published ${JOBS} jobs of ${WORK_SECONDS} s to ${QUEUE}; consuming (prefetch ${PREFETCH})`);
        tick(Date.now());
      });
    });
  },
});

process.once('SIGINT', () => {
  closing = true;
  if (connection.isOpen) connection.close();
});
void connection.ioloop.start();
