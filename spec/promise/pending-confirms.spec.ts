import { expect } from 'chai';
import { NackError, UnroutableError } from '../../lib';
import { PendingConfirms } from '../../lib/promise/pending-confirms';

/** What each promise came to, by sequence number. */
function outcomes(promises: Map<number, Promise<void>>): Promise<string[]> {
  return Promise.all(
    [...promises].map(([seq, p]) =>
      p.then(
        () => `${seq} ok`,
        (e: Error) => `${seq} ${e.name}`,
      ),
    ),
  );
}

describe('promise API: PendingConfirms', () => {
  it('settles single and multiple answers by sequence number, ignoring numbers it does not hold', async () => {
    const c = new PendingConfirms(1);
    const ps = new Map([1, 2, 4, 5, 6].map((n) => [n, c.add(n)]));
    c.answered(2, true, false);
    c.answered(3, false, true); // not ours (an rpc request)
    c.answered(5, false, true);
    c.answered(6, true, false);
    expect(c.size).to.equal(0);
    expect(await outcomes(ps)).to.deep.equal(['1 ok', '2 ok', '4 ok', '5 NackError', '6 ok']);
  });

  it('matches a return to the oldest unanswered mandatory publish of that destination and body', async () => {
    const c = new PendingConfirms(1);
    const ps = new Map([
      [1, c.addMandatory(1, 'x', 'k', Buffer.from('a'))],
      [2, c.addMandatory(2, 'x', 'k', Buffer.from('b'))],
      [3, c.add(3)],
    ]);
    expect(c.returned('x', 'k', Buffer.from('b'), '312 NO_ROUTE')).to.equal(true);
    expect(c.returned('x', 'other', Buffer.from('a'), '312 NO_ROUTE')).to.equal(false);
    c.answered(3, true, false);
    const [, second] = await outcomes(ps);
    expect(second).to.equal('2 UnroutableError');
    expect(await ps.get(2)!.catch((e: Error) => e.message)).to.match(/publish 2 on channel 1 .*returned: 312 NO_ROUTE/);
  });

  it('failAll rejects everything with the reason; failAnsweredElsewhere only what is no longer unanswered', async () => {
    const c = new PendingConfirms(1);
    const reason = new Error('lost');
    const ps = new Map([1, 2, 3].map((n) => [n, c.add(n)]));
    c.failAnsweredElsewhere([2], reason);
    expect(c.size).to.equal(1);
    c.failAll(new NackError('closed'));
    expect(await outcomes(ps)).to.deep.equal(['1 Error', '2 NackError', '3 Error']);
    expect(new UnroutableError('x')).to.be.instanceOf(Error);
  });
});
