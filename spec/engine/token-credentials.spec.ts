/**
 * TokenCredentials on their own: the SASL PLAIN response with the token as
 * the password, the checks of the provider's answer, when the newest token
 * is reused and when the provider is called, and that no token is ever
 * printed.
 */
import { expect } from 'chai';
import * as sinon from 'sinon';
import { inspect } from 'util';
import { AuthenticationError, InvalidArgumentError, TokenProviderError } from '../../lib/errors';
import { type Token, TokenCredentials, type TokenProvider } from '../../lib/engine/token-credentials';
import { ConnectionParameters } from '../../lib/engine/parameters';
import { selectMechanism } from '../../lib/engine/credentials';

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);

/** A thenable that rejects with `reason`, whatever it is (a provider of foreign code may reject with a non-Error). */
function rejectsWith(reason: unknown): Promise<Token> {
  const thenable = { then: (_resolve: unknown, reject: (why: unknown) => void) => reject(reason) };
  return thenable as unknown as Promise<Token>;
}

/** What `promise` rejects with (fails if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('TokenCredentials', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers({ toFake: ['Date'], now: NOW })));
  afterEach(() => clock.restore());

  /** A provider of tok-1, tok-2, ... valid for `validity` ms. */
  function counting(validity: number | null = 10_000): TokenProvider & { calls: number } {
    const provider = Object.assign(
      () => {
        provider.calls += 1;
        return Promise.resolve<Token>({ token: `tok-${provider.calls}`, expiresAt: validity === null ? undefined : new Date(Date.now() + validity) });
      },
      { calls: 0 },
    );
    return provider;
  }

  it('answers SASL PLAIN with the user name and the token as the password', async () => {
    const c = new TokenCredentials(() => ({ token: 'eyJ.tok€n' }), { username: 'svc' });
    expect(c.mechanism).to.equal('PLAIN');
    expect(() => c.response()).to.throw(AuthenticationError, /no token yet/);
    await c.fresh();
    expect(c.response()).to.deep.equal(Buffer.from('\0svc\0eyJ.tok€n', 'utf8'));
    selectMechanism(c, 'PLAIN AMQPLAIN');
  });

  it('sends an empty user name by default, and the provider’s user name when it gives one', async () => {
    const c = new TokenCredentials(() => ({ token: 't' }));
    await c.fresh();
    expect(c.response()).to.deep.equal(Buffer.from('\0\0t'));
    expect(c.username).to.equal(undefined);
    const named = new TokenCredentials(() => ({ token: 't', username: 'alice' }), { username: 'ignored' });
    await named.fresh();
    expect(named.response()).to.deep.equal(Buffer.from('\0alice\0t'));
    expect(named.username).to.equal('alice');
  });

  it('reuses the newest token until 80% of its validity (from the provider call) has passed, then calls the provider', async () => {
    const provider = counting(10_000);
    const c = new TokenCredentials(provider);
    const first = await c.fresh();
    expect(first.refreshAt).to.equal(NOW + 8_000);
    clock.tick(7_999);
    expect(await c.fresh()).to.equal(first);
    expect(provider.calls).to.equal(1);
    clock.tick(1);
    const second = await c.fresh();
    expect(second).not.to.equal(first);
    expect(provider.calls).to.equal(2);
    expect(c.expiresAt?.getTime()).to.equal(NOW + 18_000);
  });

  it('calls the provider again when the caller already holds the newest token (stale), even while fresh', async () => {
    const provider = counting();
    const c = new TokenCredentials(provider);
    const first = await c.fresh();
    const second = await c.fresh(first);
    expect(second).not.to.equal(first);
    expect(await c.fresh(first)).to.equal(second); // another caller's stale token: the newest is fresh
    expect(provider.calls).to.equal(2);
  });

  it('counts the validity from the call, not from the answer', async () => {
    let answer: (t: Token) => void = () => undefined;
    const c = new TokenCredentials(() => new Promise<Token>((resolve) => (answer = resolve)));
    const pending = c.fresh();
    clock.tick(4_000);
    answer({ token: 't', expiresAt: new Date(NOW + 10_000) });
    expect((await pending).refreshAt).to.equal(NOW + 8_000);
  });

  it('fetches a token without expiresAt again for every caller (never fresh)', async () => {
    const provider = counting(null);
    const c = new TokenCredentials(provider);
    const first = await c.fresh();
    expect(first.refreshAt).to.equal(undefined);
    await c.fresh();
    expect(provider.calls).to.equal(2);
  });

  it('shares one provider call among concurrent callers; abandon() lets the next caller make a new one', async () => {
    let answers = 0;
    const resolvers: Array<(t: Token) => void> = [];
    const c = new TokenCredentials(() => {
      answers += 1;
      return new Promise<Token>((resolve) => resolvers.push(resolve));
    });
    const a = c.fresh();
    const b = c.fresh();
    expect(a).to.equal(b);
    expect(answers).to.equal(1);
    c.abandon(a);
    const d = c.fresh();
    expect(d).not.to.equal(a);
    expect(answers).to.equal(2);
    resolvers[1]({ token: 'new', expiresAt: new Date(NOW + 10_000) });
    resolvers[0]({ token: 'old', expiresAt: new Date(NOW + 5_000) });
    await Promise.all([a, d]);
    // The later refresh time wins, whatever the order of the answers.
    expect(c.current?.secret).to.equal('new');
  });

  const garbage: Array<[string, unknown, RegExp]> = [
    ['a string', 'tok-secret', /expected \{ token, username\?, expiresAt\? \}, got a string/],
    ['null', null, /got null/],
    ['no token', { expiresAt: new Date(NOW + 1000) }, /token must be a non-empty string, got undefined/],
    ['an empty token', { token: '' }, /token must be a non-empty string, got a string/],
    ['a token with NUL', { token: 'tok\0secret' }, /token must not contain a NUL/],
    ['a username not a string', { token: 'tok-secret', username: 7 }, /username must be a string, got a number/],
    ['expiresAt a number', { token: 'tok-secret', expiresAt: NOW + 1000 }, /expiresAt must be a valid Date, got a number/],
    ['expiresAt an invalid Date', { token: 'tok-secret', expiresAt: new Date(NaN) }, /expiresAt must be a valid Date, got an invalid Date/],
    [
      'an expired token',
      { token: 'tok-secret', expiresAt: new Date(NOW - 1) },
      /expired at 2026-12-03T11:59:59.999Z, before the provider was called/,
    ],
  ];
  for (const [what, value, message] of garbage) {
    it(`rejects an answer with ${what} with a TokenProviderError that does not show it`, async () => {
      const c = new TokenCredentials(() => value as Token);
      const err = await rejection(c.fresh());
      expect(err).to.be.instanceOf(TokenProviderError);
      expect(err.message).to.match(/^the token provider returned no usable token: /);
      expect(err.message).to.match(message);
      expect(err.message).not.to.include('secret');
      expect((err as TokenProviderError).cause).to.be.instanceOf(InvalidArgumentError);
      expect(c.current).to.equal(null);
    });
  }

  it('turns a throw, a rejection and a rejection with a non-Error into a TokenProviderError with the cause', async () => {
    const boom = new Error('idp unreachable');
    const thrown = await rejection(
      new TokenCredentials(() => {
        throw boom;
      }).fresh(),
    );
    expect(thrown).to.be.instanceOf(TokenProviderError);
    expect(thrown.message).to.equal('the token provider failed: Error: idp unreachable');
    expect(thrown.cause).to.equal(boom);
    const rejected = await rejection(new TokenCredentials(() => Promise.reject(boom)).fresh());
    expect(rejected.cause).to.equal(boom);
    const odd = await rejection(new TokenCredentials(() => rejectsWith('tok-secret')).fresh());
    expect(odd.message).to.equal('the token provider failed: it threw a string');
  });

  it('erase() forgets the token: no response, no provider call', async () => {
    const provider = counting();
    const c = new TokenCredentials(provider);
    await c.fresh();
    c.erase();
    expect(c.erased).to.equal(true);
    expect(() => c.response()).to.throw(AuthenticationError, /erased/);
    expect(await rejection(c.fresh())).to.be.instanceOf(AuthenticationError);
    expect(provider.calls).to.equal(1);
    expect(String(c)).to.equal('TokenCredentials(<erased>)');
    expect(() => selectMechanism(c, 'PLAIN')).to.throw(AuthenticationError, /TokenCredentials were erased/);
  });

  it('checks its arguments', () => {
    expect(() => new TokenCredentials('tok' as unknown as TokenProvider)).to.throw(InvalidArgumentError, /provider must be a function/);
    expect(() => new TokenCredentials(() => ({ token: 't' }), { user: 'x' } as never)).to.throw(InvalidArgumentError, /unknown option 'user'/);
    expect(() => new TokenCredentials(() => ({ token: 't' }), { username: 'a\0b' })).to.throw(
      InvalidArgumentError,
      /username option must not contain a NUL/,
    );
    expect(() => new TokenCredentials(() => ({ token: 't' }), { onRefreshError: 'log' as never })).to.throw(
      InvalidArgumentError,
      /onRefreshError must be a function/,
    );
  });

  it('never prints the token: toString, inspect, JSON, and in ConnectionParameters', async () => {
    const c = new TokenCredentials(() => ({ token: 'tok-secret', username: 'svc', expiresAt: new Date(NOW + 60_000) }));
    expect(String(c)).to.equal('TokenCredentials');
    await c.fresh();
    const params = new ConnectionParameters({ credentials: c });
    const shown = [
      String(c),
      inspect(c),
      JSON.stringify(c),
      String(c.current),
      inspect(c.current),
      JSON.stringify(c.current),
      String(params),
      inspect(params),
      JSON.stringify(params),
    ];
    for (const text of shown) expect(text).not.to.include('tok-secret');
    expect(String(c)).to.equal('TokenCredentials(svc)');
    expect(String(params)).to.equal('amqp://svc@localhost:5672/%2F');
    expect(String(c.current)).to.equal('TokenGrant(expires 2026-12-03T12:01:00.000Z)');
  });
});
