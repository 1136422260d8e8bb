/**
 * Connection parameters from an AMQP URI (`amqp://user:pass@host:port/vhost?options`),
 * following RabbitMQ's AMQP URI specification and pika's `URLParameters`.
 * @packageDocumentation
 */

import { readFileSync } from 'fs';
import { InvalidArgumentError } from '../errors';
import { PlainCredentials } from './credentials';
import { unknownNameHint } from './did-you-mean';
import type { TlsOptions } from './ioloop';
import { ConnectionParameters, ConnectionParametersOptions } from './parameters';

/** The pieces of a URL before its query options are interpreted. */
interface UrlParts {
  tls: boolean;
  userinfo: string | undefined;
  host: string | undefined;
  port: number | undefined;
  path: string;
  query: string;
}

/** How each query option is parsed: its camelCase option and its value type. */
const QUERY_OPTIONS = {
  heartbeat: ['heartbeat', 'integer'],
  connection_attempts: ['connectionAttempts', 'integer'],
  channel_max: ['channelMax', 'integer'],
  frame_max: ['frameMax', 'integer'],
  max_message_size: ['maxMessageSize', 'integer'],
  retry_delay: ['retryDelay', 'number'],
  socket_timeout: ['socketTimeout', 'number'],
  stack_timeout: ['stackTimeout', 'number'],
  blocked_connection_timeout: ['blockedConnectionTimeout', 'number'],
  locale: ['locale', 'string'],
  connection_name: ['connectionName', 'string'],
  client_properties: ['clientProperties', 'json'],
  tcp_options: ['tcpOptions', 'json'],
  ssl_options: ['ssl', 'json'],
} as const;

type QueryOptionName = keyof typeof QUERY_OPTIONS;

/**
 * The keys accepted in `ssl_options` (pika's names, which follow Python's
 * `ssl` module) and the Node TLS option each becomes.
 */
const SSL_OPTION_KEYS = [
  'ca_certs', // path of a PEM file of trusted CAs -> ca (pika's name)
  'cafile', // same as ca_certs
  'ca_data', // PEM text of trusted CAs -> ca
  'cadata', // same as ca_data
  'certfile', // path of the client certificate PEM -> cert (and key, if the file holds one and keyfile is absent)
  'keyfile', // path of the client private key PEM -> key
  'password', // passphrase of the private key -> passphrase
  'server_hostname', // SNI and certificate name -> servername
  'verify', // 'none' | 'required' (or a boolean) -> rejectUnauthorized
  'cert_reqs', // 'CERT_NONE' | 'CERT_REQUIRED' (pika 0.x style) -> rejectUnauthorized
  'ciphers', // OpenSSL cipher list -> ciphers
] as const;

/**
 * Connection parameters read from an `amqp://` or `amqps://` URL:
 *
 * ```
 * amqp[s]://[user[:password]@]host[:port][/vhost][?option=value&...]
 * ```
 *
 * - `amqps://` turns TLS on; the default port is 5672, or 5671 with TLS.
 * - User, password, host and vhost are percent-decoded, so `%40` gives `@`,
 *   `%3A` gives `:` and `%2F` gives `/`. No user gives guest/guest; a user
 *   without `:password` gets the default password `guest` (as RabbitMQ's
 *   Java client does); `user:@host` means an empty password.
 * - IPv6 addresses go in brackets: `amqp://[::1]:5672/`.
 * - No path or an empty one (`amqp://host`, `amqp://host/`) means vhost `'/'`.
 *   The AMQP URI spec reads `amqp://host/` as the empty vhost `''`, but
 *   pika and coney's API use `'/'` for both; write `amqp://host/%2F` to be
 *   explicit. A vhost is one path segment: `amqp://host/a/b` is rejected
 *   (write `a%2Fb`).
 * - An empty host (`amqp:///vhost`) means `localhost`.
 *
 * Query options (pika's names): `heartbeat`, `connection_attempts`,
 * `channel_max`, `frame_max`, `max_message_size` (integers; the last is
 * coney's own, bytes, see {@link ConnectionParameters.maxMessageSize});
 * `retry_delay`, `socket_timeout`,
 * `stack_timeout`, `blocked_connection_timeout` (seconds, may be
 * fractional); `locale`; and percent-encoded JSON objects for
 * `client_properties`, `tcp_options` (`noDelay`, `keepAlive`,
 * `keepAliveInitialDelay`, or their snake_case forms) and `ssl_options`.
 * Query values are form-decoded: `+` is a space.
 *
 * `ssl_options` keys: `ca_certs` / `cafile` (CA file), `ca_data` / `cadata`
 * (CA PEM text), `certfile`, `keyfile`, `password` (key passphrase),
 * `server_hostname`, `verify` (`'none'` disables certificate checks;
 * `'required'` is the default), `cert_reqs` (`'CERT_NONE'` /
 * `'CERT_REQUIRED'`), `ciphers`. Files are read at construction; a missing
 * file is an error naming it. As in pika, `ssl_options` turns TLS on even
 * with `amqp://` (then the default port is 5671); `ssl_options=null`
 * requests plain TCP and conflicts with `amqps://`.
 *
 * `heartbeat_interval` (pika 0.x's deprecated alias, removed in pika 1.0)
 * is not accepted: the error says to use `heartbeat`.
 *
 * An option given twice is an error, as in pika: with two values, which
 * one was meant is a guess.
 *
 * Errors name the option and never show any part of the password. The user
 * info ends at the last `@` before the query, so an unencoded `@` in a
 * password still parses; an unencoded `/` in the user info
 * (`amqp://user:p@ss/word@host/`), an `@` after the host (a password with
 * an unencoded `?`) or a `#` anywhere is rejected with a hint to
 * percent-encode. Every message ends with the URL, user info masked
 * (`amqp://***@host/`) and `ssl_options` masked; when the URL has no `@`,
 * its host part cannot be told from `user:password` (the `@host` is
 * missing), so errors about it quote nothing from it and show only
 * `amqp://***`.
 * @category Parameters
 */
export class URLParameters extends ConnectionParameters {
  /**
   * @param url - the AMQP URL
   * @throws InvalidArgumentError for a malformed URL, another scheme, an
   *   unknown, repeated or malformed query option, or an unreadable TLS file
   */
  constructor(url: string) {
    super(URLParameters.toOptions(url));
  }

  /** Parses the URL into constructor options; every error shows the URL with its user info masked. */
  private static toOptions(url: unknown): ConnectionParametersOptions {
    if (typeof url !== 'string') {
      throw new InvalidArgumentError(`URLParameters: expected a URL string, got ${url === null ? 'null' : typeof url}`);
    }
    // Trimmed: URLs from environment files often carry a stray newline or '\r'.
    const text = url.trim();
    try {
      return URLParameters.parse(text);
    } catch (err) {
      if (!(err instanceof InvalidArgumentError)) throw err;
      // A fresh error: its message and stack are built from safe text only.
      throw new InvalidArgumentError(`${err.message} (URL: ${maskUrl(text, authorityHidden.has(err))})`);
    }
  }

  private static parse(url: string): ConnectionParametersOptions {
    const parts = URLParameters.split(url);
    const options: ConnectionParametersOptions = { ...URLParameters.queryOptions(parts.query) };
    URLParameters.applyTls(options, parts.tls);
    if (parts.host !== undefined) {
      options.host = URLParameters.checkOption('host', parts.host, 'host in the AMQP URL') as string;
    }
    if (parts.port !== undefined) options.port = parts.port;
    if (parts.userinfo !== undefined) options.credentials = URLParameters.credentials(parts.userinfo);
    options.virtualHost = URLParameters.checkOption('virtualHost', URLParameters.virtualHost(parts.path), 'vhost in the AMQP URL') as string;
    return options;
  }

  /**
   * Splits the URL into scheme, user info, host, port, path and query. The
   * user info ends at the last '@' before the query, so an unencoded '@' in
   * a password still parses; an unencoded '/', '?' or '#' in it cannot be
   * told apart from the path, query or fragment and is an error.
   */
  private static split(url: string): UrlParts {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
    if (scheme === null) {
      throw new InvalidArgumentError('malformed AMQP URL: expected amqp://[user[:password]@]host[:port][/vhost][?options]');
    }
    const name = scheme[1].toLowerCase();
    if (name !== 'amqp' && name !== 'amqps') {
      throw new InvalidArgumentError(`unsupported URL scheme '${name}': use amqp:// or amqps://`);
    }
    const rest = url.slice(scheme[0].length);
    if (rest.includes('#')) {
      // Not echoed: an unencoded '#' is most likely inside a password.
      throw hideAuthority(
        new InvalidArgumentError("malformed AMQP URL: it contains '#' (a fragment); percent-encode '#' as %23 in a user name, password or vhost"),
      );
    }
    const queryStart = rest.indexOf('?');
    const at = (queryStart === -1 ? rest : rest.slice(0, queryStart)).lastIndexOf('@');
    const userinfo = at === -1 ? undefined : rest.slice(0, at);
    if (userinfo !== undefined && userinfo.includes('/')) {
      throw new InvalidArgumentError(
        "malformed AMQP URL: the user-info part of the URL contains an unencoded '/' or '@': " + 'percent-encode them as %2F and %40',
      );
    }
    const afterUser = at === -1 ? rest : rest.slice(at + 1);
    if (afterUser.includes('@')) {
      // An '@' after the host: most likely a password with an unencoded '?' (or '/').
      // Not echoed, since any part of it may be the password.
      throw hideAuthority(
        new InvalidArgumentError(
          "malformed AMQP URL: '@' after the host; percent-encode '/', '?', '#' and '@' " +
            'in user names, passwords and vhosts (e.g. %2F, %3F, %23, %40)',
        ),
      );
    }
    const authorityEnd = afterUser.search(/[/?]/);
    const hostport = authorityEnd === -1 ? afterUser : afterUser.slice(0, authorityEnd);
    const tail = authorityEnd === -1 ? '' : afterUser.slice(authorityEnd);
    const tailQuery = tail.indexOf('?');
    let where: { host: string | undefined; port: number | undefined };
    try {
      where = URLParameters.hostAndPort(hostport, userinfo !== undefined);
    } catch (err) {
      // Without an '@', 'user:password' reads as 'host:port': nothing of it may be shown.
      throw userinfo === undefined ? hideAuthority(err) : err;
    }
    return {
      tls: name === 'amqps',
      userinfo,
      ...where,
      path: tailQuery === -1 ? tail : tail.slice(0, tailQuery),
      query: tailQuery === -1 ? '' : tail.slice(tailQuery + 1),
    };
  }

  /**
   * Host (brackets removed from IPv6) and port; undefined ones take the
   * defaults. `quotable`: the URL had user info, so this text cannot be a
   * password and may be quoted in errors.
   */
  private static hostAndPort(hostport: string, quotable: boolean): { host: string | undefined; port: number | undefined } {
    const match = /^(\[[^\]]*\]|[^:[\]]*)(?::(.*))?$/.exec(hostport);
    if (match === null || (!hostport.startsWith('[') && hostport.split(':').length > 2)) {
      const shown = quotable ? ` '${hostport}'` : '';
      throw new InvalidArgumentError(`malformed host${shown} in AMQP URL: write IPv6 addresses in brackets, e.g. amqp://[::1]:5672/`);
    }
    const [, rawHost, rawPort] = match;
    // Decoded inside brackets too: RFC 6874 writes an IPv6 zone as %25 (fe80::1%25eth0).
    const host = decode(rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost, 'the host');
    if (rawHost.startsWith('[') && !/^[0-9a-f:.]+(%.+)?$/i.test(host)) {
      throw new InvalidArgumentError(`malformed IPv6 address${quotable ? ` '${rawHost}'` : ''} in AMQP URL`);
    }
    return { host: host === '' ? undefined : host, port: URLParameters.port(rawPort, quotable) };
  }

  private static port(raw: string | undefined, quotable: boolean): number | undefined {
    // RFC 3986 allows an empty port after ':'; it means the default.
    if (raw === undefined || raw === '') return undefined;
    const port = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
    if (port >= 1 && port <= 65535) return port;
    if (quotable) {
      throw new InvalidArgumentError(`invalid port '${raw}' in AMQP URL: expected an integer from 1 to 65535`);
    }
    // 'amqp://user:password/' (no '@host') lands here: never quote what may be a password.
    throw new InvalidArgumentError(
      "invalid port in AMQP URL: the text after the host's ':' is not a number from 1 to 65535 " +
        "(not shown: without an '@' it may be what follows 'user:'; is the '@host' missing?)",
    );
  }

  /** PLAIN credentials from `user[:password]`; never echoes the password in errors. */
  private static credentials(userinfo: string): PlainCredentials {
    const colon = userinfo.indexOf(':');
    const user = decode(colon === -1 ? userinfo : userinfo.slice(0, colon), 'the user name');
    const password = colon === -1 ? 'guest' : decode(userinfo.slice(colon + 1), 'the password');
    return new PlainCredentials(user, password);
  }

  /** The vhost from the path: empty means '/'; one segment, percent-decoded. */
  private static virtualHost(path: string): string {
    if (path === '' || path === '/') return '/';
    const segment = path.slice(1);
    if (segment.includes('/')) {
      throw new InvalidArgumentError(`malformed vhost path '${path}' in AMQP URL: the vhost is a single path segment; encode '/' as %2F`);
    }
    return decode(segment, 'the vhost');
  }

  /** Turns TLS on for amqps:// unless the query already set TLS options. */
  private static applyTls(options: ConnectionParametersOptions, schemeTls: boolean): void {
    if (schemeTls && options.ssl === false) {
      throw new InvalidArgumentError("URL option 'ssl_options' is null (plain TCP) but the scheme is amqps://");
    }
    if (schemeTls && options.ssl === undefined) options.ssl = true;
    if (options.ssl === false) delete options.ssl;
  }

  /** Parses the query string into options; each error names the option. */
  private static queryOptions(query: string): ConnectionParametersOptions {
    const seen = new Set<string>();
    const options: Record<string, unknown> = {};
    for (const pair of query.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const name = formDecode(eq === -1 ? pair : pair.slice(0, eq), 'a URL option name');
      const spec = URLParameters.querySpec(name);
      if (seen.has(name)) {
        throw new InvalidArgumentError(`URL option '${name}' is given more than once; give it once`);
      }
      seen.add(name);
      if (eq === -1) throw new InvalidArgumentError(`URL option '${name}' has no value; write ${name}=value`);
      const value = formDecode(pair.slice(eq + 1), `URL option '${name}'`);
      const [option, kind] = spec;
      const label = `URL option '${name}'`;
      const parsed = URLParameters.parseValue(name, kind, value, label);
      options[option] = option === 'ssl' ? parsed : URLParameters.checkOption(option, parsed, label);
    }
    return options;
  }

  /** The entry for a query option; a clear error for unknown ones. */
  private static querySpec(name: string): (typeof QUERY_OPTIONS)[QueryOptionName] {
    if (Object.prototype.hasOwnProperty.call(QUERY_OPTIONS, name)) return QUERY_OPTIONS[name as QueryOptionName];
    if (name === 'heartbeat_interval') {
      throw new InvalidArgumentError("unknown URL option 'heartbeat_interval' (a pika 0.x alias removed in pika 1.0); use 'heartbeat'");
    }
    throw new InvalidArgumentError(`unknown URL option '${name}'${unknownNameHint(name, Object.keys(QUERY_OPTIONS))}`);
  }

  /** Converts the text of a query value by the option's kind. */
  private static parseValue(name: string, kind: string, value: string, label: string): unknown {
    switch (kind) {
      case 'integer':
        if (!/^[+-]?\d+$/.test(value)) throw badValue(label, 'an integer', value);
        return Number(value);
      case 'number':
        if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value)) throw badValue(label, 'a number', value);
        return Number(value);
      case 'json':
        return URLParameters.parseJsonOption(name, value, label);
      default:
        return value;
    }
  }

  /** The JSON options: client_properties, tcp_options, ssl_options. */
  private static parseJsonOption(name: string, value: string, label: string): unknown {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      // Not echoed: ssl_options may hold a key passphrase.
      throw new InvalidArgumentError(`invalid ${label}: expected a percent-encoded JSON object, which this is not`);
    }
    if (name === 'ssl_options') return sslOptions(parsed, label);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new InvalidArgumentError(`invalid ${label}: expected a JSON object`);
    }
    return name === 'tcp_options' ? camelTcpOptions(parsed as Record<string, unknown>) : parsed;
  }
}

// ---------------------------------------------------------------------------
// Helpers

/** Errors raised where the authority cannot be told apart from a password: the URL shown hides it whole. */
const authorityHidden = new WeakSet<object>();

function hideAuthority<E>(err: E): E {
  if (err !== null && typeof err === 'object') authorityHidden.add(err);
  return err;
}

/**
 * The URL as error messages show it: everything up to the last '@' (the user
 * info, wherever a stray delimiter put its end) as `***`, and the value of
 * `ssl_options` (it may hold a key passphrase) as `***`. With no '@' and
 * `hideAll`, nothing after the scheme is shown: the host part may then be a
 * password (`amqp://user:password/`, with '@host' missing).
 */
function maskUrl(url: string, hideAll: boolean): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? '';
  const rest = url.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  if (at === -1 && (hideAll || scheme === '')) return `${scheme}***`;
  const visible = at === -1 ? rest : rest.slice(at + 1);
  const shown = `${scheme}${at === -1 ? '' : '***@'}${maskQuery(visible)}`;
  return shown.length > 200 ? `${shown.slice(0, 197)}...` : shown;
}

/** Replaces the value of `ssl_options` in the query part of `text` (if any) by `***`. */
function maskQuery(text: string): string {
  const q = text.indexOf('?');
  if (q === -1) return text;
  const pairs = text
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq === -1) return pair;
      let name: string;
      try {
        name = decodeURIComponent(pair.slice(0, eq).replace(/\+/g, ' '));
      } catch {
        return `${pair.slice(0, eq)}=***`;
      }
      return name === 'ssl_options' ? `${pair.slice(0, eq)}=***` : pair;
    });
  return `${text.slice(0, q)}?${pairs.join('&')}`;
}

/** Percent-decodes a URL component; a bad escape is an error naming the part, not its text. */
function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new InvalidArgumentError(`malformed percent-encoding in ${what} of the AMQP URL`);
  }
}

/** Decodes a query component: form encoding, where `+` is a space (as pika's parse_qs). */
function formDecode(text: string, what: string): string {
  return decode(text.replace(/\+/g, ' '), what);
}

function badValue(label: string, expected: string, value: string): InvalidArgumentError {
  const shown = value.length > 40 ? `${value.slice(0, 37)}...` : value;
  return new InvalidArgumentError(`invalid ${label}: expected ${expected}, got '${shown}'`);
}

/** tcp_options may use snake_case keys, as URL query names do. */
function camelTcpOptions(options: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    out[key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = value;
  }
  return out;
}

/** Translates pika-style `ssl_options` into Node TLS options, reading the files it names. */
function sslOptions(parsed: unknown, label: string): TlsOptions | false {
  if (parsed === null) return false;
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidArgumentError(`invalid ${label}: expected a JSON object or null`);
  }
  const opts = parsed as Record<string, unknown>;
  for (const key of Object.keys(opts)) {
    if (!(SSL_OPTION_KEYS as readonly string[]).includes(key)) {
      throw new InvalidArgumentError(`invalid ${label}: unknown key '${key}'; accepted keys: ${SSL_OPTION_KEYS.join(', ')}`);
    }
  }
  const tls: TlsOptions = {};
  const str = (key: string) => sslString(opts, key, label);
  const caFile = str('ca_certs') ?? str('cafile');
  const caData = str('ca_data') ?? str('cadata');
  if (caFile !== undefined) tls.ca = readPem(caFile, 'ca_certs', label);
  else if (caData !== undefined) tls.ca = caData;
  addClientCertificate(tls, str('certfile'), str('keyfile'), label);
  const passphrase = str('password');
  if (passphrase !== undefined) tls.passphrase = passphrase;
  const servername = str('server_hostname');
  if (servername !== undefined) tls.servername = servername;
  const ciphers = str('ciphers');
  if (ciphers !== undefined) tls['ciphers'] = ciphers;
  const verify = verifyFlag(opts, label);
  if (verify !== undefined) tls.rejectUnauthorized = verify;
  return tls;
}

/** cert and key; a certfile that also holds the key serves as both (Python's load_cert_chain does this). */
function addClientCertificate(tls: TlsOptions, certfile: string | undefined, keyfile: string | undefined, label: string): void {
  if (keyfile !== undefined && certfile === undefined) {
    throw new InvalidArgumentError(`invalid ${label}: 'keyfile' needs 'certfile'`);
  }
  if (certfile === undefined) return;
  tls.cert = readPem(certfile, 'certfile', label);
  if (keyfile !== undefined) tls.key = readPem(keyfile, 'keyfile', label);
  else if (tls.cert.toString('latin1').includes('PRIVATE KEY-----')) tls.key = tls.cert;
}

/** A string-valued ssl_options key, or undefined when absent or null. */
function sslString(opts: Record<string, unknown>, key: string, label: string): string | undefined {
  const value = opts[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw new InvalidArgumentError(`invalid ${label}: '${key}' must be a non-empty string`);
  }
  return value;
}

/** rejectUnauthorized from `verify` or `cert_reqs`; undefined keeps Node's default (verify). */
function verifyFlag(opts: Record<string, unknown>, label: string): boolean | undefined {
  const table: Record<string, boolean> = {
    none: false,
    required: true,
    true: true,
    false: false,
    cert_none: false,
    cert_required: true,
  };
  let result: boolean | undefined;
  for (const key of ['verify', 'cert_reqs']) {
    const value = opts[key];
    if (value === undefined || value === null) continue;
    const flag = table[(typeof value === 'string' ? value : JSON.stringify(value)).toLowerCase()];
    if (flag === undefined) {
      const expected = key === 'verify' ? "'none' or 'required'" : "'CERT_NONE' or 'CERT_REQUIRED'";
      throw new InvalidArgumentError(`invalid ${label}: '${key}' must be ${expected}, got ${JSON.stringify(value)}`);
    }
    result = flag;
  }
  return result;
}

/** Reads a PEM file named in ssl_options; errors name the key and the path. */
function readPem(path: string, key: string, label: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new InvalidArgumentError(`invalid ${label}: cannot read ${key} file '${path}' (${code})`);
  }
}
