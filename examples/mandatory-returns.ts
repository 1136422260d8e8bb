/**
 * Mandatory publishing: a message that no queue would receive comes back
 * with `basic.return` instead of being dropped silently.
 *
 *   Step 1: connect, open a channel, declare a private queue
 *   Step 2: register `addOnReturnCallback` and turn on publisher confirms
 *   Step 3: publish with `mandatory = true`, once to the queue (routable) and
 *           once to a routing key with no queue (unroutable)
 *   Step 4: the unroutable one is returned (312 NO_ROUTE) to the return
 *           callback; the broker then acks both publishes (a confirm says
 *           "handled", and a return is a way of handling it). Close once both
 *           confirms are in.
 *
 * Without `mandatory`, the unroutable message would simply be dropped.
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/mandatory-returns.ts
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/mandatory-returns.ts
 */
import { type Channel, SelectConnection, URLParameters, spec } from '../lib';
import { AMQP_URL, exitOnOpenError } from './support/cli';

const QUEUE = `coney-mandatory-${process.pid}`;
const NOWHERE = `coney-no-such-queue-${process.pid}`;

let returned = 0;
let confirms = 0;

// Step 4
function onReturn(_ch: Channel, method: spec.Basic.Return, properties: spec.BasicProperties, body: Buffer): void {
  returned += 1;
  console.log(
    `returned: ${method.replyCode} ${method.replyText} (exchange ${JSON.stringify(method.exchange)}, ` +
      `routing key ${method.routingKey}, messageId ${properties.messageId}): ${body.toString()}`,
  );
}

function onConfirm(_ch: Channel, method: spec.Basic.Ack | spec.Basic.Nack): void {
  const settled = method.multiple ? method.deliveryTag - confirms : 1;
  confirms += settled;
  console.log(`${method instanceof spec.Basic.Ack ? 'ack' : 'nack'} for delivery tag ${method.deliveryTag}${method.multiple ? ' (multiple)' : ''}`);
  if (confirms === 2) connection.close();
}

// Step 1
const connection = new SelectConnection({
  parameters: new URLParameters(AMQP_URL),
  onOpenError: exitOnOpenError,
  onClose: (_c, reason) => {
    console.log(`connection closed: ${reason.message}; ${returned} message(s) returned`);
    process.exitCode = returned === 1 && confirms === 2 ? 0 : 1;
  },
  onOpen: (conn) =>
    conn.channel((err, channel) => {
      if (err) throw err;
      const ch = channel;
      ch.queueDeclare(QUEUE, { exclusive: true });
      // Step 2
      ch.addOnReturnCallback(onReturn);
      ch.confirmDelivery(onConfirm, (err) => {
        if (err) throw err;
        // Step 3: the default exchange routes by queue name
        ch.basicPublish('', QUEUE, 'this one has a queue', { messageId: 'routable' }, true);
        ch.basicPublish('', NOWHERE, 'this one has nowhere to go', { messageId: 'unroutable' }, true);
        console.log('published 2 mandatory messages');
      });
    }),
});

void connection.ioloop.start();
