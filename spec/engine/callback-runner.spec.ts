/**
 * CallbackRunner: user callbacks run with exception isolation. What a
 * callback throws, or its promise rejects with, goes to the owner's handler,
 * or is rethrown on a fresh stack; the caller only learns whether it returned.
 * Also the routing it shares with the loops (handTo, reportOrRethrow) and
 * its thenable check.
 */
import { expect } from 'chai';
import * as sinon from 'sinon';
import { inspect } from 'node:util';
import { CallbackRunner, handTo, isThenable, reportOrRethrow, rethrow } from '../../lib/engine/callback-runner';

/** Lets pending promise reactions run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('CallbackRunner', () => {
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(() => {
    clock?.restore();
    clock = undefined;
  });

  /** Fakes setImmediate only, so that a rethrow on a fresh stack can be run by hand. */
  function fakeImmediate(): sinon.SinonFakeTimers {
    clock = sinon.useFakeTimers({ toFake: ['setImmediate'] });
    return clock;
  }

  describe('invoke', () => {
    it('calls the callback with the arguments and returns true when it returns', () => {
      const errors: unknown[] = [];
      const runner = new CallbackRunner((e) => errors.push(e));
      const fn = sinon.stub().returns('ignored');
      expect(runner.invoke(fn, 1, 'two', null)).to.equal(true);
      sinon.assert.calledOnceWithExactly(fn, 1, 'two', null);
      expect(errors).to.deep.equal([]);
    });

    it('returns true and calls nothing for an undefined callback', () => {
      const onError = sinon.spy();
      expect(new CallbackRunner(onError).invoke(undefined)).to.equal(true);
      sinon.assert.notCalled(onError);
    });

    it('hands what a callback throws to onError and returns false; nothing escapes', () => {
      const errors: unknown[] = [];
      const runner = new CallbackRunner((e) => errors.push(e));
      const boom = new Error('user bug');
      let result: boolean | undefined;
      expect(() => {
        result = runner.invoke(() => {
          throw boom;
        });
      }).not.to.throw();
      expect(result).to.equal(false);
      expect(errors).to.deep.equal([boom]);
    });

    it('reports non-Error throws as they are', () => {
      const errors: unknown[] = [];
      const runner = new CallbackRunner((e) => errors.push(e));
      runner.invoke(() => {
        throw 'a string';
      });
      expect(errors).to.deep.equal(['a string']);
    });

    it('reports the rejection of an async callback like a throw, after it settles', async () => {
      const errors: unknown[] = [];
      const runner = new CallbackRunner((e) => errors.push(e));
      const boom = new Error('async bug');
      expect(runner.invoke(async () => Promise.reject(boom))).to.equal(true);
      expect(errors, 'not yet: the promise has not settled').to.deep.equal([]);
      await settle();
      expect(errors).to.deep.equal([boom]);
    });

    it('watches any thenable, not only native promises', () => {
      const errors: unknown[] = [];
      const runner = new CallbackRunner((e) => errors.push(e));
      const boom = new Error('thenable bug');
      const thenable = { then: (_ok: unknown, fail: (e: unknown) => void) => fail(boom) };
      runner.invoke(() => thenable);
      expect(errors).to.deep.equal([boom]);
    });

    it('ignores fulfilled promises and plain results', async () => {
      const onError = sinon.spy();
      const runner = new CallbackRunner(onError);
      for (const value of [undefined, null, 0, '', { then: 'not a function' }, Promise.resolve('fine')]) runner.invoke(() => value);
      await settle();
      sinon.assert.notCalled(onError);
    });

    it('with rethrow, reports an error caught elsewhere exactly as if the callback had thrown it', () => {
      const errors: unknown[] = [];
      const runner = new CallbackRunner((e) => errors.push(e));
      const boom = new Error('caught on a hot path');
      expect(runner.invoke(rethrow, boom)).to.equal(false);
      expect(errors).to.deep.equal([boom]);
    });
  });

  describe('without onError', () => {
    it('rethrows on a fresh stack, not in the caller', () => {
      const timers = fakeImmediate();
      const runner = new CallbackRunner();
      const boom = new Error('nobody handles me');
      let result: boolean | undefined;
      expect(() => {
        result = runner.invoke(() => {
          throw boom;
        });
      }).not.to.throw();
      expect(result).to.equal(false);
      expect(timers.countTimers()).to.equal(1);
      expect(() => timers.runAll()).to.throw(boom.message);
    });
  });

  describe('report', () => {
    it('passes the error to onError', () => {
      const errors: unknown[] = [];
      const boom = new Error('x');
      new CallbackRunner((e) => errors.push(e)).report(boom);
      expect(errors).to.deep.equal([boom]);
    });

    it('rethrows on a fresh stack what onError itself throws, instead of the original', () => {
      const timers = fakeImmediate();
      const runner = new CallbackRunner(() => {
        throw new Error('the handler failed');
      });
      expect(() => runner.report(new Error('original'))).not.to.throw();
      expect(timers.countTimers()).to.equal(1);
      expect(() => timers.runAll()).to.throw('the handler failed');
    });
  });

  describe('rethrow', () => {
    it('throws its argument', () => {
      const boom = new Error('r');
      expect(() => rethrow(boom)).to.throw(boom);
    });
  });

  describe('handTo', () => {
    it('gives the error to the handler and leaves nothing unhandled', () => {
      const seen: unknown[] = [];
      const boom = new Error('x');
      expect(handTo((e) => seen.push(e), boom)).to.equal(undefined);
      expect(seen).to.deep.equal([boom]);
    });

    it('without a handler, leaves the error itself unhandled', () => {
      const boom = new Error('x');
      expect(handTo(undefined, boom)).to.deep.equal({ unhandled: boom });
    });

    it('leaves what the handler threw unhandled, instead of the error', () => {
      const fromHandler = new Error('handler bug');
      const left = handTo(() => {
        throw fromHandler;
      }, new Error('original'));
      expect(left).to.deep.equal({ unhandled: fromHandler });
    });

    it('keeps an undefined error distinct from "handled"', () => {
      expect(handTo(undefined, undefined)).to.deep.equal({ unhandled: undefined });
    });
  });

  describe('reportOrRethrow', () => {
    it('gives the error to the handler, and schedules nothing', () => {
      const timers = fakeImmediate();
      const seen: unknown[] = [];
      const boom = new Error('x');
      reportOrRethrow((e) => seen.push(e), boom);
      expect(seen).to.deep.equal([boom]);
      expect(timers.countTimers()).to.equal(0);
    });

    it('without a handler, rethrows the error on a fresh stack', () => {
      const timers = fakeImmediate();
      expect(() => reportOrRethrow(undefined, new Error('unhandled'))).not.to.throw();
      expect(timers.countTimers()).to.equal(1);
      expect(() => timers.runAll()).to.throw('unhandled');
    });

    it('rethrows what a throwing handler threw', () => {
      const timers = fakeImmediate();
      reportOrRethrow(() => {
        throw new Error('handler bug');
      }, new Error('original'));
      expect(() => timers.runAll()).to.throw('handler bug');
    });
  });

  describe('isThenable', () => {
    it('is true for promises and anything with a then method', () => {
      expect(isThenable(Promise.resolve())).to.equal(true);
      expect(isThenable({ then: () => undefined })).to.equal(true);
      const fn = Object.assign(() => undefined, { then: () => undefined });
      expect(isThenable(fn)).to.equal(true);
    });

    it('is false for everything else', () => {
      for (const value of [undefined, null, 0, 'then', {}, { then: true }, () => undefined]) {
        expect(isThenable(value), inspect(value)).to.equal(false);
      }
    });
  });
});
