/**
 * {@link AsyncChannel}: a callback {@link Channel} with promises (pika's
 * `BlockingChannel`, rabbitpy's channel). A thin layer: every call is the
 * callback channel's own, and the promise settles from its completion.
 * @packageDocumentation
 */
import { ChannelClosedByBroker, ChannelClosedByClient, InvalidArgumentError } from '../errors';
import type { Completion } from '../engine/callback-types';
import type { Channel, OnAckNack, OnReturn } from '../engine/channel';
import type {
  BindOptions,
  ConsumeOptions,
  ExchangeDeclareOptions,
  ExchangeDeleteOptions,
  GetOptions,
  NoWaitOptions,
  QosOptions,
  QueueDeclareOptions,
  QueueDeleteOptions,
  UnbindOptions,
} from '../engine/channel-options';
import type { IOLoop } from '../engine/ioloop';
import * as spec from '../wire/spec';
import { cancelIterators, inactivityTimeoutError } from './buffered-consumer';
import { ConsumeIterator } from './consume-iterator';
import { DirectReplyClient, type RpcOptions } from './direct-reply';
import { Message } from './message';
import { PendingConfirms } from './pending-confirms';
import { fromCallback, rejection, RESOLVED } from './settle';

/**
 * The prefetch count `consume()` sets when the channel has none: the
 * bound of its buffer (see {@link AsyncChannel.consume}).
 */
export const DEFAULT_CONSUME_PREFETCH = 100;

/**
 * Options of {@link AsyncChannel.consume}: those of basicConsume, and two of the iterator's own.
 * @category Promise API
 */
export interface ConsumeIteratorOptions extends ConsumeOptions {
  /** Seconds without a message after which the iterator yields `null` (pika's `inactivity_timeout`); default: wait. */
  inactivityTimeout?: number;
  /** Aborting it ends the iterator as breaking out of the loop does (the consumer is cancelled, the buffer requeued). */
  signal?: AbortSignal;
}

/** @internal What an AsyncChannel needs from its AsyncConnection. */
export interface ChannelConnection {
  /** The connection's loop. */
  readonly ioloop: IOLoop;
  /** Resolves once the outbound backlog is under the low-water mark again; rejects if the connection closes first. */
  drained(): Promise<void>;
  /** The application asked the connection to close (its channels' closes are then not unexpected). */
  readonly closeRequested: boolean;
}

/**
 * A channel of an {@link AsyncConnection}: the methods of {@link Channel}
 * with the same names and options, without the callback, each returning a
 * promise of its reply method. Calls on a closed channel reject with
 * ChannelWrongStateError, and a bad argument rejects with
 * InvalidArgumentError: the promise face never throws.
 * @category Promise API
 */
export class AsyncChannel {
  /** Confirm mode: the publishes the broker has not answered (null outside confirm mode). */
  private confirms: PendingConfirms | null = null;
  /** rpc(): the calls in flight over direct reply-to (null until the first call). */
  private rpcClient: DirectReplyClient | null = null;
  /** The consume() iterators not yet ended. */
  private readonly iterators = new Map<string, ConsumeIterator>();
  /** A prefetch count was set through this object: consume() sets none of its own. */
  private prefetchSet = false;
  /** close() was called here. */
  private closeRequested = false;
  /** The error the last failed call was told: to know whether a close reached anyone. */
  private lastFailure: unknown = null;
  private returnsWatched = false;
  private readonly closedPromise: Promise<Error>;

  /** @internal Made by AsyncConnection.channel(). */
  constructor(
    /** The callback channel underneath (for its events: `addOnCloseCallback`, `addOnReturnCallback`, ...). */
    readonly channel: Channel,
    private readonly connection: ChannelConnection,
  ) {
    channel.addOnCancelCallback(this.onBrokerCancel);
    this.closedPromise = new Promise((resolve) => channel.addOnCloseCallback((_ch, reason) => resolve(this.onClosed(reason))));
  }

  // ---- state ----------------------------------------------------------------

  /** The channel number. */
  get channelNumber(): number {
    return this.channel.channelNumber;
  }

  /** True while open. */
  get isOpen(): boolean {
    return this.channel.isOpen;
  }

  /** True while closing. */
  get isClosing(): boolean {
    return this.channel.isClosing;
  }

  /** True once closed. */
  get isClosed(): boolean {
    return this.channel.isClosed;
  }

  /** The tags of the channel's consumers (consume() iterators, basicConsume handlers, rpc's reply consumer). */
  get consumerTags(): string[] {
    return this.channel.consumerTags;
  }

  /** Confirm mode: the sequence number the next publish gets (0 outside confirm mode). */
  get nextPublishSeqNo(): number {
    return this.channel.nextPublishSeqNo;
  }

  /** Confirm mode: the sequence numbers of publishes the broker has not answered yet. */
  unconfirmedDeliveryTags(): number[] {
    return this.channel.unconfirmedDeliveryTags();
  }

  /** rpc(): replies that came after their call had timed out or was aborted, dropped (direct reply-to is at-most-once). */
  get lateReplies(): number {
    return this.rpcClient?.lateReplies ?? 0;
  }

  /** @internal The connection's loop (for the consume iterators' inactivity timers). */
  get ioloop(): IOLoop {
    return this.connection.ioloop;
  }

  // ---- exchanges and queues -----------------------------------------------------

  /** Declares an exchange; resolves to its `exchange.declare-ok`. */
  exchangeDeclare(exchange: string, options?: ExchangeDeclareOptions): Promise<spec.Exchange.DeclareOk> {
    return this.call((done) => this.channel.exchangeDeclare(exchange, options, done));
  }

  /** Deletes an exchange. */
  exchangeDelete(exchange: string, options?: ExchangeDeleteOptions): Promise<spec.Exchange.DeleteOk> {
    return this.call((done) => this.channel.exchangeDelete(exchange, options, done));
  }

  /** Binds an exchange to an exchange. */
  exchangeBind(destination: string, source: string, routingKey?: string, options?: BindOptions): Promise<spec.Exchange.BindOk> {
    return this.call((done) => this.channel.exchangeBind(destination, source, routingKey, options, done));
  }

  /** Removes an exchange-to-exchange binding. */
  exchangeUnbind(destination: string, source: string, routingKey?: string, options?: BindOptions): Promise<spec.Exchange.UnbindOk> {
    return this.call((done) => this.channel.exchangeUnbind(destination, source, routingKey, options, done));
  }

  /** Declares a queue ('' lets the broker name it: see `ok.queue`). */
  queueDeclare(queue?: string, options?: QueueDeclareOptions): Promise<spec.Queue.DeclareOk> {
    return this.call((done) => this.channel.queueDeclare(queue, options, done));
  }

  /** Binds a queue to an exchange; the routing key defaults to the queue name. */
  queueBind(queue: string, exchange: string, routingKey?: string, options?: BindOptions): Promise<spec.Queue.BindOk> {
    return this.call((done) => this.channel.queueBind(queue, exchange, routingKey, options, done));
  }

  /** Removes a queue binding. */
  queueUnbind(queue: string, exchange: string, routingKey?: string, options?: UnbindOptions): Promise<spec.Queue.UnbindOk> {
    return this.call((done) => this.channel.queueUnbind(queue, exchange, routingKey, options, done));
  }

  /** Removes a queue's ready messages; `ok.messageCount` says how many. */
  queuePurge(queue: string, options?: NoWaitOptions): Promise<spec.Queue.PurgeOk> {
    return this.call((done) => this.channel.queuePurge(queue, options, done));
  }

  /** Deletes a queue; `ok.messageCount` says how many messages went with it. */
  queueDelete(queue: string, options?: QueueDeleteOptions): Promise<spec.Queue.DeleteOk> {
    return this.call((done) => this.channel.queueDelete(queue, options, done));
  }

  // ---- basic -----------------------------------------------------------------------

  /** Sets the prefetch window (`basic.qos`); a prefetch count set here is the bound of consume()'s buffer. */
  basicQos(options?: QosOptions): Promise<spec.Basic.QosOk> {
    const promise = this.call<spec.Basic.QosOk>((done) => this.channel.basicQos(options, done));
    if ((options?.prefetchCount ?? 0) > 0) this.prefetchSet = true;
    return promise;
  }

  /**
   * Starts a consumer whose messages go to `onMessage` (handler style);
   * resolves to the consumer tag once the broker accepted it. `onMessage`
   * may be `async`: what it throws or rejects with goes to the
   * connection's `onCallbackError` (by default a `ConeyWarning`).
   */
  basicConsume(queue: string, onMessage: (message: Message) => unknown, options?: ConsumeOptions): Promise<string> {
    if (typeof onMessage !== 'function') return rejection(new InvalidArgumentError('basicConsume: onMessage must be a function'));
    return this.call<string>((done) => {
      this.channel.basicConsume(
        queue,
        (ch, method, properties, body) => onMessage(new Message(ch, method, properties, body)),
        options,
        (err, ok) => (err === null ? done(null, ok.consumerTag) : done(err)),
      );
    });
  }

  /** Cancels a consumer; a consume() iterator with this tag ends as {@link cancel} ends it. */
  basicCancel(consumerTag: string): Promise<spec.Basic.CancelOk> {
    const iterator = this.iterators.get(consumerTag);
    if (iterator !== undefined) return iterator.end().then(() => new spec.Basic.CancelOk({ consumerTag }));
    return this.call((done) => this.channel.basicCancel(consumerTag, done));
  }

  /**
   * Publishes a message. Outside confirm mode it resolves once the message
   * is handed to the connection's writer (it goes out with this loop turn's
   * batch) and the outbound backlog is under the high-water mark: awaiting
   * it is backpressure. As in the callback API (and pika), a message whose
   * channel closes before it is written is dropped.
   *
   * After {@link confirmDelivery} it resolves once the broker acked it, and
   * rejects with a NackError (nacked), an UnroutableError (`mandatory` and
   * returned), or the close reason when the channel closed before the
   * broker answered (the outcome is then unknown).
   *
   * Like `socket.write`, a large body is not copied: do not modify a Buffer after publishing it.
   */
  basicPublish(
    exchange: string,
    routingKey: string,
    body: Buffer | Uint8Array | string,
    properties?: spec.BasicPropertiesInit,
    mandatory = false,
  ): Promise<void> {
    const channel = this.channel;
    const confirms = this.confirms;
    try {
      if (confirms === null) return channel.basicPublish(exchange, routingKey, body, properties, mandatory) ? RESOLVED : this.connection.drained();
      channel.basicPublish(exchange, routingKey, body, properties, mandatory);
      // The publish just took the last sequence number (a publish that threw took none).
      const seq = channel.nextPublishSeqNo - 1;
      return mandatory ? confirms.addMandatory(seq, exchange, routingKey, toBuffer(body)) : confirms.add(seq);
    } catch (err) {
      return rejection(err);
    }
  }

  /** Fetches one message; resolves to it, or to null when the queue was empty. */
  basicGet(queue: string, options?: GetOptions): Promise<Message | null> {
    return this.call<Message | null>((done) =>
      this.channel.basicGet(queue, options, (err, got) => {
        if (err !== null) return done(err);
        done(null, got === null ? null : new Message(this.channel, got.method, got.properties, got.body));
      }),
    );
  }

  /** Acknowledges a delivery (resolves at once: AMQP does not answer acks). */
  basicAck(deliveryTag = 0, multiple = false): Promise<void> {
    return this.now(() => this.channel.basicAck(deliveryTag, multiple));
  }

  /** Rejects one or more deliveries (`basic.nack`). */
  basicNack(deliveryTag = 0, multiple = false, requeue = true): Promise<void> {
    return this.now(() => this.channel.basicNack(deliveryTag, multiple, requeue));
  }

  /** Rejects one delivery (`basic.reject`). */
  basicReject(deliveryTag: number, requeue = true): Promise<void> {
    return this.now(() => this.channel.basicReject(deliveryTag, requeue));
  }

  /** Asks the broker to redeliver the unacknowledged messages (RabbitMQ takes only `requeue = true`). */
  basicRecover(requeue = true): Promise<spec.Basic.RecoverOk> {
    return this.call((done) => this.channel.basicRecover(requeue, done));
  }

  // ---- consume() ----------------------------------------------------------------------

  /**
   * Consumes `queue` as an async iterator of {@link Message} (pika's
   * `consume()`): `for await (const message of channel.consume('jobs')) { ...; await message.ack(); }`.
   *
   * The iterator buffers at most the prefetch count of messages: when no
   * `basicQos` with a prefetch count was made through this channel, consume
   * sets one first, `{ prefetchCount: 100 }` ({@link DEFAULT_CONSUME_PREFETCH},
   * per consumer: later consumers of this channel get it too). With `autoAck`
   * the broker applies no window, so the buffer is unbounded, as in pika.
   *
   * `inactivityTimeout` (seconds): yields `null` when no message came for
   * that long. Breaking out of the loop (or aborting `signal`, or
   * {@link cancel}) cancels the consumer and requeues the buffered messages
   * not handed out; the ones handed out stay the application's to ack. The
   * iterator throws when the broker cancels the consumer (after handing out
   * what came before) or when the channel closes: it never stops silently.
   * With automatic recovery on it carries on across a recovery (messages
   * buffered at the outage are dropped: the broker redelivers them).
   */
  consume(queue: string, options: ConsumeIteratorOptions = {}): ConsumeIterator {
    const { inactivityTimeout, signal, ...consumeOptions } = options;
    const autoAck = consumeOptions.autoAck ?? false;
    const iterator = new ConsumeIterator(this, queue, autoAck, inactivityTimeout, signal);
    try {
      const badTimeout = inactivityTimeoutError(inactivityTimeout);
      if (badTimeout !== null) throw badTimeout;
      if (!this.prefetchSet && !autoAck) {
        this.channel.basicQos({ prefetchCount: DEFAULT_CONSUME_PREFETCH });
        this.prefetchSet = true;
      }
      // A consume the broker refuses, or that was in flight when the connection dropped (like any
      // call then, it gets the reason and is not resent), ends the iterator with that error: never a silent idle.
      const tag = this.channel.basicConsume(queue, iterator.deliver, consumeOptions, (err) => {
        if (err !== null) iterator.failedToStart(err);
      });
      iterator.started(tag);
      this.iterators.set(tag, iterator);
    } catch (err) {
      iterator.failedToStart(err as Error);
      return iterator;
    }
    if (signal?.aborted === true) void iterator.end();
    return iterator;
  }

  /**
   * Ends this channel's consume() iterators (or only the one with
   * `consumerTag`): each consumer is cancelled and its buffered messages
   * not handed out are requeued. Resolves to the number requeued (pika's
   * `cancel()`). A tag of a basicConsume consumer is cancelled too (0).
   */
  cancel(consumerTag?: string): Promise<number> {
    return cancelIterators(this.iterators, consumerTag, (tag) => this.basicCancel(tag));
  }

  /** @internal An iterator ended: forget it. */
  forget(iterator: ConsumeIterator): void {
    if (this.iterators.get(iterator.consumerTag) === iterator) this.iterators.delete(iterator.consumerTag);
  }

  // ---- rpc over direct reply-to ------------------------------------------------------------

  /**
   * Publishes a request with `replyTo: 'amq.rabbitmq.reply-to'` and a
   * correlation id, and resolves to the reply (RabbitMQ's direct reply-to,
   * consumed with auto-ack on this channel from the first call on). Many
   * calls may be in flight at once. Rejects with an RpcTimeoutError after
   * `timeout` seconds, with the signal's reason when `signal` aborts, with
   * an UnroutableError when no queue takes the request (no responder), or
   * with the close reason. Replies are at-most-once: one that comes late is
   * dropped and counted in {@link lateReplies}.
   */
  rpc(exchange: string, routingKey: string, body: Buffer | Uint8Array | string, options?: RpcOptions): Promise<Message> {
    this.watchReturns();
    this.rpcClient ??= new DirectReplyClient(this.channel, this.connection.ioloop);
    return this.rpcClient.call(exchange, routingKey, body, options);
  }

  /**
   * The responder's side of {@link rpc}: publishes `body` to the request's
   * `replyTo` (through the default exchange) with its `correlationId`.
   * Rejects with InvalidArgumentError when the request has no `replyTo`.
   */
  reply(request: Message, body: Buffer | Uint8Array | string, properties?: spec.BasicPropertiesInit): Promise<void> {
    const { replyTo, correlationId } = request.properties;
    if (replyTo === undefined) return rejection(new InvalidArgumentError('reply: the request has no replyTo property'));
    return this.basicPublish('', replyTo, body, { ...properties, correlationId });
  }

  // ---- confirms, transactions, flow ---------------------------------------------------------

  /**
   * Turns on publisher confirms: from now on each basicPublish resolves on
   * the broker's ack (see {@link basicPublish}).
   */
  confirmDelivery(options?: NoWaitOptions): Promise<spec.Confirm.SelectOk> {
    const confirms = new PendingConfirms(this.channel.channelNumber);
    const promise = this.call<spec.Confirm.SelectOk>((done) => this.channel.confirmDelivery(this.onAckNack, options, done));
    // The engine is in confirm mode from the call on: so are publishes made without awaiting this.
    if (this.channel.nextPublishSeqNo > 0 && this.confirms === null) {
      this.confirms = confirms;
      this.watchReturns();
    }
    return promise;
  }

  /**
   * Confirm mode: resolves once every publish made so far was answered;
   * rejects with the first NackError, or the close reason.
   */
  waitForConfirms(): Promise<void> {
    return this.call<void>((done) => this.channel.waitForConfirms(done));
  }

  /** Starts a transaction. */
  txSelect(): Promise<spec.Tx.SelectOk> {
    return this.call((done) => this.channel.txSelect(done));
  }

  /** Commits the transaction. */
  txCommit(): Promise<spec.Tx.CommitOk> {
    return this.call((done) => this.channel.txCommit(done));
  }

  /** Rolls the transaction back. */
  txRollback(): Promise<spec.Tx.RollbackOk> {
    return this.call((done) => this.channel.txRollback(done));
  }

  /** Asks the broker to pause or resume deliveries (RabbitMQ refuses `false`: see Channel.flow). */
  flow(active: boolean): Promise<spec.Channel.FlowOk> {
    return this.call((done) => this.channel.flow(active, done));
  }

  // ---- close --------------------------------------------------------------------------------

  /**
   * Closes the channel (its consumers are cancelled first); resolves on
   * close-ok. consume() iterators then throw the close reason, and
   * confirm publishes still unanswered reject with it.
   */
  close(replyCode?: number, replyText?: string): Promise<void> {
    return this.call<void>((done) => {
      this.channel.close(replyCode, replyText, (err) => done(err));
      this.closeRequested = true;
    });
  }

  /** `await using channel = await connection.channel()`: closes it unless it is closed or closing already (then waits for that). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.channel.isClosing || this.channel.isClosed) {
      await this.closedPromise;
      return;
    }
    await this.close();
  }

  // ---- plumbing -------------------------------------------------------------------------------

  /** A callback call as a promise; notes the error it failed with (see onClosed). */
  private call<T>(start: (done: Completion<T>) => void): Promise<T> {
    return fromCallback<T>((done) =>
      start((err, result) => {
        if (err !== null) this.lastFailure = err;
        done(err, result);
      }),
    );
  }

  /** A call answered by nothing (acks): resolved at once, or rejected with what it threw. */
  private now(send: () => void): Promise<void> {
    try {
      send();
      return RESOLVED;
    } catch (err) {
      return rejection(err);
    }
  }

  /** The one ack/nack callback of confirm mode. */
  private readonly onAckNack: OnAckNack = (_ch, method) => {
    this.confirms?.answered(method.deliveryTag, method.multiple, method instanceof spec.Basic.Nack);
  };

  /** Returns matter to confirm publishes and rpc: watched from the first of those on. */
  private watchReturns(): void {
    if (this.returnsWatched) return;
    this.returnsWatched = true;
    this.channel.addOnReturnCallback(this.onReturn);
  }

  private readonly onReturn: OnReturn = (_ch, method, properties, body) => {
    if (this.rpcClient?.returned(method, properties) === true) return;
    if (this.confirms?.returned(method.exchange, method.routingKey, body, `${method.replyCode} ${method.replyText}`) === true) return;
    // Nobody here expected it: the callback API's warning for a return nobody listens to.
    process.emitWarning(
      `channel ${this.channelNumber}: a message to ${JSON.stringify(method.exchange)}/${JSON.stringify(method.routingKey)} ` +
        `was returned (${method.replyCode} ${method.replyText}) and no confirm publish or rpc call expected it`,
      'ConeyWarning',
    );
  };

  private readonly onBrokerCancel = (_ch: Channel, method: spec.Basic.Cancel): void => {
    this.iterators.get(method.consumerTag)?.cancelledByBroker();
    this.rpcClient?.cancelled(method.consumerTag);
  };

  /**
   * @internal The connection was lost and recovers: buffered deliveries are
   * dropped (the broker redelivers them), and confirm publishes the engine
   * will not republish (`republish: false`) get `reason`.
   */
  connectionLost(reason: Error): void {
    for (const iterator of this.iterators.values()) iterator.connectionLost();
    this.confirms?.failAnsweredElsewhere(this.channel.unconfirmedDeliveryTags(), reason);
  }

  /** The channel closed: everything waiting hears why; a close nobody hears of is a warning, as in the callback API. */
  private onClosed(reason: Error): Error {
    let told = this.lastFailure === reason;
    if (this.confirms !== null && this.confirms.size > 0) {
      told = true;
      this.confirms.failAll(reason);
    }
    if (this.rpcClient !== null) {
      told ||= this.rpcClient.size > 0;
      this.rpcClient.fail(reason);
    }
    for (const iterator of [...this.iterators.values()]) {
      told = true;
      iterator.failed(reason);
    }
    this.iterators.clear();
    const asked = this.closeRequested || this.connection.closeRequested;
    const unasked = reason instanceof ChannelClosedByBroker || (reason instanceof ChannelClosedByClient && !asked);
    if (unasked && !told) {
      process.emitWarning(`channel ${this.channelNumber} was closed: ${reason.message} (no pending call was told)`, 'ConeyWarning');
    }
    return reason;
  }
}

/** A publish body as the bytes the engine sends (to match a return to its publish). */
function toBuffer(body: Buffer | Uint8Array | string): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}
