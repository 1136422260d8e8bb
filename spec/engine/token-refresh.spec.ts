/**
 * TokenCredentials on a connection (token-refresh.ts), on the virtual loop
 * against the fake broker: the token fetched before each attempt, the
 * update-secret at 80% of its validity, the newest token on reconnect, a
 * failing provider retried with backoff and reported, no refresh without
 * expiresAt, a refused secret, and nothing left on the loop after close.
 *
 * The wall clock (Date, which expiresAt is about) is a sinon fake moved in
 * step with the loop's virtual time, so that both clocks agree; provider
 * answers come back on promises, which {@link pump} lets settle between runs.
 */
import { expect } from 'chai';
import * as sinon from 'sinon';
import { inspect } from 'util';
import { ConnectionClosedByBroker, TokenProviderError } from '../../lib/errors';
import { type Token, TokenCredentials, type TokenCredentialsOptions } from '../../lib/engine/token-credentials';
import { refreshRetryDelay } from '../../lib/engine/token-refresh';
import * as spec from '../../lib/wire/spec';
import type { RecoveryOptions } from '../../lib/recovery/options';
import type { FakeSession } from '../support/fake-broker';
import { connectToFakeBroker, type FakeBrokerConnection } from '../support/virtual-broker';

/** Date.now() at virtual time 0. */
const EPOCH = Date.UTC(2026, 11, 3, 12, 0, 0);

/** A scripted provider: tokens tok-1, tok-2, ... valid for `validity` seconds, or what `next` says. */
class Provider {
  calls = 0;
  validity: number | undefined = 10;
  /** Overrides the next answers: an error to throw, 'hang', 'garbage', seconds of (virtual) delay, or a token of the test's. */
  next: Array<Error | 'hang' | 'garbage' | { delay: number } | { token: string }> = [];
  constructor(private readonly h: () => Harness) {}
  readonly fn = (): Promise<Token> => {
    this.calls += 1;
    const n = this.calls;
    const plan = this.next.shift();
    const token = (): Token => ({
      token: `tok-${n}`,
      expiresAt: this.validity === undefined ? undefined : new Date(Date.now() + this.validity * 1000),
    });
    if (plan instanceof Error) return Promise.reject(plan);
    if (plan === 'hang') return new Promise<Token>(() => undefined);
    if (plan === 'garbage') return Promise.resolve('tok-garbage' as unknown as Token);
    if (plan !== undefined && 'token' in plan) return Promise.resolve({ ...token(), token: plan.token });
    if (plan !== undefined) {
      const at = Date.now();
      return new Promise<Token>((resolve) =>
        this.h().loop.callLater(plan.delay, () => resolve({ token: `tok-${n}`, expiresAt: new Date(at + this.validity! * 1000) })),
      );
    }
    return Promise.resolve(token());
  };
}

interface Harness extends FakeBrokerConnection {
  clock: sinon.SinonFakeTimers;
  provider: Provider;
  credentials: TokenCredentials;
  refreshErrors: TokenProviderError[];
  /** Milliseconds the wall clock is ahead of the loop's virtual time (see {@link jump}). */
  skew: number;
}

let harness: Harness | null = null;

/** A connection with TokenCredentials (user 'u') to the fake broker, which answers update-secret with update-secret-ok. */
function setUp(
  options: {
    recovery?: RecoveryOptions;
    credentials?: TokenCredentialsOptions;
    stackTimeout?: number;
    connectionAttempts?: number;
    onCallbackError?: (err: unknown) => void;
  } = {},
): Harness {
  const clock = sinon.useFakeTimers({ toFake: ['Date'], now: EPOCH });
  const refreshErrors: TokenProviderError[] = [];
  const provider = new Provider(() => h);
  const credentials = new TokenCredentials(provider.fn, {
    username: 'u',
    onRefreshError: (err) => refreshErrors.push(err),
    ...options.credentials,
  });
  const base = connectToFakeBroker({
    parameters: { credentials, stackTimeout: options.stackTimeout ?? 15, connectionAttempts: options.connectionAttempts ?? 1 },
    select: options.recovery === undefined ? undefined : { recovery: options.recovery },
    onCallbackError: options.onCallbackError,
  });
  const h: Harness = { ...base, clock, provider, credentials, refreshErrors, skew: 0 };
  h.broker.onMethod = (session, channel, method) => {
    if (!(method instanceof spec.Connection.UpdateSecret)) return false;
    session.send(channel, new spec.Connection.UpdateSecretOk());
    return true;
  };
  harness = h;
  return h;
}

afterEach(() => {
  harness?.clock.restore();
  harness = null;
});

/** Runs the loop (timers due now included) and lets promise answers settle, until nothing is left to run now (bounded). */
async function pump(h: Harness): Promise<void> {
  for (let i = 0; i < 50; i++) {
    h.loop.advance(0);
    await new Promise((resolve) => setImmediate(resolve));
    if (h.loop.pendingCallbackCount === 0) return;
  }
  throw new Error('pump: the loop kept getting work for 50 rounds');
}

/** Moves virtual time and the fake wall clock together by `seconds`, timer by timer. */
async function advance(h: Harness, seconds: number): Promise<void> {
  const end = h.loop.now() + seconds;
  await pump(h);
  for (let next = h.loop.nextTimerAt; next !== null && next <= end; next = h.loop.nextTimerAt) {
    h.clock.setSystemTime(EPOCH + h.skew + next * 1000);
    h.loop.advance(next - h.loop.now());
    await pump(h);
  }
  h.clock.setSystemTime(EPOCH + h.skew + end * 1000);
  h.loop.advance(end - h.loop.now());
  await pump(h);
}

/**
 * Moves the wall clock alone `ms` ahead, as if the process had slept
 * (a suspended laptop, a stopped container): the loop's timers do not fire.
 */
function jump(h: Harness, ms: number): void {
  h.skew += ms;
  h.clock.setSystemTime(EPOCH + h.skew + h.loop.now() * 1000);
}

/** The PLAIN password of a session's start-ok. */
function loginToken(session: FakeSession): string {
  const response = session.sent(spec.Connection.StartOk)[0].response;
  const [, user, password] = Buffer.from(response).toString('utf8').split('\0');
  expect(user, 'PLAIN user name').to.equal('u');
  return password;
}

/** The secrets a session received with update-secret, in order. */
function updatedSecrets(session: FakeSession): string[] {
  return session.sent(spec.Connection.UpdateSecret).map((m) => Buffer.from(m.newSecret).toString('utf8'));
}

describe('TokenCredentials on a connection (virtual loop)', () => {
  it('fetches a token before connecting and sends it as the PLAIN password', async () => {
    const h = setUp();
    await pump(h);
    expect(h.connection.isOpen).to.equal(true);
    expect(h.provider.calls).to.equal(1);
    expect(loginToken(h.broker.session)).to.equal('tok-1');
  });

  it('refreshes with update-secret at 80% of the validity counted from the provider call, then again for each new token', async () => {
    const h = setUp();
    h.provider.next = [{ delay: 2 }]; // the first answer takes 2 s: the token is 2 s old when the connection opens
    await advance(h, 2);
    expect(h.connection.isOpen).to.equal(true);
    await advance(h, 5.9); // 7.9 s after the call
    expect(updatedSecrets(h.broker.session)).to.deep.equal([]);
    await advance(h, 0.1); // 8 s after the call
    expect(updatedSecrets(h.broker.session)).to.deep.equal(['tok-2']);
    expect(h.broker.session.sent(spec.Connection.UpdateSecret)[0].reason).to.equal('token refresh');
    await advance(h, 7.9);
    expect(updatedSecrets(h.broker.session)).to.deep.equal(['tok-2']);
    await advance(h, 0.1);
    await advance(h, 8);
    expect(updatedSecrets(h.broker.session)).to.deep.equal(['tok-2', 'tok-3', 'tok-4']);
    expect(h.connection.isOpen).to.equal(true);
    expect(h.refreshErrors).to.deep.equal([]);
    expect(h.credentials.expiresAt?.getTime()).to.equal(EPOCH + 34_000); // tok-4, fetched at 24 s
  });

  it('does not refresh a token without expiresAt, and leaves no timer on the loop', async () => {
    const h = setUp();
    h.provider.validity = undefined;
    await advance(h, 3600);
    expect(h.connection.isOpen).to.equal(true);
    expect(h.provider.calls).to.equal(1);
    expect(updatedSecrets(h.broker.session)).to.deep.equal([]);
    expect(h.loop.pendingTimerCount).to.equal(0);
  });

  it('uses the newest token on a reconnect by automatic recovery: the refreshed one while fresh, else a new one', async () => {
    const h = setUp({ recovery: { initialDelay: 0 } });
    await advance(h, 8.5); // tok-2 sent with update-secret at 8 s
    expect(updatedSecrets(h.broker.session)).to.deep.equal(['tok-2']);
    h.broker.session.peer.destroy(new Error('ECONNRESET'));
    await advance(h, 0.5);
    expect(h.broker.sessions).to.have.length(2);
    expect(h.connection.isOpen).to.equal(true);
    expect(loginToken(h.broker.sessions[1])).to.equal('tok-2'); // still fresh: no provider call
    expect(h.provider.calls).to.equal(2);
    // tok-2 was fetched at 8 s: its refresh is due at 16 s, on the new connection.
    await advance(h, 7);
    expect(updatedSecrets(h.broker.sessions[1])).to.deep.equal(['tok-3']);
    // The process sleeps past tok-3's refresh time (24 s) and finds the connection lost: the reconnect gets a new token first.
    jump(h, 10_000);
    h.broker.sessions[1].peer.destroy(new Error('ECONNRESET'));
    await pump(h);
    expect(h.broker.sessions).to.have.length(3);
    expect(loginToken(h.broker.sessions[2])).to.equal('tok-4');
    expect(h.provider.calls).to.equal(4);
  });

  it('uses the refreshed token when the application reconnects with a new connection on the same credentials', async () => {
    const h = setUp();
    await advance(h, 8.5);
    h.connection.close();
    await pump(h);
    expect(h.connection.isClosed).to.equal(true);
    const again = connectToFakeBroker({ parameters: { credentials: h.credentials } });
    // the same fake broker would do, but a new loop keeps the two connections apart
    again.loop.runUntilIdle();
    await new Promise((resolve) => setImmediate(resolve));
    again.loop.runUntilIdle();
    expect(again.connection.isOpen).to.equal(true);
    expect(loginToken(again.broker.session)).to.equal('tok-2');
    expect(h.provider.calls).to.equal(2);
  });

  it('retries a failing provider with backoff (1, 2, 4 s ...), reports each failure, and refreshes once it answers', async () => {
    const h = setUp();
    await pump(h);
    h.provider.next = [new Error('idp down'), 'garbage', 'hang'];
    await advance(h, 8); // fails at 8 s
    expect(h.refreshErrors).to.have.length(1);
    const first = h.refreshErrors[0];
    expect(first).to.be.instanceOf(TokenProviderError);
    expect(first.failures).to.equal(1);
    expect(first.retryIn).to.equal(1);
    expect(first.expiresAt?.getTime()).to.equal(EPOCH + 10_000);
    expect(first.message).to.match(/token provider failed: Error: idp down.*retrying in 1 s.*expires at 2026-12-03T12:00:10.000Z/);
    expect((first.cause as Error).message).to.equal('idp down');
    await advance(h, 1); // garbage at 9 s
    expect(h.refreshErrors).to.have.length(2);
    expect(h.refreshErrors[1].message).to.match(
      /returned no usable token: expected \{ token, username\?, expiresAt\? \}, got a string.*retrying in 2 s/,
    );
    expect(h.refreshErrors[1].message).not.to.include('tok-garbage');
    await advance(h, 2); // hangs from 11 s, for stackTimeout (15 s)
    await advance(h, 14.9);
    expect(h.refreshErrors).to.have.length(2);
    await advance(h, 0.1); // 26 s
    expect(h.refreshErrors).to.have.length(3);
    expect(h.refreshErrors[2].message).to.match(/did not answer within 15 s.*retrying in 4 s/);
    expect(h.refreshErrors[2].failures).to.equal(3);
    expect(updatedSecrets(h.broker.session)).to.deep.equal([]);
    await advance(h, 4); // answers at 30 s
    expect(updatedSecrets(h.broker.session)).to.deep.equal(['tok-5']);
    expect(h.refreshErrors).to.have.length(3);
    // The next failure starts the backoff again from 1 s.
    h.provider.next = [new Error('idp down again')];
    await advance(h, 8);
    expect(h.refreshErrors).to.have.length(4);
    expect(h.refreshErrors[3].failures).to.equal(1);
    expect(h.refreshErrors[3].retryIn).to.equal(1);
  });

  it('reports a refresh failure as a ConeyWarning when the credentials have no onRefreshError', async () => {
    const h = setUp({ credentials: { onRefreshError: undefined } });
    const warn = sinon.stub(process, 'emitWarning');
    try {
      await pump(h);
      h.provider.next = [new Error('idp down')];
      await advance(h, 8);
      expect(warn.callCount).to.equal(1);
      expect(warn.firstCall.args[0]).to.match(/token refresh failed \(1 in a row\): the token provider failed: Error: idp down/);
      expect(warn.firstCall.args[1]).to.equal('ConeyWarning');
    } finally {
      warn.restore();
    }
  });

  it('sends onRefreshError’s own exception to onCallbackError, and goes on', async () => {
    const h = setUp({
      credentials: {
        onRefreshError: () => {
          throw new Error('handler broke');
        },
      },
      onCallbackError: () => undefined, // recorded in callbackErrors
    });
    await pump(h);
    h.provider.next = [new Error('idp down')];
    await advance(h, 8);
    expect(h.callbackErrors.map((e) => (e as Error).message)).to.deep.equal(['handler broke']);
    await advance(h, 1);
    expect(updatedSecrets(h.broker.session)).to.deep.equal(['tok-3']);
  });

  it('fails the attempt when the provider fails before connecting and there is no valid token', async () => {
    const h = setUp();
    h.provider.next = [new Error('idp down')];
    await pump(h);
    expect(h.events.openErrors).to.have.length(1);
    expect(h.events.openErrors[0]).to.be.instanceOf(TokenProviderError);
    expect(h.events.openErrors[0].message).to.equal('the token provider failed: Error: idp down');
    expect(h.broker.sessions).to.have.length(0); // no socket was opened
  });

  it('retries the provider at the next attempt (connectionAttempts, retryDelay)', async () => {
    const h = setUp({ connectionAttempts: 2 });
    h.provider.next = [new Error('idp down')];
    await advance(h, 2); // retryDelay 2 s
    expect(h.connection.isOpen).to.equal(true);
    expect(h.provider.calls).to.equal(2);
    expect(loginToken(h.broker.session)).to.equal('tok-2');
  });

  it('bounds a provider that never answers before connecting by stackTimeout', async () => {
    const h = setUp({ stackTimeout: 5 });
    h.provider.next = ['hang'];
    await advance(h, 4.9);
    expect(h.events.openErrors).to.have.length(0);
    await advance(h, 0.1);
    expect(h.events.openErrors).to.have.length(1);
    expect(h.events.openErrors[0]).to.be.instanceOf(TokenProviderError);
    expect(h.events.openErrors[0].message).to.match(/did not answer within 5 s/);
    expect(h.loop.pendingTimerCount).to.equal(0);
  });

  it('stops waiting for the provider when close() comes first: no socket, nothing left on the loop', async () => {
    const h = setUp();
    h.provider.next = [{ delay: 1 }];
    await pump(h);
    h.connection.close();
    await advance(h, 2); // the provider answers at 1 s, after the close
    expect(h.events.openErrors).to.have.length(1);
    expect(h.events.openErrors[0].name).to.equal('ConnectionOpenAborted');
    expect(h.broker.sessions).to.have.length(0);
    expect(h.loop.pendingTimerCount).to.equal(0);
  });

  it('reports a refreshed token that does not fit in a frame (frameMax) instead of sending it, and asks for another', async () => {
    const h = setUp();
    h.broker.options.frameMax = 4096;
    await pump(h);
    expect(h.connection.frameMax).to.equal(4096);
    h.provider.next = [{ token: 'x'.repeat(5000) }];
    await advance(h, 8);
    expect(h.refreshErrors).to.have.length(1);
    expect(h.refreshErrors[0].message).to.match(
      /^token refresh failed \(1 in a row\): connection\.update-secret failed: InvalidArgumentError: connection\.update-secret: the method frame would be \d+ bytes, more than frame-max 4096.*; retrying in 1 s/,
    );
    expect(h.refreshErrors[0].message).not.to.include('xxxx');
    expect(updatedSecrets(h.broker.session)).to.deep.equal([]);
    await advance(h, 1);
    expect(updatedSecrets(h.broker.session)).to.deep.equal(['tok-3']);
    expect(h.connection.isOpen).to.equal(true);
  });

  it('reconnects with the previous token while it is valid when the provider fails, reporting the failure', async () => {
    const h = setUp({ recovery: { initialDelay: 0 } });
    await pump(h);
    jump(h, 9_000); // tok-1 is due for refresh (8 s) but valid until 10 s
    h.provider.next = [new Error('idp down'), new Error('idp still down')];
    h.broker.session.peer.destroy(new Error('ECONNRESET'));
    await pump(h);
    expect(h.broker.sessions).to.have.length(2);
    expect(loginToken(h.broker.sessions[1])).to.equal('tok-1');
    expect(h.connection.isOpen).to.equal(true);
    expect(h.refreshErrors.map((e) => e.message)).to.deep.equal([
      'the token provider failed: Error: idp down; connecting with the previous token, valid until 2026-12-03T12:00:10.000Z',
    ]);
    // The refresh is tried 1 s later, and again with backoff.
    await advance(h, 1);
    expect(h.refreshErrors).to.have.length(2);
    expect(h.refreshErrors[1].failures).to.equal(2);
    await advance(h, 2);
    expect(updatedSecrets(h.broker.sessions[1])).to.deep.equal(['tok-4']);
  });

  it('closes with a clear reason when the broker refuses the new secret (530), and does not recover', async () => {
    const h = setUp({ recovery: { initialDelay: 0 } });
    h.broker.onMethod = (session, _channel, method) => {
      if (!(method instanceof spec.Connection.UpdateSecret)) return false;
      session.send(0, new spec.Connection.Close({ replyCode: 530, replyText: 'NOT_ALLOWED - New secret was refused by one of the backends' }));
      return true;
    };
    await advance(h, 8.5);
    expect(h.connection.isClosed).to.equal(true);
    expect(h.events.closes).to.have.length(1);
    const reason = h.events.closes[0] as ConnectionClosedByBroker;
    expect(reason).to.be.instanceOf(ConnectionClosedByBroker);
    expect(reason.replyCode).to.equal(530);
    expect(reason.message).to.equal(
      'the broker refused the new secret (a refreshed token) sent with connection.update-secret and closed the connection: ' +
        '(530) NOT_ALLOWED - New secret was refused by one of the backends',
    );
    expect(h.broker.sessions).to.have.length(1);
    expect(h.loop.pendingTimerCount).to.equal(0);
  });

  it('clears its timer on close, and drops a provider answer that comes after the close', async () => {
    const h = setUp();
    await pump(h);
    expect(h.loop.pendingTimerCount).to.equal(1); // the refresh
    h.connection.close();
    await pump(h);
    expect(h.connection.isClosed).to.equal(true);
    expect(h.loop.pendingTimerCount).to.equal(0);

    h.clock.restore();
    const late = setUp();
    await pump(late);
    late.provider.next = [{ delay: 1 }];
    await advance(late, 8); // the refresh's provider call is in flight
    late.connection.close();
    await advance(late, 2); // its answer comes at 9 s
    expect(late.connection.isClosed).to.equal(true);
    expect(updatedSecrets(late.broker.session)).to.deep.equal([]);
    expect(late.refreshErrors).to.deep.equal([]);
    expect(late.loop.pendingTimerCount).to.equal(0);
  });

  it('never shows a token in toString, inspect or JSON of the credentials, the parameters or the connection', async () => {
    const h = setUp();
    await advance(h, 8.5);
    const shown = [
      String(h.credentials),
      inspect(h.credentials),
      JSON.stringify(h.credentials),
      String(h.connection.parameters),
      inspect(h.connection.parameters, { depth: 5 }),
      JSON.stringify(h.connection.parameters),
      inspect(h.connection, { depth: 6 }),
      inspect(h.credentials.current),
      JSON.stringify(h.credentials.current),
    ];
    for (const text of shown) expect(text).not.to.match(/tok-\d/);
    expect(String(h.credentials)).to.equal('TokenCredentials(u)');
    expect(JSON.parse(JSON.stringify(h.credentials))).to.deep.equal({ mechanism: 'PLAIN', username: 'u', expiresAt: '2026-12-03T12:00:18.000Z' });
  });

  it('waits with backoff of 1, 2, 4 ... seconds, at most 60', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 100].map(refreshRetryDelay)).to.deep.equal([1, 2, 4, 8, 16, 32, 60, 60, 60]);
  });
});
