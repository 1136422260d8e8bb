/**
 * TokenCredentials against RabbitMQ 3.10 with its internal backend, where
 * the "token" is the user's password: the test's provider changes the
 * user's password (rabbitmqctl change_password) to each new token before
 * handing it out, so that a login only works with the newest token. Tokens
 * live 2 s, so each refresh comes about 1.6 s (plus the provider's own
 * time, rabbitmqctl's) after the provider call.
 *
 * What the internal backend checks (measured on 3.10.8): the login checks
 * the password, but `connection.update-secret` is answered with
 * update-secret-ok whatever the new secret (its update_state accepts any).
 * So the second part starts a node of its own with RabbitMQ's OAuth 2
 * backend (rabbitmq_auth_backend_oauth2, HS256 signing key of the test's
 * own), which checks every token, at the login and at each update-secret:
 * real JWTs expiring after 2 to 3 s are refreshed, a reconnect after the
 * first token expired logs in with the newest one, and a token signed with
 * another key is refused with 530 NOT_ALLOWED, which closes the connection.
 */
import { expect } from 'chai';
import * as crypto from 'node:crypto';
import {
  type ConnectionParameters,
  ConnectionClosedByBroker,
  type ErrorCallback,
  PlainCredentials,
  ProbableAuthenticationError,
  type SelectConnection,
  TokenCredentials,
  type TokenProviderError,
} from '../../lib';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { type Broker, RABBITMQ_BIN_DIR, startBroker } from '../../tools/rabbitmq-node';
import { brokerConnectionInfo, rabbitmqctl, uniqueName } from '../support/broker';
import { brokerParameters, closeConnection, openChannel, openConnection, within } from '../support/callbacks';
import { eventually } from '../support/polling';

/** How long each token is valid. */
const VALIDITY_MS = 2000;

describe('TokenCredentials against RabbitMQ (internal backend: each token becomes the password)', function () {
  this.timeout(120000);

  const user = uniqueName('coney-token');
  /** The tokens handed out, in order. */
  const issued: string[] = [];
  const refreshErrors: TokenProviderError[] = [];
  const callbackErrors: unknown[] = [];
  let connection: SelectConnection | undefined;

  /** A new random token, made the user's password before it is returned. */
  async function provider(): Promise<{ username: string; token: string; expiresAt: Date }> {
    const token = crypto.randomBytes(16).toString('hex');
    await rabbitmqctl(['change_password', user, token]);
    issued.push(token);
    return { username: user, token, expiresAt: new Date(Date.now() + VALIDITY_MS) };
  }

  before(async () => {
    await rabbitmqctl(['add_user', user, crypto.randomBytes(16).toString('hex')]);
    await rabbitmqctl(['set_permissions', '-p', '/', user, '.*', '.*', '.*']);
  });

  after(async () => {
    if (connection !== undefined) await closeConnection(connection).catch(() => undefined);
    await rabbitmqctl(['delete_user', user]);
  });

  it('survives several refreshes (each answered by update-secret-ok), then reconnects with the newest token', async () => {
    const credentials = new TokenCredentials(provider, { onRefreshError: (err) => refreshErrors.push(err) });
    const name = uniqueName('token-refresh');
    const recovered: number[] = [];
    connection = await openConnection({
      parameters: brokerParameters({ credentials, connectionName: name }),
      recovery: { initialDelay: 0.1, maxDelay: 1 },
      onRecovered: () => recovered.push(Date.now()),
      onCallbackError: (err) => callbackErrors.push(err),
    });
    const open = connection;
    expect(issued).to.have.length(1);

    // Counts the broker's update-secret-ok answers to the refreshes.
    const answers: Array<Error | null> = [];
    const updateSecret = open.updateSecret.bind(open);
    open.updateSecret = (secret: string, reason: string, cb?: ErrorCallback) =>
      updateSecret(secret, reason, (err) => {
        answers.push(err);
        cb?.(err);
      });

    await eventually(() => answers.length >= 3, 40000, 'three refreshes answered by the broker');
    expect(answers.slice(0, 3)).to.deep.equal([null, null, null]);
    expect(open.isOpen).to.equal(true);
    expect(issued.length).to.be.at.least(4); // the login's token and three refreshed ones
    const channel = await within(10000, openChannel(open), 'opening a channel after the refreshes');
    expect(channel.isOpen).to.equal(true);

    // The broker drops the connection: recovery logs in again, which only the newest token (the password now) can.
    await rabbitmqctl(['close_connection', await brokerConnectionInfo(name, 'pid'), 'token-refresh test']);
    await eventually(() => recovered.length === 1, 30000, 'recovery after close_connection');
    expect(open.isOpen).to.equal(true);
    // The first token is no longer the password: the recovered login did not use it.
    const stale = await openConnection({ parameters: brokerParameters({ credentials: new PlainCredentials(user, issued[0]) }) }).then(
      (c) => closeConnection(c).then(() => null),
      (err: Error) => err,
    );
    expect(stale).to.be.instanceOf(ProbableAuthenticationError);
    // And refreshing goes on over the new connection.
    const before = answers.length;
    await eventually(() => answers.length >= before + 1, 20000, 'a refresh after the recovery');
    expect(answers[answers.length - 1]).to.equal(null);
    expect(refreshErrors).to.deep.equal([]);
    expect(callbackErrors).to.deep.equal([]);
    await closeConnection(open);
    connection = undefined;
  });
});

/** The HS256 key id the OAuth 2 node trusts. */
const KEY_ID = 'coney-test';

/** A JWT for RabbitMQ's OAuth 2 backend (audience `rabbitmq`, full access to every vhost), signed with `key`, expiring at `exp` (s). */
function jwt(key: Buffer, exp: number): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const scope = ['rabbitmq.configure:*/*', 'rabbitmq.read:*/*', 'rabbitmq.write:*/*'];
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT', kid: KEY_ID })}.${part({ sub: 'coney-oauth-client', aud: ['rabbitmq'], scope, exp })}`;
  return `${unsigned}.${crypto.createHmac('sha256', key).update(unsigned).digest('base64url')}`;
}

/** The node's OAuth 2 settings: the resource server id and the one signing key (advanced.config). */
function oauthConfig(key: Buffer): string {
  const k = key.toString('base64url');
  const jwk = `#{<<"kty">> => <<"oct">>, <<"alg">> => <<"HS256">>, <<"k">> => <<"${k}">>, <<"value">> => <<"${k}">>}`;
  return `[{rabbitmq_auth_backend_oauth2, [{resource_server_id, <<"rabbitmq">>}, {key_config, [{default_key, <<"${KEY_ID}">>}, {signing_keys, #{<<"${KEY_ID}">> => {map, ${jwk}}}}]}]}].`;
}

/** Runs rabbitmq-plugins against `broker` (its own enabled_plugins file, not /etc/rabbitmq's). */
function rabbitmqPlugins(broker: Broker, args: string[]): Promise<string> {
  const env = { ...process.env, ...broker.ctlEnv, RABBITMQ_ENABLED_PLUGINS_FILE: path.join(broker.dir, 'enabled_plugins') };
  return new Promise((resolve, reject) => {
    execFile(`${RABBITMQ_BIN_DIR}/rabbitmq-plugins`, ['-n', broker.nodename, ...args], { env, timeout: 60000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`rabbitmq-plugins ${args.join(' ')} failed: ${err.message}\n${String(stderr)}`));
      else resolve(String(stdout));
    });
  });
}

describe('TokenCredentials against RabbitMQ’s OAuth 2 backend (a node of its own; every token checked)', function () {
  // The node's start and the plugin's (about 15 s on 2 cores; more on a loaded machine) are in before().
  this.timeout(180000);

  const key = crypto.randomBytes(32);
  let broker: Broker | undefined;
  const opened: SelectConnection[] = [];

  before(async () => {
    broker = await startBroker({ handleSignals: false, advancedConfig: oauthConfig(key) });
    // startBroker's nodes boot without plugins: the backend is enabled on the running node, then put first
    // (RabbitMQ reads auth_backends at each login; the internal backend stays for guest).
    await rabbitmqPlugins(broker, ['enable', 'rabbitmq_auth_backend_oauth2']);
    await broker.ctl(['eval', 'application:set_env(rabbit, auth_backends, [rabbit_auth_backend_oauth2, rabbit_auth_backend_internal]).']);
  });

  after(async () => {
    for (const c of opened) await closeConnection(c).catch(() => undefined);
    await broker?.stop();
  });

  /** Parameters for the OAuth 2 node with `credentials`. */
  function oauthParameters(credentials: TokenCredentials, connectionName?: string): ConnectionParameters {
    return brokerParameters({ host: broker!.host, port: broker!.port, virtualHost: '/', credentials, connectionName });
  }

  /** The broker's pid of the connection named `name`, for close_connection. */
  async function connectionPid(name: string): Promise<string> {
    const out = await broker!.ctl(['list_connections', 'pid', 'client_properties', '--no-table-headers', '-q']);
    const line = out.split('\n').find((l) => l.includes(`{"connection_name","${name}"}`));
    if (line === undefined) throw new Error(`no connection named ${name} in:\n${out}`);
    return line.split('\t')[0].trim();
  }

  it('refreshes real JWTs (each checked by the broker) and reconnects, after the first one expired, with the newest', async () => {
    const expiries: number[] = [];
    const refreshErrors: TokenProviderError[] = [];
    const credentials = new TokenCredentials(
      () => {
        const exp = Math.ceil((Date.now() + VALIDITY_MS) / 1000); // a JWT's exp is in whole seconds: 2 to 3 s from now
        expiries.push(exp * 1000);
        return { token: jwt(key, exp), expiresAt: new Date(exp * 1000) };
      },
      { onRefreshError: (err) => refreshErrors.push(err) },
    );
    const recovered: number[] = [];
    const callbackErrors: unknown[] = [];
    const name = uniqueName('token-oauth');
    const connection = await openConnection({
      parameters: oauthParameters(credentials, name),
      recovery: { initialDelay: 0.1, maxDelay: 1 },
      onRecovered: () => recovered.push(Date.now()),
      onCallbackError: (err) => callbackErrors.push(err),
    });
    opened.push(connection);
    await eventually(() => expiries.length >= 4 && Date.now() > expiries[0] + 500, 30000, 'three refreshes, and the first token expired');
    expect(connection.isOpen).to.equal(true);
    await within(10000, openChannel(connection), 'opening a channel after the refreshes');
    // The broker drops the connection: the first token has expired, the reconnect must log in with a newer one.
    await broker!.ctl(['close_connection', await connectionPid(name), 'token-refresh test']);
    await eventually(() => recovered.length === 1, 30000, 'recovery');
    expect(connection.isOpen).to.equal(true);
    expect(refreshErrors).to.deep.equal([]);
    expect(callbackErrors).to.deep.equal([]);
    // A login with the expired first token is refused: the recovered connection did not use it.
    const expired = new TokenCredentials(() => ({ token: jwt(key, expiries[0] / 1000) }));
    const refused = await openConnection({ parameters: oauthParameters(expired) }).then(
      (c) => closeConnection(c).then(() => null),
      (err: Error) => err,
    );
    expect(refused).to.be.instanceOf(ProbableAuthenticationError);
  });

  it('closes with a clear reason when the broker refuses a refreshed token (530), without recovering', async () => {
    let calls = 0;
    const credentials = new TokenCredentials(() => {
      calls += 1;
      const exp = Math.ceil((Date.now() + VALIDITY_MS) / 1000);
      // The second token is signed with a key the broker does not know.
      return { token: jwt(calls === 1 ? key : crypto.randomBytes(32), exp), expiresAt: new Date(exp * 1000) };
    });
    const recovering: Error[] = [];
    const connection = await openConnection({
      parameters: oauthParameters(credentials),
      recovery: { initialDelay: 0.1 },
      onRecovering: (_c, reason) => recovering.push(reason),
    });
    opened.push(connection);
    const reason = await within(
      15000,
      new Promise<Error>((resolve) => connection.addOnCloseCallback((_c, why) => resolve(why))),
      'the close after the refused token',
    );
    expect(reason).to.be.instanceOf(ConnectionClosedByBroker);
    expect((reason as ConnectionClosedByBroker).replyCode).to.equal(530);
    expect(reason.message).to.equal(
      'the broker refused the new secret (a refreshed token) sent with connection.update-secret and closed the connection: ' +
        '(530) NOT_ALLOWED - New secret was refused by one of the backends',
    );
    expect(calls).to.equal(2);
    expect(recovering).to.deep.equal([]);
  });
});
