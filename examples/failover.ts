/**
 * Failover across several brokers: pass a list of ConnectionParameters and
 * the connection tries them in order, round after round
 * (`connectionAttempts` rounds, `retryDelay` seconds between rounds), as
 * pika's connection workflow does.
 *
 *   Step 1: build the list: a dead address first (a port nobody listens on),
 *           then the real broker (from AMQP_URL)
 *   Step 2: connect: the dead one is refused, the next one is tried at once
 *   Step 3: once open, say how long it took; close
 *
 * With `--all-dead`, every entry is dead: after `connectionAttempts` rounds
 * `onOpenError` gets a ConnectionWorkflowFailed listing each attempt's error.
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/failover.ts
 *   npx tsx tools/with-broker.ts npx tsx examples/failover.ts --all-dead
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/failover.ts
 *
 * Options: `--attempts N` connectionAttempts (2), `--retry-delay SECONDS` (0.5).
 */
import * as net from 'node:net';
import { ConnectionParameters, ConnectionWorkflowFailed, SelectConnection, URLParameters } from '../lib';
import { AMQP_URL, option, flag } from './support/cli';

const ALL_DEAD = flag('all-dead');
const ATTEMPTS = Number(option('attempts', '2'));
const RETRY_DELAY = Number(option('retry-delay', '0.5'));

/** A loopback port with nothing listening on it: bind port 0, note the port, close. */
function deadPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function main(): Promise<void> {
  // Step 1
  const broker = new URLParameters(AMQP_URL);
  const common = {
    virtualHost: broker.virtualHost,
    credentials: broker.credentials,
    connectionAttempts: ATTEMPTS,
    retryDelay: RETRY_DELAY,
    socketTimeout: 2,
  };
  const dead = new ConnectionParameters({ ...common, host: '127.0.0.1', port: await deadPort() });
  const alive = new ConnectionParameters({ ...common, host: broker.host, port: broker.port, ssl: broker.ssl });
  const dead2 = new ConnectionParameters({ ...common, host: '127.0.0.1', port: await deadPort() });
  const list = ALL_DEAD ? [dead, dead2] : [dead, alive];
  console.log(`trying, in order, ${ATTEMPTS} round(s): ${list.join(', ')}`);

  // Step 2
  const started = performance.now();
  const connection = new SelectConnection({
    parameters: list,
    // Step 3
    onOpen: (conn) => {
      console.log(`connected after ${Math.round(performance.now() - started)} ms (the dead address was skipped)`);
      conn.close();
    },
    onOpenError: (_c, err) => {
      console.log(`could not connect after ${Math.round(performance.now() - started)} ms: ${err.constructor.name}`);
      if (err instanceof ConnectionWorkflowFailed) {
        err.attempts.forEach((e, i) => console.log(`  attempt ${i + 1}: ${e.constructor.name}: ${e.message}`));
      } else {
        console.log(`  ${err.message}`);
      }
      process.exitCode = ALL_DEAD ? 0 : 1; // with --all-dead, failing is the expected outcome
    },
    onClose: (_c, reason) => console.log(`connection closed: ${reason.message}`),
  });
  await connection.ioloop.start();
}

void main();
