/**
 * Blocked connections: when RabbitMQ hits a resource alarm (memory or disk)
 * it stops reading from publishing connections and tells clients so with
 * `connection.blocked`; `connection.unblocked` follows once the alarm clears.
 *
 *   Step 1: connect with `blockedConnectionTimeout`: if the broker keeps the
 *           connection blocked longer than that, the client closes it and
 *           `onClose` gets a ConnectionBlockedTimeout (pika's
 *           blocked_connection_timeout), so the application can fail over
 *           instead of hanging
 *   Step 2: register `addOnConnectionBlockedCallback` / `...UnblockedCallback`
 *   Step 3: publish a message every `--interval` seconds, pausing while blocked
 *           (anything published meanwhile would only pile up in memory)
 *
 * To provoke it, set the memory alarm threshold to 0 (everything is "too much"):
 *   rabbitmqctl set_vm_memory_high_watermark 0      # -> blocked
 *   rabbitmqctl set_vm_memory_high_watermark 0.4    # -> unblocked (the default)
 * For the throwaway broker of `npm run broker`, use the rabbitmqctl command it prints.
 * RabbitMQ blocks a connection when it next publishes, so keep this example publishing.
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/blocked-connection.ts
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/blocked-connection.ts --blocked-timeout 60
 *
 * Options: `--blocked-timeout SECONDS` (30), `--interval SECONDS` (0.5),
 * `--count N` (stop after N published messages; default: until Ctrl-C).
 * Exit code: 0 after a clean stop, 3 after a blocked-connection timeout, 1 otherwise.
 */
import { type Channel, ConnectionBlockedTimeout, ConnectionParameters, SelectConnection, type TimerHandle, URLParameters } from '../lib';
import { AMQP_URL, option, exitOnOpenError } from './support/cli';

const BLOCKED_TIMEOUT = Number(option('blocked-timeout', '30'));
const INTERVAL = Number(option('interval', '0.5'));
const COUNT = Number(option('count', '0'));
const QUEUE = `coney-blocked-${process.pid}`;

let channel: Channel | null = null;
let blocked = false;
let published = 0;
let stopping = false;
let timer: TimerHandle | null = null;

// Step 1
const url = new URLParameters(AMQP_URL);
const parameters = new ConnectionParameters({
  host: url.host,
  port: url.port,
  virtualHost: url.virtualHost,
  credentials: url.credentials,
  ssl: url.ssl,
  blockedConnectionTimeout: BLOCKED_TIMEOUT,
});

const connection = new SelectConnection({
  parameters,
  onOpenError: exitOnOpenError,
  onClose: (_c, reason) => {
    if (timer !== null) connection.ioloop.removeTimeout(timer);
    if (reason instanceof ConnectionBlockedTimeout) {
      console.log(`connection closed: blocked for too long (${reason.constructor.name}: ${reason.message})`);
      process.exitCode = 3;
    } else {
      console.log(`connection closed: ${reason.message}; published ${published}`);
      process.exitCode = stopping ? 0 : 1;
    }
  },
  onOpen: (conn) => {
    // Step 2
    conn.addOnConnectionBlockedCallback((_c, method) => {
      blocked = true;
      console.log(`blocked by the broker: ${method.reason} (closing if still blocked in ${BLOCKED_TIMEOUT} s)`);
    });
    conn.addOnConnectionUnblockedCallback(() => {
      blocked = false;
      console.log('unblocked: publishing again');
    });
    conn.channel((err, ch) => {
      if (err) throw err;
      channel = ch;
      channel.queueDeclare(QUEUE, { exclusive: true }, (err) => {
        if (err) throw err;
        console.log(`publishing every ${INTERVAL} s to ${QUEUE}`);
        publishNext();
      });
    });
  },
});

// Step 3
function publishNext(): void {
  timer = connection.ioloop.callLater(INTERVAL, () => {
    timer = null;
    if (stopping || channel === null || !channel.isOpen) return;
    if (!blocked) {
      published += 1;
      channel.basicPublish('', QUEUE, `message ${published}`);
      // Keep the queue small: this example is about the alarm, not about storing messages.
      if (published % 100 === 0) channel.queuePurge(QUEUE);
      if (published % 10 === 0) console.log(`published ${published}`);
    }
    if (COUNT > 0 && published >= COUNT) return stop();
    publishNext();
  });
}

function stop(): void {
  if (stopping) return;
  stopping = true;
  if (timer !== null) connection.ioloop.removeTimeout(timer);
  if (connection.isOpen) connection.close();
  else if (!connection.isClosed && !connection.isClosing) connection.close();
}

process.once('SIGINT', stop);
void connection.ioloop.start();
