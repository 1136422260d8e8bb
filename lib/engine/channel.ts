/**
 * An AMQP channel: the whole method surface with error-first completion
 * callbacks, consumers, publisher confirms, returns and close handling.
 * @packageDocumentation
 */
import {
  AMQPChannelError,
  ChannelClosedByBroker,
  ChannelClosedByClient,
  ChannelWrongStateError,
  DuplicateConsumerTag,
  FrameError,
  InvalidArgumentError,
  UndecodableMessageError,
} from '../errors';
import { checkShortstr } from '../wire/codec';
import type { ChunkRelease } from '../wire/frame-parser';
import type { PublishWriter } from '../wire/frame-writer';
import * as spec from '../wire/spec';
import { rethrow } from './callback-runner';
import { type Invoker, CallbackList } from './callback-list';
import { acceptsFrames, type ChannelLife } from './channel-life';
import { type LifeName, LifeCycle } from './life-cycle';
import { type AnyCallback, type Callback, type Completion, completion, type ErrorCallback } from './callback-types';
import {
  BIND_OPTIONS,
  type BindOptions,
  CONSUME_OPTIONS,
  type ConsumeOptions,
  EXCHANGE_DECLARE_OPTIONS,
  type ExchangeDeclareOptions,
  type ExchangeDeleteOptions,
  type GetOptions,
  type NoWaitOptions,
  optionsAndCallback,
  type PublishOptions,
  type QosOptions,
  QUEUE_DECLARE_OPTIONS,
  type QueueDeclareOptions,
  type QueueDeleteOptions,
  type UnbindOptions,
} from './channel-options';
import { ChannelRecovery } from './channel-recovery';
import { checkStreamConsume, declaresStream } from './queue-arguments';
import { ConfirmTracker } from './confirm-tracker';
import { checkCallback, checkOptions, describeValue } from './option-checks';
import { PublishConfirms } from './publish-confirms';
import { type AssembledMessage, ContentAssembler } from './content-assembler';
import { checkedMethodFrame, checkProperties, checkPropertyNames } from './frame-checks';
import type { IOLoop } from './ioloop';
import type { Connection } from './connection';
import type { ConnectionStats } from './connection-stats';
import { debug } from './debug-log';
import { channelEvents, deliverTrace, lifeCycleEvent, publishTrace, traced, type PublishContext } from './diagnostics';
import type { RecoveryHooks } from './recovery-hooks';
import { type RpcCall, RpcQueue } from './rpc-queue';
import type { RetainedPublish } from './retained-publishes';

/** @internal What a channel needs from its connection. */
export interface ChannelHost {
  /** The loop, for deferred callbacks. */
  readonly ioloop: IOLoop;
  /** Negotiated frame size. */
  readonly frameMax: number;
  /** The largest message body accepted from the broker (`maxMessageSize`). */
  readonly maxMessageSize: number;
  /** True while publishers should wait for the drain callback. */
  readonly writableNeedDrain: boolean;
  /** Queues a method frame. */
  sendMethod(channel: number, method: spec.AMQPMethod): void;
  /** Queues a method frame encoded when its call was made (see `checkedMethodFrame`). */
  sendFrame(frame: Buffer): void;
  /** Queues a whole message; false above the high-water mark. */
  readonly sendPublish: PublishWriter<boolean>;
  /** Runs a user callback with exception isolation. */
  invoke<A extends unknown[]>(fn: ((...args: A) => unknown) | undefined, ...args: A): boolean;
  /** Routes the rejection of a promise a user callback returned, like a throw. */
  watch(result: unknown): void;
  /**
   * The channel is fully closed; its number may be reused. `draining`: the
   * broker closed it and may still send frames for it, to be dropped.
   */
  channelClosed(channel: Channel, draining: boolean): void;
  /** The broker broke the protocol on this channel. */
  protocolError(replyCode: number, err: FrameError): void;
  /** Automatic recovery, when on: told of topology and consumers; decides what comes back. */
  readonly recovery: RecoveryHooks | null;
  /** The connection's counters. */
  readonly stats: ConnectionStats;
}

/**
 * Receives a consumer's messages.
 *
 * `body` may be a view into the connection's read memory rather than a
 * Buffer of its own (a body that arrived in one piece on a busy connection
 * is not copied). Keeping it keeps that memory (up to 256 KiB) alive: to keep
 * a few small bodies of a busy stream for a long time, keep `Buffer.from(body)`.
 *
 * It may be `async`: a rejection of the promise it returns is routed like a
 * throw (to `onCallbackError`, or rethrown), never an unhandled rejection.
 * @category Channel
 */
export type OnMessage = (channel: Channel, method: spec.Basic.Deliver, properties: spec.BasicProperties, body: Buffer) => void;

/**
 * Receives the broker's publisher confirms (see {@link Channel.confirmDelivery}).
 * @category Channel
 */
export type OnAckNack = (channel: Channel, method: spec.Basic.Ack | spec.Basic.Nack) => void;

/**
 * Receives messages the broker returned (`basic.return`: a mandatory publish it could not route).
 * @category Channel
 */
export type OnReturn = (channel: Channel, method: spec.Basic.Return, properties: spec.BasicProperties, body: Buffer) => void;

/**
 * A message fetched with {@link Channel.basicGet}.
 * @category Channel
 */
export type GetMessage = AssembledMessage<spec.Basic.GetOk>;

interface Consumer {
  onMessage: OnMessage;
  autoAck: boolean;
  /** The queue it consumes from, to name in reports. */
  queue: string;
  /** A stream consumer (see checkStreamConsume): RabbitMQ answers its basic.reject with a connection error (540). */
  stream: boolean;
  /**
   * A stream consumer's next offset (the last delivery's `x-stream-offset`
   * plus one): where it resumes after a recovery, rather than rereading from
   * the offset it started at. -1: nothing delivered yet.
   */
  nextOffset: number;
}

/**
 * The consume to send again after a recovery: a stream consumer resumes
 * after the last message it was given (at-least-once: one the application
 * had not acked yet is given again), not at its original offset.
 */
function resumeAt(consume: spec.Basic.Consume, consumer: Consumer): spec.Basic.Consume {
  if (!consumer.stream || consumer.nextOffset < 0) return consume;
  return new spec.Basic.Consume({ ...consume, arguments: { ...consume.arguments, 'x-stream-offset': consumer.nextOffset } });
}

/** Notes a stream delivery's offset (RabbitMQ puts it in the `x-stream-offset` header) for {@link resumeAt}. */
function trackStreamOffset(consumer: Consumer, properties: spec.BasicProperties): void {
  const offset = properties.headers?.['x-stream-offset'];
  if (typeof offset === 'number') consumer.nextOffset = offset + 1;
  else if (typeof offset === 'bigint') consumer.nextOffset = Number(offset) + 1;
}

/** How many times a channel is reopened after nacks per recovery (see Channel.reopenAfterNack). */
const MAX_REOPENS = 10;
/** Seconds between two such reopens: a quorum queue elects a new leader in well under a second. */
const REOPEN_INTERVAL = 0.5;

/** Makes a consumer tag unique enough across connections (pika uses the same shape). */
function generateConsumerTag(channelNumber: number): string {
  return `ctag${channelNumber}.${Math.random().toString(16).slice(2, 10)}${Date.now().toString(16)}`;
}

/** "delivery 7 (consumer c1, queue jobs) on channel 2", for reports about one message. */
function describeMessage(method: spec.AMQPMethod | null, channelNumber: number, queue: string | undefined): string {
  const from = queue === undefined ? '' : `, queue ${JSON.stringify(queue)}`;
  if (method instanceof spec.Basic.Deliver) {
    return `delivery ${method.deliveryTag} (consumer ${JSON.stringify(method.consumerTag)}${from}) on channel ${channelNumber}`;
  }
  if (method instanceof spec.Basic.GetOk)
    return `basic.get message ${method.deliveryTag}${queue === undefined ? '' : ` from queue ${JSON.stringify(queue)}`} on channel ${channelNumber}`;
  if (method instanceof spec.Basic.Return) {
    return `a message returned from exchange ${JSON.stringify(method.exchange)} (routing key ${JSON.stringify(method.routingKey)}) on channel ${channelNumber}`;
  }
  return `a message on channel ${channelNumber}`;
}

/** The delivery tag of a delivery or got message, else undefined. */
function deliveryTagOf(method: spec.AMQPMethod): number | undefined {
  return method instanceof spec.Basic.Deliver || method instanceof spec.Basic.GetOk ? method.deliveryTag : undefined;
}

/** Converts a publish body to bytes; strings are UTF-8. */
function toBody(body: Buffer | Uint8Array | string): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new InvalidArgumentError(`basicPublish: body must be a Buffer, Uint8Array or string, got ${typeof body}`);
}

/**
 * A channel of a {@link Connection}. Obtain one with `connection.channel(cb)`.
 * @category Channel
 */
export class Channel extends LifeCycle {
  private readonly rpc = new RpcQueue();
  private readonly content: ContentAssembler;
  private readonly consumers = new Map<string, Consumer>();
  /** Tags cancelled by us whose late deliveries must be handed back (pika rejects them). */
  private readonly cancelled = new Map<string, boolean>();
  private readonly closeCallbacks = new CallbackList<[Channel, Error]>();
  private readonly cancelCallbacks = new CallbackList<[Channel, spec.Basic.Cancel]>();
  private readonly returnCallbacks = new CallbackList<[Channel, spec.Basic.Return, spec.BasicProperties, Buffer]>();
  private readonly flowCallbacks = new CallbackList<[Channel, boolean]>();
  /** Runs a user callback with the connection's exception isolation (for CallbackList.run). */
  private readonly invoker: Invoker = (fn, ...args) => this.host.invoke(fn, ...args);
  /** confirm.select was sent: publishes are numbered. */
  private confirmMode = false;
  private confirmCallback: OnAckNack | null = null;
  /** Per-publish onConfirm callbacks and waitForConfirms waiters. */
  private readonly publishConfirms: PublishConfirms;
  private readonly confirms = new ConfirmTracker();
  /** The delivery tags handed to the application and which it settled: only for the stats' per-message counts of multiple acks. */
  private readonly settled = new ConfirmTracker();
  private readonly stats: ConnectionStats;
  /** Where the channel is in its life (see channel-life.ts): the one source of its state. */
  private life: ChannelLife = { kind: 'opening', pendingClose: null };
  /**
   * `acceptsFrames(life)`, kept beside it because three hot paths read it per
   * delivery; assigned only by {@link setLife}, which assigns `life`.
   */
  private inboundOpen = false;
  private readonly errorCallbacks = new CallbackList<[Channel, Error]>();
  private pendingGet: { cb: Completion<GetMessage | null>; queue: string; autoAck: boolean } | null = null;
  /** Why the message being skipped could not be decoded (null: not skipping one for that). */
  private undecodable: FrameError | null = null;
  /** What the channel keeps to come back after a recovery (null: recovery off, or recovery's own channel). */
  private readonly recovery: ChannelRecovery | null;
  /** tx.select was accepted: such a channel is not recovered (an open transaction cannot be). */
  private txMode = false;
  /** Body bytes of publishes queued behind other calls (or held while recovering). */
  private queuedBytes = 0;
  /**
   * The prefetch counts of the last basicQos calls (per consumer, and
   * channel-wide), and the queues this channel declared as streams: what
   * basicConsume checks before a stream consume, which RabbitMQ refuses
   * without a per-consumer prefetch (see checkStreamConsume).
   */
  private readonly streamConsume = { consumerPrefetch: 0, globalPrefetch: 0, streams: new Set<string>() };
  /** Set while {@link reopenAfterNack} closes and reopens the channel (identifies that reopen). */
  private reopening: object | null = null;
  /** The completion of `connection.channel()` for a channel made while recovering: it opens with the others. */
  private openedCallback: Completion<Channel> | undefined = undefined;

  /** @internal Created by `Connection.channel()`. */
  constructor(
    private readonly host: ChannelHost,
    /** The channel number on its connection. */
    readonly channelNumber: number,
    /** False for automatic recovery's own channel, which records nothing and is never recovered. */
    recoverable = true,
  ) {
    super();
    this.stats = host.stats;
    this.recovery = recoverable && host.recovery !== null ? new ChannelRecovery(host.recovery.republish) : null;
    this.content = new ContentAssembler(channelNumber);
    this.publishConfirms = new PublishConfirms(
      channelNumber,
      (cb, err) => this.host.invoke(cb, err),
      (fn) => this.host.ioloop.addCallback(fn),
    );
  }

  // ---- state ---------------------------------------------------------------

  /** @internal */
  protected get lifeName(): LifeName {
    return this.life.kind;
  }

  /** The connection this channel belongs to. */
  get connection(): Connection {
    // The host is always the Connection that made this channel; the host interface only narrows what the channel calls.
    return this.host as unknown as Connection;
  }

  /** The one transition: every change of state goes through here. */
  private setLife(next: ChannelLife): void {
    this.life = next;
    this.inboundOpen = acceptsFrames(next);
  }

  /** The tags of this channel's active consumers. */
  get consumerTags(): string[] {
    return [...this.consumers.keys()];
  }

  /** In confirm mode, the delivery tag the next publish will get (0 outside confirm mode). */
  get nextPublishSeqNo(): number {
    return this.confirmMode ? this.confirms.nextTag : 0;
  }

  /**
   * In confirm mode, the delivery tags of publishes the broker has neither
   * acked nor nacked yet. After the channel closed these are the messages
   * whose fate is unknown: republish them if they must not be lost.
   */
  unconfirmedDeliveryTags(): number[] {
    return this.confirms.unanswered();
  }

  // ---- event callbacks ----------------------------------------------------------

  /** Adds a callback for when the channel closes (for any reason). */
  addOnCloseCallback(cb: (channel: Channel, reason: Error) => void): void {
    this.closeCallbacks.add(cb);
  }

  /** Removes a callback added with {@link addOnCloseCallback}; false when it was not registered. */
  removeOnCloseCallback(cb: (channel: Channel, reason: Error) => void): boolean {
    return this.closeCallbacks.remove(cb);
  }

  /** Adds a callback for a broker-initiated `basic.cancel` (for example the queue was deleted). */
  addOnCancelCallback(cb: (channel: Channel, method: spec.Basic.Cancel) => void): void {
    this.cancelCallbacks.add(cb);
  }

  /** Removes a callback added with {@link addOnCancelCallback}; false when it was not registered. */
  removeOnCancelCallback(cb: (channel: Channel, method: spec.Basic.Cancel) => void): boolean {
    return this.cancelCallbacks.remove(cb);
  }

  /** Adds a callback for messages returned by the broker (`basic.return`). */
  addOnReturnCallback(cb: OnReturn): void {
    this.returnCallbacks.add(cb);
  }

  /** Removes a callback added with {@link addOnReturnCallback}; false when it was not registered. */
  removeOnReturnCallback(cb: OnReturn): boolean {
    return this.returnCallbacks.remove(cb);
  }

  /**
   * Adds a callback for problems on this channel that did not close it: a
   * delivery whose properties could not be decoded (an
   * {@link UndecodableMessageError}; the message was rejected without requeue).
   */
  addOnErrorCallback(cb: (channel: Channel, error: Error) => void): void {
    this.errorCallbacks.add(cb);
  }

  /** Removes a callback added with {@link addOnErrorCallback}; false when it was not registered. */
  removeOnErrorCallback(cb: (channel: Channel, error: Error) => void): boolean {
    return this.errorCallbacks.remove(cb);
  }

  /** Adds a callback for `channel.flow` from the broker. */
  addOnFlowCallback(cb: (channel: Channel, active: boolean) => void): void {
    this.flowCallbacks.add(cb);
  }

  /** Removes a callback added with {@link addOnFlowCallback}; false when it was not registered. */
  removeOnFlowCallback(cb: (channel: Channel, active: boolean) => void): boolean {
    return this.flowCallbacks.remove(cb);
  }

  // ---- open / close -----------------------------------------------------------------

  /** @internal Sends `channel.open`. */
  open(cb?: Completion<Channel>): void {
    this.call(new spec.Channel.Open(), false, (err) => {
      if (err !== null) return this.host.invoke(cb, err);
      const life = this.life;
      if (life.kind !== 'opening') {
        // close() was called while opening: the open did not give a usable channel.
        const reason =
          life.kind === 'open' || life.kind === 'recovering'
            ? new ChannelWrongStateError(`channel ${this.channelNumber} is ${life.kind}`)
            : life.reason;
        return this.host.invoke(cb, reason);
      }
      this.setLife({ kind: 'open' });
      debug('channel %d open', this.channelNumber);
      lifeCycleEvent(channelEvents, 'open', this.connection, this);
      if (life.pendingClose !== null) return this.closeAfterOpen(life.pendingClose, cb);
      this.host.invoke(cb, null, this);
    });
  }

  /**
   * @internal Made while the connection recovers: the channel waits (its
   * calls held) and opens with the others once the connection is back;
   * `cb` runs then.
   */
  openAfterRecovery(cb?: Completion<Channel>): void {
    this.setLife({ kind: 'recovering' });
    this.openedCallback = cb;
    this.rpc.hold(new ChannelWrongStateError(`channel ${this.channelNumber} is waiting for the connection to recover`));
  }

  /** The connection began closing while this channel was opening: close it now. */
  private closeAfterOpen({ code, text }: { code: number; text: string }, cb?: Completion<Channel>): void {
    this.close(code, text);
    this.host.invoke(cb, new ChannelClosedByClient(code, text, `(${code}) ${text}: the connection was closed while the channel was opening`));
  }

  /**
   * Closes the channel: cancels its consumers, then sends `channel.close`
   * behind the calls already made (which are still answered). Calls made
   * afterwards throw ChannelWrongStateError. `cb` runs on close-ok; the
   * `onClose` callbacks fire once, with a ChannelClosedByClient (or the
   * broker's ChannelClosedByBroker when its close crossed ours).
   */
  close(replyCode?: number, replyText?: string, cb?: Callback<spec.Channel.CloseOk>): void;
  close(replyCode?: number, replyText?: string, cb?: ErrorCallback): void;
  close(replyCode = 200, replyText = 'Normal shutdown', callback?: AnyCallback<spec.Channel.CloseOk>): void {
    const cb = completion(callback);
    checkCallback('close', cb);
    const kind = this.life.kind;
    if (kind === 'closing' || kind === 'closed') {
      throw new ChannelWrongStateError(`channel ${this.channelNumber} is already ${kind}`);
    }
    if (kind === 'recovering') {
      // No broker channel exists meanwhile: closed here and now, and not brought back.
      const reason = new ChannelClosedByClient(replyCode, replyText);
      this.setLife({ kind: 'closing', reason, closeSent: true, byApplication: true });
      this.finishClose(reason);
      this.host.invoke(cb, null, new spec.Channel.CloseOk());
      return;
    }
    this.beginClose(replyCode, replyText, true, cb);
  }

  /**
   * → closing: cancels the consumers, then sends `channel.close` behind the
   * calls already made. `reason`: what onClose will get (default: a
   * ChannelClosedByClient with this code and text).
   */
  private beginClose(
    replyCode: number,
    replyText: string,
    byApplication: boolean,
    cb?: Completion<spec.Channel.CloseOk>,
    reason: Error = new ChannelClosedByClient(replyCode, replyText),
  ): void {
    const closing: ChannelLife = { kind: 'closing', reason, closeSent: false, byApplication };
    this.setLife(closing);
    for (const tag of [...this.consumers.keys()]) this.cancelConsumer(tag);
    const close = new spec.Channel.Close({ replyCode, replyText });
    this.rpc.submit({
      transmit: () => {
        this.host.sendMethod(this.channelNumber, close);
        // From now on only close-ok counts; a message in progress is dropped (AMQP 0-9-1, channel.close).
        if (this.life === closing) this.setLife({ ...closing, closeSent: true });
        this.content.reset();
      },
      replies: [spec.Channel.CloseOk],
      observed: cb !== undefined,
      complete: (err, ok) => {
        const life = this.life;
        this.finishClose(life.kind === 'closing' ? life.reason : reason);
        this.host.invoke(cb, err, ok as spec.Channel.CloseOk | undefined);
      },
    });
  }

  /** @internal The connection is closing: close this channel as soon as it can be. */
  closeForConnection(replyCode: number, replyText: string): void {
    const life = this.life;
    if (life.kind === 'open') this.close(replyCode, replyText);
    else if (life.kind === 'opening') life.pendingClose = { code: replyCode, text: replyText };
    else if (life.kind === 'recovering') this.finishClose(new ChannelClosedByClient(replyCode, replyText));
  }

  /** @internal The connection closed: this channel is closed with the same reason. */
  onConnectionClosed(reason: Error): void {
    if (this.life.kind === 'closed') return;
    this.finishClose(reason);
  }

  // ---- recovery ------------------------------------------------------------------------

  /**
   * @internal The connection was lost and is recovering. An open channel
   * holds its calls and waits to be restored; the call in flight gets
   * `reason`, as do acks of deliveries the broker will redeliver. A channel
   * that is not open, or is in a transaction (which the broker rolled
   * back), closes with `reason` instead.
   */
  onConnectionLost(reason: Error): void {
    const recovery = this.recovery;
    const kind = this.life.kind;
    if (recovery === null || (kind !== 'open' && kind !== 'recovering') || this.txMode) return this.onConnectionClosed(reason);
    this.reopening = null; // a reopen in progress is the connection's recovery's job now
    // Lost again before this channel was restored: what the restore had begun is redone next time.
    if (kind === 'recovering') return this.rpc.hold(reason);
    this.suspend(reason);
    recovery.onLost();
    if (this.confirmMode && recovery.retained === null) {
      // Not republishing: what was sent has an unknown fate, and the application is told so.
      const through = recovery.sentThrough;
      this.confirms.answer(through, true);
      this.publishConfirms.failThrough(through, reason, this.confirms.answeredThrough);
    }
  }

  /**
   * open → recovering, for a lost connection or a reopen: the message being
   * assembled is dropped, a basicGet waiting for its message and the call in
   * flight get `reason`, and every later call is held until {@link restore}.
   */
  private suspend(reason: Error): void {
    this.setLife({ kind: 'recovering' });
    this.content.reset();
    this.undecodable = null;
    const pendingGet = this.pendingGet;
    this.pendingGet = null;
    if (pendingGet !== null) this.host.invoke(pendingGet.cb, reason);
    this.rpc.hold(reason);
  }

  /**
   * @internal The connection is back: reopens this channel under its number,
   * then re-applies qos and confirm mode, re-registers the consumers
   * `keepConsumer` keeps (the others are reported to the cancel callbacks),
   * republishes what the broker never answered, and sends what was held.
   * `done` runs once the broker answered the last of the restoring calls
   * (the republished and held calls are written right after), or once the
   * channel closed or the connection was lost again.
   */
  restore(done: () => void): void {
    const recovery = this.recovery!;
    const calls = [this.restoreCall(new spec.Channel.Open(), () => this.onRestored())];
    for (const qos of recovery.qosMethods()) calls.push(this.restoreCall(qos));
    if (this.confirmMode) calls.push(this.restoreCall(new spec.Confirm.Select({ noWait: false }), () => (recovery.firstAnswerPending = true)));
    for (const [tag, consume] of [...recovery.consumes]) {
      const consumer = this.consumers.get(tag);
      if (consumer !== undefined && this.keepConsumer(consume)) calls.push(this.restoreCall(resumeAt(consume, consumer)));
      else this.dropConsumer(tag);
    }
    // Each of those awaits its reply before the next goes out; once the last one is answered
    // the channel is back (done), and the republished and held calls follow in the same turn.
    const last = calls[calls.length - 1];
    calls[calls.length - 1] = { ...last, complete: (err, reply) => (last.complete(err, reply), done()) };
    if (this.confirmMode) for (const p of recovery.renumber()) calls.push(this.republishCall(p));
    this.rpc.release(calls);
  }

  /** open-ok on the new connection: the channel is usable again (and one made while recovering hears so). */
  private onRestored(): void {
    this.setLife({ kind: 'open' });
    debug('channel %d restored after recovery', this.channelNumber);
    const cb = this.openedCallback;
    this.openedCallback = undefined;
    this.host.invoke(cb, null, this);
  }

  /** @internal A server-named queue got a new name: this channel's consumers on it follow. */
  renameQueue(oldName: string, newName: string): void {
    this.recovery?.renameQueue(oldName, newName);
    for (const consumer of this.consumers.values()) if (consumer.queue === oldName) consumer.queue = newName;
  }

  /** @internal Body bytes of publishes waiting behind other calls (held while recovering). */
  get heldBytes(): number {
    return this.queuedBytes;
  }

  /** Asks recovery (the application's `filter`) whether the consumer comes back; one that throws keeps it. */
  private keepConsumer(m: spec.Basic.Consume): boolean {
    const options = { autoAck: m.noAck, exclusive: m.exclusive, noLocal: m.noLocal, arguments: m.arguments };
    let keep = true;
    this.host.invoke(() => (keep = this.host.recovery!.keepConsumer(m.queue, m.consumerTag, options)));
    return keep;
  }

  /** A consumer recovery does not bring back: gone, and the application told through the cancel callbacks. */
  private dropConsumer(tag: string): void {
    this.forgetConsumer(tag);
    if (!this.consumers.delete(tag)) return; // the application cancelled it while recovering
    this.cancelCallbacks.run(this.invoker, this, new spec.Basic.Cancel({ consumerTag: tag, noWait: true }));
  }

  /** One step of {@link restore}: dropped, not held, if the connection is lost again (the next restore redoes it). */
  private restoreCall(method: spec.AMQPMethod, onOk?: () => void): RpcCall {
    const frame = checkedMethodFrame(this.channelNumber, method, this.host.frameMax);
    return {
      transmit: () => this.host.sendFrame(frame),
      replies: method.replies,
      dropOnLoss: true,
      complete: (err) => {
        if (err === null) onOk?.();
      },
    };
  }

  /** Republishes an unanswered publish; its sequence number is the one it had. */
  private republishCall(p: RetainedPublish): RpcCall {
    return {
      transmit: () => void this.host.sendPublish(this.channelNumber, p.exchange, p.routingKey, p.mandatory, p.properties, p.body, this.host.frameMax),
      replies: null,
      dropOnLoss: true,
      complete: () => undefined,
    };
  }

  // ---- exchanges ---------------------------------------------------------------------

  /** Declares an exchange (`exchange.declare`). */
  exchangeDeclare(exchange: string, options?: ExchangeDeclareOptions, cb?: Callback<spec.Exchange.DeclareOk>): void;
  exchangeDeclare(exchange: string, options?: ExchangeDeclareOptions, cb?: ErrorCallback): void;
  exchangeDeclare(exchange: string, options: ExchangeDeclareOptions = {}, callback?: AnyCallback<spec.Exchange.DeclareOk>): void {
    const cb = completion(callback);
    checkOptions('exchangeDeclare', options, EXCHANGE_DECLARE_OPTIONS, (v) => (typeof v === 'string' ? `{ type: ${JSON.stringify(v)} }` : undefined));
    checkCallback('exchangeDeclare', cb);
    checkShortstr(exchange, 'exchange');
    const { type = 'direct', passive = false, durable = false, autoDelete = false, internal = false } = options;
    checkShortstr(type, 'type');
    const noWait = options.noWait ?? false;
    this.call(
      new spec.Exchange.Declare({ exchange, type, passive, durable, autoDelete, internal, noWait, arguments: options.arguments ?? {} }),
      noWait,
      cb,
    );
  }

  /** Deletes an exchange (`exchange.delete`). */
  exchangeDelete(exchange: string, options?: ExchangeDeleteOptions, cb?: Callback<spec.Exchange.DeleteOk>): void;
  exchangeDelete(exchange: string, options?: ExchangeDeleteOptions, cb?: ErrorCallback): void;
  exchangeDelete(exchange: string, options: ExchangeDeleteOptions = {}, callback?: AnyCallback<spec.Exchange.DeleteOk>): void {
    const cb = completion(callback);
    checkOptions('exchangeDelete', options, ['ifUnused', 'noWait']);
    checkCallback('exchangeDelete', cb);
    checkShortstr(exchange, 'exchange');
    const noWait = options.noWait ?? false;
    this.call(new spec.Exchange.Delete({ exchange, ifUnused: options.ifUnused ?? false, noWait }), noWait, cb);
  }

  /** Binds an exchange to an exchange (`exchange.bind`, a RabbitMQ extension). */
  exchangeBind(destination: string, source: string, routingKey?: string, options?: BindOptions, cb?: Callback<spec.Exchange.BindOk>): void;
  exchangeBind(destination: string, source: string, routingKey?: string, options?: BindOptions, cb?: ErrorCallback): void;
  exchangeBind(destination: string, source: string, routingKey = '', options: BindOptions = {}, callback?: AnyCallback<spec.Exchange.BindOk>): void {
    const cb = completion(callback);
    this.exchangeBinding(spec.Exchange.Bind, destination, source, routingKey, options, cb);
  }

  /** Removes an exchange-to-exchange binding (`exchange.unbind`). */
  exchangeUnbind(destination: string, source: string, routingKey?: string, options?: BindOptions, cb?: Callback<spec.Exchange.UnbindOk>): void;
  exchangeUnbind(destination: string, source: string, routingKey?: string, options?: BindOptions, cb?: ErrorCallback): void;
  exchangeUnbind(
    destination: string,
    source: string,
    routingKey = '',
    options: BindOptions = {},
    callback?: AnyCallback<spec.Exchange.UnbindOk>,
  ): void {
    const cb = completion(callback);
    this.exchangeBinding(spec.Exchange.Unbind, destination, source, routingKey, options, cb);
  }

  private exchangeBinding<R extends spec.Exchange.BindOk | spec.Exchange.UnbindOk>(
    Method: typeof spec.Exchange.Bind | typeof spec.Exchange.Unbind,
    destination: string,
    source: string,
    routingKey: string,
    options: BindOptions,
    cb: Completion<R> | undefined,
  ): void {
    const where = Method === spec.Exchange.Bind ? 'exchangeBind' : 'exchangeUnbind';
    checkOptions(where, options, BIND_OPTIONS);
    checkCallback(where, cb);
    checkShortstr(destination, 'destination');
    checkShortstr(source, 'source');
    checkShortstr(routingKey, 'routingKey');
    const noWait = options.noWait ?? false;
    this.call(new Method({ destination, source, routingKey, noWait, arguments: options.arguments ?? {} }), noWait, cb);
  }

  // ---- queues ----------------------------------------------------------------------------

  /** Declares a queue (`queue.declare`); '' lets the broker name it (see `ok.queue`). */
  queueDeclare(queue?: string, options?: QueueDeclareOptions, cb?: Callback<spec.Queue.DeclareOk>): void;
  queueDeclare(queue?: string, options?: QueueDeclareOptions, cb?: ErrorCallback): void;
  queueDeclare(queue = '', options: QueueDeclareOptions = {}, callback?: AnyCallback<spec.Queue.DeclareOk>): void {
    const cb = completion(callback);
    checkOptions('queueDeclare', options, QUEUE_DECLARE_OPTIONS);
    checkCallback('queueDeclare', cb);
    checkShortstr(queue, 'queue');
    const { passive = false, durable = false, exclusive = false, autoDelete = false } = options;
    const noWait = options.noWait ?? false;
    this.call(new spec.Queue.Declare({ queue, passive, durable, exclusive, autoDelete, noWait, arguments: options.arguments ?? {} }), noWait, cb);
    // For basicConsume's stream check; only an explicit x-queue-type says what the queue is.
    const type = options.arguments?.['x-queue-type'];
    if (!passive && queue !== '' && type !== undefined) {
      if (declaresStream(options.arguments)) this.streamConsume.streams.add(queue);
      else this.streamConsume.streams.delete(queue);
    }
  }

  /** Binds a queue to an exchange (`queue.bind`); the routing key defaults to the queue name. */
  queueBind(queue: string, exchange: string, routingKey?: string, options?: BindOptions, cb?: Callback<spec.Queue.BindOk>): void;
  queueBind(queue: string, exchange: string, routingKey?: string, options?: BindOptions, cb?: ErrorCallback): void;
  queueBind(queue: string, exchange: string, routingKey?: string, options: BindOptions = {}, callback?: AnyCallback<spec.Queue.BindOk>): void {
    const cb = completion(callback);
    checkOptions('queueBind', options, BIND_OPTIONS);
    checkCallback('queueBind', cb);
    checkShortstr(queue, 'queue');
    checkShortstr(exchange, 'exchange');
    const key = routingKey ?? queue;
    checkShortstr(key, 'routingKey');
    const noWait = options.noWait ?? false;
    this.call(new spec.Queue.Bind({ queue, exchange, routingKey: key, noWait, arguments: options.arguments ?? {} }), noWait, cb);
  }

  /** Removes a queue binding (`queue.unbind`; AMQP gives it no no-wait). */
  queueUnbind(queue: string, exchange: string, routingKey?: string, options?: UnbindOptions, cb?: Callback<spec.Queue.UnbindOk>): void;
  queueUnbind(queue: string, exchange: string, routingKey?: string, options?: UnbindOptions, cb?: ErrorCallback): void;
  queueUnbind(queue: string, exchange: string, routingKey?: string, options: UnbindOptions = {}, callback?: AnyCallback<spec.Queue.UnbindOk>): void {
    const cb = completion(callback);
    checkOptions('queueUnbind', options, ['arguments']);
    checkCallback('queueUnbind', cb);
    checkShortstr(queue, 'queue');
    checkShortstr(exchange, 'exchange');
    const key = routingKey ?? queue;
    checkShortstr(key, 'routingKey');
    this.call(new spec.Queue.Unbind({ queue, exchange, routingKey: key, arguments: options.arguments ?? {} }), false, cb);
  }

  /**
   * Removes all ready messages from a queue (`queue.purge`); `ok.messageCount`
   * says how many. Options may come before or after the callback.
   */
  queuePurge(queue: string, cb?: Callback<spec.Queue.PurgeOk>, options?: NoWaitOptions): void;
  queuePurge(queue: string, cb?: ErrorCallback, options?: NoWaitOptions): void;
  queuePurge(queue: string, options?: NoWaitOptions, cb?: Callback<spec.Queue.PurgeOk>): void;
  queuePurge(queue: string, options?: NoWaitOptions, cb?: ErrorCallback): void;
  queuePurge(queue: string, a?: NoWaitOptions | AnyCallback<spec.Queue.PurgeOk>, b?: NoWaitOptions | AnyCallback<spec.Queue.PurgeOk>): void {
    const [options = {}, cb] = optionsAndCallback<NoWaitOptions, spec.Queue.PurgeOk>(a, b);
    checkOptions('queuePurge', options, ['noWait']);
    checkCallback('queuePurge', cb);
    checkShortstr(queue, 'queue');
    const noWait = options.noWait ?? false;
    this.call(new spec.Queue.Purge({ queue, noWait }), noWait, cb);
  }

  /** Deletes a queue (`queue.delete`); `ok.messageCount` says how many messages went with it. */
  queueDelete(queue: string, options?: QueueDeleteOptions, cb?: Callback<spec.Queue.DeleteOk>): void;
  queueDelete(queue: string, options?: QueueDeleteOptions, cb?: ErrorCallback): void;
  queueDelete(queue: string, options: QueueDeleteOptions = {}, callback?: AnyCallback<spec.Queue.DeleteOk>): void {
    const cb = completion(callback);
    checkOptions('queueDelete', options, ['ifUnused', 'ifEmpty', 'noWait']);
    checkCallback('queueDelete', cb);
    checkShortstr(queue, 'queue');
    const noWait = options.noWait ?? false;
    this.call(new spec.Queue.Delete({ queue, ifUnused: options.ifUnused ?? false, ifEmpty: options.ifEmpty ?? false, noWait }), noWait, cb);
  }

  // ---- basic -----------------------------------------------------------------------------

  /** Sets the prefetch window (`basic.qos`). */
  basicQos(options?: QosOptions, cb?: Callback<spec.Basic.QosOk>): void;
  basicQos(options?: QosOptions, cb?: ErrorCallback): void;
  basicQos(options: QosOptions = {}, callback?: AnyCallback<spec.Basic.QosOk>): void {
    const cb = completion(callback);
    checkOptions('basicQos', options, ['prefetchSize', 'prefetchCount', 'global'], (v) =>
      typeof v === 'number' ? `{ prefetchCount: ${v} }` : undefined,
    );
    checkCallback('basicQos', cb);
    const { prefetchSize = 0, prefetchCount = 0, global = false } = options;
    if (!Number.isInteger(prefetchCount) || prefetchCount < 0 || prefetchCount > 65535) {
      throw new InvalidArgumentError(`basicQos: prefetchCount must be an integer from 0 to 65535, got ${prefetchCount}`);
    }
    if (!Number.isInteger(prefetchSize) || prefetchSize < 0 || prefetchSize > 0xffffffff) {
      throw new InvalidArgumentError(`basicQos: prefetchSize must be a non-negative 32-bit integer, got ${prefetchSize}`);
    }
    this.call(new spec.Basic.Qos({ prefetchSize, prefetchCount, global }), false, cb);
    // Remembered as called: a consume made after this call reaches the broker after the qos.
    if (global) this.streamConsume.globalPrefetch = prefetchCount;
    else this.streamConsume.consumerPrefetch = prefetchCount;
  }

  /**
   * Starts a consumer (`basic.consume`). Returns the consumer tag at once
   * (generated when not given); deliveries go to `onMessage` in order.
   *
   * Streams: a consume is a stream consume when its arguments carry
   * `x-stream-offset` or `x-stream-filter`, or when this channel declared
   * the queue (by name, with `x-queue-type: 'stream'`). RabbitMQ requires
   * manual acks and a per-consumer prefetch for those, so a stream consume
   * with `autoAck`, before any `basicQos({ prefetchCount: n })` on this
   * channel, after a channel-wide one (`global: true`), or with an
   * `x-stream-offset` RabbitMQ cannot parse throws an InvalidArgumentError
   * and sends nothing. A stream this channel cannot tell is one (declared
   * elsewhere, consumed without offset) is checked by the broker alone.
   */
  basicConsume(queue: string, onMessage: OnMessage, options?: ConsumeOptions, cb?: Callback<spec.Basic.ConsumeOk>): string;
  basicConsume(queue: string, onMessage: OnMessage, options?: ConsumeOptions, cb?: ErrorCallback): string;
  basicConsume(queue: string, onMessage: OnMessage, options: ConsumeOptions = {}, callback?: AnyCallback<spec.Basic.ConsumeOk>): string {
    const cb = completion(callback);
    this.checkUsable('basicConsume');
    checkShortstr(queue, 'queue');
    if (typeof onMessage !== 'function') throw new InvalidArgumentError('basicConsume: onMessage must be a function');
    checkOptions('basicConsume', options, CONSUME_OPTIONS);
    checkCallback('basicConsume', cb);
    const consumerTag = options.consumerTag ?? generateConsumerTag(this.channelNumber);
    checkShortstr(consumerTag, 'consumerTag');
    if (this.consumers.has(consumerTag) || this.cancelled.has(consumerTag)) {
      throw new DuplicateConsumerTag(`consumer tag ${JSON.stringify(consumerTag)} is already in use on channel ${this.channelNumber}`);
    }
    const autoAck = options.autoAck ?? false;
    const { consumerPrefetch, globalPrefetch, streams } = this.streamConsume;
    const stream = checkStreamConsume(queue, autoAck, options.arguments, { declaredStream: streams.has(queue), consumerPrefetch, globalPrefetch });
    const method = new spec.Basic.Consume({
      queue,
      consumerTag,
      noLocal: options.noLocal ?? false,
      noAck: autoAck,
      exclusive: options.exclusive ?? false,
      noWait: false,
      arguments: options.arguments ?? {},
    });
    this.consumers.set(consumerTag, { onMessage, autoAck, queue, stream, nextOffset: -1 });
    try {
      this.call<spec.Basic.ConsumeOk>(method, false, (err, ok) => {
        if (err !== null) this.consumers.delete(consumerTag);
        this.host.invoke(cb, err, ok);
      });
    } catch (err) {
      // Not sent (arguments that cannot be encoded or exceed frame-max): no consumer, and the tag stays free.
      this.consumers.delete(consumerTag);
      throw err;
    }
    return consumerTag;
  }

  /** Cancels a consumer (`basic.cancel`); no delivery reaches it after this call. */
  basicCancel(consumerTag: string, cb?: Callback<spec.Basic.CancelOk>): void;
  basicCancel(consumerTag: string, cb?: ErrorCallback): void;
  basicCancel(consumerTag: string, callback?: AnyCallback<spec.Basic.CancelOk>): void {
    const cb = completion(callback);
    this.checkUsable('basicCancel');
    checkCallback('basicCancel', cb);
    if (!this.consumers.has(consumerTag)) {
      // Not thrown: the broker may have cancelled it a moment ago (queue deleted).
      const err = new AMQPChannelError(`basicCancel: no consumer with tag ${JSON.stringify(consumerTag)} on channel ${this.channelNumber}`);
      this.host.ioloop.addCallback(() => this.host.invoke(cb, err));
      return;
    }
    this.cancelConsumer(consumerTag, cb);
  }

  private cancelConsumer(consumerTag: string, cb?: Completion<spec.Basic.CancelOk>): void {
    const consumer = this.consumers.get(consumerTag)!;
    this.consumers.delete(consumerTag);
    // Not handed back from a stream, which refuses basic.reject and keeps its messages anyway.
    this.cancelled.set(consumerTag, consumer.autoAck || consumer.stream);
    this.call<spec.Basic.CancelOk>(new spec.Basic.Cancel({ consumerTag, noWait: false }), false, (err, ok) => {
      this.cancelled.delete(consumerTag);
      this.host.invoke(cb, err, ok);
    });
  }

  /**
   * Publishes a message (`basic.publish` + content). Returns false when the
   * connection's outbound buffer is above its high-water mark: the message
   * is queued all the same, but wait for the drain before sending more
   * (`connection.onceDrain(resume)`).
   *
   * The last argument is `mandatory` (a boolean), or {@link PublishOptions}:
   * `{ mandatory, onConfirm }`, where `onConfirm(err)` (confirm mode only)
   * reports this one message: null once the broker acked it, a NackError, an
   * UnroutableError (mandatory and returned), or the close reason when the
   * channel closed before the broker answered (the outcome is then unknown).
   *
   * Like `socket.write`, the body is not copied when it is large (32 KiB or
   * more) or when the publish waits behind queued calls: do not modify a
   * Buffer after handing it to basicPublish.
   */
  basicPublish(
    exchange: string,
    routingKey: string,
    body: Buffer | Uint8Array | string,
    properties?: spec.BasicPropertiesInit,
    mandatory: boolean | PublishOptions = false,
  ): boolean {
    if (traced(publishTrace)) return this.tracedPublish(exchange, routingKey, body, properties, mandatory);
    return this.publish(exchange, routingKey, body, properties, mandatory);
  }

  /**
   * basicPublish with a subscriber on `coney:publish`: the trace's `start`
   * sees the message and may add headers (to a headers object of this
   * publish's own) before it is encoded.
   */
  private tracedPublish(
    exchange: string,
    routingKey: string,
    body: Buffer | Uint8Array | string,
    properties: spec.BasicPropertiesInit | undefined,
    mandatory: boolean | PublishOptions,
  ): boolean {
    const context: PublishContext = {
      channel: this,
      exchange,
      routingKey,
      properties: { ...properties, headers: { ...properties?.headers } },
      body: toBody(body),
    };
    return publishTrace.traceSync(() => this.publish(exchange, routingKey, context.body, context.properties, mandatory), context);
  }

  private publish(
    exchange: string,
    routingKey: string,
    body: Buffer | Uint8Array | string,
    properties: spec.BasicPropertiesInit | undefined,
    mandatory: boolean | PublishOptions,
  ): boolean {
    this.checkUsable('basicPublish');
    checkShortstr(exchange, 'exchange');
    checkShortstr(routingKey, 'routingKey');
    checkPropertyNames(properties);
    let onConfirm: ErrorCallback | undefined;
    if (typeof mandatory !== 'boolean') ({ mandatory, onConfirm } = this.publishOptions(mandatory));
    const bytes = toBody(body);
    let below: boolean;
    if (this.rpc.nothingWaiting) {
      // Throws (and takes no sequence number) when the properties cannot be encoded.
      below = this.host.sendPublish(this.channelNumber, exchange, routingKey, mandatory, properties, bytes, this.host.frameMax);
      this.countPublish();
      if (this.recovery !== null && this.confirmMode)
        this.recovery.sent(this.confirms.nextTag - 1, exchange, routingKey, mandatory, properties, bytes);
    } else {
      below = this.queuePublish(exchange, routingKey, bytes, properties, mandatory);
    }
    this.stats.published += 1;
    if (onConfirm !== undefined) this.publishConfirms.expect(this.confirms.nextTag - 1, onConfirm, mandatory, exchange, routingKey, bytes);
    return below;
  }

  /** Checks the options form of basicPublish's last argument (only when it is one: the boolean form costs nothing). */
  private publishOptions(options: PublishOptions): { mandatory: boolean; onConfirm: ErrorCallback | undefined } {
    checkOptions('basicPublish', options, ['mandatory', 'onConfirm']);
    const { mandatory = false, onConfirm } = options;
    if (typeof mandatory !== 'boolean') throw new InvalidArgumentError(`basicPublish: mandatory must be a boolean, got ${describeValue(mandatory)}`);
    checkCallback('basicPublish', onConfirm, 'onConfirm');
    if (onConfirm !== undefined && !this.confirmMode) {
      throw new ChannelWrongStateError(`basicPublish: onConfirm needs confirm mode on channel ${this.channelNumber} (call confirmDelivery first)`);
    }
    return { mandatory, onConfirm };
  }

  /** In confirm mode, a publish that reached the writer takes the next delivery tag. */
  private countPublish(): void {
    if (this.confirmMode) this.confirms.next();
  }

  /** Publishes after the calls made earlier that are still queued, keeping the order. */
  private queuePublish(
    exchange: string,
    routingKey: string,
    bytes: Buffer,
    properties: spec.BasicPropertiesInit | undefined,
    mandatory: boolean,
  ): boolean {
    // Encoded later: check the properties now, so that a bad one throws here like
    // on the direct path, and so that every numbered publish does reach the broker.
    checkProperties(properties, this.host.frameMax);
    this.countPublish();
    const seq = this.confirmMode ? this.confirms.nextTag - 1 : 0;
    this.queuedBytes += bytes.length;
    this.rpc.submit({
      transmit: () => {
        this.host.sendPublish(this.channelNumber, exchange, routingKey, mandatory, properties, bytes, this.host.frameMax);
        if (seq !== 0) this.recovery?.sent(seq, exchange, routingKey, mandatory, properties, bytes);
      },
      replies: null,
      // Written, or the channel closed first: then the message is dropped, as pika drops
      // publishes on a closed channel; the onClose callbacks say why (and onConfirm gets the reason).
      complete: () => {
        this.queuedBytes -= bytes.length;
      },
    });
    // Not written yet: report the connection's current backlog state.
    return !this.host.writableNeedDrain;
  }

  /**
   * Fetches one message (`basic.get`); the callback gets it, or `null` when
   * the queue was empty. Options may come before or after the callback.
   */
  basicGet(queue: string, cb: Callback<GetMessage | null>, options?: GetOptions): void;
  basicGet(queue: string, cb: ErrorCallback, options?: GetOptions): void;
  basicGet(queue: string, options: GetOptions | undefined, cb: Callback<GetMessage | null>): void;
  basicGet(queue: string, options: GetOptions | undefined, cb: ErrorCallback): void;
  basicGet(queue: string, a: GetOptions | AnyCallback<GetMessage | null> | undefined, b?: GetOptions | AnyCallback<GetMessage | null>): void {
    this.checkUsable('basicGet');
    const [options = {}, cb] = optionsAndCallback<GetOptions, GetMessage | null>(a, b);
    checkShortstr(queue, 'queue');
    checkOptions('basicGet', options, ['autoAck']);
    if (typeof cb !== 'function') throw new InvalidArgumentError('basicGet: a callback is required');
    const autoAck = options.autoAck ?? false;
    this.call(new spec.Basic.Get({ queue, noAck: autoAck }), false, (err, reply) => {
      if (err !== null) this.host.invoke(cb, err);
      else if (reply instanceof spec.Basic.GetEmpty) this.host.invoke(cb, null, null);
      // get-ok: the message content follows; the callback runs when it is complete.
      else this.pendingGet = { cb, queue, autoAck };
    });
  }

  /** Acknowledges one message, or all up to `deliveryTag` with `multiple`. */
  basicAck(deliveryTag = 0, multiple = false): void {
    this.checkUsable('basicAck');
    const tag = this.brokerTag(deliveryTag);
    if (tag < 0) return;
    this.sendAsync(new spec.Basic.Ack({ deliveryTag: tag, multiple }));
    this.stats.acked += this.settle(deliveryTag, multiple);
  }

  /** Rejects one or more messages (`basic.nack`, a RabbitMQ extension). */
  basicNack(deliveryTag = 0, multiple = false, requeue = true): void {
    this.checkUsable('basicNack');
    const tag = this.brokerTag(deliveryTag);
    if (tag < 0) return;
    this.sendAsync(new spec.Basic.Nack({ deliveryTag: tag, multiple, requeue }));
    this.stats.rejected += this.settle(deliveryTag, multiple);
  }

  /** Rejects one message (`basic.reject`). */
  basicReject(deliveryTag: number, requeue = true): void {
    this.checkUsable('basicReject');
    const tag = this.brokerTag(deliveryTag);
    if (tag < 0) return;
    this.sendAsync(new spec.Basic.Reject({ deliveryTag: tag, requeue }));
    this.stats.rejected += this.settle(deliveryTag, false);
  }

  /** The stats of a delivery or got message: counted, and its tag open for the application to settle unless auto-acked. */
  private countDelivery(tag: number, autoAck: boolean): void {
    this.stats.delivered += 1;
    this.settled.advanceTo(tag);
    if (autoAck) this.settled.answer(tag, false); // nothing for the application to settle
  }

  /** How many deliveries an ack, nack or reject of the application's `tag` settles (tag 0 with multiple: all so far). */
  private settle(tag: number, multiple: boolean): number {
    const settled = this.settled;
    return Math.max(0, settled.answer(multiple && tag === 0 ? settled.nextTag - 1 : tag, multiple));
  }

  /**
   * The broker's delivery tag for the application's, or -1 for a delivery
   * from before the last connection loss: that ack, nack or reject is
   * dropped (the broker redelivers the message; on the new channel the old
   * tag would be unknown, and the broker would close the channel with 406).
   */
  private brokerTag(tag: number): number {
    const recovery = this.recovery;
    if (recovery === null) return tag;
    return this.life.kind === 'recovering' ? -1 : recovery.brokerTag(tag);
  }

  /**
   * Asks the broker to redeliver unacknowledged messages (`basic.recover`).
   * RabbitMQ implements only `requeue = true`: with `false` (the AMQP and
   * pika default; see docs/API.md) it closes the whole connection with 540
   * NOT_IMPLEMENTED, so coney defaults to `true`.
   */
  basicRecover(requeue?: boolean, cb?: Callback<spec.Basic.RecoverOk>): void;
  basicRecover(requeue?: boolean, cb?: ErrorCallback): void;
  basicRecover(requeue = true, callback?: AnyCallback<spec.Basic.RecoverOk>): void {
    const cb = completion(callback);
    checkCallback('basicRecover', cb);
    this.call(new spec.Basic.Recover({ requeue }), false, cb);
  }

  // ---- confirms, transactions, flow ---------------------------------------------------------------

  /**
   * Turns on publisher confirms (`confirm.select`). Publishes are numbered
   * from 1; the broker's acks and nacks reach `onAckNack` (null: none; use
   * basicPublish's `onConfirm` or {@link waitForConfirms} instead). Options
   * may come before or after the completion callback.
   */
  confirmDelivery(onAckNack: OnAckNack | null, cb?: Callback<spec.Confirm.SelectOk>, options?: NoWaitOptions): void;
  confirmDelivery(onAckNack: OnAckNack | null, cb?: ErrorCallback, options?: NoWaitOptions): void;
  confirmDelivery(onAckNack: OnAckNack | null, options?: NoWaitOptions, cb?: Callback<spec.Confirm.SelectOk>): void;
  confirmDelivery(onAckNack: OnAckNack | null, options?: NoWaitOptions, cb?: ErrorCallback): void;
  confirmDelivery(
    onAckNack: OnAckNack | null,
    a?: NoWaitOptions | AnyCallback<spec.Confirm.SelectOk>,
    b?: NoWaitOptions | AnyCallback<spec.Confirm.SelectOk>,
  ): void {
    this.checkUsable('confirmDelivery');
    if (onAckNack !== null && typeof onAckNack !== 'function') {
      throw new InvalidArgumentError(`confirmDelivery: onAckNack must be a function or null, got ${describeValue(onAckNack)}`);
    }
    const [options = {}, cb] = optionsAndCallback<NoWaitOptions, spec.Confirm.SelectOk>(a, b);
    checkOptions('confirmDelivery', options, ['noWait']);
    checkCallback('confirmDelivery', cb);
    if (this.confirmMode) throw new ChannelWrongStateError(`channel ${this.channelNumber} is already in confirm mode`);
    this.confirmMode = true;
    this.confirmCallback = onAckNack;
    const noWait = options.noWait ?? false;
    this.call(new spec.Confirm.Select({ noWait }), noWait, cb);
  }

  /**
   * In confirm mode, calls `cb` once every publish made so far on this
   * channel has been answered by the broker: `null` when all were acked, the
   * first NackError otherwise, or the close reason when the channel closed
   * before every answer came.
   */
  waitForConfirms(cb: ErrorCallback): void {
    this.checkUsable('waitForConfirms');
    if (typeof cb !== 'function') throw new InvalidArgumentError('waitForConfirms: a callback is required');
    if (!this.confirmMode) {
      throw new ChannelWrongStateError(`waitForConfirms: channel ${this.channelNumber} is not in confirm mode (call confirmDelivery first)`);
    }
    this.publishConfirms.waitFor(this.confirms.nextTag - 1, this.confirms.answeredThrough, cb);
  }

  /** Starts a transaction (`tx.select`). */
  txSelect(cb?: Callback<spec.Tx.SelectOk>): void;
  txSelect(cb?: ErrorCallback): void;
  txSelect(callback?: AnyCallback<spec.Tx.SelectOk>): void {
    const cb = completion(callback);
    checkCallback('txSelect', cb);
    this.call(new spec.Tx.Select(), false, cb);
  }

  /** Commits the transaction (`tx.commit`). */
  txCommit(cb?: Callback<spec.Tx.CommitOk>): void;
  txCommit(cb?: ErrorCallback): void;
  txCommit(callback?: AnyCallback<spec.Tx.CommitOk>): void {
    const cb = completion(callback);
    checkCallback('txCommit', cb);
    this.call(new spec.Tx.Commit(), false, cb);
  }

  /** Rolls the transaction back (`tx.rollback`). */
  txRollback(cb?: Callback<spec.Tx.RollbackOk>): void;
  txRollback(cb?: ErrorCallback): void;
  txRollback(callback?: AnyCallback<spec.Tx.RollbackOk>): void {
    const cb = completion(callback);
    checkCallback('txRollback', cb);
    this.call(new spec.Tx.Rollback(), false, cb);
  }

  /**
   * Asks the broker to pause or resume deliveries (`channel.flow`).
   * RabbitMQ answers `flow(true)` with flow-ok but refuses `flow(false)`:
   * it closes the whole connection with 540 NOT_IMPLEMENTED (use
   * `basicQos` or `basicCancel` to stop deliveries instead).
   */
  flow(active: boolean, cb?: Callback<spec.Channel.FlowOk>): void;
  flow(active: boolean, cb?: ErrorCallback): void;
  flow(active: boolean, callback?: AnyCallback<spec.Channel.FlowOk>): void {
    const cb = completion(callback);
    checkCallback('flow', cb);
    this.call(new spec.Channel.Flow({ active }), false, cb);
  }

  // ---- plumbing --------------------------------------------------------------------------------------

  private checkUsable(what: string): void {
    const kind = this.life.kind;
    if (kind === 'closing' || kind === 'closed') {
      throw new ChannelWrongStateError(`${what}: channel ${this.channelNumber} is ${kind}`);
    }
  }

  /** Submits a method; `noWait` (or an asynchronous method) awaits no reply. `R`: the reply's class. */
  private call<R extends spec.AMQPMethod>(method: spec.AMQPMethod, noWait: boolean, cb: Completion<R> | undefined, dropOnLoss = false): void {
    if (!(method instanceof spec.Channel.Open) && !(method instanceof spec.Basic.Cancel)) this.checkUsable(method.name);
    const awaitsReply = method.synchronous && !noWait;
    // Encoded here, once: a bad argument throws in the call, and these bytes are what is sent.
    const frame = checkedMethodFrame(this.channelNumber, method, this.host.frameMax);
    const call: RpcCall = {
      transmit: () => this.host.sendFrame(frame),
      replies: awaitsReply ? method.replies : null,
      observed: cb !== undefined,
      dropOnLoss,
      complete: (err, reply) => {
        if (err === null && this.recovery !== null) this.record(method, reply);
        if (cb === undefined) return;
        // Without a reply, "done" means written: run the callback after this turn's flush.
        if (!awaitsReply && err === null) this.host.ioloop.addCallback(() => this.host.invoke(cb, null));
        else this.host.invoke(cb, err, reply as R | undefined);
      },
    };
    this.rpc.submit(call);
  }

  /** Sends an ack, nack or reject now, or behind the calls waiting; one still waiting when the connection is lost is dropped. */
  /** Tells recovery what the broker accepted: qos, consumers, transactions, topology. */
  private record(method: spec.AMQPMethod, reply: spec.AMQPMethod | undefined): void {
    const recovery = this.recovery!;
    const topology = this.host.recovery!.topology;
    if (method instanceof spec.Basic.Qos) recovery.recordQos(method);
    else if (method instanceof spec.Tx.Select) this.txMode = true;
    else if (method instanceof spec.Basic.Consume) {
      recovery.consumes.set(method.consumerTag, method);
      topology.onConsumerStarted(method.queue);
    } else if (method instanceof spec.Basic.Cancel) this.forgetConsumer(method.consumerTag);
    else topology.onTopology(method, reply);
  }

  /** A consumer ended (cancelled by either side): recovery forgets it. */
  private forgetConsumer(tag: string): void {
    const consume = this.recovery?.consumes.get(tag);
    if (consume === undefined) return;
    this.recovery!.consumes.delete(tag);
    this.host.recovery!.topology.onConsumerEnded(consume.queue);
  }

  private sendAsync(method: spec.AMQPMethod): void {
    if (this.rpc.nothingWaiting) this.host.sendMethod(this.channelNumber, method);
    else this.call(method, true, undefined, true);
  }

  // ---- inbound ----------------------------------------------------------------------------------------

  /** @internal A method frame for this channel. */
  onMethodFrame(method: spec.AMQPMethod): void {
    try {
      // the hot path first: a delivery starts its content (onMethod handles every other case)
      if (method instanceof spec.Basic.Deliver && this.inboundOpen && !this.content.busy) this.content.start(method);
      else this.onMethod(method);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.host.protocolError(spec.UNEXPECTED_FRAME, err);
    }
  }

  /** @internal A content header frame for this channel. */
  onHeaderFrame(bodySize: number, properties: spec.BasicProperties): void {
    if (!this.inboundOpen) return;
    try {
      if (bodySize > this.host.maxMessageSize) return this.onOversizedContent(bodySize);
      if (this.content.header(bodySize, properties)) this.onContent();
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.host.protocolError(spec.UNEXPECTED_FRAME, err);
    }
  }

  /**
   * @internal A piece of a body frame's payload for this channel (`rest`: the
   * frame's bytes still to come; see FrameHandler.onBody).
   */
  onBodyFrame(payload: Buffer, rest: number): ChunkRelease {
    if (!this.inboundOpen) return true;
    try {
      const complete = this.content.bodyPiece(payload, rest);
      // the body is this very piece (no copy): it goes to the application, which may keep it
      const released = this.content.body !== payload;
      if (complete) this.onContent();
      return released;
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.host.protocolError(spec.UNEXPECTED_FRAME, err);
      return false;
    }
  }

  private onMethod(method: spec.AMQPMethod): void {
    if (method instanceof spec.Channel.Close) return this.onBrokerClose(method);
    if (this.reopening !== null && method instanceof spec.Channel.CloseOk) return this.onReopenClosed(this.reopening);
    // After sending channel.close, everything but close-ok is discarded (AMQP 0-9-1, channel.close);
    // before open-ok, whatever comes is a late frame for this number's previous channel.
    if (!this.inboundOpen && !(method instanceof spec.Channel.CloseOk || method instanceof spec.Channel.OpenOk)) return;
    if (this.content.busy) {
      throw new FrameError(`${method.name} arrived on channel ${this.channelNumber} in the middle of a message's content`);
    }
    if (method instanceof spec.Basic.Deliver || method instanceof spec.Basic.Return) return this.content.start(method);
    if (method instanceof spec.Basic.Ack || method instanceof spec.Basic.Nack) return this.onConfirm(method);
    if (method instanceof spec.Basic.Cancel) return this.onBrokerCancel(method);
    if (method instanceof spec.Channel.Flow) return this.onBrokerFlow(method);
    this.onReply(method);
  }

  /** A reply to the call in flight: complete it, then send what waited behind it. */
  private onReply(method: spec.AMQPMethod): void {
    const call = this.rpc.take(method);
    if (call === null) {
      throw new FrameError(`unexpected ${method.name} on channel ${this.channelNumber}: no call awaits it`);
    }
    if (method instanceof spec.Basic.GetOk) this.content.start(method);
    call.complete(null, method);
    this.rpc.pump();
  }

  /** The message in the assembler is complete: hand it on. */
  private onContent(): void {
    const content = this.content;
    const method = content.method!;
    const properties = content.properties;
    const body = content.body;
    content.reset();
    if (properties === null) return this.onSkippedContent(method);
    if (method instanceof spec.Basic.Deliver) this.onDeliver(method, properties, body);
    else if (method instanceof spec.Basic.Return) this.onReturn(method, properties, body);
    else if (method instanceof spec.Basic.GetOk) this.onGetOk({ method, properties, body });
  }

  private onDeliver(method: spec.Basic.Deliver, properties: spec.BasicProperties, body: Buffer): void {
    const consumer = this.consumers.get(method.consumerTag);
    if (this.recovery !== null) this.recovery.lastBrokerTag = method.deliveryTag;
    if (consumer !== undefined) {
      if (this.recovery !== null) {
        // After a recovery the application's tags go on from the last connection's.
        method.deliveryTag += this.recovery.tagOffset;
        if (consumer.stream) trackStreamOffset(consumer, properties);
      }
      this.countDelivery(method.deliveryTag, consumer.autoAck);
      // host.invoke, without its rest-parameter arrays: same isolation, same `this` (undefined)
      const onMessage = consumer.onMessage;
      try {
        const result: unknown = traced(deliverTrace)
          ? deliverTrace.traceSync(
              onMessage,
              { channel: this, method, properties, body, queue: consumer.queue },
              undefined,
              this,
              method,
              properties,
              body,
            )
          : onMessage(this, method, properties, body);
        // an async consumer: its rejection is routed like a throw (one check, no allocation otherwise)
        if (result !== undefined) this.host.watch(result);
      } catch (err) {
        this.host.invoke(rethrow, err);
      }
      return;
    }
    // A delivery that crossed our basic.cancel: hand it back so it is not lost.
    const autoAck = this.cancelled.get(method.consumerTag);
    if (autoAck === false && this.life.kind !== 'closed') {
      this.host.sendMethod(this.channelNumber, new spec.Basic.Reject({ deliveryTag: method.deliveryTag, requeue: true }));
    }
  }

  private onReturn(method: spec.Basic.Return, properties: spec.BasicProperties, body: Buffer): void {
    this.stats.returned += 1;
    const reported = this.publishConfirms.returned(method.exchange, method.routingKey, body, `${method.replyCode} ${method.replyText}`);
    if (this.returnCallbacks.size === 0 && !reported) {
      process.emitWarning(
        `channel ${this.channelNumber}: a message to ${JSON.stringify(method.exchange)}/${JSON.stringify(method.routingKey)} ` +
          `was returned (${method.replyCode} ${method.replyText}) and no return callback is registered`,
        'ConeyWarning',
      );
    }
    this.returnCallbacks.run(this.invoker, this, method, properties, body);
  }

  private onGetOk(message: GetMessage): void {
    if (this.recovery !== null) {
      this.recovery.lastBrokerTag = message.method.deliveryTag;
      message.method.deliveryTag += this.recovery.tagOffset;
    }
    const pending = this.pendingGet;
    this.countDelivery(message.method.deliveryTag, pending?.autoAck === true);
    this.pendingGet = null;
    if (pending !== null) this.host.invoke(pending.cb, null, message);
  }

  private onConfirm(method: spec.Basic.Ack | spec.Basic.Nack): void {
    if (!this.confirmMode) {
      throw new FrameError(`${method.name} on channel ${this.channelNumber}, which is not in confirm mode`);
    }
    // After a recovery the broker numbers from 1 again: its tags are translated to the application's.
    const remap = this.recovery?.remap;
    if (remap != null) method.deliveryTag = remap.toApp(method.deliveryTag);
    const tag = method.deliveryTag;
    const from = method.multiple ? this.confirms.answeredThrough + 1 : tag;
    const answered = this.confirms.answer(method.deliveryTag, method.multiple);
    if (answered < 0) {
      // Taking it would mark real, unanswered publishes as confirmed: the channel cannot be trusted.
      const sent = this.confirms.nextTag - 1;
      return this.closeForBrokerError(
        `${method.name} for delivery tag ${method.deliveryTag}, but only ${sent} publish(es) were sent on channel ${this.channelNumber}`,
      );
    }
    if (method instanceof spec.Basic.Nack) this.stats.nacked += answered;
    else this.stats.confirmed += answered;
    this.publishConfirms.answered(from, tag, method instanceof spec.Basic.Nack, this.confirms.answeredThrough);
    this.recovery?.retained?.answered(from, tag);
    if (this.confirmCallback !== null) this.host.invoke(this.confirmCallback, this, method);
    const recovery = this.recovery;
    if (recovery !== null && recovery.firstAnswerPending) {
      recovery.firstAnswerPending = false;
      if (method instanceof spec.Basic.Nack) this.reopenAfterNack();
    }
  }

  /**
   * A confirm channel whose first answer after a recovery is a nack.
   * RabbitMQ 3.10 nacks every publish of a channel that first published to
   * a quorum queue while the queue had no leader (its old one died with the
   * node), for as long as that channel lives. A new channel, once a leader is
   * elected, is accepted: so the channel is closed and restored under the same
   * object (at most {@link MAX_REOPENS} times per recovery, 0.5 s apart). The
   * nacks already received stay nacks for the application (never turned into
   * success); answers after our channel.close are discarded (AMQP), so those
   * publishes count as unanswered and are republished on the new channel.
   */
  private reopenAfterNack(): void {
    const recovery = this.recovery!;
    if (this.life.kind !== 'open' || recovery.reopens >= MAX_REOPENS) return;
    recovery.reopens += 1;
    this.suspend(new ChannelClosedByClient(200, `channel ${this.channelNumber} reopened: the broker nacked its first publish after a recovery`));
    this.reopening = {};
    this.host.sendMethod(this.channelNumber, new spec.Channel.Close({ replyCode: 200, replyText: 'reopening after nacks' }));
  }

  /** close-ok of {@link reopenAfterNack}'s close: restore, no sooner than 0.5 s after the previous reopen. */
  private onReopenClosed(token: object): void {
    const recovery = this.recovery!;
    recovery.onLost(true);
    const now = this.host.ioloop.now();
    const wait = Math.max(0, recovery.lastReopenAt + REOPEN_INTERVAL - now);
    recovery.lastReopenAt = now + wait;
    this.host.ioloop.callLater(wait, () => {
      // the connection was lost meanwhile: its recovery restores this channel
      if (this.reopening === token && this.life.kind === 'recovering') {
        this.reopening = null;
        this.restore(() => undefined);
      }
    });
  }

  /**
   * The broker cancelled a consumer: its queue was deleted, or (RabbitMQ 4.3
   * and later) it held a delivery longer than the consumer timeout. RabbitMQ
   * sends this cancel with no-wait, and from 4.3 keeps a timed-out consumer
   * registered on the channel, idle, until the client ends it (a client
   * cancel-ok ends it there, but is an unknown method, a 503 connection
   * error, before 4.3). So coney ends it with a basic.cancel of its own,
   * which every version answers with cancel-ok (the tag may be unknown by
   * then). Acks made meanwhile, and a new consume with the same tag, go out
   * behind that cancel.
   */
  private onBrokerCancel(method: spec.Basic.Cancel): void {
    const tag = method.consumerTag;
    const ours = this.consumers.delete(tag);
    this.forgetConsumer(tag);
    if (!method.noWait) {
      this.host.sendMethod(this.channelNumber, new spec.Basic.CancelOk({ consumerTag: tag }));
    } else if (ours && this.life.kind === 'open') {
      this.call(new spec.Basic.Cancel({ consumerTag: tag, noWait: false }), false, undefined, true);
    }
    this.cancelCallbacks.run(this.invoker, this, method);
  }

  private onBrokerFlow(method: spec.Channel.Flow): void {
    this.host.sendMethod(this.channelNumber, new spec.Channel.FlowOk({ active: method.active }));
    this.flowCallbacks.run(this.invoker, this, method.active);
  }

  /**
   * A delivery, get-ok or return whose header announces more than
   * `maxMessageSize`: its body is skipped as it arrives (never buffered); the
   * message is rejected without requeue and the channel is closed with 406,
   * as RabbitMQ closes a channel that publishes above its own limit. Rejected
   * rather than requeued: it would come straight back to every consumer with
   * the same limit, while a dead-letter exchange can keep it.
   */
  private onOversizedContent(bodySize: number): void {
    const method = this.content.method;
    if (this.content.skip(bodySize)) this.content.reset();
    const limit = this.host.maxMessageSize;
    this.rejectUnreadable(method);
    this.closeForBrokerError(
      `${describeMessage(method, this.channelNumber, this.queueOf(method))} has a body of ${bodySize} bytes, more than maxMessageSize ${limit}` +
        (method instanceof spec.Basic.Return ? '' : '; it was rejected without requeue'),
    );
  }

  /**
   * @internal A content header whose properties could not be decoded (too
   * deep, truncated, unknown flags): a poison message, not a broken stream.
   * Its body is skipped; once complete it is rejected without requeue (so a
   * dead-letter exchange catches it) and reported, and the channel goes on.
   */
  onBadHeaderFrame(bodySize: number, error: FrameError): void {
    if (!this.inboundOpen) return;
    try {
      this.undecodable = error;
      if (this.content.skip(bodySize)) this.onContent();
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.host.protocolError(spec.UNEXPECTED_FRAME, err);
    }
  }

  /** A skipped message (undecodable properties) is complete: reject it and say so. */
  private onSkippedContent(method: spec.AMQPMethod): void {
    const cause = this.undecodable;
    this.undecodable = null;
    if (cause === null) return; // an oversized message, already handled at its header
    const rejected = this.rejectUnreadable(method);
    const queue = this.queueOf(method);
    const error = new UndecodableMessageError(
      `${describeMessage(method, this.channelNumber, queue)} has properties that cannot be decoded (${cause.message}); ` +
        (rejected ? 'it was rejected without requeue' : 'it was dropped'),
      { cause, channelNumber: this.channelNumber, queue, deliveryTag: deliveryTagOf(method) },
    );
    if (method instanceof spec.Basic.GetOk) {
      const pending = this.pendingGet;
      this.pendingGet = null;
      if (pending !== null) this.host.invoke(pending.cb, error);
    }
    process.emitWarning(error.message, 'ConeyWarning');
    this.errorCallbacks.run(this.invoker, this, error);
  }

  /** Rejects (requeue false) a delivery or got message that cannot be handed on; true if one was sent. */
  private rejectUnreadable(method: spec.AMQPMethod | null): boolean {
    if (!(method instanceof spec.Basic.Deliver || method instanceof spec.Basic.GetOk) || !this.inboundOpen) return false;
    if (method instanceof spec.Basic.Deliver) {
      const consumer = this.consumers.get(method.consumerTag);
      if (consumer?.autoAck !== false) return false;
      if (consumer.stream) {
        // A stream refuses basic.reject (540, the whole connection) and keeps the message anyway:
        // an ack only moves this consumer on, so that its prefetch window does not fill up with skipped messages.
        this.host.sendMethod(this.channelNumber, new spec.Basic.Ack({ deliveryTag: method.deliveryTag, multiple: false }));
        return false;
      }
    }
    if (method instanceof spec.Basic.GetOk && this.pendingGet?.autoAck !== false) return false;
    this.host.sendMethod(this.channelNumber, new spec.Basic.Reject({ deliveryTag: method.deliveryTag, requeue: false }));
    return true;
  }

  /** The queue a message came from, when known. */
  private queueOf(method: spec.AMQPMethod | null): string | undefined {
    if (method instanceof spec.Basic.Deliver) return this.consumers.get(method.consumerTag)?.queue;
    if (method instanceof spec.Basic.GetOk) return this.pendingGet?.queue;
    return undefined;
  }

  /**
   * The broker did something this channel cannot go on from (an ack for a
   * publish never sent, a message above maxMessageSize): close the channel
   * with 406, whose reason (ChannelClosedByClient) carries `text`.
   */
  private closeForBrokerError(text: string): void {
    if (this.life.kind !== 'open') return;
    const wireText = text.length > 255 ? text.slice(0, 252) + '...' : text;
    this.beginClose(spec.PRECONDITION_FAILED, wireText, false, undefined, new ChannelClosedByClient(spec.PRECONDITION_FAILED, text));
  }

  private onBrokerClose(close: spec.Channel.Close): void {
    this.host.sendMethod(this.channelNumber, new spec.Channel.CloseOk());
    const reason = new ChannelClosedByBroker(close.replyCode, close.replyText);
    const life = this.life;
    if (life.kind !== 'closing' || !life.closeSent) return this.finishClose(reason);
    // Our channel.close crossed the broker's: keep the number until our close-ok
    // arrives (the broker still sends it), so that a new channel cannot get it too early.
    life.reason = reason;
  }

  /** Final state: number released, every pending call and `onClose` told once. */
  private finishClose(reason: Error): void {
    const life = this.life;
    if (life.kind === 'closed') return;
    const closeSent = life.kind === 'closing' && life.closeSent;
    const draining = reason instanceof ChannelClosedByBroker && !closeSent;
    const unasked = this.closedUnasked(life, reason);
    this.setLife({ kind: 'closed', reason });
    debug('channel %d closed: %s', this.channelNumber, reason.message);
    lifeCycleEvent(channelEvents, 'close', this.connection, this, reason);
    this.content.reset();
    if (this.recovery !== null) for (const queue of this.recovery.forgetConsumers()) this.host.recovery!.topology.onConsumerEnded(queue);
    this.consumers.clear();
    this.cancelled.clear();
    this.host.channelClosed(this, draining);
    const pendingGet = this.pendingGet;
    this.pendingGet = null;
    if (pendingGet !== null) this.host.invoke(pendingGet.cb, reason);
    const opened = this.openedCallback;
    this.openedCallback = undefined;
    if (opened !== undefined) this.host.invoke(opened, reason);
    const observed = this.rpc.failAll(reason) || pendingGet !== null || opened !== undefined;
    this.publishConfirms.fail(reason);
    if (!observed && this.closeCallbacks.size === 0 && unasked) {
      process.emitWarning(
        `channel ${this.channelNumber} was closed: ${reason.message} (no close callback is registered on it, and no pending call was told)`,
        'ConeyWarning',
      );
    }
    this.closeCallbacks.run(this.invoker, this, reason);
  }

  /** A close the application did not ask for, on this channel alone (a connection close is reported by the connection). */
  private closedUnasked(life: ChannelLife, reason: Error): boolean {
    if (reason instanceof ChannelClosedByBroker) return true;
    return reason instanceof ChannelClosedByClient && !(life.kind === 'closing' && life.byApplication);
  }
}
