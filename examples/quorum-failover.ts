/**
 * Publishing through a node failure: a quorum queue on a three-node cluster,
 * a connection that knows all three nodes (shuffled, so that clients spread
 * over the cluster) with automatic recovery, and publisher confirms. Kill
 * the node it is connected to (`kill -9` its beam.smp, or `rabbitmqctl
 * stop_app`): the connection moves to another node, every unanswered message
 * is republished, and each message ends acked. A message the broker nacks
 * (a quorum queue does while it elects a new leader) is published again
 * here: a nack means it was not enqueued.
 *
 * Run against `npm run cluster` (it prints CONEY_CLUSTER_URLS):
 *   npm run cluster                       # in one shell
 *   export CONEY_CLUSTER_URLS=...         # in another, as printed
 *   npx tsx examples/quorum-failover.ts --count 20000
 *
 * Options: `--count N` (20000), `--queue NAME` (quorum-jobs), `--window N`
 * (1000 unanswered at most). Exit code 0 when every message was acked.
 */
import { type Callback, type Channel, SelectConnection } from '../lib';
import { exitOnOpenError, option } from './support/cli';

const urls = (process.env['CONEY_CLUSTER_URLS'] ?? 'amqp://localhost:5672/,amqp://localhost:5673/,amqp://localhost:5674/').split(',');
const queue = option('queue', 'quorum-jobs');
const count = Number(option('count', '20000'));
const window = Number(option('window', '1000'));

let next = 0;
let acked = 0;
let nacked = 0;
let outstanding = 0;
const again: number[] = [];

const connection = new SelectConnection({
  parameters: urls,
  shuffleHosts: true,
  recovery: { initialDelay: 0.1, maxDelay: 5 },
  onOpen: (c) => {
    console.log(`connected to ${String(c.parameters)}`);
    c.channel(onChannelOpen);
  },
  onOpenError: exitOnOpenError,
  onRecovering: (c, reason, attempt) => console.log(`lost ${String(c.parameters)} (${reason.name}); reconnecting, round ${attempt}`),
  onRecovered: (c) => console.log(`recovered on ${String(c.parameters)}`),
  onClose: (_c, reason) => console.log(`connection closed: ${reason.message}`),
});

const onChannelOpen: Callback<Channel> = (err, channel) => {
  if (err !== null) throw err;
  channel.queueDeclare(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  channel.confirmDelivery(null, () => publishMore(channel));
};

/** Publishes (nacked ones first) while fewer than `window` are unanswered and the buffer takes more. */
function publishMore(channel: Channel): void {
  while (outstanding < window && (again.length > 0 || next < count)) {
    const id = again.length > 0 ? again.shift()! : next++;
    outstanding += 1;
    const more = channel.basicPublish(
      '',
      queue,
      `job ${id}`,
      { messageId: String(id), deliveryMode: 2 },
      { onConfirm: (e) => onConfirm(channel, id, e) },
    );
    if (!more) return connection.onceDrain(() => publishMore(channel));
  }
}

function onConfirm(channel: Channel, id: number, err: Error | null): void {
  outstanding -= 1;
  if (err === null) {
    acked += 1;
    if (acked % 5000 === 0) console.log(`acked ${acked}`);
  } else {
    nacked += 1;
    again.push(id); // not enqueued: publish it again
  }
  if (acked === count) {
    console.log(`final: ${acked} acked (${nacked} nack(s) published again)`);
    connection.close();
  } else publishMore(channel);
}

process.once('SIGINT', () => {
  if (!connection.isClosing && !connection.isClosed) connection.close();
});
