/**
 * {@link DirectReplyClient}: request/reply over RabbitMQ's direct reply-to
 * (`amq.rabbitmq.reply-to`) for one promise-API channel.
 *
 * The pseudo-queue is consumed once, lazily, with auto-ack on the channel
 * that publishes the requests (RabbitMQ requires both). Many calls may be in
 * flight: each request carries a correlation id of its own and its reply is
 * matched by it. Replies are at-most-once: a reply that comes after its
 * call timed out or was aborted (or after a connection loss, which loses the
 * replies in flight) is dropped and counted, never redelivered.
 *
 * Requests go out mandatory: one no queue takes (no responder bound) comes
 * back at once as an UnroutableError instead of waiting for the timeout.
 * @packageDocumentation
 */
import { RpcTimeoutError, UnroutableError } from '../errors';
import type { Channel } from '../engine/channel';
import type { IOLoop, TimerHandle } from '../engine/ioloop';
import type * as spec from '../wire/spec';
import { Message } from './message';
import { Deferred, rejection } from './settle';

/** The pseudo-queue of direct reply-to. */
export const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

/**
 * Options of `AsyncChannel.rpc`.
 * @category Promise API
 */
export interface RpcOptions {
  /** Properties of the request; `replyTo` and `correlationId` are set by rpc (a given correlationId is kept). */
  properties?: spec.BasicPropertiesInit;
  /** Seconds to wait for the reply before rejecting with an RpcTimeoutError (default: no limit). */
  timeout?: number;
  /** Aborting it rejects the call with the signal's reason; a reply after that is dropped. */
  signal?: AbortSignal;
}

/** One call waiting for its reply. */
class PendingCall extends Deferred<Message> {
  timer: TimerHandle | null = null;
  onAbort: (() => void) | null = null;
  signal: AbortSignal | undefined = undefined;
}

/** The calls in flight on one channel. */
export class DirectReplyClient {
  private readonly calls = new Map<string, PendingCall>();
  /** The reply consumer's tag once consuming; null before, and after the channel or broker ended it. */
  private replyTag: string | null = null;
  private counter = 0;
  /** A random prefix: correlation ids of two clients on one responder never collide. */
  private readonly prefix = `rpc.${Math.random().toString(36).slice(2, 10)}.`;
  /** Replies that matched no call in flight (late, after a timeout or an abort), dropped. */
  lateReplies = 0;

  constructor(
    private readonly channel: Channel,
    private readonly ioloop: IOLoop,
  ) {}

  /** Calls in flight. */
  get size(): number {
    return this.calls.size;
  }

  /** Publishes a request and resolves to its reply. */
  call(exchange: string, routingKey: string, body: Buffer | Uint8Array | string, options: RpcOptions = {}): Promise<Message> {
    const { signal, timeout } = options;
    if (signal?.aborted === true) return rejection(signal.reason);
    if (timeout !== undefined && !(timeout >= 0)) return rejection(new RangeError(`rpc: timeout must be a number of seconds >= 0, got ${timeout}`));
    const correlationId = options.properties?.correlationId ?? `${this.prefix}${++this.counter}`;
    if (this.calls.has(correlationId)) return rejection(new RangeError(`rpc: correlationId ${JSON.stringify(correlationId)} is already in flight`));
    try {
      this.startConsuming();
      // The consume goes out first and is answered before this publish (the channel keeps the order).
      this.channel.basicPublish(exchange, routingKey, body, { ...options.properties, correlationId, replyTo: DIRECT_REPLY_TO }, true);
    } catch (err) {
      return rejection(err);
    }
    const call = new PendingCall();
    this.calls.set(correlationId, call);
    if (timeout !== undefined) {
      call.timer = this.ioloop.callLater(timeout, () => {
        call.timer = null;
        this.settle(correlationId, new RpcTimeoutError(`rpc to ${describe(exchange, routingKey)}: no reply within ${timeout} s`));
      });
    }
    if (signal !== undefined) {
      call.signal = signal;
      call.onAbort = () => this.settle(correlationId, signal.reason);
      signal.addEventListener('abort', call.onAbort, { once: true });
    }
    return call.promise;
  }

  /**
   * @internal A message came back (`basic.return`); true when it was one of
   * our requests (no queue took it: no responder).
   */
  returned(method: spec.Basic.Return, properties: spec.BasicProperties): boolean {
    const id = properties.correlationId;
    // The broker has already rewritten replyTo into this channel's own address (amq.rabbitmq.reply-to.<...>).
    if (properties.replyTo?.startsWith(DIRECT_REPLY_TO) !== true || id === undefined || !this.calls.has(id)) return false;
    const text = `rpc to ${describe(method.exchange, method.routingKey)} was returned: ${method.replyCode} ${method.replyText} (no queue, so no responder, takes it)`;
    this.settle(id, new UnroutableError(text));
    return true;
  }

  /** @internal The broker cancelled consumer `tag`: if it was ours, the next call consumes again. */
  cancelled(tag: string): void {
    if (tag === this.replyTag) this.replyTag = null;
  }

  /** @internal The channel closed: every call in flight gets `reason`. */
  fail(reason: Error): void {
    this.replyTag = null;
    for (const id of [...this.calls.keys()]) this.settle(id, reason);
  }

  /** The reply consumer's onMessage. */
  private readonly onReply = (channel: Channel, method: spec.Basic.Deliver, properties: spec.BasicProperties, body: Buffer): void => {
    const id = properties.correlationId;
    if (id === undefined || !this.calls.has(id)) {
      this.lateReplies += 1;
      return;
    }
    this.settle(id, null, new Message(channel, method, properties, body));
  };

  private startConsuming(): void {
    if (this.replyTag !== null) return;
    // No callback: a refused consume closes the channel, and fail() tells every call.
    this.replyTag = this.channel.basicConsume(DIRECT_REPLY_TO, this.onReply, { autoAck: true });
  }

  private settle(id: string, err: unknown, reply?: Message): void {
    const call = this.calls.get(id);
    if (call === undefined) return;
    this.calls.delete(id);
    if (call.timer !== null) this.ioloop.removeTimeout(call.timer);
    if (call.onAbort !== null) call.signal!.removeEventListener('abort', call.onAbort);
    if (reply !== undefined) call.resolve(reply);
    else call.reject(err);
  }
}

/** "exchange "x", routing key "k"" for messages. */
function describe(exchange: string, routingKey: string): string {
  return `exchange ${JSON.stringify(exchange)}, routing key ${JSON.stringify(routingKey)}`;
}
