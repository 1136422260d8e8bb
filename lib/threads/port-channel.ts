/**
 * {@link PortChannel}: in a worker thread, a channel of a connection that
 * lives on another thread, reached through a MessagePort (rabbitpy's model:
 * one connection, a channel per thread). It has the promise API's
 * AsyncChannel surface; every call becomes a request in the port's next
 * batch, and its promise settles from the host's answer. Made by
 * {@link channelFromPort}.
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import { ChannelWrongStateError, InvalidArgumentError } from '../errors';
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
import type { ConsumeIteratorOptions } from '../promise/async-channel';
import type { RpcOptions } from '../promise/direct-reply';
import { packArgs } from '../promise/port-args';
import { bodyAt, bodyLength } from '../promise/port-bodies';
import { encodeProperties } from '../promise/port-properties';
import { DELIVERY_FIELDS, FLAG_1, FLAG_PROPS, Req, type PortValue, type RecordItem } from '../promise/port-protocol';
import type { Reporter } from '../promise/report';
import { Deferred, rejection } from '../promise/settle';
import * as spec from '../wire/spec';
import { cancelIterators, inactivityTimeoutError } from '../promise/buffered-consumer';
import { PortConsumeIterator } from './port-consume-iterator';
import type { LinkEvents, PortLink } from './port-link';
import { PortMessage } from './port-message';

/** A consumer of basicConsume (handler style). */
interface Handler {
  readonly onMessage: (message: PortMessage) => unknown;
}

/**
 * A channel used from a worker thread: the methods of the promise API's
 * AsyncChannel, with the same names, arguments and results (the messages
 * are {@link PortMessage}s). Calls on a closed channel reject with
 * ChannelWrongStateError, bad arguments with InvalidArgumentError; errors
 * keep their classes across the thread boundary.
 * @category Threads
 */
export class PortChannel {
  private readonly iterators = new Map<string, PortConsumeIterator>();
  private readonly handlers = new Map<string, Handler>();
  private state: 'open' | 'closing' | 'closed' = 'open';
  private confirmMode = false;
  private publishSeqNo = 0;
  private readonly tagPrefix = `ctag-port-${randomUUID()}.`;
  private tagCount = 0;
  private readonly ended = new Deferred<Error>();

  /** @internal Made by channelFromPort once the host said the channel is open. */
  constructor(
    /** @internal The worker's end of the port. */
    readonly link: PortLink,
    /** The channel number (on the connection's thread). */
    readonly channelNumber: number,
    private readonly report: Reporter,
  ) {
    const events: LinkEvents = {
      deliver: (item, nums, strings, arena) => this.deliverAll(item, nums, strings, arena),
      cancelled: (tag) => this.cancelled(tag),
      closed: (reason) => this.closed(reason),
      unobserved: (err) => this.report(err),
    };
    link.attach(events);
  }

  // ---- state ------------------------------------------------------------------------

  /** True while open. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** True while closing. */
  get isClosing(): boolean {
    return this.state === 'closing';
  }

  /** True once closed. */
  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** The tags of the channel's consumers (consume() iterators and basicConsume handlers). */
  get consumerTags(): string[] {
    return [...this.iterators.keys(), ...this.handlers.keys()];
  }

  /** Confirm mode: the sequence number the next publish gets (0 outside confirm mode). */
  get nextPublishSeqNo(): number {
    return this.confirmMode ? this.publishSeqNo : 0;
  }

  // ---- exchanges and queues -----------------------------------------------------------

  /** Declares an exchange; resolves to its `exchange.declare-ok`. */
  exchangeDeclare(exchange: string, options?: ExchangeDeclareOptions): Promise<spec.Exchange.DeclareOk> {
    return this.call('exchangeDeclare', [exchange, options]);
  }

  /** Deletes an exchange. */
  exchangeDelete(exchange: string, options?: ExchangeDeleteOptions): Promise<spec.Exchange.DeleteOk> {
    return this.call('exchangeDelete', [exchange, options]);
  }

  /** Binds an exchange to an exchange. */
  exchangeBind(destination: string, source: string, routingKey?: string, options?: BindOptions): Promise<spec.Exchange.BindOk> {
    return this.call('exchangeBind', [destination, source, routingKey, options]);
  }

  /** Removes an exchange-to-exchange binding. */
  exchangeUnbind(destination: string, source: string, routingKey?: string, options?: BindOptions): Promise<spec.Exchange.UnbindOk> {
    return this.call('exchangeUnbind', [destination, source, routingKey, options]);
  }

  /** Declares a queue ('' lets the broker name it: see `ok.queue`). */
  queueDeclare(queue?: string, options?: QueueDeclareOptions): Promise<spec.Queue.DeclareOk> {
    return this.call('queueDeclare', [queue, options]);
  }

  /** Binds a queue to an exchange; the routing key defaults to the queue name. */
  queueBind(queue: string, exchange: string, routingKey?: string, options?: BindOptions): Promise<spec.Queue.BindOk> {
    return this.call('queueBind', [queue, exchange, routingKey, options]);
  }

  /** Removes a queue binding. */
  queueUnbind(queue: string, exchange: string, routingKey?: string, options?: UnbindOptions): Promise<spec.Queue.UnbindOk> {
    return this.call('queueUnbind', [queue, exchange, routingKey, options]);
  }

  /** Removes a queue's ready messages; `ok.messageCount` says how many. */
  queuePurge(queue: string, options?: NoWaitOptions): Promise<spec.Queue.PurgeOk> {
    return this.call('queuePurge', [queue, options]);
  }

  /** Deletes a queue; `ok.messageCount` says how many messages went with it. */
  queueDelete(queue: string, options?: QueueDeleteOptions): Promise<spec.Queue.DeleteOk> {
    return this.call('queueDelete', [queue, options]);
  }

  // ---- basic ------------------------------------------------------------------------------

  /** Sets the prefetch window (`basic.qos`); a prefetch count set here is the bound of consume()'s buffer. */
  basicQos(options?: QosOptions): Promise<spec.Basic.QosOk> {
    return this.call('basicQos', [options]);
  }

  /**
   * Starts a consumer whose messages go to `onMessage` (handler style);
   * resolves to the consumer tag once the broker accepted it. What
   * `onMessage` throws or rejects with goes to channelFromPort's
   * `onCallbackError` (by default a `ConeyWarning`).
   */
  basicConsume(queue: string, onMessage: (message: PortMessage) => unknown, options: ConsumeOptions = {}): Promise<string> {
    if (typeof onMessage !== 'function') return rejection(new InvalidArgumentError('basicConsume: onMessage must be a function'));
    const tag = this.tagFor(options);
    if (this.iterators.has(tag) || this.handlers.has(tag))
      return rejection(new InvalidArgumentError(`basicConsume: consumer tag ${JSON.stringify(tag)} is in use`));
    const started = this.startConsumer(queue, tag, options);
    if (this.link.closed) return started;
    this.handlers.set(tag, { onMessage });
    this.link.holdConsumer(true);
    return started.then(
      () => tag,
      (err: unknown) => {
        this.dropHandler(tag);
        throw err;
      },
    );
  }

  /** Cancels a consumer; a consume() iterator with this tag ends as {@link cancel} ends it. */
  basicCancel(consumerTag: string): Promise<spec.Basic.CancelOk> {
    const iterator = this.iterators.get(consumerTag);
    if (iterator !== undefined) return iterator.end().then(() => new spec.Basic.CancelOk({ consumerTag }));
    return this.link.request<spec.Basic.CancelOk>(
      (id) => [Req.Cancel, id, consumerTag],
      (v) => {
        this.dropHandler(consumerTag);
        return decodeMethod(v) as spec.Basic.CancelOk;
      },
    );
  }

  /**
   * Publishes a message, as AsyncChannel.basicPublish: outside confirm mode
   * it resolves at once while fewer than 2048 publishes (2 MiB) wait to be
   * written by the connection's thread, else once they were (the port's
   * backpressure); in confirm mode on the broker's ack, or rejects with
   * NackError, UnroutableError or the close reason.
   *
   * The body is copied once, into the batch that crosses to the
   * connection's thread at the end of this loop turn: do not modify a
   * Buffer until then.
   */
  basicPublish(
    exchange: string,
    routingKey: string,
    body: Buffer | Uint8Array | string,
    properties?: spec.BasicPropertiesInit,
    mandatory = false,
  ): Promise<void> {
    if (this.link.closed) return rejection(this.link.wrongState());
    let encoded;
    try {
      checkPublish(exchange, routingKey, body, mandatory);
      encoded = encodeProperties(properties);
    } catch (err) {
      return rejection(err);
    }
    const length = bodyLength(body);
    const offset = this.link.out.bodies.add(body, length);
    if (!this.confirmMode) return this.link.publish(exchange, routingKey, offset, length, encoded, mandatory);
    this.publishSeqNo += 1;
    return this.link.request((id) => [Req.Publish, id, exchange, routingKey, offset, length, encoded, mandatory], ignoreValue);
  }

  /** Fetches one message; resolves to it, or to null when the queue was empty. */
  basicGet(queue: string, options?: GetOptions): Promise<PortMessage | null> {
    return this.link.request<PortMessage | null>((id) => [Req.Get, id, queue, (options ?? {}) as Record<string, unknown>], this.decodeMessage);
  }

  /** Acknowledges a delivery (resolves at once: AMQP does not answer acks). */
  basicAck(deliveryTag = 0, multiple = false): Promise<void> {
    return this.link.ack(deliveryTag, multiple);
  }

  /** Rejects one or more deliveries (`basic.nack`). */
  basicNack(deliveryTag = 0, multiple = false, requeue = true): Promise<void> {
    return this.link.send([Req.Nack, deliveryTag, multiple, requeue]);
  }

  /** Rejects one delivery (`basic.reject`). */
  basicReject(deliveryTag: number, requeue = true): Promise<void> {
    return this.link.send([Req.Reject, deliveryTag, requeue]);
  }

  /** Asks the broker to redeliver the unacknowledged messages. */
  basicRecover(requeue = true): Promise<spec.Basic.RecoverOk> {
    return this.call('basicRecover', [requeue]);
  }

  // ---- consume() --------------------------------------------------------------------------

  /**
   * Consumes `queue` as an async iterator of {@link PortMessage}, as
   * AsyncChannel.consume: bounded by the prefetch (100 unless basicQos set
   * one), `null` after `inactivityTimeout` seconds without a message,
   * breaking out (or `signal`, or {@link cancel}) cancels the consumer and
   * requeues what was buffered; throws on a broker cancel or a channel close.
   */
  consume(queue: string, options: ConsumeIteratorOptions = {}): PortConsumeIterator {
    const { inactivityTimeout, signal, ...consumeOptions } = options;
    const tag = this.tagFor(consumeOptions);
    const iterator = new PortConsumeIterator(this, queue, tag, consumeOptions.autoAck ?? false, inactivityTimeout, signal);
    const badTimeout = inactivityTimeoutError(inactivityTimeout);
    if (badTimeout !== null) {
      iterator.failed(badTimeout);
      return iterator;
    }
    if (this.iterators.has(tag) || this.handlers.has(tag)) {
      iterator.failed(new InvalidArgumentError(`consume: consumer tag ${JSON.stringify(tag)} is in use`));
      return iterator;
    }
    if (this.link.closed) {
      iterator.failed(this.link.wrongState());
      return iterator;
    }
    this.iterators.set(tag, iterator);
    this.link.holdConsumer(true);
    this.startConsumer(queue, tag, consumeOptions).then(undefined, (err: Error) => iterator.failed(err));
    if (signal?.aborted === true) void iterator.end();
    return iterator;
  }

  /**
   * Ends this channel's consume() iterators (or only the one with
   * `consumerTag`); resolves to the number of buffered messages requeued.
   */
  cancel(consumerTag?: string): Promise<number> {
    return cancelIterators(this.iterators, consumerTag, (tag) => this.basicCancel(tag));
  }

  /** @internal Sends basic.cancel for an iterator; resolves once answered (or the channel closed), then forgets it. */
  cancelConsumer(tag: string): Promise<void> {
    const iterator = this.iterators.get(tag);
    const done = (): void => {
      if (iterator !== undefined) this.forget(iterator);
    };
    return this.link.request<void>((id) => [Req.Cancel, id, tag], ignoreValue).then(done, done);
  }

  /** @internal An iterator's consumer is gone. */
  forget(iterator: PortConsumeIterator): void {
    if (this.iterators.get(iterator.consumerTag) !== iterator) return;
    this.iterators.delete(iterator.consumerTag);
    this.link.holdConsumer(false);
  }

  // ---- rpc over direct reply-to ------------------------------------------------------------

  /**
   * As AsyncChannel.rpc: publishes a request over direct reply-to and
   * resolves to the reply; rejects with RpcTimeoutError after `timeout`
   * seconds, with the signal's reason when `signal` aborts, with
   * UnroutableError, or with the close reason.
   */
  rpc(exchange: string, routingKey: string, body: Buffer | Uint8Array | string, options: RpcOptions = {}): Promise<PortMessage> {
    const { signal, timeout, properties } = options;
    if (signal?.aborted === true) return rejection(signal.reason);
    let encoded;
    try {
      checkPublish(exchange, routingKey, body, false);
      encoded = encodeProperties(properties);
    } catch (err) {
      return rejection(err);
    }
    const length = bodyLength(body);
    const offset = this.link.out.bodies.add(body, length);
    let sent = 0;
    const promise = this.link.request<PortMessage>(
      (id) => {
        sent = id;
        return [Req.Rpc, id, exchange, routingKey, offset, length, encoded, timeout];
      },
      this.decodeMessage as (v: PortValue, arena: Buffer) => PortMessage,
    );
    if (signal !== undefined && sent > 0) {
      const onAbort = (): void => {
        this.link.abandon(sent, signal.reason);
        void this.link.send([Req.Abort, sent]);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const remove = (): void => signal.removeEventListener('abort', onAbort);
      promise.then(remove, remove);
    }
    return promise;
  }

  /** The responder's side of {@link rpc}: publishes `body` to the request's `replyTo` with its `correlationId`. */
  reply(request: PortMessage, body: Buffer | Uint8Array | string, properties?: spec.BasicPropertiesInit): Promise<void> {
    const { replyTo, correlationId } = request.properties;
    if (replyTo === undefined) return rejection(new InvalidArgumentError('reply: the request has no replyTo property'));
    return this.basicPublish('', replyTo, body, { ...properties, correlationId });
  }

  // ---- confirms, transactions, flow -----------------------------------------------------------

  /** Turns on publisher confirms: from now on each basicPublish resolves on the broker's ack. */
  confirmDelivery(options?: NoWaitOptions): Promise<spec.Confirm.SelectOk> {
    const promise = this.call<spec.Confirm.SelectOk>('confirmDelivery', [options]);
    // As on the connection's thread: confirm mode from the call on (the host carries calls out in order).
    if (!this.link.closed && !this.confirmMode) {
      this.confirmMode = true;
      this.publishSeqNo = 1;
    }
    return promise;
  }

  /** Confirm mode: resolves once every publish made so far was answered; rejects with the first NackError. */
  waitForConfirms(): Promise<void> {
    return this.call('waitForConfirms', []);
  }

  /** Starts a transaction. */
  txSelect(): Promise<spec.Tx.SelectOk> {
    return this.call('txSelect', []);
  }

  /** Commits the transaction. */
  txCommit(): Promise<spec.Tx.CommitOk> {
    return this.call('txCommit', []);
  }

  /** Rolls the transaction back. */
  txRollback(): Promise<spec.Tx.RollbackOk> {
    return this.call('txRollback', []);
  }

  /** Asks the broker to pause or resume deliveries. */
  flow(active: boolean): Promise<spec.Channel.FlowOk> {
    return this.call('flow', [active]);
  }

  // ---- close --------------------------------------------------------------------------------------

  /** Closes the channel; resolves on close-ok. consume() iterators then throw the close reason. */
  close(replyCode?: number, replyText?: string): Promise<void> {
    if (this.state !== 'open') return rejection(new ChannelWrongStateError(`channel ${this.channelNumber} is ${this.state}`));
    const promise = this.call<void>('close', [replyCode, replyText]);
    this.state = 'closing';
    return promise;
  }

  /** `await using channel = await channelFromPort(port)`: closes it unless closed or closing already (then waits for that). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.state !== 'open') {
      await this.ended.promise;
      return;
    }
    await this.close();
  }

  // ---- plumbing ---------------------------------------------------------------------------------------

  private call<T>(method: string, args: unknown[]): Promise<T> {
    let packed: unknown[];
    try {
      packed = packArgs(args);
      // A value the structured clone refuses would lose the whole batch: refused here, for this call only.
      structuredClone(packed);
    } catch (err) {
      return rejection(err instanceof Error && err.name === 'DataCloneError' ? new InvalidArgumentError(`${method}: ${err.message}`) : err);
    }
    return this.link.request<T>((id) => [Req.Call, id, method, packed], decodeMethod as (v: PortValue) => T);
  }

  private startConsumer(queue: string, tag: string, options: ConsumeOptions): Promise<string> {
    let packed: Record<string, unknown>;
    try {
      packed = packArgs([{ ...options, consumerTag: tag }])[0] as Record<string, unknown>;
      structuredClone(packed);
    } catch (err) {
      return rejection(err instanceof Error && err.name === 'DataCloneError' ? new InvalidArgumentError(`consume: ${err.message}`) : err);
    }
    return this.link.request<string>(
      (id) => [Req.Consume, id, queue, packed],
      (v) => (v as { plain: string }).plain,
    );
  }

  /** The tag of a new consumer: the one given, or one made here (so that deliveries find their consumer from the first). */
  private tagFor(options: ConsumeOptions): string {
    if (typeof options.consumerTag === 'string' && options.consumerTag !== '') return options.consumerTag;
    this.tagCount += 1;
    return `${this.tagPrefix}${this.tagCount}`;
  }

  private readonly decodeMessage = (v: PortValue, arena: Buffer): PortMessage | null => {
    if (!('message' in v)) return null;
    const m = v.message;
    return PortMessage.fromEncoded(this.link, m, bodyAt(arena, m[7], m[8]));
  };

  /** A record item of deliveries (see port-protocol.ts): each to its consumer. */
  private deliverAll(item: RecordItem, nums: Float64Array, strings: string[], arena: Buffer): void {
    const [, first, count, properties] = item;
    let props = 0;
    for (let i = 0, at = first; i < count; i++, at += DELIVERY_FIELDS) {
      const flags = nums[at + 1];
      const message = new PortMessage(
        this.link,
        nums[at],
        (flags & FLAG_1) !== 0,
        strings[nums[at + 3]],
        strings[nums[at + 4]],
        strings[nums[at + 2]],
        undefined,
        (flags & FLAG_PROPS) !== 0 ? properties[props++] : null,
        bodyAt(arena, nums[at + 5], nums[at + 6]),
      );
      this.deliver(message);
    }
  }

  private deliver(message: PortMessage): void {
    const tag = message.consumerTag!;
    const iterator = this.iterators.get(tag);
    if (iterator !== undefined) return iterator.deliver(message);
    const handler = this.handlers.get(tag);
    if (handler === undefined) return; // an iterator's, after it ended: it was handed back already
    try {
      const result = handler.onMessage(message);
      if (result instanceof Promise) result.then(undefined, this.report);
    } catch (err) {
      this.report(err);
    }
  }

  private cancelled(tag: string): void {
    this.iterators.get(tag)?.cancelledByBroker();
    this.dropHandler(tag);
  }

  private dropHandler(tag: string): void {
    if (this.handlers.delete(tag)) this.link.holdConsumer(false);
  }

  private closed(reason: Error): void {
    this.state = 'closed';
    for (const iterator of [...this.iterators.values()]) {
      iterator.failed(reason);
      this.forget(iterator);
    }
    for (const tag of [...this.handlers.keys()]) this.dropHandler(tag);
    this.ended.resolve(reason);
  }
}

/** A call's value: the AMQP method rebuilt as its class, or the plain value. */
function decodeMethod(v: PortValue): unknown {
  if ('method' in v) {
    const cls = spec.METHODS_BY_INDEX.get(v.method)!;
    return new (cls as unknown as new (init: Record<string, unknown>) => unknown)(v.fields);
  }
  return 'plain' in v ? v.plain : undefined;
}

function ignoreValue(): undefined {
  return undefined;
}

/** The checks a publish needs before it is queued (the rest are the connection's thread's, which answer in confirm mode). */
function checkPublish(exchange: unknown, routingKey: unknown, body: unknown, mandatory: unknown): void {
  if (typeof exchange !== 'string') throw new InvalidArgumentError(`basicPublish: exchange must be a string, got ${typeof exchange}`);
  if (typeof routingKey !== 'string') throw new InvalidArgumentError(`basicPublish: routingKey must be a string, got ${typeof routingKey}`);
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw new InvalidArgumentError(`basicPublish: body must be a Buffer, a Uint8Array or a string, got ${body === null ? 'null' : typeof body}`);
  }
  if (typeof mandatory !== 'boolean') throw new InvalidArgumentError(`basicPublish: mandatory must be a boolean, got ${typeof mandatory}`);
}
