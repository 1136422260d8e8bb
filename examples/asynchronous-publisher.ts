/**
 * pika's asynchronous publisher example: publisher confirms with every
 * delivery tag tracked.
 *
 *   Step 1: connect, open a channel, declare the exchange and queue, bind them
 *   Step 2: `confirmDelivery` puts the channel in confirm mode; from now on
 *           the broker acks (or nacks) each publish by its delivery tag,
 *           numbered from 1 in publish order (`multiple` settles all tags up
 *           to the given one)
 *   Step 3: publish on a timer (`--interval`), remembering each message in a
 *           Map keyed by its delivery tag until it is confirmed
 *   Step 4: report acked / nacked / pending every `--report` seconds, and at
 *           the end, once every message is settled (or Ctrl-C)
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/asynchronous-publisher.ts --count 20 --interval 0.1
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/asynchronous-publisher.ts
 *
 * Options: `--count N` (stop after N messages; default: until Ctrl-C),
 * `--interval SECONDS` between publishes (1), `--batch N` messages per tick (1),
 * `--report SECONDS` (5), `--exchange NAME` (message), `--queue NAME` (text),
 * `--routing-key KEY` (example.text).
 * Exit code 0 when every message was acked.
 */
import { type Channel, type Connection, SelectConnection, type TimerHandle, URLParameters, spec } from '../lib';
import { AMQP_URL, option, exitOnOpenError } from './support/cli';

const EXCHANGE = option('exchange', 'message');
const QUEUE = option('queue', 'text');
const ROUTING_KEY = option('routing-key', 'example.text');
const COUNT = Number(option('count', '0'));
const INTERVAL = Number(option('interval', '1'));
const BATCH = Number(option('batch', '1'));
const REPORT = Number(option('report', '5'));

/** Messages published and not yet acked or nacked, by delivery tag (ascending: Map keeps insertion order). */
const pending = new Map<number, { messageId: string; publishedAt: number }>();
let published = 0;
let acked = 0;
let nacked = 0;
let stopping = false;
let channel: Channel | null = null;
// Timers to cancel on close: a pending timer would keep Node running after the loop stops.
let publishTimer: TimerHandle | null = null;
let reportTimer: TimerHandle | null = null;
let giveUpTimer: TimerHandle | null = null;

const connection = new SelectConnection({
  parameters: new URLParameters(AMQP_URL),
  onOpen: onConnectionOpen,
  onOpenError: exitOnOpenError,
  onClose: (_c, reason) => {
    for (const timer of [publishTimer, reportTimer, giveUpTimer]) if (timer) connection.ioloop.removeTimeout(timer);
    console.log(`connection closed: ${reason.message}`);
    report('final');
    const allAcked = stopping && pending.size === 0 && nacked === 0 && acked === published;
    process.exitCode = allAcked ? 0 : 1;
  },
});

// Step 1
function onConnectionOpen(conn: Connection): void {
  conn.channel((err, ch) => {
    if (err) throw err;
    channel = ch;
    channel.addOnCloseCallback((_ch, reason) => {
      console.log(`channel closed: ${reason.message}`);
      if (conn.isOpen) conn.close();
    });
    channel.exchangeDeclare(EXCHANGE, { type: 'topic' });
    channel.queueDeclare(QUEUE);
    channel.queueBind(QUEUE, EXCHANGE, ROUTING_KEY, {}, (err) => {
      if (err) return;
      // Step 2
      channel!.confirmDelivery(onDeliveryConfirmation, (err) => {
        if (err) return;
        console.log('confirm mode on; publishing');
        scheduleNextMessage();
        scheduleReport();
      });
    });
  });
}

// Step 2: the broker's verdicts
function onDeliveryConfirmation(_ch: Channel, method: spec.Basic.Ack | spec.Basic.Nack): void {
  const isAck = method instanceof spec.Basic.Ack;
  const settle = (tag: number): void => {
    if (!pending.delete(tag)) return;
    if (isAck) acked += 1;
    else nacked += 1;
  };
  if (method.multiple) {
    for (const tag of pending.keys()) {
      if (tag > method.deliveryTag) break;
      settle(tag);
    }
  } else {
    settle(method.deliveryTag);
  }
  if (stopping && pending.size === 0) closeConnection();
}

// Step 3
function scheduleNextMessage(): void {
  if (stopping) return;
  publishTimer = connection.ioloop.callLater(INTERVAL, publishMessages);
}

function publishMessages(): void {
  if (stopping || channel === null || !channel.isOpen) return;
  for (let i = 0; i < BATCH && (COUNT === 0 || published < COUNT); i++) {
    const messageId = `msg-${published + 1}`;
    const tag = published + 1; // in confirm mode, the n-th publish on the channel gets delivery tag n
    channel.basicPublish(EXCHANGE, ROUTING_KEY, JSON.stringify({ hello: 'world', n: published + 1 }), {
      appId: 'coney-asynchronous-publisher',
      contentType: 'application/json',
      messageId,
    });
    published += 1;
    pending.set(tag, { messageId, publishedAt: Date.now() });
  }
  if (COUNT > 0 && published >= COUNT) return stop();
  scheduleNextMessage();
}

// Step 4
function report(when: string): void {
  const oldest = pending.values().next().value;
  const age = oldest ? ` (oldest pending ${Date.now() - oldest.publishedAt} ms)` : '';
  console.log(`${when}: published ${published}, acked ${acked}, nacked ${nacked}, pending ${pending.size}${age}`);
}

function scheduleReport(): void {
  reportTimer = connection.ioloop.callLater(REPORT, () => {
    report('progress');
    scheduleReport();
  });
}

/** Stop publishing; close once every published message is settled. */
function stop(): void {
  if (stopping) return;
  stopping = true;
  console.log(`stopping: waiting for ${pending.size} confirmations`);
  if (pending.size === 0) closeConnection();
  else giveUpTimer = connection.ioloop.callLater(10, closeConnection); // don't wait forever
}

function closeConnection(): void {
  if (connection.isOpen) connection.close();
}

process.once('SIGINT', stop);
void connection.ioloop.start();
