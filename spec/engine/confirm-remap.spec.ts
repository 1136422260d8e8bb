import { expect } from 'chai';
import { ConfirmRemap } from '../../lib/engine/confirm-remap';

describe('ConfirmRemap', () => {
  it('maps the republished tags first, then the later publishes by a constant', () => {
    // before the outage 1..10 were published; 5 and 8..10 unanswered; 11 and 12 published while recovering
    const remap = new ConfirmRemap([5, 8, 9, 10], 11);
    expect([1, 2, 3, 4, 5, 6, 7].map((t) => remap.toApp(t))).to.deep.equal([5, 8, 9, 10, 11, 12, 13]);
    expect([5, 8, 9, 10, 11, 12, 13].map((s) => remap.toBroker(s))).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
    expect(remap.toBroker(6)).to.equal(0); // answered before the outage: never sent again
    expect(remap.toApp(0)).to.equal(0);
  });

  it('keeps the order, so a multiple ack translates to a multiple ack', () => {
    const remap = new ConfirmRemap([2, 7], 20);
    const apps = [1, 2, 3, 4].map((t) => remap.toApp(t));
    expect(apps).to.deep.equal([...apps].sort((a, b) => a - b));
  });
});
