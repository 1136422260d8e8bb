/**
 * Runs user callbacks so that a throwing callback never corrupts the
 * library's state: the exception goes to the owner's `onCallbackError`
 * handler, or is rethrown on a fresh stack so that it is not swallowed.
 * @packageDocumentation
 */

/** Receives exceptions thrown by user callbacks. */
export type CallbackErrorHandler = (err: unknown) => void;

/** Invokes user callbacks with exception isolation. */
export class CallbackRunner {
  /** @param onError called with what a user callback threw; when absent the error is rethrown asynchronously. */
  constructor(private readonly onError?: CallbackErrorHandler) {}

  /** Calls `fn(...args)`; returns true when it returned normally. */
  invoke<A extends unknown[]>(fn: ((...args: A) => unknown) | undefined, ...args: A): boolean {
    if (fn === undefined) return true;
    try {
      fn(...args);
      return true;
    } catch (err) {
      this.report(err);
      return false;
    }
  }

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
