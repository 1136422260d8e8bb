/**
 * A connection's side of {@link TokenCredentials}: the newest token before
 * each connection attempt, and `connection.update-secret` on the open
 * connection at 80% of the token's validity.
 *
 * The SASL response is built synchronously when `connection.start`
 * arrives, but the provider is asynchronous, so the token is fetched before
 * the transport is opened: {@link TokenRefresh.wrap} puts that step in
 * front of each attempt of the connection workflow (first connect,
 * reconnects and recovery rounds alike), bounded by the parameter set's
 * `stackTimeout`. A provider answer comes back on a promise and is handed
 * to the loop (`addCallbackThreadsafe`) before anything acts on it, and
 * every timer is the loop's, so that the virtual loop drives it all.
 * @packageDocumentation
 */
import { TokenProviderError } from '../errors';
import type { Connection } from './connection';
import type { AttemptFn } from './connection-workflow';
import type { TimerHandle } from './ioloop';
import type { ConnectionParameters } from './parameters';
import { TokenCredentials, type TokenGrant } from './token-credentials';

/** Seconds between looks while a refresh is due and the connection is recovering (its reconnect re-arms the refresh). */
const RECOVERING_RECHECK = 1;
/** The first retry of a failed refresh, in seconds; each next one waits twice as long, up to {@link MAX_RETRY}. */
const FIRST_RETRY = 1;
/** The longest wait between retries of a failed refresh, in seconds. */
const MAX_RETRY = 60;

/** Seconds before the next try after `failures` consecutive failures of a refresh: 1, 2, 4, ... 60. */
export function refreshRetryDelay(failures: number): number {
  return Math.min(MAX_RETRY, FIRST_RETRY * 2 ** Math.min(failures - 1, 30));
}

/** The token refresh of one connection; inert unless a parameter set has TokenCredentials. */
export class TokenRefresh {
  /** The refresh timer, or the time limit of the provider call in progress. */
  private timer: TimerHandle | null = null;
  /** Bumped when the refresh is re-armed or stopped: an answer meant for an older round is dropped. */
  private round = 0;
  /** The credentials of the parameter set the connection opened with. */
  private credentials: TokenCredentials | null = null;
  /** The token the broker holds for this connection (sent at the login or by the last update-secret). */
  private sent: TokenGrant | null = null;
  /** A token that could not be sent (too large for a frame): the next refresh asks the provider for another. */
  private unusable: TokenGrant | null = null;
  /** The time limit of a provider call (the parameter set's stackTimeout). */
  private answerTimeout = 0;
  /** Consecutive failures of the refresh in progress. */
  private failures = 0;
  private hooked = false;

  constructor(private readonly connection: Connection) {}

  /** `attempt`, preceded, for a parameter set with TokenCredentials, by fetching the newest token. */
  wrap(attempt: AttemptFn): AttemptFn {
    return (params, done) => {
      const credentials = params.credentials;
      if (!(credentials instanceof TokenCredentials)) return attempt(params, done);
      return this.prepared(credentials, params, attempt, done);
    };
  }

  /**
   * Fetches the token (or takes the newest one while fresh), then makes the
   * attempt; once it opens, the refresh is armed for that token. A provider
   * that fails while the previous token is still valid does not stop the
   * attempt: the previous token is used and the failure reported.
   */
  private prepared(credentials: TokenCredentials, params: ConnectionParameters, attempt: AttemptFn, done: (err: Error | null) => void): () => void {
    const loop = this.connection.ioloop;
    let abortAttempt: (() => void) | null = null;
    let settled = false;
    const settle = (err: Error | null, grant: TokenGrant | null): void => {
      if (settled) return;
      settled = true;
      loop.removeTimeout(limit);
      const fallback = grant === null ? this.fallback(credentials, err) : null;
      const token = grant ?? fallback;
      if (token === null) return done(err);
      abortAttempt = attempt(params, (attemptErr) => {
        if (attemptErr === null) this.arm(credentials, token, params.stackTimeout, fallback === null ? 0 : 1);
        done(attemptErr);
      });
    };
    const pending = credentials.fresh();
    const limit = loop.callLater(params.stackTimeout, () => {
      credentials.abandon(pending);
      settle(unanswered(params.stackTimeout), null);
    });
    pending.then(
      (grant) => loop.addCallbackThreadsafe(() => settle(null, grant)),
      (err: Error) => loop.addCallbackThreadsafe(() => settle(err, null)),
    );
    return () => {
      if (abortAttempt !== null) return abortAttempt();
      settled = true;
      loop.removeTimeout(limit);
    };
  }

  /** The previous token when the provider failed and that token is still valid (the failure is reported); otherwise null. */
  private fallback(credentials: TokenCredentials, err: Error | null): TokenGrant | null {
    const previous = credentials.current;
    if (!(err instanceof TokenProviderError) || previous === null || !previous.isValidAt(Date.now())) return null;
    const until = previous.expiresAt === undefined ? '' : `, valid until ${previous.expiresAt.toISOString()}`;
    this.report(
      credentials,
      new TokenProviderError(`${err.message}; connecting with the previous token${until}`, { cause: err.cause, expiresAt: previous.expiresAt }),
    );
    return previous;
  }

  /**
   * The broker holds `grant` for this connection: refresh it at its refresh
   * time, giving the provider `answerTimeout` seconds. After `failures`
   * failed provider calls (a connection made with the previous token), not
   * before the backoff.
   */
  private arm(credentials: TokenCredentials, grant: TokenGrant, answerTimeout: number, failures: number): void {
    this.stop();
    this.credentials = credentials;
    this.sent = grant;
    this.unusable = null;
    this.answerTimeout = answerTimeout;
    this.failures = failures;
    if (!this.hooked) {
      this.hooked = true;
      // Once the connection has closed, no timer of ours is left on the loop.
      this.connection.addEndHook(() => this.end());
    }
    const backoff = failures > 0 ? refreshRetryDelay(failures) : 0;
    if (grant.refreshAt !== undefined) this.schedule(Math.max(backoff, (grant.refreshAt - Date.now()) / 1000));
  }

  private schedule(delaySeconds: number): void {
    const round = this.round;
    this.timer = this.connection.ioloop.callLater(delaySeconds, () => {
      this.timer = null;
      if (round === this.round) this.refresh();
    });
  }

  /** The refresh is due: a new token from the credentials, then update-secret. */
  private refresh(): void {
    const connection = this.connection;
    const credentials = this.credentials;
    if (credentials === null || connection.isClosing || connection.isClosed) return;
    if (!connection.isOpen) return this.schedule(RECOVERING_RECHECK);
    const round = this.round;
    const pending = credentials.fresh(this.unusable ?? this.sent ?? undefined);
    this.timer = connection.ioloop.callLater(this.answerTimeout, () => {
      this.timer = null;
      credentials.abandon(pending);
      if (round !== this.round) return;
      this.round += 1; // the answer, should it still come, is too late for this round
      this.failed(credentials, unanswered(this.answerTimeout));
    });
    pending.then(
      (grant) => connection.ioloop.addCallbackThreadsafe(() => this.answered(round, credentials, null, grant)),
      (err: Error) => connection.ioloop.addCallbackThreadsafe(() => this.answered(round, credentials, err, null)),
    );
  }

  private answered(round: number, credentials: TokenCredentials, err: Error | null, grant: TokenGrant | null): void {
    if (round !== this.round) return; // re-armed, stopped, or timed out meanwhile
    if (this.timer !== null) this.connection.ioloop.removeTimeout(this.timer); // the time limit of this call
    this.timer = null;
    if (grant === null) return this.failed(credentials, err);
    if (!this.connection.isOpen) return this.schedule(RECOVERING_RECHECK); // lost meanwhile: the reconnect takes the new token
    try {
      this.connection.updateSecret(grant.secret, 'token refresh', (updateErr) => {
        // An error here is the connection's close or loss, which its close reason reports (530 for a refused token).
        if (updateErr === null && round === this.round) this.arm(credentials, grant, this.answerTimeout, 0);
      });
    } catch (updateErr) {
      this.unusable = grant;
      this.failed(credentials, updateErr as Error);
    }
  }

  /** A refresh failed: reported, and tried again after the backoff. */
  private failed(credentials: TokenCredentials, err: Error | null): void {
    if (!(err instanceof TokenProviderError) && credentials.erased) return; // the application erased them: nothing to refresh
    this.failures += 1;
    const retryIn = refreshRetryDelay(this.failures);
    const expiresAt = this.sent?.expiresAt;
    const what = err instanceof TokenProviderError ? err.message : `connection.update-secret failed: ${err?.name}: ${err?.message}`;
    const expiry = expiresAt === undefined ? '' : `; the token in use expires at ${expiresAt.toISOString()}`;
    const message = `token refresh failed (${this.failures} in a row): ${what}; retrying in ${retryIn} s${expiry}`;
    const cause = err instanceof TokenProviderError ? err.cause : err;
    this.report(credentials, new TokenProviderError(message, { cause, failures: this.failures, retryIn, expiresAt }));
    this.schedule(retryIn);
  }

  /** To the credentials' onRefreshError (isolated like any callback), or a ConeyWarning: never silent, never a crash. */
  private report(credentials: TokenCredentials, err: TokenProviderError): void {
    const handler = credentials.onRefreshError;
    if (handler !== undefined) this.connection.invoke(handler, err);
    else process.emitWarning(err.message, 'ConeyWarning');
  }

  /** Cancels the pending timer and any answer still to come. */
  private stop(): void {
    this.round += 1;
    if (this.timer !== null) this.connection.ioloop.removeTimeout(this.timer);
    this.timer = null;
  }

  /** The connection has closed: nothing pending, nothing kept. */
  private end(): void {
    this.stop();
    this.credentials = null;
    this.sent = null;
    this.unusable = null;
  }
}

/** The provider did not answer in time. */
function unanswered(seconds: number): TokenProviderError {
  return new TokenProviderError(`the token provider did not answer within ${seconds} s (the parameter set's stackTimeout)`, { cause: undefined });
}
