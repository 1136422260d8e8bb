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
  /**
   * Writes the call's frame(s), normally encoded when the call was made
   * (see frame-checks.ts). May throw (a frame encoded only now, found bad):
   * the call then completes with that error.
   */
  transmit(): void;
  /** The replies that complete it; null when no reply is awaited. */
  readonly replies: readonly MethodClass[] | null;
  /** Called once: with the reply, with null for a call that awaits none, or with an error. */
  complete(err: Error | null, reply?: AMQPMethod): void;
  /** True when an application callback learns of this call's failure (see {@link RpcQueue.failAll}). */
  readonly observed?: boolean;
  /**
   * Dropped, not held, when the connection is lost (see {@link RpcQueue.hold}):
   * an ack of a delivery the broker will redeliver, a step of a recovery
   * that the next recovery redoes.
   */
  readonly dropOnLoss?: boolean;
}

/** Orders the outgoing calls of one channel. */
export class RpcQueue {
  private waiting: RpcCall[] = [];
  private inFlight: RpcCall | null = null;
  /** The connection is recovering: every call waits (see {@link hold}). */
  private held = false;

  /** True when no call is waiting to be sent (one may still await its reply). */
  get nothingWaiting(): boolean {
    return this.waiting.length === 0 && !this.held;
  }

  /** Sends `call` now if order allows, otherwise queues it. */
  submit(call: RpcCall): void {
    if (this.nothingWaiting && (this.inFlight === null || call.replies === null)) this.send(call);
    else this.waiting.push(call);
  }

  /**
   * The connection was lost but will be recovered: the call in flight gets
   * `err` (its fate is unknown), calls marked `dropOnLoss` get it too, and
   * every other call waits, in order, until {@link release}.
   */
  hold(err: Error): void {
    this.held = true;
    const failed = this.inFlight === null ? [] : [this.inFlight];
    this.inFlight = null;
    const kept: RpcCall[] = [];
    for (const call of this.waiting) (call.dropOnLoss === true ? failed : kept).push(call);
    this.waiting = kept;
    for (const call of failed) call.complete(err);
  }

  /** The channel is back: sends `first` (what rebuilds it), then what was held. */
  release(first: RpcCall[]): void {
    this.held = false;
    this.waiting.unshift(...first);
    this.pump();
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
    while (this.waiting.length > 0 && !this.held) {
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
