/**
 * `SelectConnection`: a {@link Connection} on Node's sockets, pika's
 * recommended adapter name.
 * @packageDocumentation
 */
import { checkConnectionOptions, Connection, type ConnectionOptions } from '../engine/connection';
import type { IOLoop } from '../engine/ioloop';
import { NodeIOLoop } from './node-ioloop';

/**
 * Options of a {@link SelectConnection}: those of a Connection, with the loop optional.
 * @category Connection
 */
export interface SelectConnectionOptions extends Omit<ConnectionOptions, 'ioloop'> {
  /** The loop to run on; default: a new {@link NodeIOLoop} owned by this connection. */
  ioloop?: IOLoop;
  /**
   * Stop the loop once the connection has closed or failed to open. Default:
   * true when the connection created its own loop, so that pika's pattern
   * `connection.close(); await connection.ioloop.start()` ends by itself.
   */
  stopIOLoopOnClose?: boolean;
}

/** The option names of a {@link SelectConnection}. */
const SELECT_CONNECTION_OPTIONS = ['parameters', 'onOpen', 'onOpenError', 'onClose', 'onCallbackError', 'ioloop', 'stopIOLoopOnClose'] as const;

/**
 * An AMQP connection over TCP, TLS or a Unix socket on Node's event loop.
 * @category Connection
 */
export class SelectConnection extends Connection {
  constructor(options: SelectConnectionOptions = {}) {
    checkConnectionOptions(options, SELECT_CONNECTION_OPTIONS);
    const { stopIOLoopOnClose, ...connectionOptions } = options;
    const ownLoop = options.ioloop === undefined;
    const ioloop = options.ioloop ?? new NodeIOLoop();
    super({ ...connectionOptions, ioloop });
    if (stopIOLoopOnClose ?? ownLoop) {
      // An end hook runs after the user's callbacks, and is not mistaken for one that handles errors.
      this.addEndHook(() => ioloop.stop());
    }
  }
}
