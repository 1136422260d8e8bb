/**
 * Connection parameters: where to connect, how to log in and what to
 * negotiate, validated once at construction so that a typo fails at the
 * call site instead of as a puzzling broker error later (pika's
 * `ConnectionParameters`, with camelCase names).
 * @packageDocumentation
 */

import { inspect, type InspectOptions } from 'util';
import { InvalidArgumentError } from '../errors';
import { Writer } from '../wire/codec';
import type { FieldTable } from '../wire/field-table';
import { DEFAULT_FRAME_MAX } from '../wire/frame';
import { DEFAULT_MAX_MESSAGE_SIZE } from '../wire/frame-parser';
import { closest, unknownNameHint } from './did-you-mean';
import { Credentials, PlainCredentials } from './credentials';
import type { TcpOptions, TlsOptions, TransportTarget } from './ioloop';

/**
 * Chooses the heartbeat timeout from the broker's proposal (`connection.tune`).
 * The connection type is `any` so that a callback annotated with the concrete
 * connection class still type-checks (parameters are checked contravariantly).
 * @category Parameters
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type HeartbeatCallback = (connection: any, brokerValue: number) => number;

/**
 * The options of {@link ConnectionParameters}; every one is optional.
 * @category Parameters
 */
export interface ConnectionParametersOptions {
  /** Broker host name or address (default `'localhost'`); IPv6 with or without brackets. */
  host?: string;
  /** Broker port, 1..65535 (default 5672, or 5671 when `ssl` is set). */
  port?: number;
  /** Virtual host (default `'/'`). */
  virtualHost?: string;
  /** Login (default `new PlainCredentials('guest', 'guest')`). */
  credentials?: Credentials;
  /** Highest channel number wanted, 1..65535 (default 65535; negotiated down with the broker). */
  channelMax?: number;
  /**
   * Largest frame wanted in bytes, 4096..2^32-1 (default 131072; negotiated with the broker).
   * Whatever is negotiated, the parser never buffers more than
   * {@link ConnectionParametersOptions.maxMessageSize} + 8 bytes for one frame.
   *
   * RabbitMQ 4.1 and later refuse a frame size below 8192: with a smaller
   * value the connection fails during the handshake with an
   * InvalidArgumentError naming `frameMax` (not retried). Values from 4096
   * still work with brokers that take them (the AMQP 0-9-1 minimum).
   */
  frameMax?: number;
  /**
   * Largest message body accepted from the broker, in bytes (default 128 MiB;
   * at most 512 MiB, RabbitMQ's own hard limit). A delivery whose content
   * header announces more closes its channel with 406 and is rejected without
   * requeue (a dead-letter exchange catches it); the parser never buffers a
   * frame larger than this plus the frame overhead.
   */
  maxMessageSize?: number;
  /**
   * Heartbeat timeout in seconds, 0 disables; or a function choosing it from the
   * broker's proposal. Default: accept the broker's value. As in pika 1.x, a value
   * given here always wins, even above the broker's or when the broker proposed 0.
   */
  heartbeat?: number | HeartbeatCallback;
  /** TLS: true for defaults, an options object, or false (default). */
  ssl?: TlsOptions | boolean;
  /** Connection attempts before giving up, integer >= 1 (default 1). */
  connectionAttempts?: number;
  /** Seconds between attempts, >= 0 (default 2.0). */
  retryDelay?: number;
  /** Seconds the TCP (and TLS) connect may take, > 0 (default 10). */
  socketTimeout?: number;
  /** Seconds the whole TCP + TLS + AMQP handshake may take, > 0 (default 15). */
  stackTimeout?: number;
  /** Seconds the broker may keep the connection blocked before it is closed; null: forever (default). */
  blockedConnectionTimeout?: number | null;
  /** Locale for `connection.start-ok` (default `'en_US'`). */
  locale?: string;
  /**
   * A name for this connection, sent as the client property
   * `connection_name`: the management UI and `rabbitmqctl list_connections
   * client_properties` show it, so that operators can tell connections apart.
   * URL option `connection_name`. At most 255 bytes of UTF-8.
   */
  connectionName?: string;
  /** A field table merged over the library's own client properties (default `{}`). */
  clientProperties?: Record<string, unknown>;
  /** Socket options, merged over the default `{ noDelay: true }`. */
  tcpOptions?: TcpOptions;
  /** A Unix socket path; when set, host and port are not used to connect. */
  socketPath?: string;
}

/** An option name. */
type OptionName = keyof ConnectionParametersOptions;

/** The options after validation: `ssl: true` became `{}`, tcpOptions include the defaults. */
interface NormalizedOptions extends Omit<ConnectionParametersOptions, 'ssl'> {
  ssl?: TlsOptions | false;
}

/** Checks one option value and returns it normalized; `label` names it in messages. */
type Validator<T> = (value: unknown, label: string) => T;

/** One validator per option. */
type Validators = { [K in OptionName]-?: Validator<Exclude<NormalizedOptions[K], undefined>> };

const DEFAULT_TCP_OPTIONS: Readonly<TcpOptions> = { noDelay: true };
const MAX_SHORTSTR_BYTES = 255;
const MAX_SHORT = 0xffff;
const MAX_LONG = 0xffffffff;
const FRAME_MIN_SIZE = 4096;
/** Default of `maxMessageSize`: 128 MiB. */
/** Upper bound of `maxMessageSize`: 512 MiB, RabbitMQ's hard cap on a message body. */
const MAX_MESSAGE_SIZE_LIMIT = 512 * 1024 * 1024;

/**
 * Validated, immutable connection parameters. Every option of
 * {@link ConnectionParametersOptions} is checked at construction; a bad one
 * throws an {@link InvalidArgumentError} that names the option and the value.
 * @category Parameters
 */
export class ConnectionParameters {
  /** The AMQP port. */
  static readonly DEFAULT_PORT = 5672;
  /** The AMQP-over-TLS port. */
  static readonly DEFAULT_SSL_PORT = 5671;

  /** Broker host name or address (IPv6 without brackets). */
  readonly host: string;
  /** Broker port. */
  readonly port: number;
  /** Virtual host. */
  readonly virtualHost: string;
  /** Login credentials. */
  readonly credentials: Credentials;
  /** Highest channel number the client wants (before negotiation). */
  readonly channelMax: number;
  /**
   * Largest frame the client wants (before negotiation). The parser never
   * buffers more than {@link ConnectionParameters.maxMessageSize} + 8 bytes
   * for one frame, whatever is negotiated. RabbitMQ 4.1 and later refuse
   * less than 8192 (see {@link ConnectionParametersOptions.frameMax}).
   */
  readonly frameMax: number;
  /**
   * Largest message body accepted from the broker, in bytes (default 128 MiB;
   * at most 512 MiB, RabbitMQ's own hard limit). A delivery whose content
   * header announces more closes its channel with 406 and is rejected without
   * requeue (a dead-letter exchange catches it); the parser never buffers a
   * frame larger than this plus the frame overhead.
   */
  readonly maxMessageSize: number;
  /** Heartbeat wish: undefined (broker's value), seconds, or a callback. */
  readonly heartbeat: number | HeartbeatCallback | undefined;
  /** TLS options, or false for plain TCP (`ssl: true` becomes `{}`). */
  readonly ssl: TlsOptions | false;
  /** Connection attempts before giving up. */
  readonly connectionAttempts: number;
  /** Seconds between attempts. */
  readonly retryDelay: number;
  /** Seconds for the TCP (and TLS) connect. */
  readonly socketTimeout: number;
  /** Seconds for the whole handshake. */
  readonly stackTimeout: number;
  /** Seconds a blocked connection is tolerated; null: forever. */
  readonly blockedConnectionTimeout: number | null;
  /** Locale for `connection.start-ok`. */
  readonly locale: string;
  /** The `connection_name` client property, if one was given. */
  readonly connectionName: string | undefined;
  /** Extra client properties. */
  readonly clientProperties: Readonly<Record<string, unknown>>;
  /** Socket options, defaults included. */
  readonly tcpOptions: Readonly<TcpOptions>;
  /** Unix socket path, if any. */
  readonly socketPath: string | undefined;

  /**
   * @param options - see {@link ConnectionParametersOptions}
   * @throws InvalidArgumentError for an unknown option (with a suggestion for
   *   a likely typo) or a bad value, naming the option
   */
  constructor(options: ConnectionParametersOptions = {}) {
    const o = checkOptions(options);
    this.host = o.host ?? 'localhost';
    this.ssl = o.ssl ?? false;
    this.port = o.port ?? defaultPort(this.ssl);
    this.virtualHost = o.virtualHost ?? '/';
    // A fresh default each time: erase() on one connection's credentials must not affect another's.
    this.credentials = o.credentials ?? new PlainCredentials('guest', 'guest');
    this.channelMax = o.channelMax ?? MAX_SHORT;
    this.frameMax = o.frameMax ?? DEFAULT_FRAME_MAX;
    this.maxMessageSize = o.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.heartbeat = o.heartbeat;
    this.connectionAttempts = o.connectionAttempts ?? 1;
    this.retryDelay = o.retryDelay ?? 2.0;
    this.socketTimeout = o.socketTimeout ?? 10;
    this.stackTimeout = o.stackTimeout ?? 15;
    this.blockedConnectionTimeout = o.blockedConnectionTimeout ?? null;
    this.locale = o.locale ?? 'en_US';
    this.connectionName = o.connectionName;
    this.clientProperties = o.clientProperties ?? {};
    this.tcpOptions = o.tcpOptions ?? { ...DEFAULT_TCP_OPTIONS };
    this.socketPath = o.socketPath;
  }

  /** Where and how the I/O loop should open the transport. Fresh objects each call. */
  transportTarget(): TransportTarget {
    const target: TransportTarget = {
      host: this.host,
      port: this.port,
      tls: this.ssl === false ? false : { ...this.ssl },
      socketTimeout: this.socketTimeout,
      tcpOptions: { ...this.tcpOptions },
    };
    if (this.socketPath !== undefined) target.path = this.socketPath;
    return target;
  }

  /**
   * A short URL-like description for messages, e.g.
   * `amqp://guest@localhost:5672/%2F`. Never contains the password.
   */
  toString(): string {
    const scheme = this.ssl === false ? 'amqp' : 'amqps';
    const username = (this.credentials as { username?: unknown }).username;
    const user = typeof username === 'string' ? `${encodeURIComponent(username)}@` : '';
    const where =
      this.socketPath !== undefined ? `unix(${this.socketPath})` : `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
    return `${scheme}://${user}${where}/${encodeURIComponent(this.virtualHost)}`;
  }

  /**
   * Validates one option as the constructor would, for subclasses that read
   * options from elsewhere (a URL) and want messages in their own terms.
   * @param name - the option
   * @param value - its raw value
   * @param label - how messages name it, e.g. `URL option 'channel_max'`
   * @returns the normalized value
   */
  protected static checkOption(name: OptionName, value: unknown, label: string): unknown {
    return VALIDATORS[name](value, label);
  }
}

/**
 * The heartbeat timeout to use and to send in `connection.tune-ok`, by
 * pika 1.x's rule (`Connection._tune_heartbeat_timeout` and
 * `_on_connection_tune` in pika/connection.py): when the client specifies a
 * value, it always takes precedence.
 *
 * - `heartbeat` undefined: the broker's proposal (which may be 0 = off).
 * - a number: that number, even when larger than the broker's or when the
 *   broker proposed 0; 0 disables heartbeats.
 * - a function: called with `(connection, brokerValue)`; its result is used
 *   as above and must be an integer from 0 to 65535.
 *
 * This is not the "lowest value wins" rule of the Java and .NET clients: a
 * client may ask for a longer timeout than the broker proposes, and RabbitMQ
 * accepts it.
 *
 * @throws InvalidArgumentError when the callback returns anything but an
 *   integer from 0 to 65535
 */
export function negotiateHeartbeat(params: Pick<ConnectionParameters, 'heartbeat'>, connection: unknown, brokerValue: number): number {
  const wish = params.heartbeat;
  if (wish === undefined) return brokerValue;
  if (typeof wish !== 'function') return wish;
  const chosen = wish(connection, brokerValue);
  if (!isIntegerIn(chosen, 0, MAX_SHORT)) {
    throw new InvalidArgumentError(
      `the heartbeat callback returned ${show(chosen)}; expected an integer from 0 to ${MAX_SHORT} (seconds, 0 disables)`,
    );
  }
  return chosen;
}

/**
 * Negotiates `channelMax` or `frameMax` (`connection.tune`): 0 means "no
 * limit" on either side, so when one side says 0 the other side's value is
 * used; otherwise the smaller value wins. Same as pika's
 * `_negotiate_integer_value` and the Java client.
 */
export function negotiateLimit(client: number, server: number): number {
  if (client === 0 || server === 0) return Math.max(client, server);
  return Math.min(client, server);
}

// ---------------------------------------------------------------------------
// Validation

/** Applies the validators to every given option; rejects unknown keys. */
function checkOptions(options: unknown): NormalizedOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidArgumentError(`ConnectionParameters: options must be an object, got ${show(options)}`);
  }
  const out: NormalizedOptions = {};
  for (const [key, value] of Object.entries(options)) {
    if (!Object.prototype.hasOwnProperty.call(VALIDATORS, key)) throw unknownOption(key);
    // An explicit undefined means "the default", as if the key were absent.
    if (value !== undefined) checkInto(out, key as OptionName, value, `option '${key}'`);
  }
  return out;
}

/** Validates `value` as option `name` and stores the normalized value in `out`. */
function checkInto<K extends OptionName>(out: NormalizedOptions, name: K, value: unknown, label: string): void {
  // TypeScript cannot correlate the key of VALIDATORS with the key of `out`.
  const check = VALIDATORS[name] as Validator<NormalizedOptions[K]>;
  out[name] = check(value, label);
}

/**
 * Names from other clients and from URLs that are too far from ours for the
 * edit-distance guess (`vhost` is 6 edits from `virtualHost`).
 */
const OPTION_ALIASES: Readonly<Record<string, OptionName>> = {
  vhost: 'virtualHost',
  hostname: 'host',
  user: 'credentials',
  username: 'credentials',
  password: 'credentials',
  tls: 'ssl',
};

function unknownOption(key: string): InvalidArgumentError {
  const alias = Object.prototype.hasOwnProperty.call(OPTION_ALIASES, key.toLowerCase()) ? OPTION_ALIASES[key.toLowerCase()] : undefined;
  return new InvalidArgumentError(`unknown option '${key}'${unknownNameHint(key, OPTION_NAMES, 'known options', alias)}`);
}

function defaultPort(ssl: TlsOptions | false): number {
  return ssl === false ? ConnectionParameters.DEFAULT_PORT : ConnectionParameters.DEFAULT_SSL_PORT;
}

function invalid(label: string, expected: string, value: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`invalid ${label}: expected ${expected}, got ${show(value)}`);
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function integer(min: number, max: number): Validator<number> {
  const expected = max === Infinity ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  return (value, label) => {
    if (!isIntegerIn(value, min, max)) throw invalid(label, expected, value);
    return value;
  };
}

/** Seconds: a finite number above (or, with `orZero`, at least) zero. */
function seconds(orZero: boolean): Validator<number> {
  const expected = orZero ? 'a number of seconds >= 0' : 'a number of seconds > 0';
  return (value, label) => {
    const ok = typeof value === 'number' && Number.isFinite(value) && (orZero ? value >= 0 : value > 0);
    if (!ok) throw invalid(label, expected, value);
    return value;
  };
}

/** A string for an AMQP short string field (at most 255 UTF-8 bytes). */
function shortString(allowEmpty: boolean): Validator<string> {
  const expected = allowEmpty ? 'a string of at most 255 bytes' : 'a non-empty string of at most 255 bytes';
  return (value, label) => {
    const ok = typeof value === 'string' && (allowEmpty || value !== '') && Buffer.byteLength(value, 'utf8') <= MAX_SHORTSTR_BYTES;
    if (!ok) throw invalid(label, expected, value);
    return value;
  };
}

function checkHost(value: unknown, label: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(label, 'a non-empty host name', value);
  // Accept the URL form of an IPv6 address; sockets want it bare.
  const bare = /^\[(.*)\]$/.exec(value);
  if (bare && bare[1] !== '') return bare[1];
  return value;
}

function checkCredentials(value: unknown, label: string): Credentials {
  const c = value as Partial<Credentials> | null;
  const ok =
    c !== null && typeof c === 'object' && typeof c.mechanism === 'string' && typeof c.response === 'function' && typeof c.erase === 'function';
  if (!ok) {
    // Not show(value): a plain { username, password } object would print the password.
    throw new InvalidArgumentError(
      `invalid ${label}: expected PlainCredentials, ExternalCredentials or TokenCredentials ` +
        "(e.g. new PlainCredentials('user', 'pass')), got " +
        (value !== null && typeof value === 'object' ? 'a plain object' : show(value)),
    );
  }
  return c as Credentials;
}

function checkHeartbeat(value: unknown, label: string): number | HeartbeatCallback {
  if (typeof value === 'function') return value as HeartbeatCallback;
  if (!isIntegerIn(value, 0, MAX_SHORT)) {
    throw invalid(label, `an integer from 0 to ${MAX_SHORT} (seconds, 0 disables) or a function`, value);
  }
  return value;
}

function checkSsl(value: unknown, label: string): TlsOptions | false {
  if (value === true) return maskTlsSecrets({});
  if (value === false) return false;
  if (!isPlainObject(value)) throw invalid(label, 'a boolean or a TLS options object', value);
  return maskTlsSecrets({ ...value });
}

/**
 * TLS options that hold secrets: the private key's passphrase, the key
 * itself and a PKCS#12 bundle (which contains the key). Any other option
 * (CA, certificate, server name) is public.
 */
const TLS_SECRET_OPTIONS: readonly string[] = ['passphrase', 'key', 'pfx'];

/** The TLS options as printed: secrets replaced by `'***'`. */
function maskedTlsOptions(tls: TlsOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(tls)) {
    out[key] = TLS_SECRET_OPTIONS.includes(key) && value !== undefined ? '***' : value;
  }
  return out;
}

/**
 * Makes `util.inspect` and `JSON.stringify` show `tls` with its secrets masked,
 * as credentials hide their password. The methods are non-enumerable, so a
 * spread (`transportTarget()`) still copies the real values, and only those.
 */
function maskTlsSecrets(tls: TlsOptions): TlsOptions {
  Object.defineProperties(tls, {
    toJSON: { value: () => maskedTlsOptions(tls), enumerable: false, configurable: true, writable: true },
    [inspect.custom]: {
      value: (_depth: number, options: InspectOptions, inspectFn: typeof inspect = inspect) => inspectFn(maskedTlsOptions(tls), options),
      enumerable: false,
      configurable: true,
      writable: true,
    },
  });
  return tls;
}

function checkBlockedTimeout(value: unknown, label: string): number | null {
  if (value === null) return null;
  const ok = typeof value === 'number' && Number.isFinite(value) && value > 0;
  if (!ok) throw invalid(label, 'null or a number of seconds > 0', value);
  return value;
}

function checkClientProperties(value: unknown, label: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalid(label, 'a plain object (a field table)', value);
  // Encoded once now, so that a cycle, a NaN or a value of no field type throws
  // here instead of failing every connection attempt later.
  try {
    new Writer(256).table(value as FieldTable);
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new InvalidArgumentError(`invalid ${label}: ${err.message}`);
    throw err;
  }
  return { ...value };
}

const TCP_OPTION_CHECKS: Record<keyof TcpOptions, (v: unknown) => boolean> = {
  noDelay: (v) => typeof v === 'boolean',
  keepAlive: (v) => typeof v === 'boolean',
  keepAliveInitialDelay: (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0,
};

function checkTcpOptions(value: unknown, label: string): TcpOptions {
  if (!isPlainObject(value)) throw invalid(label, 'an object like { noDelay, keepAlive, keepAliveInitialDelay }', value);
  for (const [key, v] of Object.entries(value)) {
    const check = TCP_OPTION_CHECKS[key as keyof TcpOptions];
    if (check === undefined) {
      const guess = closest(key, Object.keys(TCP_OPTION_CHECKS));
      const hint = guess === undefined ? '' : `; did you mean '${guess}'?`;
      throw new InvalidArgumentError(`invalid ${label}: unknown TCP option '${key}'${hint}`);
    }
    if (v !== undefined && !check(v)) {
      const expected = key === 'keepAliveInitialDelay' ? 'milliseconds >= 0' : 'a boolean';
      throw invalid(`${label} (${key})`, expected, v);
    }
  }
  return { ...DEFAULT_TCP_OPTIONS, ...(value as TcpOptions) };
}

function checkSocketPath(value: unknown, label: string): string {
  if (typeof value !== 'string' || value === '') throw invalid(label, 'a non-empty path', value);
  return value;
}

const VALIDATORS: Validators = {
  host: checkHost,
  port: integer(1, MAX_SHORT),
  virtualHost: shortString(true),
  credentials: checkCredentials,
  channelMax: integer(1, MAX_SHORT),
  frameMax: integer(FRAME_MIN_SIZE, MAX_LONG),
  maxMessageSize: integer(1, MAX_MESSAGE_SIZE_LIMIT),
  heartbeat: checkHeartbeat,
  ssl: checkSsl,
  connectionAttempts: integer(1, Infinity),
  retryDelay: seconds(true),
  socketTimeout: seconds(false),
  stackTimeout: seconds(false),
  blockedConnectionTimeout: checkBlockedTimeout,
  locale: shortString(false),
  connectionName: shortString(false),
  clientProperties: checkClientProperties,
  tcpOptions: checkTcpOptions,
  socketPath: checkSocketPath,
};

const OPTION_NAMES = Object.keys(VALIDATORS);

// ---------------------------------------------------------------------------
// Messages

/** A value as shown in error messages: short, typed, never an object's contents. */
function show(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
    case 'function':
      return 'a function';
    case 'bigint':
      return `${value}n`;
    case 'object':
      return value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object';
    default:
      return String(value);
  }
}
