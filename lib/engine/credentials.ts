/**
 * SASL credentials for the AMQP login (`connection.start-ok`), in the shape
 * of pika's `credentials.py`: {@link PlainCredentials} for a user name and
 * password, {@link ExternalCredentials} for a TLS client certificate.
 *
 * Secrets are kept in private fields and every way of printing a credentials
 * object (`toString`, `util.inspect`, `JSON.stringify`) leaves them out, so
 * that a logged connection or error never shows a password.
 * @packageDocumentation
 */

import { inspect } from 'util';
import { AuthenticationError, InvalidArgumentError } from '../errors';

/**
 * What a connection needs from credentials to log in.
 * @category Parameters
 */
export interface Credentials {
  /** The SASL mechanism name sent in `connection.start-ok` (e.g. `'PLAIN'`). */
  readonly mechanism: string;
  /** The SASL response bytes sent in `connection.start-ok`. */
  response(): Buffer;
  /** Forgets the secret; later logins with these credentials fail. */
  erase(): void;
  /** True once {@link Credentials.erase} wiped the secret. */
  readonly erased?: boolean;
  /**
   * Whether the connection should erase these credentials once
   * `connection.start-ok` is sent; it then also zeroes the bytes of that
   * frame once written (see {@link PlainCredentials}).
   */
  readonly eraseOnConnect?: boolean;
}

/**
 * User name and password, sent with SASL PLAIN (RFC 4616).
 *
 * With `eraseOnConnect`, the connection calls {@link PlainCredentials.erase}
 * right after building `connection.start-ok`, so the password does not stay
 * reachable from the connection for its whole life (pika's
 * `erase_on_connect`); it also zeroes the SASL response Buffer once encoded
 * and the bytes of the start-ok frame once the transport has passed them on,
 * so that no buffer of the connection keeps a copy. (The password string
 * given to the constructor cannot be wiped: JavaScript strings are immutable;
 * it is only let go.) Such credentials cannot log in a second time: a
 * reconnect needs new ones.
 *
 * Without `eraseOnConnect` the credentials keep the password for reconnects,
 * and the start-ok frame is written like any other: its bytes stay in the
 * connection's reused output buffer until later frames overwrite them.
 * @category Parameters
 */
export class PlainCredentials implements Credentials {
  /** Always `'PLAIN'`. */
  readonly mechanism = 'PLAIN';
  /** Whether the connection should call {@link PlainCredentials.erase} after the login. */
  readonly eraseOnConnect: boolean;
  // Private fields: util.inspect and JSON.stringify do not see them.
  #username: string | null;
  #password: string | null;

  /**
   * @param username - the broker user name
   * @param password - its password
   * @param eraseOnConnect - forget both once the login was sent (default false)
   * @throws InvalidArgumentError when an argument has the wrong type or contains NUL
   */
  constructor(username: string, password: string, eraseOnConnect = false) {
    this.#username = checkSaslString('username', username);
    this.#password = checkSaslString('password', password);
    if (typeof eraseOnConnect !== 'boolean') {
      throw new InvalidArgumentError(`PlainCredentials: eraseOnConnect must be a boolean, got ${typeof eraseOnConnect}`);
    }
    this.eraseOnConnect = eraseOnConnect;
  }

  /** The user name, or null once erased. */
  get username(): string | null {
    return this.#username;
  }

  /** The password, or null once erased. Never printed by `toString` or `inspect`. */
  get password(): string | null {
    return this.#password;
  }

  /** True once {@link PlainCredentials.erase} was called. */
  get erased(): boolean {
    return this.#username === null;
  }

  /**
   * The SASL PLAIN message: an empty authorization identity, NUL, the user
   * name, NUL, the password, in UTF-8.
   * @throws AuthenticationError when the credentials were erased
   */
  response(): Buffer {
    if (this.#username === null || this.#password === null) {
      throw erasedError('PlainCredentials');
    }
    // Encoded straight into a Buffer of its own (never from the shared pool), with no
    // intermediate string: the connection can zero it, a string could not be.
    const user = Buffer.byteLength(this.#username, 'utf8');
    const response = Buffer.alloc(2 + user + Buffer.byteLength(this.#password, 'utf8'));
    response.write(this.#username, 1, 'utf8');
    response.write(this.#password, 2 + user, 'utf8');
    return response;
  }

  /**
   * Drops the user name and password. JavaScript strings cannot be
   * overwritten in place, so this removes the references and lets the
   * garbage collector reclaim them.
   */
  erase(): void {
    this.#username = null;
    this.#password = null;
  }

  /** `PlainCredentials(guest)`; never the password. */
  toString(): string {
    return this.erased ? 'PlainCredentials(<erased>)' : `PlainCredentials(${this.#username})`;
  }

  /** A JSON form without the password. */
  toJSON(): { mechanism: string; username: string | null } {
    return { mechanism: this.mechanism, username: this.#username };
  }

  /** What `console.log` and `util.inspect` show; never the password. */
  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * SASL EXTERNAL: the broker takes the identity from elsewhere, normally the
 * TLS client certificate (RabbitMQ's `rabbitmq_auth_mechanism_ssl` plugin).
 * The response is empty.
 * @category Parameters
 */
export class ExternalCredentials implements Credentials {
  /** Always `'EXTERNAL'`. */
  readonly mechanism = 'EXTERNAL';
  /** Always false: there is no secret to erase. */
  readonly erased = false;

  /** An empty buffer: the identity comes from the TLS session. */
  response(): Buffer {
    return Buffer.alloc(0);
  }

  /** Does nothing: there is no secret. */
  erase(): void {
    // Nothing to forget; present so that every Credentials can be erased.
  }

  /** `ExternalCredentials`. */
  toString(): string {
    return 'ExternalCredentials';
  }
}

/**
 * Checks, when `connection.start` arrives, that the credentials can log in
 * to this broker.
 *
 * @param credentials - the credentials of the connection parameters
 * @param serverMechanisms - the space-separated `mechanisms` field of `connection.start`
 * @throws AuthenticationError when the credentials were erased (a reconnect
 *   with `eraseOnConnect`) or when the broker does not offer their mechanism
 */
export function selectMechanism(credentials: Credentials, serverMechanisms: string | Buffer): void {
  const named = credentials.constructor?.name;
  const kind = named && named !== 'Object' ? named : `${credentials.mechanism} credentials`;
  if (credentials.erased) {
    throw erasedError(kind);
  }
  const offered = String(serverMechanisms)
    .split(/\s+/)
    .filter((m) => m !== '');
  // SASL mechanism names are upper case by definition (RFC 4422), but a broker
  // sending lower case should not make a valid login fail.
  const wanted = credentials.mechanism.toUpperCase();
  if (!offered.some((m) => m.toUpperCase() === wanted)) {
    const list = offered.length > 0 ? offered.join(' ') : 'no mechanisms';
    throw new AuthenticationError(`broker offers ${list}; ${kind} need ${credentials.mechanism}`);
  }
}

/** Validates one PLAIN field; NUL is the field separator of the SASL message. */
function checkSaslString(name: string, value: unknown): string {
  if (typeof value !== 'string') {
    throw new InvalidArgumentError(`PlainCredentials: ${name} must be a string, got ${typeOf(value)}`);
  }
  if (value.includes('\0')) {
    throw new InvalidArgumentError(`PlainCredentials: ${name} must not contain a NUL character`);
  }
  return value;
}

/** A type name for messages; never the value itself, which may be a secret. */
function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/** The error of a login attempt with credentials that {@link Credentials.erase} wiped. */
function erasedError(kind: string): AuthenticationError {
  return new AuthenticationError(`${kind} were erased after the previous login (eraseOnConnect: true); ` + 'pass new credentials to connect again');
}
