/**
 * {@link IOThreadConnection}: what `connect(url, { ioThread: true })`
 * resolves to on the application's thread, while the connection itself
 * runs in an I/O thread of coney's own (io-thread-worker.ts).
 * @packageDocumentation
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import { ConnectionClosedByClient, ConnectionWrongStateError } from '../errors';
import { reviveError, type SerializedError } from '../promise/port-errors';
import { type Reporter, unhandledCloseError, warnUnobserved } from '../promise/report';
import { Deferred, rejection } from '../promise/settle';
import { channelFromPort } from './channel-from-port';
import type { IOThreadConnectOptions } from './connect';
import type { FromIOThread } from './io-thread-protocol';
import type { PortChannel } from './port-channel';
import { ConnectionStats } from '../engine/connection-stats';
import type { SharedStats } from './shared-stats';

/** How long close() waits for the I/O thread to end by itself before terminating it (ms). */
const EXIT_GRACE_MS = 5000;

/**
 * The application's side of a connection that runs in an I/O thread: the
 * AsyncConnection surface (`channel()`, `close()`, `await using`, the
 * state getters) plus `openChannelPort()`. Its channels are
 * {@link PortChannel}s: their calls and deliveries cross to the I/O thread
 * in one batch per loop turn. `selectConnection` is undefined: the
 * callback connection lives in the I/O thread.
 *
 * While open it keeps the process alive, as a connection on this thread
 * does with its socket; `close()` (or `await using`) releases it, and the
 * I/O thread then ends. The I/O thread itself is `unref`'d: it never keeps
 * the process alive on its own.
 * @category Threads
 */
export class IOThreadConnection {
  /** Undefined: the callback connection lives in the I/O thread. */
  readonly selectConnection: undefined = undefined;
  private state: 'opening' | 'open' | 'recovering' | 'closing' | 'closed' = 'opening';
  private readonly portRequests = new Map<number, Deferred<MessagePort>>();
  private nextId = 1;
  private readonly ended = new Deferred<Error>();
  private readonly exited: Promise<void>;
  private closeAsked = false;
  private readonly report: Reporter;
  private readonly statsCopy = new ConnectionStats();

  /** @internal Made by connect() with `ioThread: true`. */
  constructor(
    private readonly worker: Worker,
    private readonly control: MessagePort,
    private readonly options: IOThreadConnectOptions,
    private readonly sharedStats: SharedStats,
  ) {
    this.report = options.onCallbackError ?? warnUnobserved;
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
  }

  /**
   * The connection's counters (see ConnectionStats), as the I/O thread last
   * copied them out: at most 100 ms old while open, final once closed.
   * Each read refreshes the same object.
   */
  get stats(): ConnectionStats {
    return this.sharedStats.read(this.statsCopy);
  }

  /** The thread id of the I/O thread. */
  get threadId(): number {
    return this.worker.threadId;
  }

  /** True while open (false while recovering). */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** True while automatic recovery reconnects. */
  get isRecovering(): boolean {
    return this.state === 'recovering';
  }

  /** True while closing. */
  get isClosing(): boolean {
    return this.state === 'closing';
  }

  /** True once closed. */
  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Opens a channel, used from this thread: a {@link PortChannel} over a port to the I/O thread. */
  channel(): Promise<PortChannel> {
    return this.openChannelPort().then((port) => channelFromPort(port, { onCallbackError: this.options.onCallbackError }));
  }

  /**
   * Opens a channel for another thread: a `MessagePort` to transfer to a
   * worker, where `channelFromPort(port)` makes it a {@link PortChannel}
   * (its traffic then goes straight between that worker and the I/O thread).
   */
  openChannelPort(): Promise<MessagePort> {
    if (this.state === 'closing' || this.state === 'closed') return rejection(new ConnectionWrongStateError(`the connection is ${this.state}`));
    const id = this.nextId++;
    const request = new Deferred<MessagePort>();
    this.portRequests.set(id, request);
    this.control.postMessage({ op: 'channel-port', id });
    return request.promise;
  }

  /**
   * Closes the connection (its channels first, in every thread that uses
   * one); resolves once it is closed and the I/O thread ended. Rejects with
   * ConnectionWrongStateError when it is closing or closed already.
   */
  close(replyCode?: number, replyText?: string): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return rejection(new ConnectionWrongStateError(`the connection is ${this.state}`));
    this.state = 'closing';
    this.closeAsked = true;
    this.control.postMessage({ op: 'close', replyCode, replyText });
    return this.ended.promise.then(() => this.threadEnded());
  }

  /** `await using`: closes the connection unless it is closing or closed already (then waits for that). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') {
      await this.ended.promise;
      return;
    }
    await this.close();
  }

  /** @internal A control message from the I/O thread (once open). */
  onMessage(m: FromIOThread): void {
    switch (m.op) {
      case 'port':
        return this.answer(m.id, (d) => d.resolve(m.port));
      case 'error':
        return this.answer(m.id, (d) => d.reject(reviveError(m.error)));
      case 'closed':
        return this.closed(reviveError(m.reason));
      case 'event':
        return this.event(m.name, m.args.map(reviveArg));
      default:
        return undefined;
    }
  }

  /** @internal The connection ended: closed in the I/O thread, or the thread itself failed or exited. */
  closed(reason: Error): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.control.close();
    for (const request of this.portRequests.values()) request.reject(reason);
    this.portRequests.clear();
    this.ended.resolve(reason);
    const onClose = this.options.onClose;
    if (onClose !== undefined) {
      try {
        onClose(this, reason);
      } catch (err) {
        this.report(err);
      }
    } else if (!(reason instanceof ConnectionClosedByClient && this.closeAsked)) {
      this.report(unhandledCloseError(reason));
    }
  }

  /** @internal Opened: the state changes from opening. */
  opened(): void {
    if (this.state === 'opening') this.state = 'open';
  }

  private answer(id: number, settle: (d: Deferred<MessagePort>) => void): void {
    const request = this.portRequests.get(id);
    if (request === undefined) return;
    this.portRequests.delete(id);
    settle(request);
  }

  private event(name: string, args: unknown[]): void {
    if (name === 'onRecovering') this.state = this.state === 'open' ? 'recovering' : this.state;
    if (name === 'onRecovered') this.state = this.state === 'recovering' ? 'open' : this.state;
    try {
      if (name === 'onCallbackError') this.report(args[0]);
      else if (name === 'onRecovering') this.options.onRecovering?.(this, args[0] as Error, args[1] as number);
      else if (name === 'onRecovered') this.options.onRecovered?.(this);
      else if (name === 'onRecoveryFailed') this.options.onRecoveryFailed?.(this, args[0] as Error);
      else if (name === 'onQueueNameChange') this.options.onQueueNameChange?.(this, args[0] as string, args[1] as string);
    } catch (err) {
      this.report(err);
    }
  }

  /** Resolves once the I/O thread ended (terminated if it does not within a few seconds). */
  private threadEnded(): Promise<void> {
    // Awaited, so held alive until then (the thread is unref'd otherwise, and would let the process exit first).
    this.worker.ref();
    const timer = setTimeout(() => void this.worker.terminate(), EXIT_GRACE_MS);
    timer.unref();
    return this.exited.then(() => clearTimeout(timer));
  }
}

function reviveArg(arg: unknown): unknown {
  if (typeof arg === 'object' && arg !== null && 'coneyError' in arg) return reviveError((arg as { coneyError: SerializedError }).coneyError);
  return arg;
}
