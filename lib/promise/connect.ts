/**
 * {@link connect}: opens a {@link SelectConnection} and resolves to it as an
 * {@link AsyncConnection} (pika's `BlockingConnection(parameters)`).
 * @packageDocumentation
 */
import { SelectConnection, type SelectConnectionOptions } from '../adapters/select-connection';
import { ConnectionClosedByClient } from '../errors';
import type { ParametersInput } from '../engine/parameter-sets';
import { AsyncConnection } from './async-connection';
import { type Reporter, unhandledCloseError, warnUnobserved } from './report';
import { Deferred, rejection } from './settle';

/**
 * Options of {@link connect}: those of a {@link SelectConnection} (`ioloop`,
 * `recovery` and its events, `shuffleHosts`, `onClose`, `onCallbackError`,
 * ...) but the open callbacks, which the promise replaces, and a signal.
 * @category Promise API
 */
export interface ConnectOptions extends Omit<SelectConnectionOptions, 'parameters' | 'onOpen' | 'onOpenError'> {
  /** Aborting it while the connection opens aborts the attempt; connect rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * false (the default): the connection runs on this thread. The package's
   * connect takes `true` too, with the options of IOThreadConnectOptions
   * (lib/threads): the connection then runs in an I/O thread of its own.
   */
  ioThread?: false;
}

/**
 * Opens a connection and resolves to it once it is open; rejects with the
 * error `onOpenError` would get (ProbableAuthenticationError,
 * ConnectionWorkflowFailed, SocketConnectError...), or with the signal's
 * reason when `signal` aborts first.
 *
 * It runs on a new {@link NodeIOLoop} of its own unless `ioloop` is given.
 * Errors nobody else is told of (a handler that throws, a connection that
 * closes unexpectedly with no `onClose`) go to `onCallbackError`, by default
 * a `ConeyWarning` process warning: never an uncaught exception.
 * @category Promise API
 */
export function connect(parameters: ParametersInput, options: ConnectOptions = {}): Promise<AsyncConnection> {
  const { signal, onRecovering, onCallbackError, ...rest } = options;
  if (signal?.aborted === true) return rejection(signal.reason);
  const report: Reporter = onCallbackError ?? warnUnobserved;
  const opened = new Deferred<AsyncConnection>();
  let connection: AsyncConnection | null = null;
  let select: SelectConnection;
  const onAbort = (): void => {
    // While opening, close() aborts the attempt and onOpenError follows.
    if (!select.isClosing && !select.isClosed) select.close();
  };
  try {
    select = new SelectConnection({
      ...rest,
      parameters,
      onCallbackError: report,
      onOpen: () => {
        signal?.removeEventListener('abort', onAbort);
        opened.resolve(connection!);
      },
      onOpenError: (_c, err) => {
        signal?.removeEventListener('abort', onAbort);
        opened.reject(signal?.aborted === true ? signal.reason : err);
      },
      onRecovering: (c, reason, attempt) => {
        connection!.connectionLost(reason);
        return onRecovering?.(c, reason, attempt);
      },
    });
  } catch (err) {
    return rejection(err);
  }
  connection = new AsyncConnection(select);
  select.addOnCloseCallback((_c, reason) => {
    connection.closed(reason);
    // Registering this callback silences the engine's report of a close nobody handles: so it is made here.
    if (!(reason instanceof ConnectionClosedByClient) && rest.onClose === undefined) {
      report(unhandledCloseError(reason));
    }
  });
  signal?.addEventListener('abort', onAbort, { once: true });
  return opened.promise;
}
