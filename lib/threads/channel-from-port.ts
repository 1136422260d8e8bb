/**
 * {@link channelFromPort}: the worker's side of
 * `AsyncConnection.openChannelPort()`.
 * @packageDocumentation
 */
import { MessagePort } from 'node:worker_threads';
import { InvalidArgumentError } from '../errors';
import { type Reporter, warnUnobserved } from '../promise/report';
import { rejection } from '../promise/settle';
import { PortChannel } from './port-channel';
import { PortLink } from './port-link';

/**
 * Options of {@link channelFromPort}.
 * @category Threads
 */
export interface ChannelFromPortOptions {
  /**
   * Receives what nobody else is told of: what a basicConsume handler
   * throws, a publish outside confirm mode that failed on the connection's
   * thread. Default: a `ConeyWarning` process warning.
   */
  onCallbackError?: (err: unknown) => void;
  /** Seconds to wait for the connection's thread to answer on the port before rejecting (default 30). */
  timeout?: number;
}

/**
 * In a worker thread: the channel behind a port made by
 * `connection.openChannelPort()` on the connection's thread (and
 * transferred here in `workerData` or a message). Resolves once the
 * channel is ready, to a {@link PortChannel} with the AsyncChannel surface.
 * Rejects with InvalidArgumentError when `port` is not a MessagePort or
 * nothing answers on it within `timeout` seconds, and with the close
 * reason when the channel closed meanwhile.
 *
 * The port keeps the worker alive only while something waits on it (a
 * call, a consumer, publishes not yet written): a worker that is done may
 * simply end, and its channel then closes. So does a worker that crashes.
 * @category Threads
 */
export function channelFromPort(port: MessagePort, options: ChannelFromPortOptions = {}): Promise<PortChannel> {
  if (!(port instanceof MessagePort))
    return rejection(
      new InvalidArgumentError(`channelFromPort: port must be a MessagePort (from connection.openChannelPort()), got ${describe(port)}`),
    );
  const { onCallbackError, timeout = 30 } = options;
  if (!(typeof timeout === 'number' && timeout > 0))
    return rejection(new InvalidArgumentError(`channelFromPort: timeout must be a number of seconds > 0, got ${String(timeout)}`));
  if (onCallbackError !== undefined && typeof onCallbackError !== 'function') {
    return rejection(new InvalidArgumentError('channelFromPort: onCallbackError must be a function'));
  }
  const report: Reporter = onCallbackError ?? warnUnobserved;
  const link = new PortLink(port);
  const timer = setTimeout(() => {
    link.ready.reject(
      new InvalidArgumentError(`channelFromPort: no channel answered on this port within ${timeout} s (is it a port from openChannelPort()?)`),
    );
    port.close();
  }, timeout * 1000);
  timer.unref();
  return link.ready.promise.then(
    (channelNumber) => {
      clearTimeout(timer);
      return new PortChannel(link, channelNumber, report);
    },
    (err: unknown) => {
      clearTimeout(timer);
      throw err;
    },
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'an object';
  return typeof value;
}
