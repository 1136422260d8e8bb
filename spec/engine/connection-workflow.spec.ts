/**
 * ConnectionWorkflow on the virtual loop: the parameter sets are tried in
 * order, the whole list per round, as many rounds as the last set's
 * connectionAttempts with its retryDelay between rounds; errors no retry can
 * fix end it at once; abort() stops it. Attempts are scripted here: no
 * sockets, no connection.
 */
import { expect } from 'chai';
import { VirtualIOLoop } from '../../lib/adapters/virtual-ioloop';
import { ConnectionWorkflow, shuffled } from '../../lib/engine/connection-workflow';
import { prng } from '../support/prng';
import { ConnectionParameters } from '../../lib/engine/parameters';
import {
  AuthenticationError,
  ConnectionOpenAborted,
  ConnectionWorkflowFailed,
  IncompatibleProtocolError,
  InvalidArgumentError,
  ProbableAuthenticationError,
  SocketConnectError,
  StackTimeoutError,
} from '../../lib/errors';

/** How one scripted attempt ends, and after how many virtual seconds. */
interface Outcome {
  err: Error | null;
  after?: number;
}

interface Run {
  loop: VirtualIOLoop;
  workflow: ConnectionWorkflow;
  /** Each attempt: the host tried and the virtual time it began. */
  attempts: Array<{ host: string; at: number }>;
  /** Attempts whose abort function was called, by index. */
  aborted: number[];
  /** Every call of `done`. */
  results: Array<{ err: Error | null; host: string | undefined; at: number }>;
}

/** A workflow over `sets` whose attempt `i` ends as `script(i, host)` says. */
function workflow(sets: ConnectionParameters[], script: (i: number, host: string) => Outcome, options: { shuffle?: boolean } = {}): Run {
  const loop = new VirtualIOLoop();
  const run: Run = { loop, workflow: null as unknown as ConnectionWorkflow, attempts: [], aborted: [], results: [] };
  run.workflow = new ConnectionWorkflow(
    loop,
    sets,
    (params, done) => {
      const i = run.attempts.length;
      run.attempts.push({ host: params.host, at: loop.now() });
      const { err, after = 0 } = script(i, params.host);
      const timer = loop.callLater(after, () => done(err));
      return () => {
        run.aborted.push(i);
        loop.removeTimeout(timer);
      };
    },
    (err, params) => run.results.push({ err, host: params?.host, at: loop.now() }),
    options,
  );
  return run;
}

const refused = (host: string): Error => new SocketConnectError(`${host} refused`);
const params = (host: string, connectionAttempts = 1, retryDelay = 2): ConnectionParameters =>
  new ConnectionParameters({ host, connectionAttempts, retryDelay });

describe('ConnectionWorkflow', () => {
  it('does nothing until start()', () => {
    const run = workflow([params('a')], () => ({ err: null }));
    run.loop.advance(10);
    expect(run.attempts).to.deep.equal([]);
    expect(run.results).to.deep.equal([]);
  });

  it('reports the parameter set that worked', () => {
    const run = workflow([params('a'), params('b')], () => ({ err: null, after: 0.5 }));
    run.workflow.start();
    run.loop.advance(10);
    expect(run.attempts).to.deep.equal([{ host: 'a', at: 0 }]);
    expect(run.results).to.deep.equal([{ err: null, host: 'a', at: 0.5 }]);
    expect(run.loop.pendingTimerCount).to.equal(0);
  });

  it('falls over to the next set at once, within a round', () => {
    const run = workflow([params('a'), params('b'), params('c')], (i, host) => ({ err: i < 2 ? refused(host) : null, after: 1 }));
    run.workflow.start();
    run.loop.advance(10);
    expect(run.attempts).to.deep.equal([
      { host: 'a', at: 0 },
      { host: 'b', at: 1 },
      { host: 'c', at: 2 },
    ]);
    expect(run.results).to.deep.equal([{ err: null, host: 'c', at: 3 }]);
  });

  it("runs as many rounds as the last set's connectionAttempts, retryDelay apart, the whole list each round", () => {
    // The first set's own values are ignored (pika's rule): only the last set's count.
    const run = workflow([params('primary', 9, 100), params('backup', 3, 5)], (_i, host) => ({ err: refused(host) }));
    run.workflow.start();
    run.loop.advance(60);
    expect(run.attempts).to.deep.equal([
      { host: 'primary', at: 0 },
      { host: 'backup', at: 0 },
      { host: 'primary', at: 5 },
      { host: 'backup', at: 5 },
      { host: 'primary', at: 10 },
      { host: 'backup', at: 10 },
    ]);
    expect(run.results).to.have.length(1);
    expect(run.results[0].at, 'no delay after the last round').to.equal(10);
    expect(run.loop.pendingTimerCount).to.equal(0);
  });

  it('fails with ConnectionWorkflowFailed listing every attempt error in order', () => {
    const errors: Error[] = [];
    const run = workflow([params('a'), params('b', 2, 1)], (i, host) => {
      const err = i === 1 ? new StackTimeoutError(`${host} too slow`) : refused(`${host}#${i}`);
      errors.push(err);
      return { err };
    });
    run.workflow.start();
    run.loop.advance(10);
    expect(run.results).to.have.length(1);
    const failure = run.results[0].err as ConnectionWorkflowFailed;
    expect(failure).to.be.instanceOf(ConnectionWorkflowFailed);
    expect(failure.attempts).to.deep.equal(errors);
    expect(failure.attempts).to.have.length(4);
    expect(failure.message).to.contain('attempt 2: StackTimeoutError: b too slow');
  });

  it('fails with the error itself when there was one attempt only', () => {
    const err = refused('only');
    const run = workflow([params('only')], () => ({ err }));
    run.workflow.start();
    run.loop.advance(10);
    expect(run.results).to.have.length(1);
    expect(run.results[0].err).to.equal(err);
  });

  it('succeeds in a later round', () => {
    const run = workflow([params('a', 3, 4)], (i, host) => ({ err: i < 2 ? refused(host) : null }));
    run.workflow.start();
    run.loop.advance(60);
    expect(run.attempts.map((a) => a.at)).to.deep.equal([0, 4, 8]);
    expect(run.results).to.deep.equal([{ err: null, host: 'a', at: 8 }]);
  });

  for (const [name, make] of [
    ['an AuthenticationError', () => new AuthenticationError('no mechanism')],
    ['a ProbableAuthenticationError', () => new ProbableAuthenticationError('wrong password')],
    ['an IncompatibleProtocolError', () => new IncompatibleProtocolError('AMQP 0-10')],
    ['an InvalidArgumentError', () => new InvalidArgumentError('start-ok too large')],
  ] as const) {
    it(`stops at once on ${name}: no further set, no further round`, () => {
      const err = make();
      const run = workflow([params('a'), params('b', 5, 1)], () => ({ err }));
      run.workflow.start();
      run.loop.advance(60);
      expect(run.attempts).to.deep.equal([{ host: 'a', at: 0 }]);
      expect(run.results).to.have.length(1);
      expect(run.results[0].err).to.equal(err);
      expect(run.loop.pendingTimerCount).to.equal(0);
    });
  }

  describe('abort()', () => {
    it('during an attempt: aborts it and reports ConnectionOpenAborted, once', () => {
      const run = workflow([params('a'), params('b')], () => ({ err: null, after: 5 }));
      run.workflow.start();
      run.loop.advance(1);
      run.workflow.abort();
      expect(run.aborted).to.deep.equal([0]);
      expect(run.results).to.have.length(1);
      expect(run.results[0].err).to.be.instanceOf(ConnectionOpenAborted);
      expect(run.results[0].at).to.equal(1);
      run.loop.advance(60);
      expect(run.attempts, 'no further attempt').to.have.length(1);
      expect(run.results).to.have.length(1);
    });

    it('while waiting to retry: cancels the retry', () => {
      const run = workflow([params('a', 3, 10)], (_i, host) => ({ err: refused(host) }));
      run.workflow.start();
      run.loop.advance(1);
      expect(run.loop.pendingTimerCount, 'the retry is scheduled').to.equal(1);
      run.workflow.abort();
      expect(run.loop.pendingTimerCount).to.equal(0);
      expect(run.aborted, 'no attempt was in progress').to.deep.equal([]);
      run.loop.advance(60);
      expect(run.attempts).to.have.length(1);
      expect(run.results.map((r) => r.err?.constructor)).to.deep.equal([ConnectionOpenAborted]);
    });

    it('after the end: does nothing', () => {
      const run = workflow([params('a')], () => ({ err: null }));
      run.workflow.start();
      run.loop.advance(0);
      expect(run.results).to.have.length(1);
      run.workflow.abort();
      run.workflow.abort();
      expect(run.results).to.deep.equal([{ err: null, host: 'a', at: 0 }]);
      expect(run.aborted).to.deep.equal([]);
    });
  });
});

describe('shuffleHosts', () => {
  it('shuffled() returns a permutation, every order about equally often', () => {
    const random = prng(7);
    const counts = new Map<string, number>();
    for (let i = 0; i < 6000; i++) {
      const order = shuffled(['a', 'b', 'c'], random).join('');
      counts.set(order, (counts.get(order) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).to.deep.equal(['abc', 'acb', 'bac', 'bca', 'cab', 'cba']);
    for (const n of counts.values()) expect(n).to.be.within(850, 1150);
  });

  it('each round tries every set once, starting at a random one', () => {
    const firsts = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const run = workflow([params('a', 2, 1), params('b', 2, 1), params('c', 2, 1)], (_i, host) => ({ err: refused(host) }), { shuffle: true });
      run.workflow.start();
      run.loop.runUntilIdle();
      run.loop.advance(5);
      const hosts = run.attempts.map((a) => a.host);
      expect(hosts).to.have.length(6);
      expect([...hosts.slice(0, 3)].sort()).to.deep.equal(['a', 'b', 'c']);
      expect([...hosts.slice(3)].sort()).to.deep.equal(['a', 'b', 'c']);
      firsts.add(hosts[0]);
    }
    expect(firsts.size, 'first hosts seen over 30 connections').to.equal(3);
  });

  it('is off by default: the order given, every round', () => {
    const run = workflow([params('a', 2, 1), params('b', 2, 1), params('c', 2, 1)], (_i, host) => ({ err: refused(host) }));
    run.workflow.start();
    run.loop.advance(5);
    expect(run.attempts.map((a) => a.host)).to.deep.equal(['a', 'b', 'c', 'a', 'b', 'c']);
  });
});
