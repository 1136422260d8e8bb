/**
 * {@link AsyncConnection}: a {@link SelectConnection} with promises (pika's
 * `BlockingConnection`). Made by {@link connect}.
 * @packageDocumentation
 */
import type { ConnectionStats } from '../engine/connection-stats';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { SelectConnection } from '../adapters/select-connection';
import type { IOLoop } from '../engine/ioloop';
import { AsyncChannel } from './async-channel';
import { ChannelPortHost } from './port-host';
import { Deferred, fromCallback, rejection } from './settle';

/**
 * An open connection of the promise API. `await using connection = await connect(url)`
 * closes it at the end of the scope.
 * @category Promise API
 */
export class AsyncConnection {
  private readonly channels = new Set<AsyncChannel>();
  /** The publishers waiting for the backlog to drain: one promise for all of them. */
  private drain: Deferred<void> | null = null;
  private closing = false;
  /** Resolves once the connection has closed (for whatever reason). */
  private readonly ended = new Deferred<Error>();

  /** @internal Made by {@link connect} once the connection opened. */
  constructor(
    /** The callback connection underneath (for its events and state: `addOnConnectionBlockedCallback`, `serverProperties`, ...). */
    readonly selectConnection: SelectConnection,
  ) {}

  /** The loop the connection runs on. */
  get ioloop(): IOLoop {
    return this.selectConnection.ioloop;
  }

  /** The connection's counters (see {@link ConnectionStats}): the callback connection's own object. */
  get stats(): ConnectionStats {
    return this.selectConnection.stats;
  }

  /** True while open (false while recovering). */
  get isOpen(): boolean {
    return this.selectConnection.isOpen;
  }

  /** True while closing. */
  get isClosing(): boolean {
    return this.selectConnection.isClosing;
  }

  /** True once closed. */
  get isClosed(): boolean {
    return this.selectConnection.isClosed;
  }

  /** @internal The application asked for the close (its channels then close as asked, too). */
  get closeRequested(): boolean {
    return this.closing;
  }

  /** Opens a channel (the lowest free number unless `channelNumber` is given). */
  channel(channelNumber?: number): Promise<AsyncChannel> {
    return fromCallback<AsyncChannel>((done) => {
      let made: AsyncChannel | null = null;
      const channel = this.selectConnection.channel((err) => (err === null ? done(null, made!) : done(err)), channelNumber);
      // Made now, not at open-ok: its close and cancel callbacks must be in place before anything can happen.
      const asyncChannel = new AsyncChannel(channel, this);
      made = asyncChannel;
      this.channels.add(asyncChannel);
      channel.addOnCloseCallback(() => this.channels.delete(asyncChannel));
    });
  }

  /**
   * Opens a channel for another thread (rabbitpy's model: a channel per
   * thread): resolves to a `MessagePort` to transfer to a worker, where
   * `channelFromPort(port)` makes it an AsyncChannel-shaped channel. The
   * channel lives on this connection's thread; calls and deliveries cross
   * the port in one batch per loop turn. When the worker closes it, exits
   * or crashes, the channel closes (the broker requeues what it had not
   * acked); when the connection closes, the worker's channel closes with
   * the reason. The port does not keep this thread alive.
   */
  openChannelPort(): Promise<MessagePort> {
    return this.channel().then((channel) => {
      const { port1, port2 } = new MessageChannel();
      new ChannelPortHost(channel, port1);
      return port2;
    });
  }

  /**
   * Closes the connection (its channels first); resolves once it is closed.
   * Rejects with ConnectionWrongStateError when it is closing or closed already.
   */
  close(replyCode?: number, replyText?: string): Promise<void> {
    try {
      this.selectConnection.close(replyCode, replyText);
    } catch (err) {
      return rejection(err);
    }
    this.closing = true;
    return this.ended.promise.then(() => undefined);
  }

  /** `await using`: closes the connection unless it is closing or closed already (then waits for that). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.isClosing || this.isClosed) {
      await this.ended.promise;
      return;
    }
    await this.close();
  }

  /** @internal Resolves once the outbound backlog is under the low-water mark; rejects if the connection ends first. */
  drained(): Promise<void> {
    if (this.drain !== null) return this.drain.promise;
    const drain = new Deferred<void>();
    this.drain = drain;
    this.selectConnection.onceDrain(() => {
      if (this.drain === drain) this.drain = null;
      drain.resolve();
    });
    return drain.promise;
  }

  /** @internal The connection was lost and recovery begins a round: each channel hears so. */
  connectionLost(reason: Error): void {
    for (const channel of this.channels) channel.connectionLost(reason);
  }

  /** @internal The connection closed: whoever waits hears why. */
  closed(reason: Error): void {
    const drain = this.drain;
    this.drain = null;
    drain?.reject(reason);
    this.ended.resolve(reason);
  }
}
