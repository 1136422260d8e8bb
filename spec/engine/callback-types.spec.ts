/**
 * The shapes of completion callbacks: both public shapes (Callback,
 * ErrorCallback) are called the same way by the library, through
 * `completion`, which hands back the user's own function.
 */
import { expect } from 'chai';
import { type Callback, completion, type ErrorCallback } from '../../lib/engine/callback-types';

describe('callback types', () => {
  it('completion() is the user function itself, not a wrapper (or undefined)', () => {
    const seen: unknown[][] = [];
    const cb: Callback<number> = (err, result) => void seen.push([err, result]);
    const asCalled = completion<number>(cb);
    expect(asCalled).to.equal(cb);
    asCalled!(null, 5);
    asCalled!(new Error('x'));
    expect(seen.map(([err, result]) => [err === null ? null : (err as Error).message, result])).to.deep.equal([
      [null, 5],
      ['x', undefined],
    ]);
    expect(completion(undefined)).to.equal(undefined);
  });

  it('a Callback narrows its result once the error is ruled out; an ErrorCallback fits where a Callback goes', () => {
    // Compile-time checks: this file does not type-check if the shapes regress.
    const lengths: number[] = [];
    const cb: Callback<string> = (err, result) => {
      if (err) return;
      lengths.push(result.length); // no `!`: result is a string here
    };
    const errorOnly: ErrorCallback = () => undefined;
    const accepts = (c: Callback<string> | ErrorCallback): unknown => completion<string>(c);
    expect(accepts(cb)).to.equal(cb);
    expect(accepts(errorOnly)).to.equal(errorOnly);
    completion<string>(cb)!(null, 'four');
    expect(lengths).to.deep.equal([4]);
  });
});
