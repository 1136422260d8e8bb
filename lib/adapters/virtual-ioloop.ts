/**
 * {@link VirtualIOLoop}: an {@link IOLoop} with virtual time and in-memory
 * transports, for deterministic tests of code that runs on a connection
 * (coney's own unit tests use it; it is exported for yours).
 *
 * Nothing here touches the network or the clock: time moves only when the
 * test says so ({@link VirtualIOLoop.advance}, {@link VirtualIOLoop.runUntil})
 * or, between `start()` and `stop()`, by jumping from one timer to the next.
 * Bytes written on one side of a virtual connection arrive on the other side
 * through the loop's callback queue, in order, one chunk per write.
 * @packageDocumentation
 */

import { SocketConnectError, StreamLostError } from '../errors';
import { handTo, isThenable, reportOrRethrow } from '../engine/callback-runner';
import { RunGate } from './run-gate';
import type { IOLoop, TimerHandle, Transport, TransportHandlers, TransportTarget } from '../engine/ioloop';

/**
 * Options of {@link VirtualIOLoop}.
 * @category I/O loops and adapters
 */
export interface VirtualIOLoopOptions {
  /** Bytes in flight above which a transport's `write` returns false (default 64 KiB). */
  highWaterMark?: number;
  /** Callbacks plus timers one run may execute before it is declared runaway (default 1e6). */
  maxCallbacksPerRun?: number;
  /** Receives what callbacks and timers throw (see {@link VirtualIOLoop.onError}). */
  onError?: (err: unknown) => void;
}

/**
 * Options of {@link VirtualIOLoop.listen}.
 * @category I/O loops and adapters
 */
export interface VirtualListenOptions {
  /** Virtual seconds before a connection is accepted; `Infinity` never accepts (default 0). */
  acceptDelay?: number;
  /** High-water mark of the connections of this listener (default: the loop's). */
  highWaterMark?: number;
}

/** A timer in the queue. The id (increasing) keeps equal times in scheduling order. */
interface Timer {
  id: number;
  when: number;
  cb: () => void;
}

/** A listening address. */
interface Listener {
  onConnection: (peer: VirtualPeer) => void;
  options: VirtualListenOptions;
}

/** A system-style error, as Node would report it. */
function systemError(code: string, syscall: string, where: string): Error {
  return Object.assign(new Error(`${syscall} ${code} ${where}`), { code, syscall });
}

/** The error a side sees when the other side destroyed the connection. */
function streamLost(cause: Error): StreamLostError {
  const code = (cause as Error & { code?: string }).code ?? cause.name;
  const err = new StreamLostError(`Stream connection lost: ${code} (${cause.message})`);
  err.cause = cause;
  return err;
}

/** Timer order: earlier first, then scheduled first. */
function before(a: Timer, b: Timer): boolean {
  return a.when < b.when || (a.when === b.when && a.id < b.id);
}

/**
 * A binary min-heap of timers. Removal is lazy: removed timers stay in the
 * heap until they reach the top (the loop's live map says which are live),
 * and the heap is rebuilt when they outnumber the live ones.
 */
class TimerHeap {
  private items: Timer[] = [];

  get size(): number {
    return this.items.length;
  }

  push(t: Timer): void {
    const a = this.items;
    a.push(t);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }

  peek(): Timer | undefined {
    return this.items[0];
  }

  pop(): Timer | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /** Keeps only the timers `keep` accepts. */
  rebuild(keep: (t: Timer) => boolean): void {
    const live = this.items.filter(keep);
    this.items = [];
    for (const t of live) this.push(t);
  }

  private siftDown(i: number): void {
    const a = this.items;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && before(a[l], a[m])) m = l;
      if (r < a.length && before(a[r], a[m])) m = r;
      if (m === i) return;
      [a[i], a[m]] = [a[m], a[i]];
      i = m;
    }
  }
}

/**
 * A deterministic {@link IOLoop} for tests: virtual time, a FIFO callback
 * queue and in-memory connections.
 *
 * Drive it by hand:
 * - {@link runUntilIdle} runs queued callbacks (and those they add) without
 *   moving time;
 * - {@link advance} moves time forward, firing due timers in time order and
 *   running callbacks between them;
 * - {@link runUntil} jumps from timer to timer until a condition holds.
 *
 * Or let it drive itself: between {@link start} and {@link stop} it runs as a
 * discrete-event simulation, one step per `setImmediate` (run the callbacks,
 * then jump to the next timer and fire it), so that promises and other real
 * asynchronous code in the test interleave with it. Virtual time then races
 * ahead as fast as the steps run: a timer 60 virtual seconds away fires after
 * a handful of real microseconds, whatever real work the test is awaiting.
 * With nothing scheduled it sleeps until new work is added.
 *
 * A callback or timer that throws does not stop the others: the exception
 * goes to {@link onError}; without one, a hand-driven run throws it once the
 * run is over (an `AggregateError` when there were several), and a
 * self-driven loop rethrows it asynchronously.
 *
 * Connections: {@link listen} registers an address; {@link connect} to it
 * hands the client a {@link Transport} and the listener a {@link VirtualPeer},
 * the scripted other end.
 * @category I/O loops and adapters
 */
export class VirtualIOLoop implements IOLoop {
  /** Receives what callbacks and timers throw. */
  onError?: (err: unknown) => void;
  /** Default high-water mark of connections (bytes). */
  readonly highWaterMark: number;
  /** Callbacks plus timers one run may execute before it throws. */
  readonly maxCallbacksPerRun: number;

  private time = 0;
  private nextId = 0;
  private readonly heap = new TimerHeap();
  private readonly live = new Map<number, Timer>();
  private queue: Array<() => void> = [];
  private head = 0;
  private readonly listeners = new Map<string, Listener>();
  /** Exceptions of the current run, when there is no onError. */
  private errors: unknown[] = [];
  private inRun = false;
  private runSteps = 0;
  private readonly gate = new RunGate();
  private stepPending: NodeJS.Immediate | null = null;

  /** @param options see {@link VirtualIOLoopOptions}. */
  constructor(options: VirtualIOLoopOptions = {}) {
    this.highWaterMark = options.highWaterMark ?? 64 * 1024;
    this.maxCallbacksPerRun = options.maxCallbacksPerRun ?? 1e6;
    this.onError = options.onError;
  }

  // ---- time and callbacks ------------------------------------------------

  /** Virtual seconds since the loop was created (starts at 0). */
  now(): number {
    return this.time;
  }

  /** Runs `cb` once virtual time reaches now + `delaySeconds` (negative or NaN: now). */
  callLater(delaySeconds: number, cb: () => void): TimerHandle {
    const id = ++this.nextId;
    const timer: Timer = { id, when: this.time + (delaySeconds > 0 ? delaySeconds : 0), cb };
    this.heap.push(timer);
    this.live.set(id, timer);
    this.wake();
    return { id };
  }

  /** Cancels a timer; unknown or fired handles are ignored. */
  removeTimeout(handle: TimerHandle): void {
    if (!this.live.delete(handle.id)) return;
    // Lazy removal; rebuild once dead entries dominate, so a loop re-arming timers stays small.
    if (this.heap.size > 2 * this.live.size + 32) this.heap.rebuild((t) => this.live.has(t.id));
  }

  /** Queues `cb` (FIFO); it runs at the current virtual time. */
  addCallback(cb: () => void): void {
    this.queue.push(cb);
    this.wake();
  }

  /** Same as {@link addCallback}. */
  addCallbackThreadsafe(cb: () => void): void {
    this.addCallback(cb);
  }

  /** Timers scheduled and neither fired nor removed. */
  get pendingTimerCount(): number {
    return this.live.size;
  }

  /** Callbacks queued and not yet run. */
  get pendingCallbackCount(): number {
    return this.queue.length - this.head;
  }

  /** Virtual time of the next timer, or null when none is scheduled. */
  get nextTimerAt(): number | null {
    return this.peekTimer()?.when ?? null;
  }

  // ---- driving by hand ---------------------------------------------------

  /** Runs queued callbacks, including the ones they add, without moving time. */
  runUntilIdle(): void {
    this.run(() => this.drain());
  }

  /**
   * Moves virtual time forward by `seconds`: runs the queued callbacks, then
   * fires the timers due until now + `seconds` in time order (timers they
   * schedule included), running the callbacks after each; time ends at
   * exactly now + `seconds`.
   */
  advance(seconds: number): void {
    if (!(seconds >= 0)) throw new RangeError(`advance(${seconds}): seconds must be >= 0`);
    const end = this.time + seconds;
    this.run(() => {
      this.drain();
      while (this.fireNext(end)) this.drain();
      this.time = end;
    });
  }

  /**
   * Runs callbacks, then fires timers one by one (advancing time to each),
   * until `predicate()` holds; checked after every step. Returns true when
   * it held, false when no timer is left within `maxSeconds` of virtual time
   * (time then ends at now + `maxSeconds` when that is finite).
   */
  runUntil(predicate: () => boolean, maxSeconds = Infinity): boolean {
    const end = this.time + maxSeconds;
    let held = false;
    this.run(() => {
      this.drain();
      held = predicate();
      while (!held && this.fireNext(end)) {
        this.drain();
        held = predicate();
      }
      if (!held && Number.isFinite(end)) this.time = end;
    });
    return held;
  }

  // ---- driving itself ----------------------------------------------------

  /**
   * Lets the loop drive itself (see the class notes) until {@link stop};
   * keeps the process alive meanwhile. Returns a promise that resolves on
   * `stop()`; a second call while running returns the same promise.
   */
  start(): Promise<void> {
    if (this.gate.isOpen) return this.gate.open();
    const running = this.gate.open();
    this.scheduleStep();
    return running;
  }

  /** Stops self-driving (the current step completes) and settles `start()`'s promise. */
  stop(): void {
    if (this.stepPending) clearImmediate(this.stepPending);
    this.stepPending = null;
    this.gate.close();
  }

  /** True between {@link start} and {@link stop}. */
  get isRunning(): boolean {
    return this.gate.isOpen;
  }

  // ---- connections -------------------------------------------------------

  /**
   * Accepts virtual connections to `host:port` (exact strings: `localhost`
   * and `127.0.0.1` are different addresses; a Unix-socket target is looked
   * up as `listen(path, 0)`). Each accepted connection's server end is given
   * to `onConnection`. Returns a function that stops listening (connections
   * already accepted go on).
   */
  listen(host: string, port: number, onConnection: (peer: VirtualPeer) => void, options: VirtualListenOptions = {}): () => void {
    const key = `${host}:${port}`;
    if (this.listeners.has(key)) throw new Error(`VirtualIOLoop: ${key} is already listened on (EADDRINUSE)`);
    const listener: Listener = { onConnection, options };
    this.listeners.set(key, listener);
    return () => {
      if (this.listeners.get(key) === listener) this.listeners.delete(key);
    };
  }

  /**
   * Opens a virtual connection (see {@link IOLoop.connect}). On the next
   * callback: refused (`SocketConnectError`, ECONNREFUSED) when nobody
   * listens on the address; otherwise accepted after the listener's
   * `acceptDelay`, unless the target's `socketTimeout` (virtual seconds)
   * runs out first (`SocketConnectError` "timed out"). TLS options are
   * ignored (they are visible as `peer.target.tls`).
   */
  connect(target: TransportTarget, handlers: TransportHandlers, done: (err: Error | null, transport?: Transport) => void): () => void {
    const context: ConnectContext = {
      loop: this,
      lookup: () => this.listeners.get(addressOf(target)),
      invoke: (cb) => this.invoke(cb),
    };
    const attempt = new VirtualConnect(context, target, handlers, done);
    this.addCallback(() => attempt.arrive());
    return () => attempt.abort();
  }

  // ---- internals ---------------------------------------------------------

  /** Runs a callback or timer, keeping its exception for the end of the run. */
  private invoke(cb: () => void): void {
    if (++this.runSteps > this.maxCallbacksPerRun) {
      throw new Error(
        `VirtualIOLoop: more than ${this.maxCallbacksPerRun} callbacks and timers in one run; ` + 'something keeps rescheduling itself',
      );
    }
    try {
      const result: unknown = cb();
      if (isThenable(result)) result.then(undefined, this.reportRejection);
    } catch (err) {
      this.report(err);
    }
  }

  /**
   * An `async` callback's rejection settles after its run ended: it goes to
   * onError, or is rethrown on its own stack (never an unhandled rejection).
   */
  private readonly reportRejection = (err: unknown): void => reportOrRethrow(this.onError, err);

  /** Hands an exception to onError, or keeps it to be thrown at the end of the run. */
  private report(err: unknown): void {
    const left = handTo(this.onError, err);
    if (left !== undefined) this.errors.push(left.unhandled);
  }

  /** One run (by hand or one self-driven step): no nesting; errors surface at its end. */
  private run(body: () => void, rethrowAsync = false): void {
    if (this.inRun) throw new Error('VirtualIOLoop: a run was started from inside a callback');
    this.inRun = true;
    this.runSteps = 0;
    this.errors = [];
    try {
      body();
    } finally {
      this.inRun = false;
    }
    const errors = this.errors;
    this.errors = [];
    if (errors.length === 0) return;
    const err = errors.length === 1 ? errors[0] : new AggregateError(errors, `${errors.length} callbacks threw`);
    if (!rethrowAsync) throw err;
    setImmediate(() => {
      throw err;
    });
  }

  /** Runs callbacks until the queue is empty. */
  private drain(): void {
    while (this.head < this.queue.length) {
      const cb = this.queue[this.head];
      this.head++;
      this.invoke(cb);
    }
    this.queue = [];
    this.head = 0;
  }

  /** Fires the next live timer if it is due by `end`; false when there is none. */
  private fireNext(end: number): boolean {
    const t = this.peekTimer();
    if (!t || t.when > end) return false;
    this.heap.pop();
    this.live.delete(t.id);
    if (t.when > this.time) this.time = t.when;
    this.invoke(t.cb);
    return true;
  }

  /** The next live timer (dropping removed ones from the top of the heap). */
  private peekTimer(): Timer | undefined {
    for (let t = this.heap.peek(); t; t = this.heap.peek()) {
      if (this.live.get(t.id) === t) return t;
      this.heap.pop();
    }
    return undefined;
  }

  /** New work while self-driving and asleep: schedule a step. */
  private wake(): void {
    if (this.gate.isOpen && !this.stepPending) this.scheduleStep();
  }

  private scheduleStep(): void {
    this.stepPending = setImmediate(() => this.step());
  }

  /** One discrete-event step: callbacks, then the next timer (and its callbacks). */
  private step(): void {
    this.stepPending = null;
    if (!this.gate.isOpen) return;
    try {
      this.run(() => {
        this.drain();
        if (this.isRunning && this.fireNext(Infinity)) this.drain();
      }, true);
    } catch (err) {
      // Only the runaway guard gets here: stop rather than spin forever.
      this.stop();
      setImmediate(() => {
        throw err;
      });
      return;
    }
    if (this.isRunning && (this.pendingCallbackCount > 0 || this.live.size > 0)) this.scheduleStep();
  }
}

/** The listener key of a target. */
function addressOf(target: TransportTarget): string {
  return target.path ? `${target.path}:0` : `${target.host}:${target.port}`;
}

/** `TCP connect to host:port` / `connect to Unix socket path`. */
function connectLabel(target: TransportTarget): string {
  return target.path ? `connect to Unix socket ${target.path}` : `TCP connect to ${target.host}:${target.port}`;
}

/** What a connect attempt needs from its loop (kept off the loop's public surface). */
interface ConnectContext {
  loop: VirtualIOLoop;
  /** The listener now on the target's address, if any. */
  lookup: () => Listener | undefined;
  /** Runs user code the way the loop runs callbacks. */
  invoke: (cb: () => void) => void;
}

/** One virtual connect attempt: refused, accepted, timed out or aborted, exactly once. */
class VirtualConnect {
  private settled = false;
  private timeout: TimerHandle | null = null;
  private accept: TimerHandle | null = null;
  private readonly loop: VirtualIOLoop;

  constructor(
    private readonly context: ConnectContext,
    private readonly target: TransportTarget,
    private readonly handlers: TransportHandlers,
    private readonly done: (err: Error | null, transport?: Transport) => void,
  ) {
    this.loop = context.loop;
    const t = target.socketTimeout;
    if (t > 0 && Number.isFinite(t)) this.timeout = this.loop.callLater(t, () => this.timedOut());
  }

  /** The SYN reached the address (on the callback after connect()). */
  arrive(): void {
    if (this.settled) return;
    const listener = this.context.lookup();
    if (!listener) return this.refuse();
    const delay = listener.options.acceptDelay ?? 0;
    if (delay === Infinity) return; // never accepted: socketTimeout (or abort) ends it
    if (delay > 0) this.accept = this.loop.callLater(delay, () => this.accepted(listener));
    else this.accepted(listener);
  }

  abort(): void {
    this.finish();
  }

  private accepted(listener: Listener): void {
    this.accept = null;
    if (this.settled) return;
    if (this.context.lookup() !== listener) return this.refuse(); // closed meanwhile
    this.finish();
    const hwm = listener.options.highWaterMark ?? this.loop.highWaterMark;
    const link = new VirtualLink(this.loop, this.target, hwm, this.handlers);
    this.context.invoke(() => listener.onConnection(link.peer));
    this.done(null, link.transport);
  }

  private refuse(): void {
    const where = this.target.path ?? `${this.target.host}:${this.target.port}`;
    const cause = systemError('ECONNREFUSED', 'connect', where);
    const err = new SocketConnectError(`${connectLabel(this.target)} failed: ECONNREFUSED (${cause.message})`);
    err.cause = cause;
    this.fail(err);
  }

  private timedOut(): void {
    this.timeout = null;
    const s = Number(this.target.socketTimeout.toFixed(3));
    this.fail(new SocketConnectError(`${connectLabel(this.target)} timed out after ${s}s`));
  }

  private fail(err: Error): void {
    if (this.settled) return;
    this.finish();
    this.done(err);
  }

  /** Marks the attempt over and cancels its timers. */
  private finish(): void {
    this.settled = true;
    if (this.timeout) this.loop.removeTimeout(this.timeout);
    if (this.accept) this.loop.removeTimeout(this.accept);
    this.timeout = this.accept = null;
  }
}

/** What travels through a pipe. */
type Item = { kind: 'data'; buf: Buffer } | { kind: 'end' };

/**
 * One direction of a virtual connection: items queued by the writer,
 * delivered to the reader one per loop callback, held while paused.
 */
class Pipe {
  private items: Item[] = [];
  private scheduled = false;
  /** Data bytes queued and not yet delivered: the writer's bufferedBytes. */
  bytes = 0;
  paused = false;
  /** Set by a write that reached the high-water mark; cleared (and drained) at 0 bytes. */
  needDrain = false;
  cut = false;

  constructor(
    private readonly loop: VirtualIOLoop,
    private readonly hwm: number,
    private readonly deliver: (item: Item) => void,
    private readonly drained: () => void,
  ) {}

  /** Queues an item; for data, returns false at or above the high-water mark. */
  push(item: Item): boolean {
    if (this.cut) return true;
    this.items.push(item);
    if (item.kind === 'data') this.bytes += item.buf.length;
    this.kick();
    if (this.bytes < this.hwm) return true;
    this.needDrain = true;
    return false;
  }

  resume(): void {
    this.paused = false;
    this.kick();
  }

  /** Abrupt close: nothing more is delivered. */
  sever(): void {
    this.cut = true;
    this.items = [];
    this.bytes = 0;
    this.needDrain = false;
  }

  private kick(): void {
    if (this.scheduled || this.paused || this.cut || this.items.length === 0) return;
    this.scheduled = true;
    this.loop.addCallback(() => this.deliverOne());
  }

  private deliverOne(): void {
    this.scheduled = false;
    if (this.paused || this.cut) return;
    const item = this.items.shift();
    if (!item) return;
    if (item.kind === 'data') this.bytes -= item.buf.length;
    this.kick(); // next item goes behind whatever this delivery schedules: realistic, and fair
    this.deliver(item);
    if (this.needDrain && this.bytes === 0 && !this.cut) {
      this.needDrain = false;
      this.drained();
    }
  }
}

/** One end of a virtual connection: ordered close bookkeeping shared by both sides. */
class End {
  /** Pipe this end writes into. */
  out!: Pipe;
  /** The other end. */
  other!: End;
  /** end() was called (or the other side ended and this side followed). */
  ending = false;
  /** Destroyed by either side. */
  dead = false;
  /** The close has been reported to this end's owner. */
  reported = false;
  closeError: Error | null = null;

  constructor(
    private readonly loop: VirtualIOLoop,
    readonly onData: (chunk: Buffer) => void,
    readonly onClose: (err: Error | null) => void,
  ) {}

  write(buf: Buffer): boolean {
    if (this.dead || this.ending) return true;
    return this.out.push({ kind: 'data', buf });
  }

  end(): void {
    if (this.dead || this.ending) return;
    this.ending = true;
    this.out.push({ kind: 'end' });
  }

  /** Abrupt close: both pipes are cut; this side closes cleanly, the other sees ECONNRESET. */
  destroy(cause?: Error): void {
    if (this.dead) return;
    this.dead = this.other.dead = true;
    this.out.sever();
    this.other.out.sever();
    this.loop.addCallback(() => this.close(null));
    const lost = streamLost(cause ?? resetError());
    this.loop.addCallback(() => this.other.close(lost));
  }

  /** What the pipe from the other end delivers. */
  receive(item: Item): void {
    if (this.reported) return;
    if (item.kind === 'data') return this.onData(item.buf);
    // The other side ended. No half-open connections: end this side too (its
    // pending data still flows), and the close is complete for this side.
    if (this.ending) return this.close(null); // our own end came back
    this.end();
    this.close(null);
  }

  /** Reports the close once. */
  close(err: Error | null): void {
    if (this.reported) return;
    this.reported = true;
    this.closeError = err;
    this.onClose(err);
  }
}

/** The ECONNRESET a destroyed connection reports on the other side. */
function resetError(): Error {
  return Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });
}

/** The server-side End of each peer (VirtualPeer keeps it private). */
const peerSides = new WeakMap<VirtualPeer, End>();

/** The two ends of a virtual connection and the pipes between them. */
class VirtualLink {
  readonly transport: VirtualTransport;
  readonly peer: VirtualPeer;

  constructor(loop: VirtualIOLoop, target: TransportTarget, hwm: number, handlers: TransportHandlers) {
    const client = new End(
      loop,
      (c) => handlers.onData(c),
      (e) => handlers.onClose(e),
    );
    this.peer = new VirtualPeer(loop, target, hwm);
    const server = peerSides.get(this.peer)!;
    client.other = server;
    server.other = client;
    client.out = new Pipe(
      loop,
      hwm,
      (item) => server.receive(item),
      () => {
        if (!client.reported) handlers.onDrain();
      },
    );
    // The peer side has no backpressure to report: its writes are scripted by the test.
    server.out = new Pipe(
      loop,
      Infinity,
      (item) => client.receive(item),
      () => {},
    );
    this.transport = new VirtualTransport(client);
  }
}

/** The client side of a virtual connection. */
class VirtualTransport implements Transport {
  constructor(private readonly side: End) {}

  /** Sends the batch as one chunk (copied, as a socket copies into the kernel). */
  write(chunks: Buffer[]): boolean {
    const buf = chunks.length === 1 ? Buffer.from(chunks[0]) : Buffer.concat(chunks);
    if (buf.length === 0) return !this.side.out.needDrain;
    return this.side.write(buf);
  }

  get bufferedBytes(): number {
    return this.side.dead ? 0 : this.side.out.bytes;
  }

  end(): void {
    this.side.end();
  }

  destroy(): void {
    this.side.destroy();
  }
}

/**
 * The server end of a virtual connection, given to the `onConnection` of
 * {@link VirtualIOLoop.listen}: a test scripts the broker through it.
 *
 * Everything it does reaches the client through the loop's callback queue,
 * in order: {@link write} delivers exactly the given chunk (so tests can cut
 * frames anywhere), {@link end} closes after the data already written, and
 * {@link destroy} drops whatever is in flight and makes the client's
 * transport report a `StreamLostError`.
 * @category I/O loops and adapters
 */
export class VirtualPeer {
  /** The target the client connected with (host, port, TLS options, ...). */
  readonly target: TransportTarget;
  /** Chunks received from the client, one per client write batch. */
  readonly received: Buffer[] = [];
  /** Bytes in flight from the client above which its writes return false. */
  readonly highWaterMark: number;
  private readonly end_: End;
  private readonly dataListeners: Array<(chunk: Buffer) => void> = [];
  private readonly closeListeners: Array<(err: Error | null) => void> = [];

  /** @internal Created by VirtualIOLoop when it accepts a connection. */
  constructor(loop: VirtualIOLoop, target: TransportTarget, highWaterMark: number) {
    this.target = target;
    this.highWaterMark = highWaterMark;
    this.end_ = new End(
      loop,
      (chunk) => {
        this.received.push(chunk);
        for (const cb of this.dataListeners.slice()) cb(chunk);
      },
      (err) => {
        for (const cb of this.closeListeners.slice()) cb(err);
      },
    );
    peerSides.set(this, this.end_);
  }

  /** Calls `cb` with each chunk the client sends from now on (earlier ones are in {@link received}). */
  onData(cb: (chunk: Buffer) => void): void {
    this.dataListeners.push(cb);
  }

  /** Calls `cb` once when this end closes: null for an orderly close, a StreamLostError when the client destroyed it. */
  onClose(cb: (err: Error | null) => void): void {
    this.closeListeners.push(cb);
  }

  /** Everything received so far, as one buffer. */
  receivedBytes(): Buffer {
    return Buffer.concat(this.received);
  }

  /**
   * Sends `data` to the client as exactly one chunk, or as chunks of
   * `chunkSize` bytes when given. Ignored once this end is closing or closed.
   */
  write(data: Buffer | Uint8Array | string, chunkSize?: number): void {
    const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
    const size = chunkSize && chunkSize > 0 ? chunkSize : buf.length || 1;
    for (let i = 0; i < buf.length; i += size) this.end_.write(buf.subarray(i, i + size));
  }

  /** Orderly close after the data already written; the client's transport reports onClose(null). */
  end(): void {
    this.end_.end();
  }

  /**
   * Abrupt close: data in flight either way is dropped; the client's
   * transport reports a StreamLostError whose `cause` is `err` (default: an
   * ECONNRESET error).
   */
  destroy(err?: Error): void {
    this.end_.destroy(err);
  }

  /** Stops reading: the client's writes pile up in its `bufferedBytes`. */
  pause(): void {
    this.end_.other.out.paused = true;
  }

  /** Reads again: held chunks are delivered in order, then the client gets onDrain if it needed one. */
  resume(): void {
    this.end_.other.out.resume();
  }

  /** True while paused. */
  get paused(): boolean {
    return this.end_.other.out.paused;
  }

  /** Bytes the client wrote that this end has not received yet. */
  get clientBufferedBytes(): number {
    return this.end_.other.out.bytes;
  }

  /** True once the connection is over for this end (its close was reported, or it was destroyed). */
  get closed(): boolean {
    return this.end_.reported || this.end_.dead;
  }

  /** True once this end called {@link end} (or followed the client's end). */
  get ending(): boolean {
    return this.end_.ending;
  }

  /** The error this end's close reported (null for an orderly close; undefined while open). */
  get closeError(): Error | null | undefined {
    return this.end_.reported ? this.end_.closeError : undefined;
  }
}
