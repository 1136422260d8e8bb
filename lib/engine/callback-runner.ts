/**
 * Runs user callbacks so that a throwing callback never corrupts the
 * library's state: the exception goes to the owner's `onCallbackError`
 * handler, or is rethrown on a fresh stack so that it is not swallowed.
 * @packageDocumentation
 */

/** Receives exceptions thrown by user callbacks. */
export type CallbackErrorHandler = (err: unknown) => void;

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
    if (result !== undefined && result !== null && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(undefined, this.reportRejection);
    }
  }

  private readonly reportRejection = (err: unknown): void => this.report(err);

  /** Hands a caught user exception to the handler, or rethrows it on its own stack. */
  report(err: unknown): void {
    if (this.onError !== undefined) {
      try {
        this.onError(err);
        return;
      } catch (handlerErr) {
        err = handlerErr;
      }
    }
    setImmediate(() => {
      throw err;
    });
  }
}
