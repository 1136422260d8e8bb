/**
 * Test helpers for specs that talk to a real RabbitMQ.
 *
 * `npm test` runs mocha under tools/with-broker.ts, which starts a throwaway
 * broker and exports its coordinates in the environment. A spec that needs
 * the broker calls these helpers; when the environment is missing they throw
 * loudly, so that such a spec FAILS instead of silently skipping.
 */
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';

const RABBITMQCTL = '/usr/lib/rabbitmq/bin/rabbitmqctl';

function required(name: string, why: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: ${why}`);
  return value;
}

const RUN_WITH_NPM_TEST = 'run the tests with npm test, which starts a throwaway RabbitMQ';

/** amqp:// URL of the broker under test (AMQP_URL). */
export function amqpUrl(): string {
  return required('AMQP_URL', RUN_WITH_NPM_TEST);
}

export interface AmqpsInfo {
  /** amqps://guest:guest@localhost:PORT/ */
  url: string;
  /** PEM file names */
  caFile: string;
  certFile: string;
  keyFile: string;
  /** PEM contents, ready for tls.ConnectionOptions */
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  /** broker user matching the client certificate (for SASL EXTERNAL) */
  clientUser: string;
}

/** The TLS listener of the throwaway broker (AMQPS_URL, CONEY_TLS_CA/CERT/KEY). */
export function amqpsInfo(): AmqpsInfo {
  const why = `${RUN_WITH_NPM_TEST} with a TLS listener (not available with your own AMQP_URL unless you also set AMQPS_URL, CONEY_TLS_CA, CONEY_TLS_CERT and CONEY_TLS_KEY)`;
  const url = required('AMQPS_URL', why);
  const caFile = required('CONEY_TLS_CA', why);
  const certFile = required('CONEY_TLS_CERT', why);
  const keyFile = required('CONEY_TLS_KEY', why);
  return {
    url,
    caFile,
    certFile,
    keyFile,
    ca: fs.readFileSync(caFile),
    cert: fs.readFileSync(certFile),
    key: fs.readFileSync(keyFile),
    clientUser: process.env['CONEY_TLS_CLIENT_USER'] || 'coney-client',
  };
}

/** A vhost on which guest has no permissions at all (CONEY_BROKER_DENIED_VHOST). */
export function deniedVhost(): string {
  return required('CONEY_BROKER_DENIED_VHOST', RUN_WITH_NPM_TEST);
}

/** A vhost other than '/' on which guest has full permissions (CONEY_BROKER_TEST_VHOST). */
export function testVhost(): string {
  return required('CONEY_BROKER_TEST_VHOST', RUN_WITH_NPM_TEST);
}

/**
 * Runs rabbitmqctl against the throwaway broker and resolves its stdout.
 * Needs CONEY_BROKER_NODENAME and CONEY_BROKER_HOME (the Erlang cookie lives
 * there), and CONEY_BROKER_EPMD_PORT (the node registers with a private epmd).
 */
export function rabbitmqctl(args: string[], timeoutMs = 60000): Promise<string> {
  const why = `${RUN_WITH_NPM_TEST}; rabbitmqctl is only available for the throwaway broker, not for your own AMQP_URL`;
  const nodename = required('CONEY_BROKER_NODENAME', why);
  const home = required('CONEY_BROKER_HOME', why);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    LC_ALL: 'C.UTF-8',
    LANG: 'C.UTF-8',
    RABBITMQ_CONF_ENV_FILE: '/dev/null', // not /etc/rabbitmq/rabbitmq-env.conf
  };
  if (process.env['CONEY_BROKER_EPMD_PORT']) {
    env['ERL_EPMD_PORT'] = process.env['CONEY_BROKER_EPMD_PORT'];
    env['RABBITMQ_CTL_ERL_ARGS'] = '-start_epmd false';
  }
  return new Promise((resolve, reject) => {
    execFile(RABBITMQCTL, ['-n', nodename, ...args], { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`rabbitmqctl ${args.join(' ')} failed: ${err.message}\n${String(stderr)}`.trim()));
      else resolve(String(stdout));
    });
  });
}

/** A name unique to this run for queues, exchanges, consumer tags: `${prefix}-<pid>-<random>`. */
export function uniqueName(prefix = 'coney'): string {
  return `${prefix}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
}

/** One column (`pid`, `peer_port`...) of the broker's view of the connection whose client properties carry `connectionName`. */
export async function brokerConnectionInfo(connectionName: string, column: string): Promise<string> {
  const out = await rabbitmqctl(['list_connections', column, 'client_properties', '--no-table-headers', '-q']);
  const line = out.split('\n').find((l) => l.includes(`{"connection_name","${connectionName}"}`));
  if (line === undefined) throw new Error(`no broker connection named ${connectionName} in:\n${out}`);
  return line.split('\t')[0].trim();
}
