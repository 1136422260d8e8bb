/**
 * The asynchronous publisher with automatic recovery: publisher confirms,
 * and no message lost when the connection drops. Each publish gets its
 * outcome through `onConfirm`; what the broker had not answered when the
 * connection dropped is republished after recovery and answered under its
 * original sequence number. At-least-once: a republished message may arrive
 * twice (give each a `messageId` so that consumers can tell).
 *
 * The memory kept for republishing is the confirm window: here at most
 * `--window` unanswered messages (publishing waits while that many are
 * pending, and while basicPublish says the buffer is full).
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/asynchronous-publisher-recovery.ts --count 1000
 *
 * Options: `--count N` (1000), `--window N` (100), `--exchange NAME`
 * (message), `--queue NAME` (text), `--routing-key KEY` (example.text).
 * Exit code 0 when every message was acked.
 */
import { type Callback, type Channel, SelectConnection, URLParameters } from '../lib';
import { AMQP_URL, exitOnOpenError, option } from './support/cli';

const exchange = option('exchange', 'message');
const queue = option('queue', 'text');
const routingKey = option('routing-key', 'example.text');
const count = Number(option('count', '1000'));
const window = Number(option('window', '100'));

let published = 0;
let acked = 0;
let failed = 0;

const connection = new SelectConnection({
  parameters: new URLParameters(AMQP_URL),
  recovery: true,
  onOpen: (c) => c.channel(onChannelOpen),
  onOpenError: exitOnOpenError,
  onRecovering: (_c, reason, attempt) => console.log(`connection lost (${reason.name}); reconnecting, round ${attempt}`),
  onRecovered: () => console.log(`recovered: ${published - acked - failed} unanswered publish(es) republished`),
  onClose: (_c, reason) => console.log(`connection closed: ${reason.message}`),
});

const onChannelOpen: Callback<Channel> = (err, channel) => {
  if (err !== null) throw err;
  channel.exchangeDeclare(exchange, { type: 'topic' });
  channel.queueDeclare(queue, { durable: true });
  channel.queueBind(queue, exchange, routingKey);
  channel.confirmDelivery(null, () => publishMore(channel));
};

/** Publishes until the window is full; each confirm makes room for the next. */
function publishMore(channel: Channel): void {
  while (published < count && published - acked - failed < window) {
    const seq = channel.nextPublishSeqNo;
    published += 1;
    const more = channel.basicPublish(
      exchange,
      routingKey,
      `message ${published}`,
      { messageId: `m-${seq}`, deliveryMode: 2 },
      {
        onConfirm: (e) => onConfirm(channel, e),
      },
    );
    if (!more) return connection.onceDrain(() => publishMore(channel));
  }
}

function onConfirm(channel: Channel, err: Error | null): void {
  if (err === null) {
    acked += 1;
    if (acked % 500 === 0) console.log(`acked ${acked}`);
  } else {
    failed += 1;
    console.error(`a publish failed: ${err.message}`);
  }
  if (acked + failed === count) {
    console.log(`final: published ${published}, acked ${acked}, failed ${failed}`);
    process.exitCode = failed === 0 ? 0 : 1;
    connection.close();
  } else publishMore(channel);
}

process.once('SIGINT', () => {
  if (!connection.isClosing && !connection.isClosed) connection.close();
});
