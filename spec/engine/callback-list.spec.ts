/**
 * CallbackList: the callbacks of one event, added, removed or added for one
 * call only, run in order through the owner's invoker.
 */
import { expect } from 'chai';
import { CallbackList, type Invoker } from '../../lib/engine/callback-list';

/** Calls each callback directly, recording the arguments it was given. */
function recordingInvoker(calls: unknown[][]): Invoker {
  return (fn, ...args) => {
    calls.push(args);
    return fn(...args);
  };
}

const direct: Invoker = (fn, ...args) => fn(...args);

describe('CallbackList', () => {
  it('runs every callback in the order added, with the arguments, through the invoker', () => {
    const list = new CallbackList<[string, number]>();
    const order: string[] = [];
    list.add((s, n) => order.push(`a ${s} ${n}`));
    list.add((s, n) => order.push(`b ${s} ${n}`));
    const invoked: unknown[][] = [];
    list.run(recordingInvoker(invoked), 'x', 1);
    expect(order).to.deep.equal(['a x 1', 'b x 1']);
    expect(invoked).to.deep.equal([
      ['x', 1],
      ['x', 1],
    ]);
  });

  it('calls a callback only through the invoker', () => {
    const list = new CallbackList<[]>();
    let called = false;
    list.add(() => (called = true));
    let invoked = 0;
    list.run(() => void (invoked += 1));
    expect(invoked).to.equal(1);
    expect(called, 'the invoker chose not to call it').to.equal(false);
  });

  it('does not call the invoker when empty', () => {
    let invoked = 0;
    new CallbackList<[]>().run(() => void (invoked += 1));
    expect(invoked).to.equal(0);
  });

  it('counts its callbacks; the same function added twice counts twice', () => {
    const list = new CallbackList<[]>();
    const fn = (): void => undefined;
    expect(list.size).to.equal(0);
    list.add(fn);
    list.add(fn);
    list.add(() => undefined, true);
    expect(list.size).to.equal(3);
  });

  it('runs a one-shot callback once', () => {
    const list = new CallbackList<[number]>();
    const seen: string[] = [];
    list.add((n) => seen.push(`once ${n}`), true);
    list.add((n) => seen.push(`always ${n}`));
    list.run(direct, 1);
    list.run(direct, 2);
    expect(seen).to.deep.equal(['once 1', 'always 1', 'always 2']);
    expect(list.size).to.equal(1);
  });

  it('removes one-shot callbacks before any callback runs', () => {
    const list = new CallbackList<[]>();
    const sizes: number[] = [];
    list.add(() => sizes.push(list.size));
    list.add(() => undefined, true);
    list.add(() => undefined, true);
    list.run(direct);
    expect(sizes).to.deep.equal([1]);
  });

  it('remove() takes out the earliest registration only and says whether it found one', () => {
    const list = new CallbackList<[]>();
    const seen: string[] = [];
    const fn = (): void => void seen.push('fn');
    list.add(fn);
    list.add(() => seen.push('other'));
    list.add(fn);
    expect(list.remove(fn)).to.equal(true);
    list.run(direct);
    expect(seen).to.deep.equal(['other', 'fn']);
    expect(list.remove(fn)).to.equal(true);
    expect(list.remove(fn)).to.equal(false);
    expect(list.remove(() => undefined)).to.equal(false);
    expect(list.size).to.equal(1);
  });

  it('remove() takes out a one-shot callback before it runs', () => {
    const list = new CallbackList<[]>();
    let called = 0;
    const fn = (): void => void (called += 1);
    list.add(fn, true);
    expect(list.remove(fn)).to.equal(true);
    list.run(direct);
    expect(called).to.equal(0);
  });

  it('a callback added during a run is called from the next run on', () => {
    const list = new CallbackList<[number]>();
    const seen: string[] = [];
    list.add((n) => {
      seen.push(`first ${n}`);
      if (n === 1) list.add((m) => seen.push(`late ${m}`));
    });
    list.run(direct, 1);
    expect(seen).to.deep.equal(['first 1']);
    list.run(direct, 2);
    expect(seen).to.deep.equal(['first 1', 'first 2', 'late 2']);
  });

  it('a callback removed during a run is still called in that run, not in the next', () => {
    const list = new CallbackList<[number]>();
    const seen: string[] = [];
    const second = (n: number): void => void seen.push(`second ${n}`);
    list.add((n) => {
      seen.push(`first ${n}`);
      list.remove(second);
    });
    list.add(second);
    list.run(direct, 1);
    list.run(direct, 2);
    expect(seen).to.deep.equal(['first 1', 'second 1', 'first 2']);
  });

  it('clear() forgets every callback', () => {
    const list = new CallbackList<[]>();
    let called = 0;
    list.add(() => (called += 1));
    list.add(() => (called += 1), true);
    list.clear();
    expect(list.size).to.equal(0);
    list.run(direct);
    expect(called).to.equal(0);
  });
});
