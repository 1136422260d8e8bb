/**
 * Test helpers that turn coney's error-first callbacks into promises, open
 * connections and channels against the throwaway broker, and delete what a
 * spec declared there.
 */
import {
  type Channel,
  ChannelClosedByBroker,
  type Connection,
  ConnectionParameters,
  type ConnectionParametersOptions,
  SelectConnection,
  type SelectConnectionOptions,
  URLParameters,
} from '../../lib';
import { amqpUrl } from './broker';

/** Calls `start(cb)` and resolves with the callback's result, or rejects with its error. */
export function cbp<T = unknown>(start: (cb: (err: Error | null, result?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    start((err, result) => (err === null ? resolve(result as T) : reject(err)));
  });
}

/** Rejects if `promise` has not settled within `ms` (a test must not hang). */
export function within<T>(ms: number, promise: Promise<T>, what = 'operation'): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    promise.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

/** Parameters for the test broker, with overrides. */
export function brokerParameters(overrides: ConnectionParametersOptions = {}): ConnectionParameters {
  const base = new URLParameters(amqpUrl());
  return new ConnectionParameters({
    host: base.host,
    port: base.port,
    virtualHost: base.virtualHost,
    credentials: base.credentials,
    ...overrides,
  });
}

/** Opens a SelectConnection to the test broker; resolves once open. */
export function openConnection(options: Omit<SelectConnectionOptions, 'onOpen' | 'onOpenError'> = {}): Promise<SelectConnection> {
  return within(
    20000,
    new Promise<SelectConnection>((resolve, reject) => {
      const connection = new SelectConnection({
        ...options,
        parameters: options.parameters ?? brokerParameters(), // the single broker only when no other is named
        onOpen: (c) => resolve(c),
        onOpenError: (_c, err) => reject(err),
      });
      void connection;
    }),
    'opening a connection',
  );
}

/** Opens a channel on an open connection. */
export function openChannel(connection: Connection): Promise<Channel> {
  return cbp<Channel>((cb) => connection.channel(cb));
}

/** Closes a connection and resolves with the close reason. */
export function closeConnection(connection: Connection): Promise<Error> {
  if (connection.isClosed) return Promise.resolve(new Error('already closed'));
  return within(
    15000,
    new Promise<Error>((resolve) => {
      connection.addOnCloseCallback((_c, reason) => resolve(reason));
      if (!connection.isClosing) connection.close();
    }),
    'closing a connection',
  );
}

/**
 * Deletes queues, then exchanges, on a fresh connection. Each deletion has a
 * channel of its own, and one that the broker refuses with a channel error (a
 * missing exchange, a queue another connection holds exclusively) is skipped.
 * Anything else fails, naming the step: no broker, or a step not done within
 * 10 s.
 */
export async function cleanUp(queues: string[], exchanges: string[] = []): Promise<void> {
  if (queues.length === 0 && exchanges.length === 0) return;
  const connection = await openConnection();
  const remove = async (what: string, del: (ch: Channel, cb: (err: Error | null) => void) => void): Promise<void> => {
    const ch = await within(10000, openChannel(connection), `opening a channel for ${what}`);
    try {
      await within(
        10000,
        cbp((cb) => del(ch, cb)),
        what,
      );
    } catch (err) {
      if (!(err instanceof ChannelClosedByBroker)) throw err;
    }
  };
  try {
    for (const q of queues) await remove(`deleting queue ${q}`, (ch, cb) => ch.queueDelete(q, {}, cb));
    for (const x of exchanges) await remove(`deleting exchange ${x}`, (ch, cb) => ch.exchangeDelete(x, {}, cb));
  } finally {
    await closeConnection(connection);
  }
}
