/**
 * PublishConfirms: the per-publish `onConfirm` callbacks and the
 * `waitForConfirms` waiters of one channel, settled by the broker's acks
 * and nacks (single or multiple), by a basic.return matched to its publish,
 * or by the channel closing.
 */
import { expect } from 'chai';
import type { ErrorCallback } from '../../lib/engine/callback-types';
import { PublishConfirms } from '../../lib/engine/publish-confirms';
import { NackError, UnroutableError } from '../../lib/errors';

interface Harness {
  confirms: PublishConfirms;
  /** [label, error] of each callback call, in order. */
  calls: Array<[string, Error | null]>;
  /** Callbacks deferred with `soon`, not yet run. */
  deferred: Array<() => void>;
  /** A callback that records its calls under `label`. */
  cb(label: string): ErrorCallback;
}

function harness(channelNumber = 7): Harness {
  const calls: Array<[string, Error | null]> = [];
  const deferred: Array<() => void> = [];
  const confirms = new PublishConfirms(
    channelNumber,
    (cb, err) => cb(err),
    (fn) => deferred.push(fn),
  );
  return { confirms, calls, deferred, cb: (label) => (err) => calls.push([label, err]) };
}

const body = (s: string): Buffer => Buffer.from(s);

/** `h.calls` as [label, kind of outcome]. */
function outcomes(h: Harness): Array<[string, string]> {
  return h.calls.map(([label, err]) => [label, err === null ? 'ok' : err.constructor.name]);
}

describe('PublishConfirms', () => {
  describe('per-publish callbacks', () => {
    it('an ack settles the publish with null, once', () => {
      const h = harness();
      h.confirms.expect(1, h.cb('p1'), false, 'x', 'k', body('a'));
      h.confirms.answered(1, 1, false, 1);
      expect(h.calls).to.deep.equal([['p1', null]]);
      h.confirms.answered(1, 1, false, 1);
      expect(h.calls, 'not twice').to.have.length(1);
    });

    it('a multiple ack settles the tags from..to, in ascending order, and no others', () => {
      const h = harness();
      for (const tag of [1, 2, 3, 4, 5]) h.confirms.expect(tag, h.cb(`p${tag}`), false, 'x', 'k', body(String(tag)));
      h.confirms.answered(2, 4, false, 4);
      expect(outcomes(h)).to.deep.equal([
        ['p2', 'ok'],
        ['p3', 'ok'],
        ['p4', 'ok'],
      ]);
      h.confirms.answered(1, 1, false, 4);
      h.confirms.answered(5, 5, false, 5);
      expect(h.calls.map(([label]) => label)).to.deep.equal(['p2', 'p3', 'p4', 'p1', 'p5']);
    });

    it('only publishes with a callback are tracked: the others cost nothing and are skipped', () => {
      const h = harness();
      h.confirms.expect(2, h.cb('p2'), false, 'x', 'k', body('b'));
      h.confirms.answered(1, 3, false, 3);
      expect(h.calls).to.deep.equal([['p2', null]]);
    });

    it('a nack settles with a NackError naming the tag and the channel', () => {
      const h = harness(7);
      h.confirms.expect(3, h.cb('p3'), false, 'x', 'k', body('c'));
      h.confirms.answered(3, 3, true, 0);
      expect(h.calls).to.have.length(1);
      const err = h.calls[0][1];
      expect(err).to.be.instanceOf(NackError);
      expect(err!.message).to.equal('the broker nacked publish 3 on channel 7');
    });

    it('a mandatory publish that came back settles with an UnroutableError on its ack', () => {
      const h = harness(7);
      h.confirms.expect(1, h.cb('p1'), true, 'amq.direct', 'nowhere', body('lost'));
      expect(h.confirms.returned('amq.direct', 'nowhere', body('lost'), 'NO_ROUTE')).to.equal(true);
      expect(h.calls, 'the return alone settles nothing').to.deep.equal([]);
      h.confirms.answered(1, 1, false, 1);
      const err = h.calls[0][1];
      expect(err).to.be.instanceOf(UnroutableError);
      expect(err!.message).to.equal('publish 1 on channel 7 to exchange "amq.direct" with routing key "nowhere" was returned: NO_ROUTE');
    });

    it('a nack wins over a return', () => {
      const h = harness();
      h.confirms.expect(1, h.cb('p1'), true, 'x', 'k', body('m'));
      h.confirms.returned('x', 'k', body('m'), 'NO_ROUTE');
      h.confirms.answered(1, 1, true, 1);
      expect(outcomes(h)).to.deep.equal([['p1', 'NackError']]);
    });
  });

  describe('returned (matching a basic.return to its publish)', () => {
    it('matches only a mandatory publish with the same exchange, routing key and body', () => {
      const h = harness();
      h.confirms.expect(1, h.cb('not mandatory'), false, 'x', 'k', body('m'));
      h.confirms.expect(2, h.cb('other exchange'), true, 'y', 'k', body('m'));
      h.confirms.expect(3, h.cb('other key'), true, 'x', 'j', body('m'));
      h.confirms.expect(4, h.cb('other body'), true, 'x', 'k', body('n'));
      expect(h.confirms.returned('x', 'k', body('m'), 'NO_ROUTE')).to.equal(false);
      h.confirms.expect(5, h.cb('the one'), true, 'x', 'k', body('m'));
      expect(h.confirms.returned('x', 'k', body('m'), 'NO_ROUTE')).to.equal(true);
      h.confirms.answered(1, 5, false, 5);
      expect(outcomes(h)).to.deep.equal([
        ['not mandatory', 'ok'],
        ['other exchange', 'ok'],
        ['other key', 'ok'],
        ['other body', 'ok'],
        ['the one', 'UnroutableError'],
      ]);
    });

    it('marks the oldest unreturned one of identical publishes, one per return', () => {
      const h = harness();
      for (const tag of [1, 2, 3]) h.confirms.expect(tag, h.cb(`p${tag}`), true, 'x', 'k', body('same'));
      expect(h.confirms.returned('x', 'k', body('same'), 'NO_ROUTE')).to.equal(true);
      expect(h.confirms.returned('x', 'k', body('same'), 'NO_ROUTE')).to.equal(true);
      h.confirms.answered(1, 3, false, 3);
      expect(outcomes(h)).to.deep.equal([
        ['p1', 'UnroutableError'],
        ['p2', 'UnroutableError'],
        ['p3', 'ok'],
      ]);
    });

    it('is false when nothing is tracked, or the matching publish was answered already', () => {
      const h = harness();
      expect(h.confirms.returned('x', 'k', body('m'), 'NO_ROUTE')).to.equal(false);
      h.confirms.expect(1, h.cb('p1'), true, 'x', 'k', body('m'));
      h.confirms.answered(1, 1, false, 1);
      expect(h.confirms.returned('x', 'k', body('m'), 'NO_ROUTE')).to.equal(false);
    });
  });

  describe('waitFor (waitForConfirms)', () => {
    it('with everything already answered: calls back with null, later, not synchronously', () => {
      const h = harness();
      h.confirms.waitFor(3, 3, h.cb('w'));
      expect(h.calls).to.deep.equal([]);
      expect(h.deferred).to.have.length(1);
      h.deferred[0]();
      expect(h.calls).to.deep.equal([['w', null]]);
    });

    it('waits until every tag up to its own is answered', () => {
      const h = harness();
      h.confirms.waitFor(3, 0, h.cb('w'));
      h.confirms.answered(1, 2, false, 2);
      expect(h.calls).to.deep.equal([]);
      h.confirms.answered(3, 3, false, 3);
      expect(h.calls).to.deep.equal([['w', null]]);
      expect(h.deferred).to.deep.equal([]);
    });

    it('waits for a gap below its tag to fill (answers out of order)', () => {
      const h = harness();
      h.confirms.waitFor(3, 0, h.cb('w'));
      h.confirms.answered(3, 3, false, 0);
      h.confirms.answered(2, 2, false, 0);
      expect(h.calls).to.deep.equal([]);
      h.confirms.answered(1, 1, false, 3);
      expect(h.calls).to.deep.equal([['w', null]]);
    });

    it('reports the first nack at or below its tag, once all are answered', () => {
      const h = harness(4);
      h.confirms.waitFor(3, 0, h.cb('w'));
      h.confirms.answered(2, 2, true, 0);
      h.confirms.answered(3, 3, true, 0);
      expect(h.calls).to.deep.equal([]);
      h.confirms.answered(1, 1, false, 3);
      expect(h.calls).to.have.length(1);
      expect(h.calls[0][1]).to.be.instanceOf(NackError);
      expect(h.calls[0][1]!.message).to.equal('the broker nacked publish 2 on channel 4');
    });

    it('is not failed by a nack above its tag', () => {
      const h = harness();
      h.confirms.waitFor(2, 0, h.cb('w2'));
      h.confirms.waitFor(4, 0, h.cb('w4'));
      h.confirms.answered(3, 3, true, 0);
      h.confirms.answered(1, 2, false, 3);
      expect(outcomes(h)).to.deep.equal([['w2', 'ok']]);
      h.confirms.answered(4, 4, false, 4);
      expect(outcomes(h)).to.deep.equal([
        ['w2', 'ok'],
        ['w4', 'NackError'],
      ]);
    });

    it('settles the per-publish callbacks before the waiters of the same answer', () => {
      const h = harness();
      h.confirms.waitFor(1, 0, h.cb('waiter'));
      h.confirms.expect(1, h.cb('publish'), false, 'x', 'k', body('m'));
      h.confirms.answered(1, 1, false, 1);
      expect(h.calls.map(([label]) => label)).to.deep.equal(['publish', 'waiter']);
    });
  });

  describe('fail (the channel closed)', () => {
    it('gives the reason to every tracked publish, then every waiter, once', () => {
      const h = harness();
      h.confirms.expect(1, h.cb('p1'), false, 'x', 'k', body('a'));
      h.confirms.expect(2, h.cb('p2'), true, 'x', 'k', body('b'));
      h.confirms.waitFor(2, 0, h.cb('w'));
      const reason = new Error('channel closed');
      h.confirms.fail(reason);
      expect(h.calls).to.deep.equal([
        ['p1', reason],
        ['p2', reason],
        ['w', reason],
      ]);
      h.confirms.answered(1, 2, false, 2);
      h.confirms.fail(new Error('again'));
      expect(h.calls, 'nothing is settled twice').to.have.length(3);
    });
  });
});
