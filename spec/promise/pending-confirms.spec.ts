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

  it('settles single answers out of order and keeps its order across many entries (compaction)', async () => {
    const c = new PendingConfirms(1);
    const ps = new Map<number, Promise<void>>();
    for (let n = 1; n <= 5000; n++) ps.set(n, c.add(n));
    c.answered(3, false, false); // out of order: 1 and 2 still wait
    c.answered(3, false, true); // a second answer to the same number changes nothing
    c.answered(2, false, true);
    c.answered(1, false, false);
    expect(c.size).to.equal(4997);
    for (let n = 100; n <= 4000; n += 100) c.answered(n, true, false);
    c.answered(4500, false, true);
    expect(c.size).to.equal(999);
    c.answered(5000, true, false);
    expect(c.size).to.equal(0);
    for (let n = 5001; n <= 5003; n++) ps.set(n, c.add(n));
    c.answered(5002, true, true);
    expect(c.size).to.equal(1);
    c.failAll(new Error('closed'));
    const all = await outcomes(ps);
    expect(all.filter((o) => o.endsWith('NackError'))).to.deep.equal(['2 NackError', '4500 NackError', '5001 NackError', '5002 NackError']);
    expect(all.filter((o) => o.endsWith(' ok'))).to.have.length(4998);
    expect(await ps.get(5003)!.catch((e: Error) => e.message)).to.equal('closed');
  });
});
