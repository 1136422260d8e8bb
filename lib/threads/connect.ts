/**
 * {@link connect}, the package's: the promise API's connect, and with
 * `ioThread: true` a connection that runs in an I/O thread of coney's own
 * ({@link IOThreadConnection}).
 * @packageDocumentation
 */
import { MessageChannel } from 'node:worker_threads';
import { AMQPConnectionError, InvalidArgumentError } from '../errors';
import { unknownNameHint } from '../engine/did-you-mean';
import type { ParametersInput } from '../engine/parameter-sets';
import type { AsyncConnection } from '../promise/async-connection';
import { connect as connectHere, type ConnectOptions } from '../promise/connect';
import { reviveError } from '../promise/port-errors';
import { rejection } from '../promise/settle';
import type { RecoveryOptions } from '../recovery/options';
import { IOThreadConnection } from './io-thread-connection';
import { toThreadParameters } from './io-thread-parameters';
import type { FromIOThread, IOThreadData, IOThreadEvent } from './io-thread-protocol';
import { SharedStats } from './shared-stats';
import { startIOThread } from './io-thread-start';

/**
 * Options of {@link connect} with `ioThread: true`: the connection runs in
 * a worker thread of coney's own. Its callbacks run on the calling thread
 * and receive the {@link IOThreadConnection}.
 * @category Threads
 */
export interface IOThreadConnectOptions {
  /** Run the connection (socket, parser, heartbeats, the callback engine) in a thread of its own. */
  ioThread: true;
  /** Automatic recovery, as for a SelectConnection (without `filter` or `onEntityError`: functions stay on this thread). */
  recovery?: boolean | Omit<RecoveryOptions, 'filter' | 'onEntityError'>;
  /** Try the parameter sets in random order. */
  shuffleHosts?: boolean;
  /** Aborting it while the connection opens aborts the attempt (and ends the thread); connect rejects with the signal's reason. */
  signal?: AbortSignal;
  /** The connection closed (for whatever reason). Without it, a close the application did not ask for goes to onCallbackError. */
  onClose?: (connection: IOThreadConnection, reason: Error) => void;
  /** Errors nobody else is told of; default: a `ConeyWarning` process warning. */
  onCallbackError?: (err: unknown) => void;
  /** Automatic recovery: a reconnect round begins. */
  onRecovering?: (connection: IOThreadConnection, reason: Error, attempt: number) => void;
  /** Automatic recovery: the connection is back. */
  onRecovered?: (connection: IOThreadConnection) => void;
  /** Automatic recovery gave up (onClose follows). */
  onRecoveryFailed?: (connection: IOThreadConnection, err: Error) => void;
  /** Automatic recovery: a server-named queue got a new name. */
  onQueueNameChange?: (connection: IOThreadConnection, oldName: string, newName: string) => void;
}

const CALLBACKS = ['onClose', 'onCallbackError', 'onRecovering', 'onRecovered', 'onRecoveryFailed', 'onQueueNameChange'] as const;
const KNOWN = new Set<string>(['ioThread', 'recovery', 'shuffleHosts', 'signal', ...CALLBACKS]);

/**
 * Opens a connection and resolves to it once it is open (see the promise
 * API's {@link ConnectOptions}). With `{ ioThread: true }` coney starts a
 * worker thread that owns the socket, the parser, the heartbeats and the
 * callback engine, and resolves to an {@link IOThreadConnection} on this
 * thread: heartbeats go on while this thread is busy, and deliveries wait
 * in the I/O thread, bounded by the prefetch. The thread ends when the
 * connection closes. Parameters with a heartbeat function or credentials
 * other than PlainCredentials / ExternalCredentials reject with
 * InvalidArgumentError then (they cannot be sent to another thread).
 * @category Promise API
 */
export function connect(parameters: ParametersInput | readonly ParametersInput[], options: IOThreadConnectOptions): Promise<IOThreadConnection>;
export function connect(parameters: ParametersInput, options?: ConnectOptions): Promise<AsyncConnection>;
export function connect(
  parameters: ParametersInput | readonly ParametersInput[],
  options: ConnectOptions | IOThreadConnectOptions = {},
): Promise<AsyncConnection | IOThreadConnection> {
  if (typeof options === 'object' && options !== null && (options as { ioThread?: unknown }).ioThread !== undefined) {
    const { ioThread, ...rest } = options as IOThreadConnectOptions;
    if (ioThread === true) return connectIOThread(parameters, options as IOThreadConnectOptions);
    if (ioThread !== false) return rejection(new InvalidArgumentError(`connect: ioThread must be a boolean, got ${typeof ioThread}`));
    return connectHere(parameters as ParametersInput, rest as ConnectOptions);
  }
  return connectHere(parameters as ParametersInput, options as ConnectOptions);
}

function connectIOThread(parameters: ParametersInput | readonly ParametersInput[], options: IOThreadConnectOptions): Promise<IOThreadConnection> {
  let data: IOThreadData;
  let control: MessageChannel;
  try {
    checkOptions(options);
    control = new MessageChannel();
    data = {
      parameters: toThreadParameters(parameters),
      options: { recovery: options.recovery, shuffleHosts: options.shuffleHosts },
      control: control.port2,
      events: ['onRecovering', 'onRecovered', ...CALLBACKS.filter((name) => name !== 'onClose' && options[name] !== undefined)] as IOThreadEvent[],
      stats: SharedStats.allocate(),
    };
    // What the structured clone refuses (a function in the TLS options...) is refused here, with a clear error.
    structuredClone({ parameters: data.parameters, options: data.options });
  } catch (err) {
    return rejection(err instanceof Error && err.name === 'DataCloneError' ? new InvalidArgumentError(`connect (ioThread): ${err.message}`) : err);
  }
  const { signal } = options;
  if (signal?.aborted === true) return rejection(signal.reason);
  return open(startIOThread(data), control.port1, options, new SharedStats(data.stats));
}

/** Waits for the I/O thread to open the connection. */
function open(
  worker: ReturnType<typeof startIOThread>,
  control: MessageChannel['port1'],
  options: IOThreadConnectOptions,
  stats: SharedStats,
): Promise<IOThreadConnection> {
  const connection = new IOThreadConnection(worker, control, options, stats);
  const { signal } = options;
  return new Promise<IOThreadConnection>((resolve, reject) => {
    let opening = true;
    let failed = false;
    const fail = (err: unknown): void => {
      if (!opening) return;
      opening = false;
      failed = true;
      signal?.removeEventListener('abort', onAbort);
      control.close();
      void worker.terminate();
      reject(err);
    };
    const onAbort = (): void => fail(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    control.on('message', (m: FromIOThread) => {
      if (!opening) return connection.onMessage(m);
      if (m.op === 'open') {
        opening = false;
        signal?.removeEventListener('abort', onAbort);
        connection.opened();
        resolve(connection);
      } else if (m.op === 'open-error') fail(reviveError(m.error));
    });
    // The thread's uncaught exception, if any, is the reason; the control port's close comes after every message
    // the thread posted (its 'closed' among them), so a thread that ended without one is told from there.
    let crash: Error | null = null;
    worker.once('error', (err) => (crash = err));
    control.once('close', () => {
      const err = new AMQPConnectionError(`the I/O thread ended${crash === null ? '' : `: ${crash.message}`}`, { cause: crash ?? undefined });
      if (opening) fail(err);
      else if (!failed) connection.closed(err);
    });
  });
}

function checkOptions(options: IOThreadConnectOptions): void {
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key))
      throw new InvalidArgumentError(`connect (ioThread): unknown option ${JSON.stringify(key)}${unknownNameHint(key, [...KNOWN])}`);
  }
  for (const name of CALLBACKS) {
    if (options[name] !== undefined && typeof options[name] !== 'function')
      throw new InvalidArgumentError(`connect (ioThread): ${name} must be a function`);
  }
  const recovery = options.recovery as { filter?: unknown; onEntityError?: unknown } | boolean | undefined;
  if (typeof recovery === 'object' && recovery !== null && (recovery.filter !== undefined || recovery.onEntityError !== undefined)) {
    throw new InvalidArgumentError('connect (ioThread): recovery.filter and recovery.onEntityError are functions and cannot run in the I/O thread');
  }
}
