/**
 * The rules of the AMQP opening handshake, apart from the connection's
 * state: what to answer to `connection.start` and `connection.tune`, and
 * which error a failure at each step most probably means (pika's mapping).
 * @packageDocumentation
 */
import {
  ConnectionClosedByBroker,
  IncompatibleProtocolError,
  InvalidArgumentError,
  ProbableAccessDeniedError,
  ProbableAuthenticationError,
  StreamLostError,
} from '../errors';
import type { FieldTable } from '../wire/field-table';
import * as spec from '../wire/spec';
import { clientProperties } from './client-properties';
import { selectMechanism } from './credentials';
import { type ConnectionParameters, negotiateHeartbeat, negotiateLimit } from './parameters';

/** Where the handshake has got to; decides how a failure is reported. */
export type HandshakeStep = 'connecting' | 'awaiting-start' | 'awaiting-tune' | 'awaiting-open-ok';

/** The values both sides agreed on in `connection.tune-ok`. */
export interface TunedLimits {
  channelMax: number;
  frameMax: number;
  heartbeat: number;
}

/**
 * The `connection.start-ok` answering `start`. Throws an AuthenticationError
 * when the broker offers no mechanism the credentials support. Erases
 * credentials that ask for it, once they have been used.
 */
export function startOk(params: ConnectionParameters, start: spec.Connection.Start): spec.Connection.StartOk {
  const credentials = params.credentials;
  selectMechanism(credentials, String(start.mechanisms));
  const reply = new spec.Connection.StartOk({
    clientProperties: clientProperties(params.clientProperties as FieldTable, params.connectionName),
    mechanism: credentials.mechanism,
    response: credentials.response(),
    locale: params.locale,
  });
  if ('eraseOnConnect' in credentials && credentials.eraseOnConnect) credentials.erase();
  return reply;
}

/**
 * Negotiates the limits from the broker's proposal (0 means "no limit" on
 * either side) and the heartbeat (pika's rule: a client value wins). Throws
 * when a heartbeat callable returns an invalid value.
 */
export function tuneLimits(params: ConnectionParameters, tune: spec.Connection.Tune, connection: unknown): TunedLimits {
  return {
    // Never 0: validated parameters have channelMax >= 1 and frameMax >= 4096, and 0 from the broker means "no limit".
    channelMax: negotiateLimit(params.channelMax, tune.channelMax),
    frameMax: negotiateLimit(params.frameMax, tune.frameMax),
    heartbeat: negotiateHeartbeat(params, connection, tune.heartbeat),
  };
}

/**
 * The broker's names of the limits negotiated in `connection.tune-ok`, with
 * the option that sets each. RabbitMQ checks them when tune-ok arrives and
 * closes the connection (530 NOT_ALLOWED, "negotiated frame_max = 4096 is
 * lower than the minimum allowed value (8192)") while the client already
 * awaits open-ok, where the close would otherwise read as a refused vhost.
 */
const TUNED_LIMITS: ReadonlyArray<{ pattern: RegExp; option: 'frameMax' | 'channelMax' }> = [
  { pattern: /frame[-_ ]?max/i, option: 'frameMax' },
  { pattern: /channel[-_ ]?max/i, option: 'channelMax' },
];

/**
 * A broker close during the handshake that refuses a negotiated limit: an
 * InvalidArgumentError naming the option (final: another attempt with the
 * same value is refused again), whose cause is the broker's close. RabbitMQ
 * 4.1 and later refuse a frameMax below 8192 (their frame-min-size), which
 * older brokers and the AMQP 0-9-1 minimum of 4096 allow.
 */
function refusedLimit(close: spec.Connection.Close, params: ConnectionParameters | null): InvalidArgumentError | null {
  const { replyCode, replyText } = close;
  const limit = TUNED_LIMITS.find((l) => l.pattern.test(replyText));
  if (limit === undefined) return null;
  const value = params === null ? '' : ` ${params[limit.option]}`;
  const advice =
    limit.option === 'frameMax' && params !== null && params.frameMax < 8192
      ? '; RabbitMQ 4.1 and later require frameMax >= 8192 (the default, 131072, suits every broker)'
      : '';
  return new InvalidArgumentError(`the broker refused ${limit.option}${value} (${replyCode} ${replyText})${advice}`, {
    cause: new ConnectionClosedByBroker(replyCode, replyText),
  });
}

/**
 * A broker `connection.close` during (or after, step null) the handshake, as
 * the error a user can act on. `updatingSecret`: a `connection.update-secret`
 * awaits its answer, so a 530 NOT_ALLOWED is the broker refusing the new
 * secret (RabbitMQ: "New secret was refused by one of the backends").
 */
export function brokerCloseError(
  step: HandshakeStep | null,
  close: spec.Connection.Close,
  params: ConnectionParameters | null,
  updatingSecret = false,
): Error {
  const { replyCode, replyText } = close;
  const refused = step === null ? null : refusedLimit(close, params);
  if (refused !== null) return refused;
  if (updatingSecret && replyCode === spec.NOT_ALLOWED) {
    const message = `the broker refused the new secret (a refreshed token) sent with connection.update-secret and closed the connection: (${replyCode}) ${replyText}`;
    return new ConnectionClosedByBroker(replyCode, replyText, message);
  }
  if (step === 'awaiting-tune' && replyCode === spec.ACCESS_REFUSED) {
    return new ProbableAuthenticationError(`the broker refused the login (${replyCode} ${replyText})`);
  }
  if (step === 'awaiting-open-ok') {
    return new ProbableAccessDeniedError(`the broker refused virtual host ${JSON.stringify(params?.virtualHost)} (${replyCode} ${replyText})`);
  }
  return new ConnectionClosedByBroker(replyCode, replyText);
}

/** pika's rule: a socket dropped after start-ok means the login failed, after tune-ok the vhost. */
export function handshakeLostError(step: HandshakeStep, err: Error | null): Error {
  const cause = err === null ? 'the broker closed the socket' : err.message;
  switch (step) {
    case 'awaiting-tune':
      return new ProbableAuthenticationError(`${cause} after connection.start-ok: probably a wrong user name or password`);
    case 'awaiting-open-ok':
      return new ProbableAccessDeniedError(`${cause} after connection.open: probably no access to the virtual host`);
    case 'awaiting-start':
      // pika's rule: a peer that drops us after our protocol header most often speaks another version.
      return new IncompatibleProtocolError(
        `${cause} after the protocol header, before connection.start: the peer probably does not speak AMQP 0-9-1`,
        err === null ? undefined : { cause: err },
      );
    default:
      return new StreamLostError(`${cause} during the handshake`, err === null ? undefined : { cause: err });
  }
}

/**
 * What the first bytes from a peer that is not an AMQP broker say about it:
 * a TLS record (a TLS port reached with plain `amqp://`) or an HTTP answer
 * (the management UI's port). Null when they are neither.
 */
export function foreignProtocol(firstBytes: Buffer, target: string): string | null {
  const b0 = firstBytes[0];
  if ((b0 === 0x15 || b0 === 0x16) && (firstBytes.length < 2 || firstBytes[1] === 0x03)) {
    return `${target} answered with a TLS record: it expects TLS. Use amqps:// (or ssl: true), or the plain AMQP port (5672)`;
  }
  if (firstBytes.subarray(0, 5).toString('latin1') === 'HTTP/') {
    return `${target} answered with HTTP: it is a web server (the management UI?), not an AMQP listener. Use the AMQP port (5672, or 5671 for amqps://)`;
  }
  return null;
}
