import { expect } from 'chai';
import { InvalidArgumentError } from '../../lib/errors';
import { recoverySettings } from '../../lib/recovery/options';
import { backoffDelay } from '../../lib/recovery/backoff';
import { invalidMessage } from '../support/assertions';

describe('recovery options', () => {
  it('is off when undefined or false, and all defaults with true', () => {
    expect(recoverySettings(undefined)).to.equal(null);
    expect(recoverySettings(false)).to.equal(null);
    const s = recoverySettings(true)!;
    expect([s.initialDelay, s.maxDelay, s.maxAttempts, s.topology, s.consumers, s.republish]).to.deep.equal([0.5, 30, Infinity, true, true, true]);
    expect(
      s.onEntityError(
        { kind: 'exchange', name: 'x', type: 'direct', options: { durable: true, autoDelete: false, internal: false, arguments: {} } },
        new Error(),
      ),
    ).to.equal('abort');
  });

  it('keeps what the application set and fills in the rest', () => {
    const filter = (): boolean => false;
    const s = recoverySettings({ initialDelay: 0, maxDelay: 2, maxAttempts: 3, republish: false, filter })!;
    expect([s.initialDelay, s.maxDelay, s.maxAttempts, s.republish, s.topology]).to.deep.equal([0, 2, 3, false, true]);
    expect(s.filter).to.equal(filter);
  });

  it('names what is wrong with a bad value', () => {
    expect(invalidMessage(() => recoverySettings({ maxAtempts: 3 }))).to.match(/unknown option 'maxAtempts'.*maxAttempts/);
    expect(invalidMessage(() => recoverySettings({ initialDelay: -1 }))).to.match(/initialDelay must be a finite number of seconds/);
    expect(invalidMessage(() => recoverySettings({ maxDelay: NaN }))).to.match(/maxDelay/);
    expect(invalidMessage(() => recoverySettings({ maxAttempts: 0 }))).to.match(/maxAttempts must be a whole number, 1 or more/);
    expect(invalidMessage(() => recoverySettings({ maxAttempts: 1.5 }))).to.match(/maxAttempts/);
    expect(invalidMessage(() => recoverySettings({ topology: 'yes' }))).to.match(/topology must be a boolean/);
    expect(invalidMessage(() => recoverySettings({ filter: 'all' }))).to.match(/filter must be a function/);
    expect(invalidMessage(() => recoverySettings({ initialDelay: 5, maxDelay: 1 }))).to.match(
      /maxDelay \(1 s\) must not be below initialDelay \(5 s\)/,
    );
    expect(() => recoverySettings('on')).to.throw(InvalidArgumentError, /recovery: options must be an object/);
  });
});

describe('backoffDelay', () => {
  it('is uniform between 0 and the capped exponential (full jitter)', () => {
    expect(backoffDelay(1, 0.5, 30, () => 0)).to.equal(0);
    expect(backoffDelay(1, 0.5, 30, () => 0.999)).to.be.closeTo(0.4995, 1e-9);
    expect(backoffDelay(4, 0.5, 30, () => 0.5)).to.equal(2); // 0.5 * 2^3 = 4, half of it
    expect(backoffDelay(20, 0.5, 30, () => 0.5)).to.equal(15); // capped at 30
  });

  it('stays finite for any round', () => {
    expect(backoffDelay(5000, 0.5, 30, () => 1 - Number.EPSILON)).to.be.below(30);
    expect(backoffDelay(5000, 0, 30, () => 0.5)).to.equal(0);
  });
});
