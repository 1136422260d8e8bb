/**
 * Where the promise API sends an error nobody else is told of: the
 * application's `onCallbackError`, or else a `ConeyWarning` process warning
 * (never an uncaught exception or an unhandled rejection: a promise-style
 * application has no callback of its own to catch it).
 * @packageDocumentation
 */

import { AMQPConnectionError, describeError } from '../errors';

/** Receives an error that nobody observed. */
export type Reporter = (err: unknown) => void;

/** The default {@link Reporter}: a `ConeyWarning`, so that the error is seen and the process goes on. */
export function warnUnobserved(err: unknown): void {
  process.emitWarning(`an error nobody handled (give connect() an onCallbackError to receive these): ${describeError(err)}`, 'ConeyWarning');
}

/** What is reported when a connection closes unexpectedly and no onClose callback handles it. */
export function unhandledCloseError(reason: Error): AMQPConnectionError {
  return new AMQPConnectionError(`the connection closed and no onClose callback handles it: ${describeError(reason)}`, { cause: reason });
}
