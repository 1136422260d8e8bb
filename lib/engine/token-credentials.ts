/**
 * OAuth2-style credentials: a token from an application's provider, sent
 * as the SASL PLAIN password, fetched before each connection attempt and
 * kept fresh on open connections with `connection.update-secret` (the
 * connection's part is in token-refresh.ts).
 *
 * The token is kept in private fields (here and in each {@link TokenGrant})
 * and no way of printing either object (`toString`, `util.inspect`,
 * `JSON.stringify`) shows it, nor does any error message.
 * @packageDocumentation
 */

import { inspect } from 'util';
import { AuthenticationError, InvalidArgumentError, TokenProviderError } from '../errors';
import type { Credentials } from './credentials';
import { checkCallback, checkOptions } from './option-checks';

/**
 * What a {@link TokenProvider} resolves to.
 * @category Parameters
 */
export interface Token {
  /** The token (an OAuth2 access token, a JWT, ...), sent as the PLAIN password. */
  readonly token: string;
  /** The user name sent with it; default the credentials' `username` option (default `''`). */
  readonly username?: string;
  /** When the token expires; without it the token is never refreshed on an open connection. */
  readonly expiresAt?: Date;
}

/**
 * Gets a new token, for example from an OAuth2 authorization server
 * (client credentials grant). Called before a connection attempt when the
 * last token is due for refresh, and on open connections at 80% of the
 * token's validity.
 * @category Parameters
 */
export type TokenProvider = () => Promise<Token> | Token;

/**
 * Options of {@link TokenCredentials}.
 * @category Parameters
 */
export interface TokenCredentialsOptions {
  /**
   * The user name sent with a token when the provider gives none. Default
   * `''`: RabbitMQ's OAuth 2 backend takes the identity from the token and
   * ignores it; the internal backend needs the real user name.
   */
  username?: string;
  /**
   * Receives each failure of the provider while refreshing an open
   * connection (the refresh is retried with backoff meanwhile). Default: a
   * `ConeyWarning` process warning. What it throws goes to the connection's
   * `onCallbackError`.
   */
  onRefreshError?: (err: TokenProviderError) => void;
}

/** The option names of {@link TokenCredentials}. */
const OPTIONS = ['username', 'onRefreshError'] as const;

/** A token is refreshed once this share of its validity (from the provider call) has passed. */
export const REFRESH_SHARE = 0.8;

/**
 * @internal One token as the provider gave it, with its refresh time. The
 * token itself is in a private field and never printed.
 */
export class TokenGrant {
  /** The user name sent with the token. */
  readonly username: string;
  /** When the token expires, if it does. */
  readonly expiresAt: Date | undefined;
  /** Wall-clock ms (Date.now) at which to refresh it; undefined: never. */
  readonly refreshAt: number | undefined;
  readonly #token: string;

  constructor(token: string, username: string, expiresAt: Date | undefined, calledAt: number) {
    this.#token = token;
    this.username = username;
    this.expiresAt = expiresAt;
    // Counted from the provider call: the time the provider took is part of the token's age.
    this.refreshAt = expiresAt === undefined ? undefined : calledAt + REFRESH_SHARE * (expiresAt.getTime() - calledAt);
  }

  /** @internal The token, for `connection.update-secret` and the SASL response. */
  get secret(): string {
    return this.#token;
  }

  /** True until its refresh time (never for a token without expiry: it is fetched again for each connection). */
  isFreshAt(now: number): boolean {
    return this.refreshAt !== undefined && now < this.refreshAt;
  }

  /** True while it has not expired. */
  isValidAt(now: number): boolean {
    return this.expiresAt === undefined || now < this.expiresAt.getTime();
  }

  /** `TokenGrant(expires 2026-12-03T15:00:00.000Z)`; never the token. */
  toString(): string {
    return `TokenGrant(${this.expiresAt === undefined ? 'no expiry' : `expires ${this.expiresAt.toISOString()}`})`;
  }

  /** Without the token. */
  toJSON(): { username: string; expiresAt: Date | undefined } {
    return { username: this.username, expiresAt: this.expiresAt };
  }

  /** What `util.inspect` shows; never the token. */
  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * An OAuth2-style token as the SASL PLAIN password (RabbitMQ's
 * `rabbitmq_auth_backend_oauth2`), from an application's provider:
 *
 * - before each connection attempt (the first connect, every reconnect and
 *   automatic recovery) the newest token is used: the last one while less
 *   than 80% of its validity has passed, otherwise a new one from the
 *   provider (a token without `expiresAt`: a new one for every connection);
 * - on each open connection the token is replaced at 80% of its validity
 *   (counted from the provider call that returned it) with
 *   `connection.update-secret`; a provider that fails is retried with
 *   backoff and each failure reported (`onRefreshError`), never a silent
 *   expiry. A token without `expiresAt` is not refreshed.
 *
 * One TokenCredentials may serve several connections: they share its
 * newest token, and concurrent refreshes share one provider call.
 * @category Parameters
 */
export class TokenCredentials implements Credentials {
  /** Always `'PLAIN'`: the token is the password. */
  readonly mechanism = 'PLAIN';
  /** Receives each failure of the provider while refreshing an open connection (see {@link TokenCredentialsOptions}). */
  readonly onRefreshError: ((err: TokenProviderError) => void) | undefined;
  readonly #provider: TokenProvider;
  readonly #username: string;
  #current: TokenGrant | null = null;
  #pending: Promise<TokenGrant> | null = null;
  #erased = false;

  /**
   * @param provider - resolves to a {@link Token}
   * @param options - see {@link TokenCredentialsOptions}
   * @throws InvalidArgumentError when the provider is not a function or an option is invalid
   */
  constructor(provider: TokenProvider, options: TokenCredentialsOptions = {}) {
    if (typeof provider !== 'function') {
      throw new InvalidArgumentError(`TokenCredentials: the provider must be a function returning a promise of { token, username?, expiresAt? }`);
    }
    checkOptions('TokenCredentials', options, OPTIONS);
    checkCallback('TokenCredentials', options.onRefreshError, 'onRefreshError');
    this.#provider = provider;
    this.#username = checkText('TokenCredentials: the username option', options.username ?? '');
    this.onRefreshError = options.onRefreshError;
  }

  /** The user name of the newest token (or the `username` option); undefined when it is empty. */
  get username(): string | undefined {
    const name = this.#current?.username ?? this.#username;
    return name === '' ? undefined : name;
  }

  /** When the newest token expires; undefined when it has no expiry or none was fetched yet. */
  get expiresAt(): Date | undefined {
    return this.#current?.expiresAt;
  }

  /** True once {@link TokenCredentials.erase} was called. */
  get erased(): boolean {
    return this.#erased;
  }

  /**
   * The SASL PLAIN message with the newest token as the password.
   * @throws AuthenticationError when no token was fetched yet, or the credentials were erased
   */
  response(): Buffer {
    const grant = this.#current;
    if (this.#erased) throw new AuthenticationError('TokenCredentials were erased: pass new credentials to connect again');
    if (grant === null) throw new AuthenticationError('TokenCredentials: no token yet (a connection fetches one before each attempt)');
    const user = Buffer.byteLength(grant.username, 'utf8');
    const response = Buffer.alloc(2 + user + Buffer.byteLength(grant.secret, 'utf8'));
    response.write(grant.username, 1, 'utf8');
    response.write(grant.secret, 2 + user, 'utf8');
    return response;
  }

  /** Forgets the token; later logins with these credentials fail and the provider is not called again. */
  erase(): void {
    this.#erased = true;
    this.#current = null;
  }

  /**
   * @internal The token to use now: the newest one while it is fresh (and
   * is not `stale`, the one the caller already has), otherwise a new one
   * from the provider, shared with any other caller waiting for one.
   * Rejects with a TokenProviderError, never with the provider's own error.
   */
  fresh(stale?: TokenGrant): Promise<TokenGrant> {
    if (this.#erased) return Promise.reject(new AuthenticationError('TokenCredentials were erased: pass new credentials to connect again'));
    const current = this.#current;
    if (current !== null && current !== stale && current.isFreshAt(Date.now())) return Promise.resolve(current);
    return (this.#pending ??= this.#call());
  }

  /** @internal The newest token, if any. */
  get current(): TokenGrant | null {
    return this.#current;
  }

  /** @internal A caller gave up waiting for `pending` (a provider that hangs): the next caller makes a new call. */
  abandon(pending: Promise<TokenGrant>): void {
    if (this.#pending === pending) this.#pending = null;
  }

  /** One provider call; its answer becomes the newest token. */
  #call(): Promise<TokenGrant> {
    const calledAt = Date.now();
    let answer: Promise<unknown>;
    try {
      answer = Promise.resolve(this.#provider());
    } catch (err) {
      answer = Promise.reject(err);
    }
    const pending = answer.then(
      (value) => this.#accept(value, calledAt),
      (err: unknown) => {
        throw new TokenProviderError(`the token provider failed: ${describeError(err)}`, { cause: err });
      },
    );
    const settled = (): void => this.abandon(pending);
    pending.then(settled, settled);
    return pending;
  }

  /** Checks the provider's answer and keeps it as the newest token (unless a later call's answer came first). */
  #accept(value: unknown, calledAt: number): TokenGrant {
    let grant: TokenGrant;
    try {
      grant = toGrant(value, this.#username, calledAt);
    } catch (err) {
      throw new TokenProviderError(`the token provider returned no usable token: ${(err as Error).message}`, { cause: err });
    }
    const current = this.#current;
    if (!this.#erased && (current === null || (current.refreshAt ?? -Infinity) <= (grant.refreshAt ?? Infinity))) this.#current = grant;
    return grant;
  }

  /** `TokenCredentials(alice)`; never the token. */
  toString(): string {
    if (this.#erased) return 'TokenCredentials(<erased>)';
    const name = this.username;
    return name === undefined ? 'TokenCredentials' : `TokenCredentials(${name})`;
  }

  /** A JSON form without the token. */
  toJSON(): { mechanism: string; username: string | undefined; expiresAt: Date | undefined } {
    return { mechanism: this.mechanism, username: this.username, expiresAt: this.expiresAt };
  }

  /** What `console.log` and `util.inspect` show; never the token. */
  [inspect.custom](): string {
    return this.toString();
  }
}

/** The provider's answer as a grant; throws an InvalidArgumentError naming what is wrong, never showing a value. */
function toGrant(value: unknown, defaultUsername: string, calledAt: number): TokenGrant {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(`expected { token, username?, expiresAt? }, got ${typeOf(value)}`);
  }
  const { token, username, expiresAt } = value as Record<string, unknown>;
  if (typeof token !== 'string' || token === '') throw new InvalidArgumentError(`token must be a non-empty string, got ${typeOf(token)}`);
  checkText('token', token);
  const user = username === undefined ? defaultUsername : checkText('username', username);
  if (expiresAt !== undefined && !(expiresAt instanceof Date && Number.isFinite(expiresAt.getTime()))) {
    throw new InvalidArgumentError(`expiresAt must be a valid Date, got ${typeOf(expiresAt)}`);
  }
  if (expiresAt !== undefined && expiresAt.getTime() <= calledAt) {
    throw new InvalidArgumentError(`the token expired at ${expiresAt.toISOString()}, before the provider was called`);
  }
  return new TokenGrant(token, user, expiresAt, calledAt);
}

/** A string field of the SASL message: NUL separates its fields. */
function checkText(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(`${name} must be a string, got ${typeOf(value)}`);
  if (value.includes('\0')) throw new InvalidArgumentError(`${name} must not contain a NUL character`);
  return value;
}

/** A type name for messages; never the value itself, which may be a token. */
function typeOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'an invalid Date';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** `Name: message` of what the provider threw. */
function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : `it threw ${typeOf(err)}`;
}
