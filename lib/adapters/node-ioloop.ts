/**
 * {@link NodeIOLoop}: the default {@link IOLoop}, on Node's own event loop,
 * with TCP, TLS and Unix-socket transports.
 * @packageDocumentation
 */

import * as net from 'net';
import * as tls from 'tls';
import type { Duplex } from 'stream';
import { performance } from 'perf_hooks';
import { SocketConnectError } from '../errors';
import { isThenable, reportOrRethrow } from '../engine/callback-runner';
import { describeValue } from '../engine/option-checks';
import type { IOLoop, TimerHandle, Transport, TransportHandlers, TransportTarget } from '../engine/ioloop';
import { DuplexTransport } from './duplex-transport';
import { SocketReader } from './socket-reader';
import { RunGate } from './run-gate';

/** Node's setTimeout takes at most 2^31-1 ms; longer delays are chained. */
const MAX_TIMEOUT_MS = 0x7fffffff;

/**
 * Options of {@link NodeIOLoop}.
 * @category I/O loops and adapters
 */
export interface NodeIOLoopOptions {
  /** Receives exceptions thrown by callbacks and timers (see {@link NodeIOLoop.onError}). */
  onError?: (err: unknown) => void;
  /**
   * Plain TCP and Unix sockets opened by {@link NodeIOLoop.openStream} read
   * into memory of coney's own (`net.connect({ onread })`, see SocketReader)
   * instead of emitting `'data'` events. Default true. A subclass whose
   * `openStream` calls `super.openStream()` and wraps the socket needs its
   * `'data'` events: it passes false. (StreamIOLoop, whose streams are yours, does.)
   */
  ownSocketReads?: boolean;
}

/** A system error as Node reports it. */
interface CodedError extends Error {
  code?: string;
}

/** Where a connect attempt stands, for error messages. */
type Phase = 'stream' | 'tcp' | 'tls';

/**
 * The default {@link IOLoop}: timers, callbacks and sockets on Node's own
 * event loop.
 *
 * - Timers and callbacks run as soon as Node's loop gets to them, whether or
 *   not {@link start} was called: work scheduled before `start()` runs once
 *   the script returns to the event loop.
 * - {@link start} only keeps the process alive (a ref'd interval) until
 *   {@link stop}; it may be called again after a stop, as in pika's
 *   `connection.close(); connection.ioloop.start()` pattern. `stop()` does
 *   not cancel timers.
 * - Callbacks from {@link addCallback} run in FIFO order, all of one batch
 *   per `setImmediate`; callbacks added meanwhile run in the next batch.
 * - A callback or timer that throws does not stop the others: the exception
 *   goes to {@link onError}, or is rethrown asynchronously when there is none.
 * - {@link connect} opens `net` / `tls` / Unix sockets and wraps them in a
 *   `DuplexTransport`; subclasses change where the stream comes from by
 *   overriding {@link openStream} (see `StreamIOLoop`).
 * @category I/O loops and adapters
 */
export class NodeIOLoop implements IOLoop {
  /**
   * Receives what a callback or timer run by the loop threw; set by whoever
   * creates the loop (no connection sets it: a connection routes its own
   * callbacks' exceptions to its `onCallbackError`). When unset (or when it
   * throws itself), the exception is rethrown asynchronously, as an uncaught
   * exception, so that it is never swallowed.
   */
  onError?: (err: unknown) => void;

  private nextId = 0;
  /** Live timers by handle id; fired and removed timers are dropped. */
  private readonly timers = new Map<number, NodeJS.Timeout>();
  /** Socket timeouts of connect attempts in flight (counted by pendingTimerCount). */
  private connectTimers = 0;
  private queue: Array<() => void> = [];
  private drainScheduled = false;
  private readonly gate = new RunGate();
  /** See {@link NodeIOLoopOptions.ownSocketReads}. */
  private readonly ownSocketReads: boolean;
  /** The reader openStream made for the socket it just returned, taken by connect. */
  private openedReader: SocketReader | null = null;
  /** Targets already warned about for TLS without certificate verification. */
  private readonly warnedUnverified = new Set<string>();

  /** @param options see {@link NodeIOLoopOptions}. */
  constructor(options: NodeIOLoopOptions = {}) {
    this.onError = options.onError;
    this.ownSocketReads = options.ownSocketReads ?? true;
  }

  /**
   * Keeps the process alive until {@link stop}. Returns a promise that
   * resolves on `stop()`; while running, a second call returns the same promise.
   */
  start(): Promise<void> {
    return this.gate.open();
  }

  /** Settles the promise of {@link start} and lets the process exit; timers and callbacks stay scheduled. */
  stop(): void {
    this.gate.close();
  }

  /** True between {@link start} and {@link stop}. */
  get isRunning(): boolean {
    return this.gate.isOpen;
  }

  /** Runs `cb` after `delaySeconds` (negative or NaN: as soon as possible). */
  callLater(delaySeconds: number, cb: () => void): TimerHandle {
    const id = ++this.nextId;
    const ms = delaySeconds > 0 ? delaySeconds * 1000 : 0;
    this.arm(id, ms, cb);
    return { id };
  }

  /** Cancels a timer; unknown or already fired handles are ignored. */
  removeTimeout(handle: TimerHandle): void {
    const t = this.timers.get(handle.id);
    if (t === undefined) return;
    clearTimeout(t);
    this.timers.delete(handle.id);
  }

  /** Runs `cb` in the next callback batch (FIFO). */
  addCallback(cb: () => void): void {
    this.queue.push(cb);
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => this.drain());
  }

  /**
   * Same as {@link addCallback}. Node runs JavaScript on one thread, so any
   * context that can reach this loop (a signal handler, a worker's 'message'
   * event) is already on it.
   */
  addCallbackThreadsafe(cb: () => void): void {
    this.addCallback(cb);
  }

  /** Monotonic seconds (`performance.now() / 1000`). */
  now(): number {
    return performance.now() / 1000;
  }

  /** Timers scheduled and not yet fired or removed, plus connect timeouts in flight. */
  get pendingTimerCount(): number {
    return this.timers.size + this.connectTimers;
  }

  /** Callbacks waiting for the next batch. */
  get pendingCallbackCount(): number {
    return this.queue.length;
  }

  /**
   * Opens a transport to `target` (see {@link IOLoop.connect}). `done` is
   * called once, asynchronously, with a `DuplexTransport` or a
   * `SocketConnectError` (refused, unreachable, DNS, TLS verification, or
   * `socketTimeout` elapsed; `cause` holds the underlying error). The
   * returned function aborts: it destroys the socket, and `done` is not
   * called afterwards; after `done` it does nothing. Nothing (listeners,
   * timers) is left behind by any outcome.
   */
  connect(target: TransportTarget, handlers: TransportHandlers, done: (err: Error | null, transport?: Transport) => void): () => void {
    const context: AttemptContext = {
      addCallback: (cb) => this.addCallback(cb),
      invoke: (cb) => this.invoke(cb),
      report: (err) => this.report(err),
      armTimer: (seconds, fire) => this.armConnectTimer(seconds, fire),
    };
    // Our own sockets are TCP from the start; a stream of yours is just "a stream" until it shows what it is.
    const phase: Phase = this.ownSocketReads ? 'tcp' : 'stream';
    const attempt = new ConnectAttempt(context, target, handlers, done, phase);
    attempt.begin(() => {
      this.openedReader = null;
      const stream = this.openStream(target);
      attempt.source = this.openedReader ?? undefined; // set only for a socket openStream made itself, synchronously
      this.openedReader = null;
      return stream;
    });
    return () => attempt.abort();
  }

  /**
   * Opens the stream of one connection attempt: a `tls.TLSSocket` when
   * `target.tls` is set, a `net.Socket` to `target.path` or `host:port`
   * otherwise. Override it to carry connections over other streams; see
   * `StreamIOLoop` for the rules on when the returned stream counts as connected.
   */
  protected openStream(target: TransportTarget): Duplex | Promise<Duplex> {
    const where: net.NetConnectOpts = target.path ? { path: target.path } : { host: target.host, port: target.port };
    let socket: net.Socket;
    if (target.tls) {
      this.warnIfUnverified(target);
      const options = { ...target.tls, ...where, servername: serverName(target) } as tls.ConnectionOptions;
      // Node reads the flag by truthiness: an explicit undefined would turn verification off.
      if (options.rejectUnauthorized === undefined) delete options.rejectUnauthorized;
      socket = tls.connect(options);
    } else if (!this.ownSocketReads) {
      // A subclass that calls super.openStream() may wrap the socket: keep its 'data' events.
      socket = net.connect(where);
    } else {
      // Plain sockets read into our own buffers (see SocketReader); TLS sockets can't.
      const reader = new SocketReader();
      socket = net.connect({ ...where, onread: reader.onread });
      this.openedReader = reader;
    }
    const tcp = target.tcpOptions ?? {};
    if (!target.path) {
      socket.setNoDelay(tcp.noDelay ?? true);
      if (tcp.keepAlive) socket.setKeepAlive(true, tcp.keepAliveInitialDelay ?? 0);
    }
    return socket;
  }

  /**
   * Warns, once per loop and target, when the TLS socket about to be opened
   * will not verify the broker's certificate: `rejectUnauthorized: false` in
   * the TLS options (from `ssl` or a URL's `ssl_options`), or left unset
   * while `NODE_TLS_REJECT_UNAUTHORIZED=0`. A connection owns its loop unless
   * given one, so this is once per connection; retries do not repeat it.
   * Names host and port only, never credentials.
   */
  private warnIfUnverified(target: TransportTarget): void {
    const why = unverifiedReason(target);
    if (why === null) return;
    const where = describeTarget(target);
    if (this.warnedUnverified.has(where)) return;
    this.warnedUnverified.add(where);
    process.emitWarning(
      `TLS certificate verification is off for the connection to ${where} (${why}): ` +
        "the broker's identity is not checked, so anyone on the path can read and alter the traffic, login included",
      'ConeyWarning',
    );
  }

  /** A connect attempt's timeout, counted by pendingTimerCount; returns its canceller. */
  private armConnectTimer(seconds: number, fire: () => void): () => void {
    this.connectTimers++;
    let live = true;
    const t = setTimeout(
      () => {
        live = false;
        this.connectTimers--;
        fire();
      },
      Math.min(seconds * 1000, MAX_TIMEOUT_MS),
    );
    return () => {
      if (!live) return;
      live = false;
      this.connectTimers--;
      clearTimeout(t);
    };
  }

  /**
   * Runs a callback or timer, routing its exception to {@link report}; the
   * rejection of a promise it returns (an `async` callback) goes the same way.
   */
  private invoke(cb: () => unknown): void {
    try {
      const result = cb();
      if (isThenable(result)) result.then(undefined, this.reportRejection);
    } catch (err) {
      this.report(err);
    }
  }

  private readonly reportRejection = (err: unknown): void => this.report(err);

  /** Hands an exception to onError, or rethrows it asynchronously. */
  private report(err: unknown): void {
    reportOrRethrow(this.onError, err);
  }

  /** Sets (or re-sets, for delays beyond setTimeout's range) the Node timer of a handle. */
  private arm(id: number, ms: number, cb: () => void): void {
    const step = Math.min(ms, MAX_TIMEOUT_MS);
    const t = setTimeout(() => {
      if (ms > step) return this.arm(id, ms - step, cb);
      this.timers.delete(id);
      this.invoke(cb);
    }, step);
    this.timers.set(id, t);
  }

  /** Runs the current batch; callbacks added meanwhile wait for the next one. */
  private drain(): void {
    this.drainScheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const cb of batch) this.invoke(cb);
  }
}

/** The TLS server name: the given one, else the host unless it is an IP address. */
function serverName(target: TransportTarget): string | undefined {
  if (target.tls && typeof target.tls.servername === 'string') return target.tls.servername;
  if (target.path || !target.host || net.isIP(target.host) !== 0) return undefined;
  return target.host;
}

/**
 * Why a TLS connection to `target` will not verify the broker's certificate,
 * or null when it will. Node's rule: an explicit `rejectUnauthorized` wins;
 * unset (openStream drops an explicit undefined), it is false only when
 * NODE_TLS_REJECT_UNAUTHORIZED is '0'.
 */
function unverifiedReason(target: TransportTarget): string | null {
  if (!target.tls) return null;
  const flag: unknown = target.tls.rejectUnauthorized;
  // Node tests the flag by truthiness (0, null and '' turn verification off too).
  if (flag === undefined) return process.env['NODE_TLS_REJECT_UNAUTHORIZED'] === '0' ? 'NODE_TLS_REJECT_UNAUTHORIZED=0' : null;
  return flag ? null : `rejectUnauthorized: ${JSON.stringify(flag) ?? typeof flag}`;
}

/** `5`, `0.25`: seconds as people write them. */
function formatSeconds(s: number): string {
  return `${Number(s.toFixed(3))}s`;
}

/** `host:port`, `[::1]:port` or the socket path. */
function describeTarget(target: TransportTarget): string {
  if (target.path) return target.path;
  const host = net.isIPv6(target.host) ? `[${target.host}]` : target.host;
  return `${host}:${target.port}`;
}

/** The subject of a connect error message for each phase. */
function phaseLabel(phase: Phase, target: TransportTarget): string {
  const where = describeTarget(target);
  if (phase === 'tls') return `TLS handshake with ${where}`;
  if (phase === 'stream') return `opening a stream to ${where}`;
  return target.path ? `connect to Unix socket ${where}` : `TCP connect to ${where}`;
}

/** What a stream must emit before it counts as connected, or null when it already is. */
function pendingEvent(stream: Duplex): 'connect' | 'secureConnect' | null {
  if (stream instanceof tls.TLSSocket) {
    // getFinished() stays undefined until this side finished its handshake.
    return stream.connecting || stream.getFinished() === undefined ? 'secureConnect' : null;
  }
  if (stream instanceof net.Socket && stream.connecting) return 'connect';
  return null;
}

/** What a connect attempt needs from its loop (kept off the loop's public surface). */
interface AttemptContext {
  addCallback(cb: () => void): void;
  /** Runs code of the loop's owner, routing what it throws to onError. */
  invoke(cb: () => void): void;
  /** Routes an exception to onError (or rethrows it), like invoke's catch. */
  report(err: unknown): void;
  /** Starts a timeout; returns its canceller. */
  armTimer(seconds: number, fire: () => void): () => void;
}

/**
 * One run of {@link NodeIOLoop.connect}: opens the stream, waits until it is
 * connected, and settles exactly once (unless aborted), cleaning up after itself.
 */
class ConnectAttempt {
  private settled = false;
  private stream: Duplex | null = null;
  private disarm: (() => void) | null = null;
  /** performance.now() after which a completed connect still counts as timed out (the timer has 1 ms granularity). */
  private deadline = Infinity;
  /** The memory the socket reads into, when the loop opened it with a SocketReader. */
  source: SocketReader | undefined;
  private readonly listeners: Array<[string, (...args: any[]) => void]> = [];

  constructor(
    private readonly loop: AttemptContext,
    private readonly target: TransportTarget,
    private readonly handlers: TransportHandlers,
    private readonly done: (err: Error | null, transport?: Transport) => void,
    private phase: Phase,
  ) {}

  /** Starts the timeout, then opens the stream (sync or async). */
  begin(open: () => Duplex | Promise<Duplex>): void {
    const t = this.target.socketTimeout;
    if (t > 0 && Number.isFinite(t)) {
      this.deadline = performance.now() + t * 1000;
      this.disarm = this.loop.armTimer(t, () => this.timedOut());
    }
    let opened: Duplex | Promise<Duplex>;
    try {
      opened = open();
    } catch (err) {
      // Never call done from inside connect(): the caller has not even got abort() yet.
      this.loop.addCallback(() => this.fail(err));
      return;
    }
    if (isPromise(opened)) {
      opened.then(
        (s) => this.opened(s),
        (err) => this.fail(err),
      );
    } else {
      this.opened(opened);
    }
  }

  /** Abort: destroy what exists and make sure done is never called. */
  abort(): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanup(true);
  }

  private opened(stream: Duplex): void {
    if (this.settled) {
      stream?.destroy?.(); // aborted or timed out while the user's promise was pending
      return;
    }
    if (typeof stream?.on !== 'function' || typeof stream.write !== 'function') {
      return this.fail(new TypeError(`openStream gave ${describeValue(stream)}, not a Duplex stream`));
    }
    this.stream = stream;
    const event = pendingEvent(stream);
    if (event === 'connect' || (stream as net.Socket).connecting) this.phase = 'tcp';
    else if (event === 'secureConnect') this.phase = 'tls';
    this.listen('error', (err: unknown) => this.fail(err));
    this.listen('close', () => this.fail(new Error('the stream closed before it was connected')));
    if (event === null) {
      // Ready already; still settle on a later turn, never inside connect().
      this.loop.addCallback(() => this.succeed());
      return;
    }
    if (event === 'secureConnect') this.listen('connect', () => (this.phase = 'tls'));
    this.listen(event, () => this.succeed());
  }

  private succeed(): void {
    if (this.settled) return;
    // A timeout below the timer's 1 ms granularity: the connect may finish first, and is still too late.
    if (performance.now() > this.deadline) return this.timedOut();
    this.settled = true;
    this.cleanup(false);
    const stream = this.stream!;
    if (stream.destroyed) return this.report(this.error(new Error('the stream was destroyed before it was connected')));
    const transport = new DuplexTransport(stream, guard(this.handlers, this.loop), { source: this.source });
    this.loop.invoke(() => this.done(null, transport));
  }

  private timedOut(): void {
    this.disarm = null;
    this.settle(new SocketConnectError(`${phaseLabel(this.phase, this.target)} timed out after ${formatSeconds(this.target.socketTimeout)}`));
  }

  private fail(cause: unknown): void {
    this.settle(this.error(cause));
  }

  private settle(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanup(true);
    this.report(err);
  }

  private report(err: Error): void {
    this.loop.invoke(() => this.done(err));
  }

  /** The SocketConnectError for `cause`, naming the target, the phase and the code. */
  private error(cause: unknown): SocketConnectError {
    if (cause instanceof SocketConnectError) return cause;
    const e = cause as CodedError | undefined;
    const message = e?.message ?? String(cause);
    const label = phaseLabel(this.phase, this.target);
    const text =
      this.phase === 'tls'
        ? `${label} failed: ${message}${e?.code ? ` (${e.code})` : ''}`
        : `${label} failed: ${e?.code ? `${e.code} (${message})` : message}`;
    const err = new SocketConnectError(text);
    err.cause = cause;
    return err;
  }

  private listen(event: string, fn: (...args: any[]) => void): void {
    this.listeners.push([event, fn]);
    this.stream!.on(event, fn);
  }

  /** Clears the timer and our listeners; on failure, destroys the stream. */
  private cleanup(destroy: boolean): void {
    this.disarm?.();
    this.disarm = null;
    const s = this.stream;
    if (!s) return;
    for (const [event, fn] of this.listeners) s.removeListener(event, fn);
    this.listeners.length = 0;
    if (!destroy) return;
    // Late 'error' events of a socket we gave up on must not become uncaught exceptions.
    s.on('error', () => {});
    s.destroy();
  }
}

/**
 * The handlers with each call run through `invoke`: stream events are not
 * loop callbacks, and what they throw must reach onError like the rest.
 */
function guard(h: TransportHandlers, loop: AttemptContext): TransportHandlers {
  return {
    // The per-chunk path: a try/catch of its own, no closure per chunk.
    onData: (chunk) => {
      try {
        return h.onData(chunk);
      } catch (err) {
        loop.report(err);
        return false; // a chunk whose handling failed is not known to be released
      }
    },
    onClose: (err) => loop.invoke(() => h.onClose(err)),
    onDrain: () => loop.invoke(() => h.onDrain()),
  };
}

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as Promise<T>)?.then === 'function';
}
