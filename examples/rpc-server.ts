/**
 * RPC server (RabbitMQ tutorial 6, in pika's style): consumes requests from
 * a queue, computes a Fibonacci number, and replies to the queue named in
 * the request's `replyTo` with the request's `correlationId`.
 *
 *   Step 1: connect and open a channel
 *   Step 2: declare the request queue; prefetch 1 so that several servers share the work
 *   Step 3: consume; for each request, publish the reply to `properties.replyTo`
 *           (the default exchange routes it; for direct reply-to that name is
 *           `amq.rabbitmq.reply-to.<token>`), then ack the request
 *
 * Run (in two shells, or see spec/examples/rpc.spec.ts):
 *   npx tsx examples/rpc-server.ts            # with AMQP_URL set, e.g. from `npm run broker`
 *   npx tsx examples/rpc-client.ts --count 10
 *
 * Options: `--queue NAME` (rpc_queue), `--count N` (stop after serving N
 * requests; default: until Ctrl-C).
 */
import { type Channel, SelectConnection, URLParameters, spec } from '../lib';
import { AMQP_URL, option, exitOnOpenError } from './support/cli';

const QUEUE = option('queue', 'rpc_queue');
const STOP_AFTER = Number(option('count', '0'));

let served = 0;

/** The "expensive" work: the n-th Fibonacci number, as a string (BigInt: exact for any n). */
function fib(n: number): string {
  let a = 0n;
  let b = 1n;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a.toString();
}

// Step 3
function onRequest(ch: Channel, method: spec.Basic.Deliver, props: spec.BasicProperties, body: Buffer): void {
  const n = Number(body.toString());
  const result = Number.isInteger(n) && n >= 0 && n <= 10000 ? fib(n) : `error: not a number from 0 to 10000: ${body.toString()}`;
  console.log(`fib(${body.toString()}) = ${result.length > 40 ? result.slice(0, 37) + '...' : result}  [${props.correlationId}]`);
  if (props.replyTo) {
    ch.basicPublish('', props.replyTo, result, { correlationId: props.correlationId, contentType: 'text/plain' });
  }
  ch.basicAck(method.deliveryTag);
  served += 1;
  if (STOP_AFTER > 0 && served >= STOP_AFTER && connection.isOpen) connection.close();
}

// Step 1
const connection = new SelectConnection({
  parameters: new URLParameters(AMQP_URL),
  onOpenError: exitOnOpenError,
  onClose: (_c, reason) => console.log(`connection closed: ${reason.message}; served ${served} requests`),
  onOpen: (conn) =>
    conn.channel((err, channel) => {
      if (err) throw err;
      // Step 2
      channel.queueDeclare(QUEUE);
      channel.basicQos({ prefetchCount: 1 });
      channel.basicConsume(QUEUE, onRequest, {}, (err) => {
        if (err) throw err;
        console.log(`awaiting RPC requests on ${QUEUE}`);
      });
    }),
});

process.once('SIGINT', () => {
  if (connection.isOpen) connection.close();
});
void connection.ioloop.start();
