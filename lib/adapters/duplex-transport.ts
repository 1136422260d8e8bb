/**
 * A {@link Transport} over any Node `Duplex` stream (used by NodeIOLoop for
 * its sockets and by StreamIOLoop for streams the user opens).
 *
 * This file is the worked example for adapter authors: a connection needs
 * nothing from the outside world but an {@link IOLoop} and, for each
 * connection attempt, a {@link Transport}. Anything that can be presented as
 * a `Duplex` (a TCP or TLS socket, an SSH or HTTP CONNECT tunnel, a WebSocket
 * stream, an in-process pipe) can carry AMQP through {@link DuplexTransport}.
 * @packageDocumentation
 */

import type { Duplex } from 'stream';
import { StreamLostError } from '../errors';
import type { Transport, TransportHandlers } from '../engine/ioloop';
import type { ChunkRelease } from '../wire/frame-parser';

/** What a stream error looks like: Node's system errors carry a `code`. */
interface CodedError extends Error {
  code?: string;
}

/**
 * Builds the {@link StreamLostError} reported for a stream error: the message
 * names the cause's code (`ECONNRESET`, `EPIPE`, ...) so that logs say what
 * happened without digging into `cause`.
 */
function streamLost(cause: unknown): StreamLostError {
  const e = cause as CodedError | undefined;
  const code = e?.code ?? e?.name ?? 'Error';
  const detail = e?.message ? ` (${e.message})` : '';
  const err = new StreamLostError(`Stream connection lost: ${code}${detail}`);
  err.cause = cause;
  return err;
}

/** A listener that keeps late 'error' events from becoming uncaught exceptions. */
function ignoreError(): void {}

/**
 * Seconds {@link DuplexTransport.end} waits for the peer's side to close.
 * AMQP peers close right after the last close / close-ok, so a peer silent
 * this long is dead or stuck; the socket must not linger until TCP gives up.
 */
const DEFAULT_END_TIMEOUT = 2;

/**
 * Options of {@link DuplexTransport}.
 * @category I/O loops and adapters
 */
export interface DuplexTransportOptions {
  /**
   * Seconds that {@link DuplexTransport.end} waits for the peer to close its
   * side before destroying the stream (default 2; 0 or Infinity: no limit).
   * A dead peer never sends its FIN, and the socket would otherwise stay open.
   */
  endTimeout?: number;
  /**
   * Where the incoming bytes come from when the stream does not emit them as
   * `'data'` events: a `net.Socket` opened with `onread` (see `NodeIOLoop`)
   * hands its reads to a callback instead. Given, the transport takes its
   * chunks from here and does not listen to `'data'`; the stream's other
   * events (`'end'`, `'error'`, `'close'`, `'drain'`) are used as usual.
   */
  source?: ChunkSource;
}

/**
 * A feed of incoming chunks that bypasses the stream's `'data'` events.
 * `attach(sink)` starts delivering to `sink` (chunks that arrived before are
 * delivered first, asynchronously); `attach(null)` stops delivery for good.
 * The sink returns true when nothing refers to the chunk any more: the
 * source may then read into its memory again.
 * @category I/O loops and adapters
 */
export interface ChunkSource {
  attach(sink: ((chunk: Buffer) => ChunkRelease) | null): void;
}

/**
 * A {@link Transport} over a Node `Duplex` stream that is already connected.
 *
 * - `write(chunks)` corks the stream around the batch, so a `net.Socket`
 *   hands the whole batch to the kernel in one `writev`; it returns `false`
 *   while the stream's `writableNeedDrain` is set, and `handlers.onDrain`
 *   follows on the stream's `'drain'`.
 * - Incoming chunks go to `handlers.onData` as they are (never copied).
 * - `handlers.onClose` fires exactly once, whatever mix of `'error'`, `'end'`
 *   and `'close'` the stream emits: `null` for an orderly end (the peer's
 *   `'end'`, or a close this side asked for with {@link end} / {@link destroy});
 *   a {@link StreamLostError} with the stream error in `cause` otherwise.
 *   AMQP has no half-closed state, so after the peer's `'end'` the stream is
 *   destroyed.
 *
 * Handlers are called from the stream's events, never from inside a call to
 * one of this class's methods.
 * @category I/O loops and adapters
 */
export class DuplexTransport implements Transport {
  /** The wrapped stream. */
  readonly stream: Duplex;
  private readonly handlers: TransportHandlers;
  private closed = false;
  /** Set by {@link end} / {@link destroy}: a later bare 'close' is then expected. */
  private closing = false;
  private readonly listeners: Array<[string, (...args: any[]) => void]>;
  private readonly endTimeout: number;
  private endTimer: NodeJS.Timeout | null = null;
  private readonly source: ChunkSource | null;

  /**
   * Wraps `stream` and starts reading from it.
   * @param stream a connected duplex stream; the transport owns it from now on.
   * @param handlers where bytes, drain and close are reported.
   * @param options see {@link DuplexTransportOptions}.
   */
  constructor(stream: Duplex, handlers: TransportHandlers, options: DuplexTransportOptions = {}) {
    this.stream = stream;
    this.handlers = handlers;
    this.endTimeout = options.endTimeout ?? DEFAULT_END_TIMEOUT;
    this.source = options.source ?? null;
    this.listeners = [
      ['drain', () => this.onDrain()],
      ['end', () => this.onEnd()],
      ['error', (err: unknown) => this.report(streamLost(err))],
      ['close', () => this.onStreamClose()],
    ];
    if (this.source === null) this.listeners.unshift(['data', (chunk: Buffer) => this.onData(chunk)]);
    for (const [event, fn] of this.listeners) stream.on(event, fn);
    this.source?.attach((chunk) => this.onData(chunk));
    if (stream.destroyed) this.deferReport(streamLost(new Error('the stream was already destroyed')));
  }

  /**
   * Writes the chunks in order as one batch. Returns `false` when the stream
   * is above its high-water mark; `onDrain` follows. Writes after a close are
   * dropped (the close is, or will be, reported through `onClose`).
   */
  write(chunks: Buffer[]): boolean {
    const s = this.stream;
    if (this.closed || this.closing || !s.writable) return true;
    s.cork();
    for (const chunk of chunks) if (chunk.length > 0) s.write(chunk);
    // uncork() (not a deferred one) so that the batch is flushed in this turn, as one writev.
    s.uncork();
    return !s.writableNeedDrain;
  }

  /** Bytes accepted by the stream but not yet handed on (its `writableLength`). */
  get bufferedBytes(): number {
    return this.stream.writableLength;
  }

  /**
   * Ends the stream after the pending writes; `onClose(null)` follows once
   * the peer closes too, or once `endTimeout` has passed and the stream was destroyed.
   */
  end(): void {
    if (this.closed || this.closing) return;
    this.closing = true;
    this.stream.end();
    const t = this.endTimeout;
    if (!(t > 0 && Number.isFinite(t))) return;
    // unref: the stream itself decides whether the process stays alive.
    this.endTimer = setTimeout(() => this.stream.destroy(), Math.min(t * 1000, 0x7fffffff)).unref();
  }

  /** Destroys the stream now; `onClose(null)` follows (asynchronously) unless a close was already reported. */
  destroy(): void {
    if (this.closed) return;
    this.closing = true;
    this.stream.destroy();
    // A stream created with emitClose: false never says 'close'; report anyway.
    this.deferReport(null);
  }

  /** Hands a chunk on; true when nothing refers to it afterwards (see TransportHandlers.onData). */
  private onData(chunk: Buffer): ChunkRelease {
    return this.closed || this.handlers.onData(chunk) === true;
  }

  private onDrain(): void {
    if (!this.closed) this.handlers.onDrain();
  }

  private onEnd(): void {
    this.report(null);
    // No half-open AMQP: the peer is gone, release the socket now.
    this.stream.destroy();
  }

  private onStreamClose(): void {
    // 'close' after 'error' or 'end' is already reported. A bare 'close' we did not
    // ask for (someone destroyed the stream under us) is a lost stream.
    this.report(this.closing ? null : streamLost(new Error('the stream closed without an end or an error')));
  }

  private deferReport(err: Error | null): void {
    // setImmediate runs after the nextTick-scheduled 'error'/'close' of a destroy,
    // so a real error wins over this fallback.
    setImmediate(() => this.report(err));
  }

  /** Reports the close once and detaches, keeping a sink for late 'error' events. */
  private report(err: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    if (this.endTimer) clearTimeout(this.endTimer);
    this.endTimer = null;
    for (const [event, fn] of this.listeners) this.stream.removeListener(event, fn);
    this.source?.attach(null);
    this.stream.on('error', ignoreError);
    this.handlers.onClose(err);
  }
}
