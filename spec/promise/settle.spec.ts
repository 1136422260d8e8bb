import { expect } from 'chai';
import { Deferred, fromCallback, rejection, RESOLVED } from '../../lib/promise/settle';

/** Runs `body` and returns the unhandled rejections Node reported meanwhile. */
async function unhandledDuring(body: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => void seen.push(reason);
  process.on('unhandledRejection', listener);
  try {
    await body();
    await new Promise((resolve) => setTimeout(resolve, 10));
  } finally {
    process.off('unhandledRejection', listener);
  }
  return seen;
}

describe('promise API: settle (the rejection rule)', () => {
  it('rejected promises nobody awaits are not unhandled rejections, and awaiting still gets the error', async () => {
    let awaited: unknown = null;
    const seen = await unhandledDuring(async () => {
      void rejection(new Error('a'));
      const d = new Deferred<number>();
      d.reject(new Error('b'));
      void fromCallback<number>((done) => done(new Error('c')));
      void fromCallback<number>(() => {
        throw new Error('d');
      });
      awaited = await rejection(new Error('e')).catch((e: Error) => e.message);
    });
    expect(seen).to.deep.equal([]);
    expect(awaited).to.equal('e');
  });

  it('fromCallback resolves to the result, Deferred to what it was given', async () => {
    expect(await fromCallback<number>((done) => setImmediate(() => done(null, 42)))).to.equal(42);
    const d = new Deferred<string>();
    const e = new Deferred<string>();
    d.resolve('one');
    e.resolve('two');
    expect(await Promise.all([d.promise, e.promise])).to.deep.equal(['one', 'two']);
    expect(await RESOLVED).to.equal(undefined);
  });
});
