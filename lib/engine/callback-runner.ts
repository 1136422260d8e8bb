/**
 * Runs user callbacks so that a throwing callback never corrupts the
 * library's state: the exception goes to the owner's `onCallbackError`
 * handler, or is rethrown on a fresh stack so that it is not swallowed.
 * @packageDocumentation
 */

/** Receives exceptions thrown by user callbacks. */
export type CallbackErrorHandler = (err: unknown) => void;

/**
 * Gives `err` to `handler`. Returns what is still unhandled: `err` when there
 * is no handler, what the handler threw when it threw, or undefined when it
 * took it. The one routing of the connection's and the loops' error hooks.
 */
export function handTo(handler: CallbackErrorHandler | undefined, err: unknown): { unhandled: unknown } | undefined {
  if (handler === undefined) return { unhandled: err };
  try {
    handler(err);
    return undefined;
  } catch (handlerErr) {
    return { unhandled: handlerErr };
  }
}

/** Gives `err` to `handler`, or rethrows it on its own stack so that it is never swallowed. */
export function reportOrRethrow(handler: CallbackErrorHandler | undefined, err: unknown): void {
  const left = handTo(handler, err);
  if (left === undefined) return;
  // On its own turn: the batch of callbacks being run is not cut short.
  setImmediate(() => {
    throw left.unhandled;
  });
}

/** True for a promise (or any thenable): what an `async` callback returns. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== undefined && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * Throws its argument. Hot paths call a user callback directly inside their
 * own try/catch (no rest-parameter arrays) and hand what it threw to a
 * runner with `runner.invoke(rethrow, err)`: the runner then reports it
 * exactly as if it had called the callback itself.
 */
export function rethrow(err: unknown): never {
  throw err;
}

/** Invokes user callbacks with exception isolation. */
export class CallbackRunner {
  /** @param onError called with what a user callback threw; when absent the error is rethrown asynchronously. */
  constructor(private readonly onError?: CallbackErrorHandler) {}

  /**
   * Calls `fn(...args)`; returns true when it returned normally. A promise it
   * returns (an `async` callback) is watched: its rejection is reported
   * exactly as a throw would be, never left as an unhandled rejection.
   */
  invoke<A extends unknown[]>(fn: ((...args: A) => unknown) | undefined, ...args: A): boolean {
    if (fn === undefined) return true;
    try {
      this.watch(fn(...args));
      return true;
    } catch (err) {
      this.report(err);
      return false;
    }
  }

  /** Reports the rejection of `result` when it is a promise (or any thenable); anything else is ignored. */
  watch(result: unknown): void {
    if (isThenable(result)) result.then(undefined, this.reportRejection);
  }

  private readonly reportRejection = (err: unknown): void => this.report(err);

  /** Hands a caught user exception to the handler, or rethrows it on its own stack. */
  report(err: unknown): void {
    reportOrRethrow(this.onError, err);
  }
}
