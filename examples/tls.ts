/**
 * Connecting over TLS (amqps://), verifying the broker's certificate against
 * a CA file; optionally logging in with a client certificate (SASL EXTERNAL).
 *
 *   Step 1: take host, port, vhost and credentials from the amqps:// URL
 *   Step 2: add TLS options: `ca` (the CA that signed the broker's certificate),
 *           and with `--external` a client `cert` and `key` plus
 *           `ExternalCredentials` (the broker maps the certificate's CN to a user)
 *   Step 3: connect, round-trip one message through a private queue, close
 *
 * `tools/with-broker.ts` starts its throwaway broker with a TLS listener and
 * sets AMQPS_URL, CONEY_TLS_CA, CONEY_TLS_CERT and CONEY_TLS_KEY:
 *   npx tsx tools/with-broker.ts npx tsx examples/tls.ts
 *   npx tsx tools/with-broker.ts npx tsx examples/tls.ts --external
 * With your own broker:
 *   AMQPS_URL=amqps://guest:guest@broker.example:5671/ CONEY_TLS_CA=ca.pem npx tsx examples/tls.ts
 *
 * The same from a URL alone (pika's ssl_options, JSON in the query string):
 *   new URLParameters('amqps://host:5671/?ssl_options=' + encodeURIComponent(JSON.stringify({ ca_certs: 'ca.pem' })))
 */
import * as fs from 'node:fs';
import { ConnectionParameters, ExternalCredentials, SelectConnection, type TlsOptions, URLParameters } from '../lib';
import { flag } from './support/cli';

const AMQPS_URL = process.env['AMQPS_URL'] ?? 'amqps://guest:guest@localhost:5671/';
const CA_FILE = process.env['CONEY_TLS_CA'];
const EXTERNAL = flag('external');
const QUEUE = `coney-tls-${process.pid}`;

// Step 1
const url = new URLParameters(AMQPS_URL);

// Step 2
const tlsOptions: TlsOptions = { rejectUnauthorized: true };
if (CA_FILE) tlsOptions.ca = fs.readFileSync(CA_FILE);
if (EXTERNAL) {
  const { CONEY_TLS_CERT, CONEY_TLS_KEY } = process.env;
  if (!CONEY_TLS_CERT || !CONEY_TLS_KEY) {
    console.error('--external needs CONEY_TLS_CERT and CONEY_TLS_KEY (client certificate and key, PEM)');
    process.exit(2);
  }
  tlsOptions.cert = fs.readFileSync(CONEY_TLS_CERT);
  tlsOptions.key = fs.readFileSync(CONEY_TLS_KEY);
}
const parameters = new ConnectionParameters({
  host: url.host,
  port: url.port,
  virtualHost: url.virtualHost,
  credentials: EXTERNAL ? new ExternalCredentials() : url.credentials,
  ssl: tlsOptions,
});

let ok = false;

// Step 3
const connection = new SelectConnection({
  parameters,
  onOpenError: (_c, err) => {
    console.error(`could not connect to ${parameters}: ${err.constructor.name}: ${err.message}`);
    process.exitCode = 1;
  },
  onClose: (_c, reason) => {
    console.log(`connection closed: ${reason.message}`);
    process.exitCode = ok ? 0 : 1;
  },
  onOpen: (conn) => {
    // serverProperties is a field table; RabbitMQ's product and version in it are strings
    const { product, version } = conn.serverProperties as { product?: string; version?: string };
    console.log(`connected over TLS to ${parameters} (${product} ${version})` + `${EXTERNAL ? ', logged in with SASL EXTERNAL' : ''}`);
    conn.channel((err, channel) => {
      if (err) throw err;
      const ch = channel;
      ch.queueDeclare(QUEUE, { exclusive: true });
      ch.basicPublish('', QUEUE, 'hello over TLS');
      ch.basicGet(
        QUEUE,
        (err, message) => {
          if (err) throw err;
          console.log(`round trip: ${message ? message.body.toString() : '(no message)'}`);
          ok = message?.body.toString() === 'hello over TLS';
          conn.close();
        },
        { autoAck: true },
      );
    });
  },
});

void connection.ioloop.start();
