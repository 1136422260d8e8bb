/**
 * `StreamIOLoop`: a {@link NodeIOLoop} whose connections run over any Node
 * `Duplex` you open; the documented starting point for adapter authors.
 * @packageDocumentation
 */
import type { Duplex } from 'stream';
import type { TransportTarget } from '../engine/ioloop';
import { NodeIOLoop, type NodeIOLoopOptions } from './node-ioloop';

/**
 * Options of {@link StreamIOLoop}.
 * @category I/O loops and adapters
 */
export interface StreamIOLoopOptions extends NodeIOLoopOptions {
  /**
   * Opens the byte stream for one connection attempt. Called once per
   * `connect`, with the target the connection parameters describe (host,
   * port, TLS options, ...); interpret it as suits your transport.
   *
   * The stream counts as connected as soon as it is returned (or the promise
   * resolves), except for a `net.Socket` that is still `connecting` (then its
   * `'connect'` event) and a `tls.TLSSocket` whose handshake is not done (then
   * its `'secureConnect'`). A throw or a rejection fails the attempt with a
   * `SocketConnectError` whose `cause` is what was thrown; the attempt's
   * `socketTimeout` covers the whole opening.
   */
  openStream: (target: TransportTarget) => Duplex | Promise<Duplex>;
}

/**
 * A {@link NodeIOLoop} whose connections run over streams that you open:
 * tunnels, proxies, WebSocket streams, in-process pipes. Timers and callbacks
 * behave exactly as in {@link NodeIOLoop}; only `connect` differs.
 *
 * @example
 * ```ts
 * import { SelectConnection, StreamIOLoop } from 'coney';
 * import { createWebSocketStream, WebSocket } from 'ws';
 *
 * const ioloop = new StreamIOLoop({
 *   openStream: (target) =>
 *     createWebSocketStream(new WebSocket(`wss://${target.host}/amqp`)),
 * });
 * const connection = new SelectConnection({ ioloop, onOpen: ... });
 * ```
 *
 * To write an adapter of your own, implement `IOLoop` directly, or subclass
 * `NodeIOLoop` and override its protected `openStream(target)` as this class does.
 * @category I/O loops and adapters
 */
export class StreamIOLoop extends NodeIOLoop {
  private readonly userOpenStream: (target: TransportTarget) => Duplex | Promise<Duplex>;

  /** @param options `openStream` opens the stream of each connection attempt; `onError` as in {@link NodeIOLoop}. */
  constructor(options: StreamIOLoopOptions) {
    super({ ...options, ownSocketReads: false });
    this.userOpenStream = options.openStream;
  }

  /** Delegates to the user's `openStream`. */
  protected override openStream(target: TransportTarget): Duplex | Promise<Duplex> {
    return this.userOpenStream(target);
  }
}
