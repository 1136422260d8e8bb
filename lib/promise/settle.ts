/**
 * How the promise API makes and settles its promises, and its one rule on
 * rejections: a promise this layer returns is marked handled at the moment
 * it is rejected, so that one the application never awaited (a confirm
 * publish fired and forgotten, a call cut short by a channel close) never
 * raises `unhandledRejection` and never crashes the process. Awaiting it,
 * or `.then` / `.catch`, still receives the error as usual.
 *
 * The mark costs nothing on success (it is attached on the failure path
 * only). Whether the application will still look at a rejected promise
 * cannot be known without wrapping every promise (a Promise subclass makes
 * each `await` several times slower), so a rejection is never reported a
 * second time elsewhere. What makes sure a failure is not silent is that
 * every failure is also an event with a reporter of its own when nobody
 * else is told (see docs/API.md, "Promise API"): a connection that fails or
 * closes with no `onClose`, a channel that closes unasked while nothing of
 * this layer waited on it, a handler that throws.
 * @packageDocumentation
 */
import type { Completion } from '../engine/callback-types';

/** The rejection handler that marks a promise handled. */
function ignore(): void {
  // the error reaches whoever awaits the promise; see the module's comment
}

/** Marks `promise` handled: its rejection, if nobody awaits it, is not an unhandled rejection. */
export function markHandled(promise: Promise<unknown>): void {
  promise.then(undefined, ignore);
}

/** A promise already rejected with `err` and marked handled: what a call that cannot start returns. */
export function rejection<T>(err: unknown): Promise<T> {
  const promise = Promise.reject<T>(err);
  markHandled(promise);
  return promise;
}

/** The one resolved promise that calls done at once return: no allocation per call. */
export const RESOLVED: Promise<void> = Promise.resolve();

/**
 * Runs `start` with an error-first completion and returns a promise of its
 * result: what wraps each callback method. `start` throwing (a bad
 * argument, a closed channel) rejects the promise instead: the promise face
 * never throws synchronously.
 */
export function fromCallback<T>(start: (done: Completion<T>) => void): Promise<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const fail = (err: unknown): void => {
    markHandled(promise);
    reject(err);
  };
  try {
    start((err, result) => (err === null ? resolve(result as T) : fail(err)));
  } catch (err) {
    fail(err);
  }
  return promise;
}

/**
 * The settle functions of the promise {@link newPromise} made last: read
 * them right after the call. (One shared executor fills them, so making a
 * promise costs no closure.)
 */
export const lastSettlers: { resolve: (value: never) => void; reject: (err: unknown) => void } = { resolve: ignore, reject: ignore };

/** The executor every {@link newPromise} shares. */
function capture(resolve: (value: never) => void, reject: (err: unknown) => void): void {
  lastSettlers.resolve = resolve;
  lastSettlers.reject = reject;
}

/** A new pending promise; its settle functions are in {@link lastSettlers} until the next call. */
export function newPromise<T>(): Promise<T> {
  return new Promise<T>(capture);
}

/**
 * A promise with its settle functions, for the calls settled from several
 * places (a confirm, an rpc reply, a consume iterator's next result).
 * `reject` marks the promise handled first (the module's rule).
 */
export class Deferred<T> {
  /** The promise handed to the application. */
  readonly promise: Promise<T>;
  /** Resolves {@link promise}. */
  readonly resolve: (value: T) => void;
  private readonly rejectPromise: (err: unknown) => void;

  constructor() {
    this.promise = newPromise<T>();
    this.resolve = lastSettlers.resolve as (value: T) => void;
    this.rejectPromise = lastSettlers.reject;
  }

  /** Rejects {@link promise}, marked handled. */
  reject(err: unknown): void {
    markHandled(this.promise);
    this.rejectPromise(err);
  }
}
