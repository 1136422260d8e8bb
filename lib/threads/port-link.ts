/**
 * {@link PortLink}: the worker's end of a channel port (see
 * lib/promise/port-protocol.ts): requests go out in one batch per loop
 * turn, each call's promise waits for its result by id, and the events of
 * the host (deliveries, the channel's end) go to the channel.
 *
 * It also decides whether the port keeps the worker alive: only while
 * something waits on it (a call, a consumer, publishes not yet written).
 * An idle worker may exit, and then its channel closes on the host's side.
 * @packageDocumentation
 */
import type { MessagePort } from 'node:worker_threads';
import { AMQPChannelError, ChannelWrongStateError } from '../errors';
import { arenaOf, numsOf } from '../promise/port-bodies';
import type { PortProperties } from '../promise/port-properties';
import { reviveError } from '../promise/port-errors';
import { PortOutbox } from '../promise/port-outbox';
import {
  ACK_FIELDS,
  Ev,
  FLAG_1,
  FLAG_PROPS,
  PUBLISH_FIELDS,
  Req,
  PUBLISH_WINDOW,
  PUBLISH_WINDOW_BYTES,
  type PortBatch,
  type PortEvent,
  type PortRequest,
  type RecordItem,
  type PortValue,
} from '../promise/port-protocol';
import { Deferred, rejection, RESOLVED } from '../promise/settle';

/** What the link hands to its channel. */
export interface LinkEvents {
  /** Deliveries: `count` records at `first` in `nums` (see port-protocol.ts), bodies in `arena`. */
  deliver(item: RecordItem, nums: Float64Array, strings: string[], arena: Buffer): void;
  /** The broker cancelled a consumer. */
  cancelled(consumerTag: string): void;
  /** The channel closed (every pending call was rejected with `reason` just before). */
  closed(reason: Error): void;
  /** Something failed that no promise waits for. */
  unobserved(err: Error): void;
}

/** Decodes a call's result (a message's body is in `arena`). */
export type Decode<T> = (value: PortValue, arena: Buffer) => T;

interface Pending {
  readonly deferred: Deferred<unknown>;
  readonly decode: Decode<unknown>;
}

/** The worker's end of one channel port. */
export class PortLink {
  /** The requests of this turn. */
  readonly out: PortOutbox<PortRequest>;
  /** Resolves to the channel number once the host said it is ready. */
  readonly ready = new Deferred<number>();
  /** Set once the channel closed. */
  closedReason: Error | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Publishes outside confirm mode not yet written by the host, and their body sizes in order. */
  private unwritten = 0;
  private unwrittenBytes = 0;
  private sizes: number[] = [];
  private sizesHead = 0;
  /** The publishers waiting for the window to have room again. */
  private room: Deferred<void> | null = null;
  /** Consumers open on the channel: each keeps the worker alive, as a consuming socket does. */
  private consumers = 0;
  private refd = true;
  /** The host has not said ready yet: channelFromPort waits. */
  private waitingReady = true;
  private events: LinkEvents | null = null;

  constructor(private readonly port: MessagePort) {
    this.out = new PortOutbox<PortRequest>(port, (err, items) => this.postFailed(err, items), PUBLISH_WINDOW / 2);
    port.on('message', this.onBatch);
    port.on('close', this.onPortClosed);
    this.updateRef();
  }

  /** Attaches the channel that receives the events. */
  attach(events: LinkEvents): void {
    this.events = events;
  }

  /** True once the channel closed. */
  get closed(): boolean {
    return this.closedReason !== null;
  }

  /** Sends a request whose result `decode` turns into the promise's value. `build` gets the request's id. */
  request<T>(build: (id: number) => PortRequest, decode: Decode<T>): Promise<T> {
    if (this.closedReason !== null) return rejection(this.wrongState());
    const id = this.nextId++;
    const deferred = new Deferred<T>();
    this.pending.set(id, { deferred: deferred as Deferred<unknown>, decode });
    this.out.push(build(id));
    this.updateRef();
    return deferred.promise;
  }

  /** Gives up on request `id` (an rpc whose signal aborted): its promise rejects with `reason` now, its result is ignored. */
  abandon(id: number, reason: unknown): void {
    const pending = this.pending.get(id);
    if (pending === undefined) return;
    this.pending.delete(id);
    pending.deferred.reject(reason);
    this.updateRef();
  }

  /** Sends a request that has no result (acks). */
  send(item: PortRequest): Promise<void> {
    if (this.closedReason !== null) return rejection(this.wrongState());
    this.out.push(item);
    return RESOLVED;
  }

  /** An ack, nack or reject; rejects (at once) with ChannelWrongStateError on a closed channel. */
  ack(deliveryTag: number, multiple: boolean): Promise<void> {
    if (this.closedReason !== null) return rejection(this.wrongState());
    this.out.nums.push(deliveryTag, multiple ? 1 : 0);
    this.out.record(Req.Acks, null, ACK_FIELDS);
    return RESOLVED;
  }

  /**
   * A publish outside confirm mode (its body already added to the outbox):
   * resolves at once while the window has room, else once the host wrote
   * enough of the earlier ones. The window is the port channel's
   * backpressure.
   */
  publish(exchange: string, routingKey: string, offset: number, bytes: number, properties: PortProperties | null, mandatory: boolean): Promise<void> {
    this.unwritten += 1;
    this.unwrittenBytes += bytes;
    this.sizes.push(bytes);
    const out = this.out;
    out.nums.push(out.intern(exchange), out.intern(routingKey), offset, bytes, (mandatory ? FLAG_1 : 0) | (properties === null ? 0 : FLAG_PROPS));
    out.record(Req.Publishes, properties, PUBLISH_FIELDS);
    // Half a window of bytes goes out at once: the host writes it while this thread fills the other half.
    if (this.out.bodies.bytes >= PUBLISH_WINDOW_BYTES / 2) this.out.flush();
    if (this.unwritten === 1) this.updateRef();
    if (this.unwritten < PUBLISH_WINDOW && this.unwrittenBytes < PUBLISH_WINDOW_BYTES) return RESOLVED;
    this.room ??= new Deferred<void>();
    return this.room.promise;
  }

  /** A consumer started (true) or ended (false) on the channel. */
  holdConsumer(open: boolean): void {
    this.consumers += open ? 1 : -1;
    this.updateRef();
  }

  /** The error of a call on a closed channel. */
  wrongState(): Error {
    return new ChannelWrongStateError(`the channel is closed (${this.closedReason?.message ?? 'closed'})`);
  }

  private readonly onBatch = (batch: PortBatch<PortEvent>): void => {
    const arena = arenaOf(batch.bodies);
    const nums = numsOf(batch);
    for (const event of batch.items) {
      if (event[0] === Ev.Deliveries) this.events?.deliver(event, nums, batch.strings, arena);
      else this.onEvent(event, arena);
    }
  };

  private onEvent(e: Exclude<PortEvent, RecordItem>, arena: Buffer): void {
    switch (e[0]) {
      case Ev.Result:
        return this.settle(e[1], (p) => p.deferred.resolve(p.decode(e[2], arena)));
      case Ev.Error:
        return this.settle(e[1], (p) => p.deferred.reject(reviveError(e[2])));
      case Ev.Written:
        return this.written(e[1]);
      case Ev.Cancelled:
        return this.events?.cancelled(e[1]);
      case Ev.Ready:
        this.waitingReady = false;
        this.ready.resolve(e[1]);
        return this.updateRef();
      case Ev.Unobserved:
        return this.events?.unobserved(reviveError(e[1]));
      case Ev.Closed:
        return this.close(reviveError(e[1]));
    }
  }

  private settle(id: number, done: (p: Pending) => void): void {
    const pending = this.pending.get(id);
    if (pending === undefined) return; // abandoned
    this.pending.delete(id);
    try {
      done(pending);
    } catch (err) {
      // A result that does not decode: a bug on one side or the other, told to the caller.
      pending.deferred.reject(err);
    }
    if (this.pending.size === 0) this.updateRef();
  }

  private written(count: number): void {
    this.unwritten -= count;
    let bytes = 0;
    const end = this.sizesHead + count;
    for (let i = this.sizesHead; i < end; i++) bytes += this.sizes[i];
    this.sizesHead = end;
    if (this.sizesHead === this.sizes.length) {
      this.sizes = [];
      this.sizesHead = 0;
    }
    this.unwrittenBytes -= bytes;
    if (this.room !== null && this.unwritten < PUBLISH_WINDOW && this.unwrittenBytes < PUBLISH_WINDOW_BYTES) {
      const room = this.room;
      this.room = null;
      room.resolve();
    }
    if (this.unwritten === 0) this.updateRef();
  }

  /** The channel closed: every waiter hears why, the port closes. */
  private close(reason: Error): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.deferred.reject(reason);
    this.room?.reject(reason);
    this.room = null;
    this.ready.reject(reason);
    this.events?.closed(reason);
    this.port.close();
  }

  /** The port closed without a Closed event: the connection's thread ended (or the port was closed by hand). */
  private readonly onPortClosed = (): void => {
    this.close(new AMQPChannelError('the channel port closed: the thread that holds the connection ended or closed the port'));
  };

  /** A batch the structured clone refused (a value it cannot copy in some call's arguments): its calls fail. */
  private postFailed(err: unknown, items: Array<PortRequest | RecordItem>): void {
    const reason = new AMQPChannelError(`a request could not be sent over the channel port: ${(err as Error).message}`, { cause: err });
    let publishes = 0;
    for (const item of items) {
      if (item[0] === Req.Nack || item[0] === Req.Reject || item[0] === Req.Acks) continue;
      if (item[0] === Req.Publishes) publishes += item[2];
      else this.settle(item[1], (p) => p.deferred.reject(reason));
    }
    if (publishes > 0) {
      this.events?.unobserved(reason);
      this.written(publishes);
    }
  }

  /** Keeps the worker alive while something waits on the port, not longer. */
  private updateRef(): void {
    const want = this.closedReason === null && (this.waitingReady || this.pending.size > 0 || this.consumers > 0 || this.unwritten > 0);
    if (want === this.refd) return;
    this.refd = want;
    if (want) this.port.ref();
    else this.port.unref();
  }
}
