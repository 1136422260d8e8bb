/**
 * The main demo: publish a batch with publisher confirms while consuming it
 * back, on one connection and one I/O loop.
 *
 *   Step 1: connect; open a publishing channel and a consuming channel
 *   Step 2: declare an exclusive queue, put the publisher in confirm mode
 *   Step 3: consume the queue (prefetch window, one ack per message)
 *   Step 4: publish `--count` messages, keeping at most `--window` unconfirmed,
 *           and pausing whenever `basicPublish` returns false until the
 *           connection's drain callback fires (backpressure)
 *   Step 5: once every message is confirmed and received, print a summary
 *           and close the connection; the loop stops on its own
 *
 * A live progress line (messages/s, confirmed, received) goes to stdout:
 * rewritten in place with `\r` on a terminal, one plain line per second
 * otherwise. Exit code 0 only if every message was confirmed (no nacks) and
 * received exactly once.
 *
 * Run:
 *   npm run demo                                   (throwaway broker)
 *   npx tsx tools/with-broker.ts npx tsx examples/demo.ts --count 50000
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/demo.ts
 *
 * Options: `--count N` (100000), `--size BYTES` body size (128),
 * `--window N` unconfirmed messages in flight (1000), `--prefetch N` (1000).
 */
import { type Channel, type Connection, SelectConnection, type TimerHandle, URLParameters, spec } from '../lib';
import { AMQP_URL } from './support/cli';

function intOption(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`--${name} needs a non-negative integer, got ${process.argv[i + 1]}`);
    process.exit(2);
  }
  return value;
}

const COUNT = intOption('count', 100000);
const SIZE = Math.max(intOption('size', 128), 8);
const WINDOW = Math.max(intOption('window', 1000), 1);
const PREFETCH = intOption('prefetch', 1000);
/** Give up when nothing has moved for this long. */
const STALL_SECONDS = 30;
const QUEUE = `coney-demo-${process.pid}`;
if (COUNT === 0) {
  console.log('nothing to do (--count 0)');
  process.exit(0);
}
const TTY = process.stdout.isTTY === true;

// ---- counters -----------------------------------------------------------------------------

let sent = 0;
let confirmed = 0;
let nacked = 0;
let received = 0;
let duplicates = 0;
let drainWaits = 0;
/** Per message index: has it been received? (detects duplicates and losses) */
const seen = new Uint8Array(COUNT);
/** Per delivery tag (1-based): 1 while unconfirmed. Tags are sequential, so `multiple` acks sweep from `lowestPending`. */
const pending = new Uint8Array(COUNT + 1);
let lowestPending = 1;
let waitingForDrain = false;
let startedAt = 0;
let finished = false;
let failure: string | null = null;
let lastProgressAt = 0;
let lastProgressCount = 0;
/** The progress timer; removed at the end, since a pending timer keeps Node running. */
let tickTimer: TimerHandle | null = null;

let publisher: Channel;
let consumer: Channel;

// ---- Step 1: connect ---------------------------------------------------------------------

const parameters = new URLParameters(AMQP_URL);
const connection = new SelectConnection({
  parameters,
  onOpen: onConnected,
  onOpenError: (_c, err) => fail(`could not connect to ${parameters}: ${err.message}`), // (no password in it)
  onClose: (_c, reason) => {
    if (!finished) fail(`connection closed unexpectedly: ${reason.message}`);
  },
});

function onConnected(conn: Connection): void {
  conn.addOnDrainCallback(onDrain);
  conn.channel((err, ch) => {
    if (err) return fail(`channel: ${err.message}`);
    publisher = ch;
    conn.channel((err, ch2) => {
      if (err) return fail(`channel: ${err.message}`);
      consumer = ch2;
      declare();
    });
  });
}

// ---- Step 2: declare the queue, confirm mode -----------------------------------------------

function declare(): void {
  // Exclusive: private to this connection and deleted with it.
  publisher.queueDeclare(QUEUE, { exclusive: true }, (err) => {
    if (err) return fail(`queue.declare: ${err.message}`);
    publisher.confirmDelivery(onConfirm, (err) => {
      if (err) return fail(`confirm.select: ${err.message}`);
      consume();
    });
  });
}

// ---- Step 3: consume -------------------------------------------------------------------------

function consume(): void {
  consumer.basicQos({ prefetchCount: PREFETCH }, (err) => {
    if (err) return fail(`basic.qos: ${err.message}`);
    consumer.basicConsume(QUEUE, onMessage, {}, (err) => {
      if (err) return fail(`basic.consume: ${err.message}`);
      startedAt = performance.now();
      publishMore();
      tick();
    });
  });
}

function onMessage(ch: Channel, method: spec.Basic.Deliver, _props: spec.BasicProperties, data: Buffer): void {
  const index = data.readUInt32BE(0);
  if (index < COUNT && seen[index] === 0) {
    seen[index] = 1;
    received += 1;
  } else {
    duplicates += 1;
  }
  ch.basicAck(method.deliveryTag);
  checkDone();
}

// ---- Step 4: publish with a confirm window and backpressure --------------------------------

function publishMore(): void {
  while (sent < COUNT && sent - confirmed - nacked < WINDOW && !waitingForDrain && !finished) {
    // A fresh buffer per message: basicPublish may keep a reference to a (large) body
    // until it is written, so a buffer must not be changed after it was published.
    const body = Buffer.alloc(SIZE, 'x');
    body.writeUInt32BE(sent, 0); // the message's index, for the exactly-once check
    sent += 1;
    pending[sent] = 1; // its delivery tag is `sent` (confirm mode numbers publishes from 1)
    if (!publisher.basicPublish('', QUEUE, body)) {
      // Above the high-water mark: the message is queued, but wait before sending more.
      waitingForDrain = true;
      drainWaits += 1;
    }
  }
}

function onDrain(): void {
  if (!waitingForDrain) return;
  waitingForDrain = false;
  publishMore();
}

function onConfirm(_ch: Channel, method: spec.Basic.Ack | spec.Basic.Nack): void {
  const isAck = method instanceof spec.Basic.Ack;
  const settle = (tag: number): void => {
    if (pending[tag] !== 1) return;
    pending[tag] = 0;
    if (isAck) confirmed += 1;
    else nacked += 1;
  };
  if (method.multiple) {
    for (let tag = lowestPending; tag <= method.deliveryTag; tag++) settle(tag);
  } else {
    settle(method.deliveryTag);
  }
  while (lowestPending <= sent && pending[lowestPending] === 0) lowestPending += 1;
  publishMore();
  checkDone();
}

// ---- progress --------------------------------------------------------------------------------

function elapsed(): number {
  return (performance.now() - startedAt) / 1000;
}

function progressLine(): string {
  const seconds = elapsed();
  const rate = seconds > 0 ? Math.round(received / seconds) : 0;
  return `${seconds.toFixed(1).padStart(5)} s  ${String(rate).padStart(7)} msg/s  sent ${sent}/${COUNT}  confirmed ${confirmed}  received ${received}`;
}

function tick(): void {
  if (finished) return;
  const now = elapsed();
  const progress = confirmed + nacked + received;
  if (progress !== lastProgressCount) {
    lastProgressCount = progress;
    lastProgressAt = now;
  } else if (now - lastProgressAt > STALL_SECONDS) {
    return fail(`no progress for ${STALL_SECONDS} s (${progressLine()})`);
  }
  if (TTY) process.stdout.write(`\r${progressLine()}\x1b[K`);
  else console.log(progressLine());
  tickTimer = connection.ioloop.callLater(TTY ? 0.2 : 1, tick);
}

// ---- Step 5: summary and close ----------------------------------------------------------------

function checkDone(): void {
  // Done once every publish is settled and every message has arrived (a nacked one may never
  // arrive); duplicates count as arrivals here, so that a broken run ends too (and fails).
  if (finished || confirmed + nacked < COUNT || received + duplicates + nacked < COUNT) return;
  finish();
}

function finish(): void {
  if (finished) return;
  finished = true;
  if (tickTimer !== null) connection.ioloop.removeTimeout(tickTimer);
  const seconds = elapsed();
  if (TTY) process.stdout.write(`\r${progressLine()}\x1b[K\n`);
  const ok = failure === null && confirmed === COUNT && nacked === 0 && received === COUNT && duplicates === 0;
  const rows: Array<[string, string | number]> = [
    ['sent', sent],
    ['confirmed', confirmed],
    ['nacked', nacked],
    ['received', received],
    ['duplicates', duplicates],
    ['drain waits', drainWaits],
    ['duration', `${seconds.toFixed(2)} s`],
    ['rate', `${Math.round(COUNT / Math.max(seconds, 1e-6))} msg/s`],
    ['result', ok ? 'OK: every message confirmed and received exactly once' : `FAILED${failure ? `: ${failure}` : ''}`],
  ];
  // Nothing was published when the set-up failed: then only the result line.
  const shown = startedAt === 0 ? rows.slice(-1) : rows;
  console.log(shown.map(([key, value]) => `${key.padEnd(12)}${value}`).join('\n'));
  process.exitCode = ok ? 0 : 1;
  if (connection.isOpen) connection.close();
  else connection.ioloop.stop();
}

function fail(message: string): void {
  if (TTY) process.stdout.write('\n');
  console.error(`demo: ${message}`);
  failure ??= message;
  if (!finished) finish();
  process.exitCode = 1;
}

process.once('SIGINT', () => fail('interrupted'));

// Loop until the connection has closed (SelectConnection stops its own loop then).
void connection.ioloop.start();
