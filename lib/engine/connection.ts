/**
 * The AMQP connection engine: handshake, heartbeats, channel multiplexing,
 * blocking, backpressure and close. It runs on any {@link IOLoop}; the
 * sockets live in the adapters.
 * @packageDocumentation
 */
import {
  AMQPConnectionError,
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
import { DEFAULT_MAX_MESSAGE_SIZE, FrameParser } from '../wire/frame-parser';
import * as spec from '../wire/spec';
import { type Invoker, CallbackList } from './callback-list';
import { CallbackRunner } from './callback-runner';
import { Channel } from './channel';
import { ChannelNumbers } from './channel-numbers';
import { type AnyCallback, type Callback, completion, type ErrorCallback } from './callback-types';
import { ConnectionWorkflow } from './connection-workflow';
import { checkCallback, checkOptions, describeValue } from './option-checks';
import { type ParametersInput, toParameterSets } from './parameter-sets';
import { checkMethodFrame } from './frame-checks';
import {
  brokerCloseError,
  foreignProtocol,
  type HandshakeStep,
  handshakeLostError,
  startOk,
  type TunedLimits,
  tuneLimits,
} from './handshake';
import { HeartbeatChecker } from './heartbeat-checker';
import type { IOLoop, TimerHandle, Transport, TransportHandlers } from './ioloop';
import { OutboundBuffer } from './outbound-buffer';
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
}

type ConnectionState = 'init' | 'opening' | 'open' | 'closing' | 'closed';

/** One try at one parameter set, until it opens or fails. */
interface Attempt {
  /** Reports the outcome to the workflow. */
  readonly done: (err: Error | null) => void;
  /** Bounds the whole handshake (stackTimeout). */
  readonly stackTimer: TimerHandle;
  /** Cancels the transport connect while it is pending. */
  abortConnect: (() => void) | null;
}

/** The option names of a {@link Connection}. */
const CONNECTION_OPTIONS = ['parameters', 'onOpen', 'onOpenError', 'onClose', 'onCallbackError', 'ioloop'] as const;

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
  const loop = o.ioloop as { addCallback?: unknown; callLater?: unknown } | undefined;
  if (loop !== undefined && (typeof loop !== 'object' || loop === null || typeof loop.addCallback !== 'function' || typeof loop.callLater !== 'function')) {
    throw new InvalidArgumentError(`connection options: ioloop must be an IOLoop (NodeIOLoop, VirtualIOLoop, ...), got ${describeValue(loop)}`);
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
export class Connection {
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

  private state: ConnectionState = 'init';
  private readonly parameterSets: readonly ConnectionParameters[];
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
  private workflow: ConnectionWorkflow | null = null;
  private transport: Transport | null = null;
  private parser: FrameParser | null = null;
  private readonly outbound: OutboundBuffer;
  private heartbeatChecker: HeartbeatChecker | null = null;
  private step: HandshakeStep = 'connecting';
  /** The attempt in progress (null when open, closed or between attempts). */
  private current: Attempt | null = null;
  private closeTimer: TimerHandle | null = null;
  private blockedTimer: TimerHandle | null = null;
  private closeReason: ConnectionClosedByClient | null = null;
  /** `connection.close` went out: it must go out once only. */
  private closeSent = false;
  private blocked = false;

  constructor(options: ConnectionOptions) {
    checkConnectionOptions(options, CONNECTION_OPTIONS);
    this.ioloop = options.ioloop;
    this.parameterSets = toParameterSets(options.parameters);
    this.runner = new CallbackRunner(options.onCallbackError);
    this.outbound = new OutboundBuffer(this.ioloop, this);
    if (options.onOpen) this.openCallbacks.add(options.onOpen);
    if (options.onOpenError) this.openErrorCallbacks.add(options.onOpenError);
    if (options.onClose) this.closeCallbacks.add(options.onClose);
    // Like pika, the connection starts once the loop runs, so callbacks can still be added.
    this.ioloop.addCallback(() => this.startWorkflow());
  }

  // ---- public state -------------------------------------------------------

  /** True once `connection.open-ok` arrived and until a close begins. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** True while a close is in progress. */
  get isClosing(): boolean {
    return this.state === 'closing';
  }

  /** True once closed, or once every attempt to open failed. */
  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** True while the broker has this connection blocked (`connection.blocked`). */
  get isBlocked(): boolean {
    return this.blocked;
  }

  /** True between a `false` from `basicPublish` and the drain callback. */
  get writableNeedDrain(): boolean {
    return this.outbound.needDrain;
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
    if (this.state !== 'open') {
      throw new ConnectionWrongStateError(`connection.channel(): the connection is ${this.state}, not open`);
    }
    const number = this.channelNumbers.allocate(channelNumber);
    const channel = new Channel(this, number);
    this.channels.set(number, channel);
    channel.open(cb);
    return channel;
  }

  // ---- RabbitMQ extensions --------------------------------------------------

  /** Sends RabbitMQ's `connection.update-secret` (for example a refreshed OAuth token). */
  updateSecret(newSecret: string, reason: string, cb?: ErrorCallback): void {
    checkCallback('updateSecret', cb);
    if (this.state !== 'open') {
      throw new ConnectionWrongStateError(`connection.updateSecret(): the connection is ${this.state}, not open`);
    }
    // Checked first: a bad or oversized argument throws here and leaves no callback waiting.
    const method = new spec.Connection.UpdateSecret({ newSecret, reason });
    checkMethodFrame(method, this.frameMax);
    // The new secret (a token) is built apart and zeroed once sent, like the start-ok of eraseOnConnect.
    this.outbound.writeMethod(0, method, { wipeAfterWrite: true });
    this.updateSecretCallbacks.push(cb ?? (() => undefined));
  }

  // ---- close -----------------------------------------------------------------

  /**
   * Closes the connection: cancels consumers, closes open channels, then
   * sends `connection.close`. `onClose` fires once with a ConnectionClosedByClient.
   * While opening, the attempt is aborted and `onOpenError` gets a ConnectionOpenAborted.
   */
  close(replyCode = 200, replyText = 'Normal shutdown'): void {
    if (this.state === 'closing' || this.state === 'closed') {
      throw new ConnectionWrongStateError(`connection.close(): the connection is already ${this.state}`);
    }
    if (this.state === 'init' || this.state === 'opening') {
      this.state = 'closing';
      this.abortOpening();
      return;
    }
    this.state = 'closing';
    this.closeReason = new ConnectionClosedByClient(replyCode, replyText);
    this.closeTimer = this.ioloop.callLater(CLOSE_OK_TIMEOUT, () => this.terminate(this.closeReason!));
    for (const channel of this.channels.values()) channel.closeForConnection(replyCode, replyText);
    this.sendConnectionCloseWhenChannelsClosed();
  }

  /** Aborts the attempts in progress; before the loop ran, startWorkflow sees the state instead. */
  private abortOpening(): void {
    this.workflow?.abort();
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

  /** @internal Queues a whole message; false when above the high-water mark. */
  sendPublish(
    channel: number,
    exchange: string,
    routingKey: string,
    mandatory: boolean,
    properties: spec.BasicPropertiesInit | undefined,
    body: Buffer,
  ): boolean {
    return this.outbound.writePublish(channel, exchange, routingKey, mandatory, properties, body, this.frameMax);
  }

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
    if (this.state === 'closing') this.sendConnectionCloseWhenChannelsClosed();
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
    this.heartbeatChecker = null;
    // The checker starts at connection.tune, so a broker can fall silent before open-ok too.
    this.failOrTerminate(
      new AMQPHeartbeatTimeout(
        `no data from the broker for ${silentSeconds.toFixed(1)} s (heartbeat ${this.heartbeat} s): connection presumed dead`,
      ),
    );
  }

  /** @internal */
  onBackpressure(): void {
    this.backpressureCallbacks.run(this.invoker, this);
  }

  /** @internal */
  onDrain(): void {
    this.drainCallbacks.run(this.invoker, this);
  }

  // ---- opening -------------------------------------------------------------------

  private startWorkflow(): void {
    if (this.state === 'closing') {
      // close() came before the loop ran: report the abort as a later one would be.
      return this.onWorkflowDone(new ConnectionOpenAborted('connection.close() was called before the connection started opening'));
    }
    this.state = 'opening';
    this.workflow = new ConnectionWorkflow(
      this.ioloop,
      this.parameterSets,
      (params, done) => this.attempt(params, done),
      (err) => this.onWorkflowDone(err),
    );
    this.workflow.start();
  }

  private onWorkflowDone(err: Error | null): void {
    this.workflow = null;
    if (err !== null) {
      this.state = 'closed';
      this.reportUnhandled(err, this.openErrorCallbacks.size + this.closeCallbacks.size === 0, 'could not open');
      this.openErrorCallbacks.run(this.invoker, this, err);
      this.runEndHooks();
      return;
    }
    this.state = 'open';
    this.openCallbacks.run(this.invoker, this);
  }

  /** One try at one parameter set: TCP/TLS connect, then the AMQP handshake. Returns its abort. */
  private attempt(params: ConnectionParameters, done: (err: Error | null) => void): () => void {
    this.parameters = params;
    this.step = 'connecting';
    this.parser = new FrameParser();
    this.parser.maxMessageSize = params.maxMessageSize;
    const stackTimer = this.ioloop.callLater(params.stackTimeout, () =>
      this.failAttempt(new StackTimeoutError(`connection to ${params} did not open within stackTimeout ${params.stackTimeout} s`)),
    );
    const current: Attempt = { done, stackTimer, abortConnect: null };
    this.current = current;
    const holder: { transport: Transport | null } = { transport: null };
    current.abortConnect = this.ioloop.connect(params.transportTarget(), this.transportHandlers(holder), (err, transport) => {
      current.abortConnect = null;
      if (this.current !== current) return transport?.destroy(); // cannot happen by contract: be safe anyway
      if (err !== null || transport === undefined) {
        return this.failAttempt(err ?? new AMQPConnectionError('transport failed without an error'));
      }
      holder.transport = transport;
      this.onTransportOpen(transport);
    });
    return () => {
      if (this.current === current) this.cleanupAttempt();
    };
  }

  /**
   * Handlers that act only while their transport is the connection's current
   * one: a transport dropped earlier (a failed attempt, a graceful end) still
   * reports its close later, possibly in the middle of the next attempt.
   */
  private transportHandlers(holder: { transport: Transport | null }): TransportHandlers {
    const live = (): boolean => holder.transport !== null && holder.transport === this.transport;
    return {
      onData: (chunk) => !live() || this.onData(chunk),
      onClose: (err) => {
        if (live()) this.onTransportClose(err);
      },
      onDrain: () => {
        if (live()) this.outbound.onTransportDrain();
      },
    };
  }

  /** The byte stream is up: start the AMQP handshake. */
  private onTransportOpen(transport: Transport): void {
    this.transport = transport;
    this.outbound.attach(transport);
    this.lastReceivedAt = this.ioloop.now();
    this.step = 'awaiting-start';
    this.outbound.writeProtocolHeader();
  }

  /**
   * Ends the current attempt with an error and reports it to the workflow.
   * `graceful`: our last frames (close, close-ok) must still reach the broker.
   */
  private failAttempt(err: Error, graceful = false): void {
    const current = this.current;
    if (current === null) return;
    this.cleanupAttempt(graceful);
    current.done(err);
  }

  /** Cancels everything the current attempt started: connect, stack timer, stream. */
  private cleanupAttempt(graceful = false): void {
    const current = this.current;
    this.current = null;
    if (current !== null) {
      this.ioloop.removeTimeout(current.stackTimer);
      const abortConnect = current.abortConnect;
      current.abortConnect = null;
      // A stackTimeout shorter than socketTimeout fires while the connect is still pending.
      abortConnect?.();
    }
    this.dropTransport(graceful);
  }

  private dropTransport(graceful: boolean): void {
    this.heartbeatChecker?.stop();
    this.heartbeatChecker = null;
    if (graceful) this.outbound.flush();
    this.outbound.detach();
    const transport = this.transport;
    this.transport = null;
    this.parser = null;
    if (transport === null) return;
    if (graceful) transport.end();
    else transport.destroy();
  }

  // ---- inbound ---------------------------------------------------------------------

  /** The parser calls these directly, one call per frame (no frame objects on the hot path). */
  private readonly onFrame: FrameHandler = {
    // The rest of a chunk after a fatal frame (a protocol error, a broker close) is not acted on: parser === null.
    onMethod: (channel, method) => {
      if (this.parser === null) return;
      if (channel === 0) this.onConnectionMethod(method);
      else this.channelFor(channel)?.onMethodFrame(method);
    },
    onHeader: (channel, bodySize, properties) => {
      if (this.parser !== null) this.channelFor(channel)?.onHeaderFrame(bodySize, properties);
    },
    onBadHeader: (channel, bodySize, error) => {
      if (this.parser !== null) this.channelFor(channel)?.onBadHeaderFrame(bodySize, error);
    },
    onBody: (channel, payload, rest) => {
      if (this.parser === null) return true;
      return this.channelFor(channel)?.onBodyFrame(payload, rest) ?? true;
    },
    // Heartbeat frames only prove liveness, which onData already recorded.
    onHeartbeat: () => undefined,
    onProtocolHeader: (major, minor, revision) => {
      if (this.parser === null) return;
      this.failOrTerminate(
        new IncompatibleProtocolError(`the broker does not speak AMQP 0-9-1: it answered with protocol header AMQP ${major}-${minor}-${revision}`),
      );
    },
  };

  /** Parses a chunk; true when nothing refers to it afterwards (see TransportHandlers.onData). */
  private onData(chunk: Buffer): boolean {
    const parser = this.parser;
    if (parser === null) return true;
    this.lastReceivedAt = this.ioloop.now();
    try {
      return parser.push(chunk, this.onFrame);
    } catch (err) {
      // Whatever went wrong while taking in a frame closes this connection and
      // nothing else: it never escapes into the I/O loop, where it would end the process.
      const foreign = this.step === 'awaiting-start' ? foreignProtocol(chunk, String(this.parameters)) : null;
      if (foreign !== null) this.failOrTerminate(new IncompatibleProtocolError(foreign, { cause: err }));
      else if (err instanceof FrameError) this.closeWithError(spec.FRAME_ERROR, err);
      else this.closeWithError(spec.INTERNAL_ERROR, new FrameError(`internal error while handling a frame: ${String(err)}`, { cause: err }));
      return false;
    }
  }

  private channelFor(number: number): Channel | undefined {
    const channel = this.channels.get(number);
    // Frames for a channel the broker just closed may still be on the wire: they are dropped.
    if (channel === undefined && this.state !== 'closed' && !this.channelNumbers.isDraining(number)) {
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

  private onStart(start: spec.Connection.Start): void {
    if (this.step !== 'awaiting-start') return this.unexpected(start);
    this.serverProperties = start.serverProperties;
    let reply: spec.Connection.StartOk;
    try {
      reply = startOk(this.parameters!, start);
      // Before tune, brokers take frames of frame-min-size only (RabbitMQ resets the socket,
      // which would read as a wrong password).
      checkMethodFrame(reply, spec.FRAME_MIN_SIZE, 'before connection.tune only frame-min-size frames are accepted: make clientProperties smaller');
    } catch (err) {
      return this.failAttempt(err as Error);
    }
    this.outbound.writeMethod(0, reply, { wipeAfterWrite: this.parameters!.credentials.eraseOnConnect === true });
    this.step = 'awaiting-tune';
  }

  private onSecure(): void {
    // PLAIN and EXTERNAL never get a challenge; answering one blindly would be wrong.
    this.failOrTerminate(new ProbableAuthenticationError('the broker sent a SASL challenge (connection.secure), which no supported mechanism expects'));
  }

  private onTune(tune: spec.Connection.Tune): void {
    const params = this.parameters!;
    if (this.step !== 'awaiting-tune') return this.unexpected(tune);
    let limits: TunedLimits;
    try {
      limits = tuneLimits(params, tune, this);
    } catch (err) {
      return this.failAttempt(err as Error);
    }
    ({ channelMax: this.channelMax, frameMax: this.frameMax, heartbeat: this.heartbeat } = limits);
    this.channelNumbers = new ChannelNumbers(this.channelMax);
    this.parser!.frameMax = this.frameMax;
    this.sendMethod(0, new spec.Connection.TuneOk(limits));
    this.sendMethod(0, new spec.Connection.Open({ virtualHost: params.virtualHost }));
    if (this.heartbeat > 0) this.heartbeatChecker = new HeartbeatChecker(this.ioloop, this, this.heartbeat);
    this.step = 'awaiting-open-ok';
  }

  private onOpenOk(): void {
    const current = this.current;
    if (this.step !== 'awaiting-open-ok' || current === null) return;
    this.current = null;
    this.ioloop.removeTimeout(current.stackTimer);
    current.done(null);
  }

  private unexpected(method: spec.AMQPMethod): void {
    this.closeWithError(spec.COMMAND_INVALID, new FrameError(`unexpected ${method.name} during the handshake`));
  }

  // ---- broker events ------------------------------------------------------------------

  private onBlocked(method: spec.Connection.Blocked): void {
    this.blocked = true;
    const timeout = this.parameters?.blockedConnectionTimeout;
    if (timeout != null && this.blockedTimer === null) {
      this.blockedTimer = this.ioloop.callLater(timeout, () => {
        this.blockedTimer = null;
        this.terminate(new ConnectionBlockedTimeout(`the broker kept the connection blocked for more than ${timeout} s`));
      });
    }
    this.blockedCallbacks.run(this.invoker, this, method);
  }

  private onUnblocked(method: spec.Connection.Unblocked): void {
    this.blocked = false;
    this.clearBlockedTimer();
    this.unblockedCallbacks.run(this.invoker, this, method);
  }

  private clearBlockedTimer(): void {
    if (this.blockedTimer !== null) this.ioloop.removeTimeout(this.blockedTimer);
    this.blockedTimer = null;
  }

  private onUpdateSecretOk(): void {
    const cb = this.updateSecretCallbacks.shift();
    if (cb !== undefined) this.invoke(cb, null);
  }

  private onBrokerClose(close: spec.Connection.Close): void {
    this.sendMethod(0, new spec.Connection.CloseOk());
    this.failOrTerminate(brokerCloseError(this.current === null ? null : this.step, close, this.parameters), true);
  }

  private onCloseOk(): void {
    if (this.state === 'closing' && this.closeReason !== null) this.terminate(this.closeReason, true);
  }

  private onTransportClose(err: Error | null): void {
    this.transport = null;
    if (this.current !== null) {
      this.failAttempt(handshakeLostError(this.step, err));
      return;
    }
    // Also while closing: without close-ok nobody knows what the broker got
    // (acks sent just before may be lost), so a clean close is not claimed.
    const cause = err === null ? 'the broker closed the socket' : err.message;
    const when = this.state === 'closing' ? ' before the broker confirmed the close' : '';
    this.terminate(new StreamLostError(`connection lost${when}: ${cause}`, err === null ? undefined : { cause: err }));
  }

  // ---- closing ------------------------------------------------------------------------

  private sendConnectionCloseWhenChannelsClosed(): void {
    if (this.channels.size > 0 || this.closeReason === null || this.transport === null || this.closeSent) return;
    this.closeSent = true;
    const { replyCode, replyText } = this.closeReason;
    this.sendMethod(0, new spec.Connection.Close({ replyCode, replyText }));
  }

  /** The peer broke the protocol: tell it why, drop the socket, report `err`. */
  private closeWithError(replyCode: number, err: FrameError): void {
    if (this.state === 'closed' || this.parser === null) return;
    this.parser = null;
    this.sendMethod(0, new spec.Connection.Close({ replyCode, replyText: truncateUtf8(err.message, 255) }));
    this.failOrTerminate(err, true);
  }

  /** During an attempt the error fails the attempt; afterwards it closes the connection. */
  private failOrTerminate(err: Error, graceful = false): void {
    if (this.current !== null) this.failAttempt(err, graceful);
    else this.terminate(err, graceful);
  }

  /**
   * Final teardown of an open connection: everything released, everyone told
   * once. `graceful`: flush and end the stream so our last frames arrive;
   * otherwise (a dead or stuck peer) destroy it.
   */
  private terminate(reason: Error, graceful = false): void {
    if (this.state === 'closed' || this.state === 'init' || this.state === 'opening') return;
    this.state = 'closed';
    if (this.closeTimer !== null) this.ioloop.removeTimeout(this.closeTimer);
    this.closeTimer = null;
    this.clearBlockedTimer();
    this.blocked = false;
    this.dropTransport(graceful);
    for (const channel of [...this.channels.values()]) channel.onConnectionClosed(reason);
    this.channels.clear();
    for (const cb of this.updateSecretCallbacks.splice(0)) this.invoke(cb, reason);
    const unexpected = !(reason instanceof ConnectionClosedByClient);
    this.reportUnhandled(reason, unexpected && this.closeCallbacks.size === 0, 'closed');
    this.closeCallbacks.run(this.invoker, this, reason);
    this.runEndHooks();
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
