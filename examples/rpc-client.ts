/**
 * RPC client with RabbitMQ's direct reply-to: replies come straight back on
 * the pseudo-queue `amq.rabbitmq.reply-to`, with no reply queue to declare.
 *
 *   Step 1: connect and open a channel
 *   Step 2: consume `amq.rabbitmq.reply-to` with autoAck true. This must
 *           come BEFORE publishing any request with that replyTo: RabbitMQ
 *           refuses such a publish on a channel that is not consuming it.
 *   Step 3: publish each request to the server's queue with
 *           `replyTo: 'amq.rabbitmq.reply-to'` and a unique `correlationId`
 *   Step 4: match each reply to its request by `correlationId`; print the
 *           results once all have arrived, then close
 *
 * Run with an `examples/rpc-server.ts` running on the same broker:
 *   npx tsx examples/rpc-client.ts --count 10
 *
 * Options: `--count N` requests for fib(0) .. fib(N-1) (10), `--queue NAME`
 * (rpc_queue), `--timeout SECONDS` (30). Exit code 0 when every reply arrived and is right.
 */
import { type Channel, SelectConnection, URLParameters, spec } from '../lib';
import { AMQP_URL, option, exitOnOpenError } from './support/cli';

const REPLY_TO = 'amq.rabbitmq.reply-to';

const QUEUE = option('queue', 'rpc_queue');
const COUNT = Number(option('count', '10'));
const TIMEOUT = Number(option('timeout', '30'));

/** Requests awaiting a reply, by correlation id. */
const outstanding = new Map<string, number>();
const results = new Map<number, string>();
let wrong = 0;

/** What the server should answer, to check the replies. */
function fib(n: number): string {
  let a = 0n;
  let b = 1n;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a.toString();
}

// Step 4
function onReply(_ch: Channel, _method: spec.Basic.Deliver, props: spec.BasicProperties, body: Buffer): void {
  const n = props.correlationId === undefined ? undefined : outstanding.get(props.correlationId);
  if (n === undefined) {
    console.log(`ignoring a reply with unknown correlationId ${props.correlationId}`);
    return;
  }
  outstanding.delete(props.correlationId!);
  const value = body.toString();
  results.set(n, value);
  if (value !== fib(n)) wrong += 1;
  if (outstanding.size === 0) finish();
}

function finish(): void {
  for (const [n, value] of [...results].sort((a, b) => a[0] - b[0])) console.log(`fib(${n}) = ${value}`);
  const correct = results.size - wrong;
  console.log(`${correct}/${COUNT} replies correct${outstanding.size ? `, ${outstanding.size} missing` : ''}`);
  process.exitCode = correct === COUNT ? 0 : 1;
  if (connection.isOpen) connection.close();
}

// Step 1
const connection = new SelectConnection({
  parameters: new URLParameters(AMQP_URL),
  onOpenError: exitOnOpenError,
  onClose: (_c, reason) => {
    if (outstanding.size > 0 || results.size < COUNT) {
      console.error(`connection closed early: ${reason.message}`);
      process.exitCode = 1;
    }
  },
  onOpen: (conn) =>
    conn.channel((err, channel) => {
      if (err) throw err;
      // Step 2: consume the reply pseudo-queue first (autoAck is required by direct reply-to)
      channel.basicConsume(REPLY_TO, onReply, { autoAck: true }, (err) => {
        if (err) throw err;
        // Step 3: then send the requests
        for (let n = 0; n < COUNT; n++) {
          const correlationId = `${process.pid}-${n}-${Math.random().toString(36).slice(2)}`;
          outstanding.set(correlationId, n);
          channel.basicPublish('', QUEUE, String(n), { replyTo: REPLY_TO, correlationId });
        }
        console.log(`sent ${COUNT} requests to ${QUEUE}`);
        if (COUNT === 0) finish();
      });
    }),
});

// A pending timer keeps Node running even after the loop stops: onClose removes it.
const timeout = connection.ioloop.callLater(TIMEOUT, () => {
  if (!connection.isOpen) return;
  console.error(`timed out after ${TIMEOUT} s`);
  finish();
});
connection.addOnCloseCallback(() => connection.ioloop.removeTimeout(timeout));
process.once('SIGINT', () => finish());
void connection.ioloop.start();
