/**
 * The per-channel queue of outgoing calls. A synchronous AMQP method waits
 * for its reply before the next synchronous method of the channel is sent
 * (pika's behaviour); asynchronous calls made after a queued one wait behind
 * it, so every call reaches the wire in the order it was made.
 * @packageDocumentation
 */
import type { AMQPMethod, MethodClass } from '../wire/spec';

/** One outgoing call. */
export interface RpcCall {
  /** Writes the call's frame(s). May throw (bad argument found while encoding). */
  transmit(): void;
  /** The replies that complete it; null when no reply is awaited. */
  readonly replies: readonly MethodClass[] | null;
  /** Called once: with the reply, with null for a call that awaits none, or with an error. */
  complete(err: Error | null, reply?: AMQPMethod): void;
  /** True when an application callback learns of this call's failure (see {@link RpcQueue.failAll}). */
  readonly observed?: boolean;
}

/** Orders the outgoing calls of one channel. */
export class RpcQueue {
  private readonly waiting: RpcCall[] = [];
  private inFlight: RpcCall | null = null;

  /** True when no call is waiting to be sent (one may still await its reply). */
  get nothingWaiting(): boolean {
    return this.waiting.length === 0;
  }

  /** Sends `call` now if order allows, otherwise queues it. */
  submit(call: RpcCall): void {
    if (this.waiting.length === 0 && (this.inFlight === null || call.replies === null)) this.send(call);
    else this.waiting.push(call);
  }

  /**
   * If `method` answers the call in flight, removes that call and returns it.
   * The caller completes it, then calls {@link pump}: the reply's callback
   * runs before later calls are sent (and before their own callbacks).
   */
  take(method: AMQPMethod): RpcCall | null {
    const call = this.inFlight;
    if (call === null || call.replies === null) return null;
    if (!call.replies.some((reply) => method instanceof reply)) return null;
    this.inFlight = null;
    return call;
  }

  /** Sends the waiting calls that order now allows (up to the next synchronous one). */
  pump(): void {
    while (this.waiting.length > 0) {
      if (this.inFlight !== null && this.waiting[0].replies !== null) return;
      this.send(this.waiting.shift()!);
    }
  }

  /** Fails every call, in flight and waiting, with `err`; true when an application callback was among them. */
  failAll(err: Error): boolean {
    const calls = this.inFlight === null ? [] : [this.inFlight];
    this.inFlight = null;
    calls.push(...this.waiting.splice(0));
    for (const call of calls) call.complete(err);
    return calls.some((call) => call.observed === true);
  }

  private send(call: RpcCall): void {
    try {
      call.transmit();
    } catch (err) {
      call.complete(err as Error);
      return;
    }
    if (call.replies === null) call.complete(null);
    else this.inFlight = call;
  }
}
