/**
 * `SelectConnection`: a {@link Connection} on Node's sockets, pika's
 * recommended adapter name.
 * @packageDocumentation
 */
import { checkConnectionOptions, Connection, type ConnectionOptions } from '../engine/connection';
import type { IOLoop } from '../engine/ioloop';
import { checkCallback } from '../engine/option-checks';
import { ConnectionRecovery, type RecoveryEvents } from '../recovery/connection-recovery';
import { type RecoveryOptions, recoverySettings } from '../recovery/options';
import { NodeIOLoop } from './node-ioloop';

/**
 * Options of a {@link SelectConnection}: those of a Connection, with the loop optional.
 * @category Connection
 */
export interface SelectConnectionOptions extends Omit<ConnectionOptions, 'ioloop'>, RecoveryEvents {
  /** The loop to run on; default: a new {@link NodeIOLoop} owned by this connection. */
  ioloop?: IOLoop;
  /**
   * Stop the loop once the connection has closed or failed to open. Default:
   * true when the connection created its own loop, so that pika's pattern
   * `connection.close(); await connection.ioloop.start()` ends by itself.
   */
  stopIOLoopOnClose?: boolean;
  /**
   * Automatic recovery (off by default): after a close the application did
   * not ask for, the connection reconnects and brings back its topology,
   * channels, consumers and unconfirmed publishes, as the same objects.
   * `true` takes the defaults. See the README's Recovery section.
   */
  recovery?: boolean | RecoveryOptions;
}

/** The recovery event option names. */
const RECOVERY_EVENTS = ['onRecovering', 'onRecovered', 'onRecoveryFailed', 'onQueueNameChange'] as const;

/** The option names of a {@link SelectConnection}. */
const SELECT_CONNECTION_OPTIONS = [
  'parameters',
  'onOpen',
  'onOpenError',
  'onClose',
  'onCallbackError',
  'ioloop',
  'stopIOLoopOnClose',
  'shuffleHosts',
  'recovery',
  ...RECOVERY_EVENTS,
] as const;

/**
 * An AMQP connection over TCP, TLS or a Unix socket on Node's event loop.
 * @category Connection
 */
export class SelectConnection extends Connection {
  constructor(options: SelectConnectionOptions = {}) {
    checkConnectionOptions(options, SELECT_CONNECTION_OPTIONS);
    for (const name of RECOVERY_EVENTS) checkCallback('connection options', options[name], name);
    const settings = recoverySettings(options.recovery);
    const { stopIOLoopOnClose, recovery, onRecovering, onRecovered, onRecoveryFailed, onQueueNameChange, ...connectionOptions } = options;
    const ownLoop = options.ioloop === undefined;
    const ioloop = options.ioloop ?? new NodeIOLoop();
    super({ ...connectionOptions, ioloop });
    if (settings !== null) {
      this.installRecovery(new ConnectionRecovery(this, settings, { onRecovering, onRecovered, onRecoveryFailed, onQueueNameChange }));
    }
    if (stopIOLoopOnClose ?? ownLoop) {
      // An end hook runs after the user's callbacks, and is not mistaken for one that handles errors.
      this.addEndHook(() => ioloop.stop());
    }
  }
}
