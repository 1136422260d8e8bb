/**
 * The AMQP connection engine: handshake, heartbeats, channel multiplexing,
 * blocking, backpressure and close. It runs on any {@link IOLoop}; the
 * sockets live in the adapters.
 * @packageDocumentation
 */
import {
  describeError,
  AMQPConnectionError,
  NoFreeChannelsError,
  ConnectionOpenAborted,
  AMQPHeartbeatTimeout,
  ConnectionBlockedTimeout,
  ConnectionClosedByClient,
  ConnectionWrongStateError,
  FrameError,
  IncompatibleProtocolError,
  InvalidArgumentError,
  ProbableAuthenticationError,
  StackTimeoutError,
  StreamLostError,
} from '../errors';
import type { FieldTable } from '../wire/field-table';
import type { FrameHandler } from '../wire/frame';
import { type ChunkRelease, DEFAULT_MAX_MESSAGE_SIZE } from '../wire/frame-parser';
import { type PublishWriter, wipeBufferFields } from '../wire/frame-writer';
import * as spec from '../wire/spec';
import { type Invoker, CallbackList } from './callback-list';
import { CallbackRunner } from './callback-runner';
import { Channel } from './channel';
import { ChannelNumbers } from './channel-numbers';
import { type AnyCallback, type Callback, type Completion, completion, type ErrorCallback } from './callback-types';
import { type Attempt, type Blocked, type ConnectionLife, lifeName } from './connection-life';
import { type LifeName, LifeCycle } from './life-cycle';
import { ConnectionWorkflow } from './connection-workflow';
import { checkCallback, checkOptions, describeValue } from './option-checks';
import { type ParametersInput, toParameterSets } from './parameter-sets';
import { checkedMethodFrame } from './frame-checks';
import { brokerCloseError, foreignProtocol, type HandshakeStep, handshakeLostError, startOk, type TunedLimits, tuneLimits } from './handshake';
import { HeartbeatChecker } from './heartbeat-checker';
import type { IOLoop, Transport } from './ioloop';
import { Link, type LinkEvents } from './link';
import { OutboundBuffer } from './outbound-buffer';
import { ConnectionStats } from './connection-stats';
import { debug } from './debug-log';
import { connectionEvents, lifeCycleEvent } from './diagnostics';
import { TokenRefresh } from './token-refresh';
import type { RecoveryHooks } from './recovery-hooks';
import { ConnectionParameters } from './parameters';

/**
 * Options of a {@link Connection}.
 * @category Connection
 */
export interface ConnectionOptions {
  /**
   * Where to connect: parameters or an `amqp://` URL string, or a list of
   * them, tried in order. Default: `new ConnectionParameters()` (localhost).
   */
  parameters?: ParametersInput | readonly ParametersInput[];
  /** The connection is open. */
  onOpen?: (connection: Connection) => void;
  /** Every attempt to open failed (called instead of onOpen, exactly once). */
  onOpenError?: (connection: Connection, err: Error) => void;
  /** The open connection closed, for whatever reason (exactly once). */
  onClose?: (connection: Connection, reason: Error) => void;
  /** A user callback threw; without it the exception is rethrown asynchronously. */
  onCallbackError?: (err: unknown) => void;
  /** The loop to run on. */
  ioloop: IOLoop;
  /**
   * Try the parameter sets in a new random order in each round (the first
   * connect, and each recovery round), so that the clients of a cluster
   * spread over its nodes. Default false: in the order given (pika's rule,
   * a primary listed first).
   */
  shuffleHosts?: boolean;
}

/** The option names of a {@link Connection}. */
const CONNECTION_OPTIONS = ['parameters', 'onOpen', 'onOpenError', 'onClose', 'onCallbackError', 'ioloop', 'shuffleHosts'] as const;

/**
 * Checks a connection's options object: a known name for each key, a
 * function for each callback, a loop. For plain JavaScript callers, where a
 * typo (`paramters`) would otherwise connect to localhost in silence.
 * @internal
 */
export function checkConnectionOptions(options: unknown, known: readonly string[]): void {
  if (options === undefined || options === null || typeof options !== 'object') {
    throw new InvalidArgumentError(`connection options must be an object, got ${describeValue(options)}`);
  }
  checkOptions('connection options', options, known);
  const o = options as Record<string, unknown>;
  for (const name of ['onOpen', 'onOpenError', 'onClose', 'onCallbackError']) checkCallback('connection options', o[name], name);
  const loop = o['ioloop'] as { addCallback?: unknown; callLater?: unknown } | undefined;
  if (
    loop !== undefined &&
    (typeof loop !== 'object' || loop === null || typeof loop.addCallback !== 'function' || typeof loop.callLater !== 'function')
  ) {
    throw new InvalidArgumentError(`connection options: ioloop must be an IOLoop (NodeIOLoop, VirtualIOLoop, ...), got ${describeValue(loop)}`);
  }
  const shuffle = o['shuffleHosts'];
  if (shuffle !== undefined && typeof shuffle !== 'boolean') {
    throw new InvalidArgumentError(`connection options: shuffleHosts must be a boolean, got ${describeValue(shuffle)}`);
  }
}

/** Seconds to wait for the broker's `close-ok` before dropping the socket. */
const CLOSE_OK_TIMEOUT = 10;

/** Cuts `text` to at most `maxBytes` of UTF-8 without splitting a character (AMQP short strings). */
function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let cut = Buffer.from(text).subarray(0, maxBytes).toString('utf8');
  // A split multi-byte character decodes as U+FFFD (3 bytes): drop it.
  while (Buffer.byteLength(cut) > maxBytes || cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return cut;
}

/**
 * An AMQP 0-9-1 connection. Use {@link SelectConnection} for the Node
 * sockets; this class is the engine behind it, independent of the I/O.
 * @category Connection
 */
export class Connection extends LifeCycle {
  // The ChannelHost, HeartbeatHost and OutboundHost of its parts, checked where it hands
  // itself to them rather than by an `implements` clause: those members are @internal,
  // left out of the published declarations (stripInternal), where the clause would not hold.

  /** The loop this connection runs on. */
  readonly ioloop: IOLoop;
  /** Server properties from `connection.start`. */
  serverProperties: FieldTable = {};
  /** Negotiated maximum channel number. */
  channelMax = 0;
  /** Negotiated maximum frame size in bytes. */
  frameMax = 0;
  /** Negotiated heartbeat interval in seconds (0: off). */
  heartbeat = 0;
  /** Loop time of the last byte received. */
  lastReceivedAt = 0;
  /** The parameter set the connection opened with (or is trying). */
  parameters: ConnectionParameters | null = null;
  /** Counters over the connection's whole life (see {@link ConnectionStats}). */
  readonly stats = new ConnectionStats();

  /** Where the connection is in its life (see connection-life.ts): the one source of its state. */
  private life: ConnectionLife = { kind: 'init', closeRequested: false };
  private readonly parameterSets: readonly ConnectionParameters[];
  /** See {@link ConnectionOptions.shuffleHosts}. */
  private readonly shuffleHosts: boolean;
  private readonly runner: CallbackRunner;
  private readonly openCallbacks = new CallbackList<[Connection]>();
  private readonly openErrorCallbacks = new CallbackList<[Connection, Error]>();
  private readonly closeCallbacks = new CallbackList<[Connection, Error]>();
  private readonly blockedCallbacks = new CallbackList<[Connection, spec.Connection.Blocked]>();
  private readonly unblockedCallbacks = new CallbackList<[Connection, spec.Connection.Unblocked]>();
  private readonly backpressureCallbacks = new CallbackList<[Connection]>();
  private readonly drainCallbacks = new CallbackList<[Connection]>();
  /** The library's own end-of-life hooks (a SelectConnection stopping its loop): not user handlers. */
  private readonly endHooks: Array<() => void> = [];
  /** Runs a user callback with this connection's exception isolation (for CallbackList.run). */
  private readonly invoker: Invoker = (fn, ...args) => this.runner.invoke(fn, ...args);
  private readonly channels = new Map<number, Channel>();
  private channelNumbers = new ChannelNumbers(65535);
  private readonly updateSecretCallbacks: Array<(err: Error | null) => void> = [];
  /** TokenCredentials: the token fetched before each attempt, refreshed with update-secret while open. */
  private readonly tokenRefresh = new TokenRefresh(this);
  /** One try at one parameter set, for the workflows of the first connect and of each reconnect (a token fetched first). */
  private readonly attemptOne = this.tokenRefresh.wrap((params, done) => this.attempt(params, done));
  /** Automatic recovery, when on (installed by SelectConnection's `recovery` option). */
  private recoveryHooks: RecoveryHooks | null = null;
  /** A publish was refused (false) while recovering: the drain callbacks fire after recovery. */
  private heldBacklog = false;
  private readonly outbound: OutboundBuffer;
  /** What this connection's links report (see Link.handlers). */
  private readonly linkEvents: LinkEvents = {
    onLinkData: (link, chunk) => this.onData(link, chunk),
    onLinkClosed: (link, err) => this.onTransportClose(link, err),
    onLinkDrain: () => this.outbound.onTransportDrain(),
  };

  constructor(options: ConnectionOptions) {
    super();
    checkConnectionOptions(options, CONNECTION_OPTIONS);
    this.ioloop = options.ioloop;
    this.parameterSets = toParameterSets(options.parameters);
    this.shuffleHosts = options.shuffleHosts === true;
    this.runner = new CallbackRunner(options.onCallbackError);
    this.outbound = new OutboundBuffer(this.ioloop, this, this.stats);
    if (options.onOpen) this.openCallbacks.add(options.onOpen);
    if (options.onOpenError) this.openErrorCallbacks.add(options.onOpenError);
    if (options.onClose) this.closeCallbacks.add(options.onClose);
    // Like pika, the connection starts once the loop runs, so callbacks can still be added.
    this.ioloop.addCallback(() => this.startWorkflow());
  }

  // ---- public state -------------------------------------------------------

  /** @internal */
  protected get lifeName(): LifeName {
    return lifeName(this.life);
  }

  /** True while the broker has this connection blocked (`connection.blocked`). */
  get isBlocked(): boolean {
    const life = this.life;
    return (life.kind === 'open' || life.kind === 'closing' || life.kind === 'restoring') && life.blocked !== null;
  }

  /**
   * True between a `false` from `basicPublish` and the drain callback. While
   * recovering, the publishes held for after the recovery count as backlog.
   */
  get writableNeedDrain(): boolean {
    if (this.outbound.needDrain) return true;
    if (this.life.kind !== 'recovering' && this.life.kind !== 'restoring') return false;
    let held = 0;
    for (const channel of this.channels.values()) held += channel.heldBytes;
    if (held > this.outbound.highWaterMark) this.heldBacklog = true;
    return this.heldBacklog;
  }

  /** Bytes queued for the broker and not yet given to the OS. */
  get outboundBufferedBytes(): number {
    return this.outbound.pendingBytes;
  }

  // ---- callback registration ---------------------------------------------

  /** Adds a callback for when the connection opens. */
  addOnOpenCallback(cb: (connection: Connection) => void): void {
    this.openCallbacks.add(cb);
  }

  /** Removes a callback added with {@link addOnOpenCallback}; false when it was not registered. */
  removeOnOpenCallback(cb: (connection: Connection) => void): boolean {
    return this.openCallbacks.remove(cb);
  }

  /** Adds a callback for when every attempt to open failed. */
  addOnOpenErrorCallback(cb: (connection: Connection, err: Error) => void): void {
    this.openErrorCallbacks.add(cb);
  }

  /** Removes a callback added with {@link addOnOpenErrorCallback}; false when it was not registered. */
  removeOnOpenErrorCallback(cb: (connection: Connection, err: Error) => void): boolean {
    return this.openErrorCallbacks.remove(cb);
  }

  /** Adds a callback for when the open connection closes. */
  addOnCloseCallback(cb: (connection: Connection, reason: Error) => void): void {
    this.closeCallbacks.add(cb);
  }

  /** Removes a callback added with {@link addOnCloseCallback}; false when it was not registered. */
  removeOnCloseCallback(cb: (connection: Connection, reason: Error) => void): boolean {
    return this.closeCallbacks.remove(cb);
  }

  /** Adds a callback for `connection.blocked` from the broker. */
  addOnConnectionBlockedCallback(cb: (connection: Connection, method: spec.Connection.Blocked) => void): void {
    this.blockedCallbacks.add(cb);
  }

  /** Removes a callback added with {@link addOnConnectionBlockedCallback}; false when it was not registered. */
  removeOnConnectionBlockedCallback(cb: (connection: Connection, method: spec.Connection.Blocked) => void): boolean {
    return this.blockedCallbacks.remove(cb);
  }

  /** Adds a callback for `connection.unblocked` from the broker. */
  addOnConnectionUnblockedCallback(cb: (connection: Connection, method: spec.Connection.Unblocked) => void): void {
    this.unblockedCallbacks.add(cb);
  }

  /** Removes a callback added with {@link addOnConnectionUnblockedCallback}; false when it was not registered. */
  removeOnConnectionUnblockedCallback(cb: (connection: Connection, method: spec.Connection.Unblocked) => void): boolean {
    return this.unblockedCallbacks.remove(cb);
  }

  /** Adds a callback for when the outbound backlog rises above its high-water mark. */
  addBackpressureCallback(cb: (connection: Connection) => void): void {
    this.backpressureCallbacks.add(cb);
  }

  /** Removes a callback added with {@link addBackpressureCallback}; false when it was not registered. */
  removeBackpressureCallback(cb: (connection: Connection) => void): boolean {
    return this.backpressureCallbacks.remove(cb);
  }

  /**
   * Adds a callback for every time the outbound backlog falls back under its
   * low-water mark. To resume a publisher after a `false` from basicPublish,
   * use {@link onceDrain}: a callback added here on every `false` piles up.
   */
  addOnDrainCallback(cb: (connection: Connection) => void): void {
    this.drainCallbacks.add(cb);
  }

  /** Removes a callback added with {@link addOnDrainCallback} or {@link onceDrain}; false when it was not registered. */
  removeOnDrainCallback(cb: (connection: Connection) => void): boolean {
    return this.drainCallbacks.remove(cb);
  }

  /**
   * Calls `cb` once, at the next drain: the pattern for a publisher that got
   * `false` from basicPublish. If nothing is waiting to drain (no backpressure
   * now), `cb` runs soon on the loop instead, so that it is never left waiting.
   */
  onceDrain(cb: (connection: Connection) => void): void {
    if (!this.outbound.needDrain) {
      this.ioloop.addCallback(() => this.invoke(cb, this));
      return;
    }
    this.drainCallbacks.add(cb, true);
  }

  /** Sets the backpressure multiplier (pika's default 10). */
  setBackpressureMultiplier(multiplier: number): void {
    if (!Number.isFinite(multiplier) || multiplier <= 0) {
      throw new InvalidArgumentError(`setBackpressureMultiplier: multiplier must be a positive number, got ${multiplier}`);
    }
    this.outbound.setMultiplier(multiplier);
  }

  // ---- channels -------------------------------------------------------------

  /**
   * Opens a channel; `cb` gets it once `channel.open-ok` arrives.
   * @param channelNumber a specific number; default: the lowest free one.
   */
  channel(cb?: Callback<Channel>, channelNumber?: number): Channel;
  channel(cb?: ErrorCallback, channelNumber?: number): Channel;
  channel(callback?: AnyCallback<Channel>, channelNumber?: number): Channel {
    const cb = completion(callback);
    checkCallback('connection.channel', cb);
    const kind = this.life.kind;
    if (kind !== 'open' && kind !== 'recovering' && kind !== 'restoring') {
      throw new ConnectionWrongStateError(`connection.channel(): the connection is ${lifeName(this.life)}, not open`);
    }
    const number = this.channelNumbers.allocate(channelNumber);
    const channel = new Channel(this, number);
    this.channels.set(number, channel);
    // While recovering it opens with the others once the connection is back (its calls wait till then).
    if (kind === 'open') channel.open(cb);
    else channel.openAfterRecovery(cb);
    return channel;
  }

  // ---- RabbitMQ extensions --------------------------------------------------

  /** Sends RabbitMQ's `connection.update-secret` (for example a refreshed OAuth token). */
  updateSecret(newSecret: string, reason: string, cb?: ErrorCallback): void {
    checkCallback('updateSecret', cb);
    if (this.life.kind !== 'open') {
      throw new ConnectionWrongStateError(`connection.updateSecret(): the connection is ${lifeName(this.life)}, not open`);
    }
    // Checked first: a bad or oversized argument throws here and leaves no callback waiting.
    const method = new spec.Connection.UpdateSecret({ newSecret, reason });
    const frame = checkedMethodFrame(0, method, this.frameMax);
    // The new secret (a token) is built apart and zeroed once sent, like the start-ok of eraseOnConnect.
    this.sendSecretFrame(frame, method);
    this.updateSecretCallbacks.push(cb ?? (() => undefined));
  }

  /**
   * Queues the frame of `method`, which carries a secret: it is zeroed once
   * the transport has passed it on, and the method's own Buffer fields (the
   * SASL response) are zeroed now.
   */
  private sendSecretFrame(frame: Buffer, method: spec.AMQPMethod): void {
    wipeBufferFields(method);
    this.outbound.writeSecretFrame(frame);
  }

  // ---- close -----------------------------------------------------------------

  /**
   * Closes the connection: cancels consumers, closes open channels, then
   * sends `connection.close`. `onClose` fires once with a ConnectionClosedByClient.
   * While opening, the attempt is aborted and `onOpenError` gets a ConnectionOpenAborted.
   */
  close(replyCode = 200, replyText = 'Normal shutdown'): void {
    const life = this.life;
    const name = lifeName(life);
    if (name === 'closing' || name === 'closed') {
      throw new ConnectionWrongStateError(`connection.close(): the connection is already ${name}`);
    }
    if (life.kind === 'init') {
      // Before the loop ran: startWorkflow sees it and reports the abort.
      this.life = { kind: 'init', closeRequested: true };
    } else if (life.kind === 'opening') {
      life.workflow.abort(); // reports ConnectionOpenAborted at once: the connection is closed then
    } else if (life.kind === 'open') {
      this.toClosing(life.link, life.blocked, new ConnectionClosedByClient(replyCode, replyText));
    } else if (life.kind === 'restoring') {
      this.recoveryHooks?.cancel();
      this.toClosing(life.link, life.blocked, new ConnectionClosedByClient(replyCode, replyText));
    } else if (life.kind === 'recovering') {
      // No link to say goodbye on: closed here and now, every held call told.
      this.terminate(new ConnectionClosedByClient(replyCode, replyText), false, false);
    }
  }

  /** open → closing: channels close, then `connection.close` goes out; close-ok is awaited for CLOSE_OK_TIMEOUT. */
  private toClosing(link: Link, blocked: Blocked | null, reason: ConnectionClosedByClient): void {
    const timer = this.ioloop.callLater(CLOSE_OK_TIMEOUT, () => this.terminate(reason));
    this.life = { kind: 'closing', link, blocked, reason, timer, closeSent: false };
    for (const channel of this.channels.values()) channel.closeForConnection(reason.replyCode, reason.replyText);
    this.sendConnectionCloseWhenChannelsClosed();
  }

  // ---- ChannelHost -------------------------------------------------------------

  /** @internal The largest message body accepted from the broker (the parameter set's `maxMessageSize`). */
  get maxMessageSize(): number {
    return this.parameters?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /** @internal Queues a method frame. */
  sendMethod(channel: number, method: spec.AMQPMethod): void {
    this.outbound.writeMethod(channel, method);
  }

  /** @internal Queues a method frame encoded when its call was made. */
  sendFrame(frame: Buffer): void {
    this.outbound.writeFrame(frame);
  }

  /** @internal Queues a whole message; false when above the high-water mark. */
  readonly sendPublish: PublishWriter<boolean> = (channel, exchange, routingKey, mandatory, properties, body, frameMax) =>
    this.outbound.writePublish(channel, exchange, routingKey, mandatory, properties, body, frameMax);

  /** @internal Runs a user callback with exception isolation. */
  invoke<A extends unknown[]>(fn: ((...args: A) => unknown) | undefined, ...args: A): boolean {
    return this.runner.invoke(fn, ...args);
  }

  /** @internal Routes the rejection of a promise a user callback returned, like a throw. */
  watch(result: unknown): void {
    this.runner.watch(result);
  }

  /** @internal A channel finished closing: free its number (see ChannelNumbers on draining). */
  channelClosed(channel: Channel, draining: boolean): void {
    if (this.channels.get(channel.channelNumber) === channel) {
      this.channels.delete(channel.channelNumber);
      this.channelNumbers.release(channel.channelNumber, draining);
    }
    if (this.life.kind === 'closing') this.sendConnectionCloseWhenChannelsClosed();
  }

  /** @internal The peer broke the protocol on a channel: close the connection. */
  protocolError(replyCode: number, err: FrameError): void {
    this.closeWithError(replyCode, err);
  }

  // ---- HeartbeatHost / OutboundHost ----------------------------------------------

  /** @internal Loop time of the last flush. */
  get lastSentAt(): number {
    return this.outbound.lastSentAt;
  }

  /** @internal */
  sendHeartbeat(): void {
    this.outbound.writeHeartbeat();
  }

  /** @internal */
  onHeartbeatTimeout(silentSeconds: number): void {
    const link = this.currentLink;
    if (link !== null) link.heartbeat = null;
    debug('heartbeat timeout: nothing from the broker for %s s (heartbeat %d s)', silentSeconds.toFixed(1), this.heartbeat);
    // The checker starts at connection.tune, so a broker can fall silent before open-ok too.
    this.failOrTerminate(
      new AMQPHeartbeatTimeout(`no data from the broker for ${silentSeconds.toFixed(1)} s (heartbeat ${this.heartbeat} s): connection presumed dead`),
    );
  }

  /** @internal */
  onBackpressure(): void {
    this.backpressureCallbacks.run(this.invoker, this);
  }

  /** @internal */
  onDrain(): void {
    this.heldBacklog = false; // what was held while recovering has been written and has drained too
    this.drainCallbacks.run(this.invoker, this);
  }

  // ---- opening -------------------------------------------------------------------

  /** init → opening (or → closed when close() came before the loop ran). */
  private startWorkflow(): void {
    if (this.life.kind !== 'init') return;
    if (this.life.closeRequested) {
      // close() came before the loop ran: report the abort as a later one would be.
      return this.onWorkflowDone(new ConnectionOpenAborted('connection.close() was called before the connection started opening'));
    }
    const workflow = new ConnectionWorkflow(this.ioloop, this.parameterSets, this.attemptOne, (err) => this.onWorkflowDone(err), {
      shuffle: this.shuffleHosts,
    });
    this.life = { kind: 'opening', workflow, attempt: null };
    workflow.start();
  }

  /** opening → open on the attempt's link, or → closed when every attempt failed. */
  private onWorkflowDone(err: Error | null): void {
    const life = this.life;
    const link = life.kind === 'opening' ? (life.attempt?.link ?? null) : null;
    if (err !== null || link === null) {
      const failure = err ?? new AMQPConnectionError('the connection opened without a stream');
      this.life = { kind: 'closed', reason: failure };
      debug('could not open: %s', describeError(failure));
      lifeCycleEvent(connectionEvents, 'close', this, undefined, failure);
      this.reportUnhandled(failure, this.openErrorCallbacks.size + this.closeCallbacks.size === 0, 'could not open');
      this.openErrorCallbacks.run(this.invoker, this, failure);
      this.runEndHooks();
      return;
    }
    this.life = { kind: 'open', link, blocked: null };
    debug('open: %s', this.parameters);
    lifeCycleEvent(connectionEvents, 'open', this);
    this.openCallbacks.run(this.invoker, this);
  }

  /** The attempt in progress, if any. */
  private get attemptNow(): Attempt | null {
    const life = this.life;
    return life.kind === 'opening' || life.kind === 'recovering' ? life.attempt : null;
  }

  /** The link whose frames are acted on: the attempt's, or the open connection's. */
  private get currentLink(): Link | null {
    const life = this.life;
    if (life.kind === 'opening' || life.kind === 'recovering') return life.attempt?.link ?? null;
    if (life.kind === 'open' || life.kind === 'closing' || life.kind === 'restoring') return life.link;
    return null;
  }

  /** One try at one parameter set: TCP/TLS connect, then the AMQP handshake. Returns its abort. */
  private attempt(params: ConnectionParameters, done: (err: Error | null) => void): () => void {
    const life = this.life;
    if (life.kind !== 'opening' && life.kind !== 'recovering') throw new Error(`internal: an attempt while ${life.kind}`);
    this.parameters = params;
    debug('connecting to %s', params);
    const stackTimer = this.ioloop.callLater(params.stackTimeout, () =>
      this.failAttempt(new StackTimeoutError(`connection to ${params} did not open within stackTimeout ${params.stackTimeout} s`)),
    );
    const attempt: Attempt = { params, done, stackTimer, abortConnect: null, link: null, step: 'connecting' };
    life.attempt = attempt;
    const link = new Link(params.maxMessageSize);
    attempt.abortConnect = this.ioloop.connect(params.transportTarget(), link.handlers(this.linkEvents), (err, transport) => {
      attempt.abortConnect = null;
      if (this.attemptNow !== attempt) return transport?.destroy(); // cannot happen by contract: be safe anyway
      if (err !== null || transport === undefined) {
        return this.failAttempt(err ?? new AMQPConnectionError('transport failed without an error'));
      }
      link.transport = transport;
      link.frames = this.frameHandler(link);
      attempt.link = link;
      this.onTransportOpen(attempt, transport);
    });
    return () => {
      if (this.attemptNow === attempt) this.cleanupAttempt(attempt);
    };
  }

  /** The byte stream is up: start the AMQP handshake. */
  private onTransportOpen(attempt: Attempt, transport: Transport): void {
    this.outbound.attach(transport);
    this.lastReceivedAt = this.ioloop.now();
    attempt.step = 'awaiting-start';
    debug('connected to %s: handshake', attempt.params);
    this.outbound.writeProtocolHeader();
  }

  /**
   * Ends the current attempt with an error and reports it to the workflow.
   * `graceful`: our last frames (close, close-ok) must still reach the broker.
   */
  private failAttempt(err: Error, graceful = false): void {
    const attempt = this.attemptNow;
    if (attempt === null) return;
    debug('attempt to %s failed at %s: %s', attempt.params, attempt.step, describeError(err));
    this.cleanupAttempt(attempt, graceful);
    attempt.done(err);
  }

  /** Cancels everything the attempt started: connect, stack timer, stream. */
  private cleanupAttempt(attempt: Attempt, graceful = false): void {
    if (this.life.kind === 'opening' || this.life.kind === 'recovering') this.life.attempt = null;
    this.ioloop.removeTimeout(attempt.stackTimer);
    const abortConnect = attempt.abortConnect;
    attempt.abortConnect = null;
    // A stackTimeout shorter than socketTimeout fires while the connect is still pending.
    abortConnect?.();
    this.dropLink(attempt.link, graceful);
  }

  /** Retires a link: `graceful` flushes what is queued first; the outbound buffer lets go of its stream. */
  private dropLink(link: Link | null, graceful: boolean): void {
    if (graceful) this.outbound.flush();
    this.outbound.detach();
    link?.drop(graceful);
  }

  // ---- inbound ---------------------------------------------------------------------

  /**
   * The handlers the parser of `link` calls, one call per frame (no frame
   * objects on the hot path). The rest of a chunk after a fatal frame (a
   * protocol error, a broker close) is not acted on: the link is no longer live.
   */
  private frameHandler(link: Link): FrameHandler {
    const stats = this.stats;
    return {
      onMethod: (channel, method) => {
        stats.framesIn += 1;
        if (!link.live) return;
        if (channel === 0) this.onConnectionMethod(method);
        else this.channelFor(channel)?.onMethodFrame(method);
      },
      onHeader: (channel, bodySize, properties) => {
        stats.framesIn += 1;
        if (link.live) this.channelFor(channel)?.onHeaderFrame(bodySize, properties);
      },
      onBadHeader: (channel, bodySize, error) => {
        if (link.live) this.channelFor(channel)?.onBadHeaderFrame(bodySize, error);
      },
      onBody: (channel, payload, rest): ChunkRelease => {
        stats.framesIn += 1;
        if (!link.live) return true;
        return this.channelFor(channel)?.onBodyFrame(payload, rest) ?? true;
      },
      // Heartbeat frames only prove liveness, which onData already recorded: they are counted.
      onHeartbeat: () => {
        stats.framesIn += 1;
        stats.heartbeatsReceived += 1;
      },
      onProtocolHeader: (major, minor, revision) => {
        if (!link.live) return;
        this.failOrTerminate(
          new IncompatibleProtocolError(`the broker does not speak AMQP 0-9-1: it answered with protocol header AMQP ${major}-${minor}-${revision}`),
        );
      },
    };
  }

  /** Parses a chunk; true when nothing refers to it afterwards (see TransportHandlers.onData). */
  private onData(link: Link, chunk: Buffer): ChunkRelease {
    const frames = link.frames;
    if (frames === null) return true;
    this.stats.bytesIn += chunk.length;
    this.lastReceivedAt = this.ioloop.now();
    try {
      return link.parser.push(chunk, frames);
    } catch (err) {
      // Whatever went wrong while taking in a frame closes this connection and
      // nothing else: it never escapes into the I/O loop, where it would end the process.
      const step = this.attemptNow?.step;
      const foreign = step === 'awaiting-start' ? foreignProtocol(chunk, String(this.parameters)) : null;
      if (foreign !== null) this.failOrTerminate(new IncompatibleProtocolError(foreign, { cause: err }));
      else if (err instanceof FrameError) this.closeWithError(spec.FRAME_ERROR, err);
      else this.closeWithError(spec.INTERNAL_ERROR, new FrameError(`internal error while handling a frame: ${String(err)}`, { cause: err }));
      return false;
    }
  }

  private channelFor(number: number): Channel | undefined {
    const channel = this.channels.get(number);
    // Frames for a channel the broker just closed may still be on the wire: they are dropped.
    if (channel === undefined && !this.channelNumbers.isDraining(number)) {
      this.closeWithError(spec.CHANNEL_ERROR, new FrameError(`the broker sent a frame for channel ${number}, which is not open`));
    }
    return channel;
  }

  private onConnectionMethod(method: spec.AMQPMethod): void {
    if (method instanceof spec.Connection.Start) this.onStart(method);
    else if (method instanceof spec.Connection.Tune) this.onTune(method);
    else if (method instanceof spec.Connection.OpenOk) this.onOpenOk();
    else if (method instanceof spec.Connection.Close) this.onBrokerClose(method);
    else if (method instanceof spec.Connection.CloseOk) this.onCloseOk();
    else if (method instanceof spec.Connection.Blocked) this.onBlocked(method);
    else if (method instanceof spec.Connection.Unblocked) this.onUnblocked(method);
    else if (method instanceof spec.Connection.UpdateSecretOk) this.onUpdateSecretOk();
    else if (method instanceof spec.Connection.Secure) this.onSecure();
    else {
      this.closeWithError(spec.COMMAND_INVALID, new FrameError(`unexpected method ${method.name} on channel 0`));
    }
  }

  /** The attempt, if its handshake is at `step`. */
  private attemptAt(step: HandshakeStep): Attempt | null {
    const attempt = this.attemptNow;
    return attempt !== null && attempt.step === step ? attempt : null;
  }

  private onStart(start: spec.Connection.Start): void {
    const attempt = this.attemptAt('awaiting-start');
    if (attempt === null) return this.unexpected(start);
    this.serverProperties = start.serverProperties;
    let reply: spec.Connection.StartOk;
    let frame: Buffer;
    try {
      reply = startOk(attempt.params, start);
      // Before tune, brokers take frames of frame-min-size only (RabbitMQ resets the socket,
      // which would read as a wrong password).
      frame = checkedMethodFrame(
        0,
        reply,
        spec.FRAME_MIN_SIZE,
        'before connection.tune only frame-min-size frames are accepted: make clientProperties smaller',
      );
    } catch (err) {
      return this.failAttempt(err as Error);
    }
    if (attempt.params.credentials.eraseOnConnect === true) {
      this.sendSecretFrame(frame, reply);
    } else {
      // Through the reused output buffer like any frame (documented); this copy need not linger.
      this.outbound.writeFrame(frame);
      frame.fill(0);
    }
    attempt.step = 'awaiting-tune';
  }

  private onSecure(): void {
    // PLAIN and EXTERNAL never get a challenge; answering one blindly would be wrong.
    this.failOrTerminate(
      new ProbableAuthenticationError('the broker sent a SASL challenge (connection.secure), which no supported mechanism expects'),
    );
  }

  private onTune(tune: spec.Connection.Tune): void {
    const attempt = this.attemptAt('awaiting-tune');
    if (attempt === null || attempt.link === null) return this.unexpected(tune);
    const params = attempt.params;
    let limits: TunedLimits;
    try {
      limits = tuneLimits(params, tune, this);
    } catch (err) {
      return this.failAttempt(err as Error);
    }
    ({ channelMax: this.channelMax, frameMax: this.frameMax, heartbeat: this.heartbeat } = limits);
    debug('tune: channelMax %d, frameMax %d, heartbeat %d s', this.channelMax, this.frameMax, this.heartbeat);
    // A recovering connection's channels keep their numbers: reserveChannelNumbers renews them once open.
    if (this.life.kind !== 'recovering') this.channelNumbers = new ChannelNumbers(this.channelMax);
    attempt.link.parser.frameMax = this.frameMax;
    this.sendMethod(0, new spec.Connection.TuneOk(limits));
    this.sendMethod(0, new spec.Connection.Open({ virtualHost: params.virtualHost }));
    // The checker starts at tune, so a broker can be found silent before open-ok too.
    if (this.heartbeat > 0) attempt.link.heartbeat = new HeartbeatChecker(this.ioloop, this, this.heartbeat);
    attempt.step = 'awaiting-open-ok';
  }

  private onOpenOk(): void {
    const attempt = this.attemptAt('awaiting-open-ok');
    if (attempt === null) return;
    this.ioloop.removeTimeout(attempt.stackTimer);
    attempt.done(null); // the workflow reports success: onWorkflowDone moves to open on attempt.link
  }

  private unexpected(method: spec.AMQPMethod): void {
    this.closeWithError(spec.COMMAND_INVALID, new FrameError(`unexpected ${method.name} during the handshake`));
  }

  // ---- broker events ------------------------------------------------------------------

  private onBlocked(method: spec.Connection.Blocked): void {
    const life = this.life;
    if (life.kind !== 'open' && life.kind !== 'closing' && life.kind !== 'restoring') return;
    if (life.blocked === null) {
      const timeout = this.parameters?.blockedConnectionTimeout;
      const timer =
        timeout == null
          ? null
          : this.ioloop.callLater(timeout, () => {
              this.terminate(new ConnectionBlockedTimeout(`the broker kept the connection blocked for more than ${timeout} s`));
            });
      life.blocked = { timer };
    }
    debug('blocked by the broker: %s', method.reason);
    lifeCycleEvent(connectionEvents, 'blocked', this, undefined, method.reason);
    this.blockedCallbacks.run(this.invoker, this, method);
  }

  private onUnblocked(method: spec.Connection.Unblocked): void {
    const life = this.life;
    if (life.kind === 'open' || life.kind === 'closing' || life.kind === 'restoring') {
      this.clearBlocked(life.blocked);
      life.blocked = null;
    }
    debug('unblocked');
    lifeCycleEvent(connectionEvents, 'unblocked', this);
    this.unblockedCallbacks.run(this.invoker, this, method);
  }

  private clearBlocked(blocked: Blocked | null): void {
    if (blocked?.timer != null) this.ioloop.removeTimeout(blocked.timer);
  }

  private onUpdateSecretOk(): void {
    const cb = this.updateSecretCallbacks.shift();
    if (cb !== undefined) this.invoke(cb, null);
  }

  private onBrokerClose(close: spec.Connection.Close): void {
    this.sendMethod(0, new spec.Connection.CloseOk());
    const updatingSecret = this.updateSecretCallbacks.length > 0;
    this.failOrTerminate(brokerCloseError(this.attemptNow?.step ?? null, close, this.parameters, updatingSecret), true);
  }

  private onCloseOk(): void {
    const life = this.life;
    if (life.kind === 'closing') this.terminate(life.reason, true);
  }

  private onTransportClose(link: Link, err: Error | null): void {
    link.transport = null; // closed already: nothing to end or destroy
    const attempt = this.attemptNow;
    if (attempt !== null) {
      this.failAttempt(handshakeLostError(attempt.step, err));
      return;
    }
    // Also while closing: without close-ok nobody knows what the broker got
    // (acks sent just before may be lost), so a clean close is not claimed.
    const cause = err === null ? 'the broker closed the socket' : err.message;
    const when = this.life.kind === 'closing' ? ' before the broker confirmed the close' : '';
    this.terminate(new StreamLostError(`connection lost${when}: ${cause}`, err === null ? undefined : { cause: err }));
  }

  // ---- closing ------------------------------------------------------------------------

  private sendConnectionCloseWhenChannelsClosed(): void {
    const life = this.life;
    if (life.kind !== 'closing' || life.closeSent || this.channels.size > 0 || life.link.transport === null) return;
    life.closeSent = true;
    const { replyCode, replyText } = life.reason;
    this.sendMethod(0, new spec.Connection.Close({ replyCode, replyText }));
  }

  /** The peer broke the protocol: tell it why, drop the socket, report `err`. */
  private closeWithError(replyCode: number, err: FrameError): void {
    const link = this.currentLink;
    if (link === null || !link.live) return;
    this.sendMethod(0, new spec.Connection.Close({ replyCode, replyText: truncateUtf8(err.message, 255) }));
    this.failOrTerminate(err, true);
  }

  /** During an attempt the error fails the attempt; afterwards it closes the connection. */
  private failOrTerminate(err: Error, graceful = false): void {
    if (this.attemptNow !== null) this.failAttempt(err, graceful);
    else this.terminate(err, graceful);
  }

  /**
   * open or closing → closed: everything released, everyone told once.
   * `graceful`: flush and end the stream so our last frames arrive;
   * otherwise (a dead or stuck peer) destroy it. With recovery on, a close
   * the application did not ask for (`recover`) becomes a recovery instead.
   */
  private terminate(reason: Error, graceful = false, recover = true): void {
    const life = this.life;
    if (life.kind === 'init' || life.kind === 'opening' || life.kind === 'closed') return;
    if (recover && (life.kind === 'open' || life.kind === 'restoring') && this.recoveryHooks?.shouldRecover(reason) === true) {
      return this.suspend(life, reason, graceful);
    }
    this.life = { kind: 'closed', reason };
    debug('closed: %s', describeError(reason));
    lifeCycleEvent(connectionEvents, 'close', this, undefined, reason);
    if (life.kind === 'recovering') {
      this.recoveryHooks?.cancel();
      life.workflow?.abort(); // its done callback finds the connection closed and does nothing
    } else {
      if (life.kind === 'closing') this.ioloop.removeTimeout(life.timer);
      if (life.kind === 'restoring') this.recoveryHooks?.cancel();
      this.clearBlocked(life.blocked);
      this.dropLink(life.link, graceful);
    }
    for (const channel of [...this.channels.values()]) channel.onConnectionClosed(reason);
    this.channels.clear();
    for (const cb of this.updateSecretCallbacks.splice(0)) this.invoke(cb, reason);
    const unexpected = !(reason instanceof ConnectionClosedByClient);
    this.reportUnhandled(reason, unexpected && this.closeCallbacks.size === 0, 'closed');
    this.closeCallbacks.run(this.invoker, this, reason);
    this.runEndHooks();
  }

  // ---- recovery (the mechanics; lib/recovery decides) -----------------------------------

  /** @internal Turns automatic recovery on (SelectConnection's `recovery` option); before the connection opens. */
  installRecovery(hooks: RecoveryHooks): void {
    this.recoveryHooks = hooks;
  }

  /** @internal Automatic recovery, when on: what channels consult. */
  get recovery(): RecoveryHooks | null {
    return this.recoveryHooks;
  }

  /**
   * open or restoring → recovering: the link goes, the channels hold their
   * calls (the call in flight on each gets `reason`), and the recovery layer
   * schedules the reconnect.
   */
  private suspend(life: Extract<ConnectionLife, { kind: 'open' | 'restoring' }>, reason: Error, graceful: boolean): void {
    this.life = { kind: 'recovering', reason, workflow: null, attempt: null };
    debug('connection lost, recovering: %s', describeError(reason));
    this.clearBlocked(life.blocked);
    this.dropLink(life.link, graceful);
    for (const channel of [...this.channels.values()]) channel.onConnectionLost(reason);
    for (const cb of this.updateSecretCallbacks.splice(0)) this.invoke(cb, reason);
    this.recoveryHooks!.onLost(reason);
  }

  /**
   * @internal One round of reconnecting: every parameter set once, in order.
   * `done(null)`: reconnected (the connection is restoring); otherwise the
   * last attempt's error, and the connection waits for the next round.
   */
  reconnect(done: (err: Error | null) => void): void {
    const life = this.life;
    if (life.kind !== 'recovering' || life.workflow !== null) throw new Error(`internal: reconnect while ${life.kind}`);
    const workflow = new ConnectionWorkflow(this.ioloop, this.parameterSets, this.attemptOne, (err) => this.onReconnected(workflow, err, done), {
      rounds: 1,
      shuffle: this.shuffleHosts,
    });
    life.workflow = workflow;
    workflow.start();
  }

  private onReconnected(workflow: ConnectionWorkflow, err: Error | null, done: (err: Error | null) => void): void {
    const life = this.life;
    if (life.kind !== 'recovering' || life.workflow !== workflow) return; // closed meanwhile
    life.workflow = null;
    const link = life.attempt?.link ?? null;
    if (err !== null || link === null) return done(err ?? new AMQPConnectionError('the connection reopened without a stream'));
    this.life = { kind: 'restoring', link, blocked: null, reason: life.reason };
    debug('reconnected to %s: restoring topology and channels', this.parameters);
    this.reserveChannelNumbers();
    done(null);
  }

  /** The new connection's numbers: each channel keeps its own; one above the new channelMax cannot come back. */
  private reserveChannelNumbers(): void {
    const numbers = new ChannelNumbers(this.channelMax);
    for (const [number, channel] of [...this.channels]) {
      if (number <= numbers.max) numbers.allocate(number);
      else channel.onConnectionClosed(new NoFreeChannelsError(`channel ${number} is above the recovered connection's channelMax ${numbers.max}`));
    }
    this.channelNumbers = numbers;
  }

  /** @internal Opens a channel of recovery's own (it records nothing and is never recovered) while restoring. */
  openRecoveryChannel(cb: Completion<Channel>): void {
    if (this.life.kind !== 'restoring') return void this.invoke(cb, new ConnectionWrongStateError(`the connection is ${lifeName(this.life)}`));
    const number = this.channelNumbers.allocate();
    const channel = new Channel(this, number, false);
    this.channels.set(number, channel);
    channel.open(cb);
  }

  /** @internal A server-named queue got a new name: every channel's consumers on it follow. */
  renameQueue(oldName: string, newName: string): void {
    for (const channel of this.channels.values()) channel.renameQueue(oldName, newName);
  }

  /** @internal Restores every recovering channel; `done` once each is back (or closed, or the link was lost again). */
  restoreChannels(done: () => void): void {
    const waiting = [...this.channels.values()].filter((channel) => channel.isRecovering);
    let left = waiting.length;
    if (left === 0) return done();
    for (const channel of waiting) {
      channel.restore(() => {
        left -= 1;
        if (left === 0) done();
      });
    }
  }

  /** @internal restoring → open: recovery is complete. */
  completeRecovery(): void {
    const life = this.life;
    if (life.kind !== 'restoring') return;
    this.life = { kind: 'open', link: life.link, blocked: life.blocked };
    this.stats.recoveries += 1;
    debug('recovered: %s', this.parameters);
    // A channel made after the others began their restore opens now.
    for (const channel of this.channels.values()) if (channel.isRecovering) channel.restore(() => undefined);
    if (this.heldBacklog) {
      this.heldBacklog = false;
      // Publishers got false while recovering: they hear of the drain once what was held is written.
      this.outbound.oweDrain();
    }
  }

  /**
   * @internal This reconnect cannot be restored yet (the broker still holds
   * the old connection's exclusive queue): says goodbye on the new link and
   * recovers again, `reason` being why.
   */
  retryRecovery(reason: Error): void {
    if (this.life.kind !== 'restoring') return;
    debug('recovery retries: %s', describeError(reason));
    this.sendMethod(0, new spec.Connection.Close({ replyCode: spec.CONNECTION_FORCED, replyText: 'recovery will retry' }));
    this.terminate(reason, true);
  }

  /** @internal Recovery gave up: the connection closes with `err` (onClose), and so does every channel. */
  abandonRecovery(err: Error): void {
    const life = this.life;
    debug('recovery abandoned: %s', describeError(err));
    if (life.kind === 'restoring') this.sendMethod(0, new spec.Connection.Close({ replyCode: spec.CONNECTION_FORCED, replyText: 'recovery failed' }));
    this.terminate(err, true, false);
  }

  /**
   * @internal The library's own hook for the end of the connection's life
   * (it failed to open, or closed), run after the user's callbacks. Not a user
   * handler: an error with only these to see it is still reported as unhandled.
   */
  addEndHook(hook: () => void): void {
    this.endHooks.push(hook);
  }

  private runEndHooks(): void {
    for (const hook of this.endHooks) this.invoke(hook);
  }

  /**
   * An error nobody registered a callback for must not pass in silence (a
   * script would exit 0 after a refused login): it goes the way of a callback
   * that threw, to `onCallbackError` or rethrown on its own stack.
   */
  private reportUnhandled(err: Error, unhandled: boolean, what: string): void {
    if (!unhandled) return;
    const where = this.parameters === null ? '' : ` to ${this.parameters}`;
    const loud = new AMQPConnectionError(
      `the connection${where} ${what} and no onOpenError or onClose callback handles it: ${err.name}: ${err.message}`,
      { cause: err },
    );
    this.runner.report(loud);
  }
}
