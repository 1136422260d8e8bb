/**
 * {@link ChannelPortHost}: an {@link AsyncChannel} served over a
 * `MessagePort` to another thread (the host side of
 * {@link AsyncConnection.openChannelPort}; the worker side is
 * `channelFromPort` in lib/threads).
 *
 * The channel lives here, on the connection's thread: the worker's requests
 * are carried out in the order they come, and their results, the
 * deliveries of its consumers and the channel's end go back in one batch
 * per loop turn (port-protocol.ts). The worker owns the channel: when its
 * end of the port closes (it closed it, exited or crashed), the channel is
 * closed, so the broker requeues what the worker had not acked; the
 * connection and its other channels go on.
 * @packageDocumentation
 */
import type { MessagePort } from 'node:worker_threads';
import { ChannelWrongStateError, InvalidArgumentError } from '../errors';
import type { Channel } from '../engine/channel';
import type { ConsumeOptions, GetOptions } from '../engine/channel-options';
import type * as spec from '../wire/spec';
import { METHODS_BY_INDEX } from '../wire/spec';
import { type AsyncChannel, DEFAULT_CONSUME_PREFETCH } from './async-channel';
import type { Message } from './message';
import { unpackArgs } from './port-args';
import { arenaOf, bodyAt, numsOf } from './port-bodies';
import { serializeError } from './port-errors';
import { PortOutbox } from './port-outbox';
import { decodePropertiesInit, encodeProperties } from './port-properties';
import {
  ACK_FIELDS,
  DELIVERY_FIELDS,
  Ev,
  FLAG_1,
  FLAG_PROPS,
  PORT_CALLS,
  PUBLISH_FIELDS,
  Req,
  type PortBatch,
  type PortEvent,
  type PortMessage,
  type PortRequest,
  type PortValue,
  type RecordItem,
} from './port-protocol';
import { warnUnobserved } from './report';
import { RESOLVED } from './settle';

/** Serves one AsyncChannel over one MessagePort (see the module's comment). */
export class ChannelPortHost {
  private readonly out: PortOutbox<PortEvent>;
  private readonly channel: Channel;
  /** A prefetch count was set by the worker: consume sets none of its own (as AsyncChannel.consume). */
  private prefetchSet = false;
  /** Publishes of the current batch outside confirm mode, and the first wait for the writer to drain among them. */
  private unwritten = 0;
  private drain: Promise<void> | null = null;
  /** The rpc calls in flight, to abort one when the worker gives up on it. */
  private readonly rpcs = new Map<number, AbortController>();
  private ended = false;

  constructor(
    private readonly asyncChannel: AsyncChannel,
    port: MessagePort,
  ) {
    this.channel = asyncChannel.channel;
    this.out = new PortOutbox<PortEvent>(port, (err) => warnUnobserved(err));
    port.on('message', this.onBatch);
    port.on('messageerror', this.onMessageError);
    port.on('close', this.onPortClosed);
    // The connection keeps the process alive while it is open, not the ports of its channels.
    port.unref();
    this.channel.addOnCloseCallback(this.onChannelClosed);
    this.channel.addOnCancelCallback(this.onBrokerCancel);
    this.out.push([Ev.Ready, this.channel.channelNumber]);
  }

  private readonly onBatch = (batch: PortBatch<PortRequest>): void => {
    if (this.ended) return;
    if (typeof batch !== 'object' || batch === null || !Array.isArray(batch.items)) {
      warnUnobserved(new InvalidArgumentError(`channel port ${this.channel.channelNumber}: a message that is not a batch of requests was ignored`));
      return;
    }
    const arena = arenaOf(batch.bodies ?? null);
    const nums = numsOf(batch);
    for (const request of batch.items) this.dispatch(request, arena, nums, batch.strings);
    this.written();
  };

  /** Carries out one request; what it throws goes to its promise (or, without one, to the worker as unobserved). */
  private dispatch(request: PortRequest, arena: Buffer, nums: Float64Array, strings: string[]): void {
    try {
      if (request[0] === Req.Publishes) this.publishes(request, arena, nums, strings);
      else if (request[0] === Req.Acks) this.acks(request, nums);
      else this.perform(request, arena);
    } catch (err) {
      const id = request[0] === Req.Nack || request[0] === Req.Reject ? 0 : request[1];
      if (typeof id === 'number' && id > 0 && request[0] !== Req.Publishes && request[0] !== Req.Acks) this.fail(id, err);
      else this.unobserved(err);
    }
  }

  /** Publishes outside confirm mode, as records (see port-protocol.ts). One that fails does not stop the others. */
  private publishes(item: RecordItem, arena: Buffer, nums: Float64Array, strings: string[]): void {
    const [, first, count, properties] = item;
    let props = 0;
    for (let i = 0, at = first; i < count; i++, at += PUBLISH_FIELDS) {
      const flags = nums[at + 4];
      const init = (flags & FLAG_PROPS) !== 0 ? decodePropertiesInit(properties[props++]) : undefined;
      try {
        this.publish(0, strings[nums[at]], strings[nums[at + 1]], bodyAt(arena, nums[at + 2], nums[at + 3]), init, (flags & FLAG_1) !== 0);
      } catch (err) {
        this.unobserved(err);
      }
    }
  }

  /** Acks, as records. */
  private acks(item: RecordItem, nums: Float64Array): void {
    const [, first, count] = item;
    for (let i = 0, at = first; i < count; i++, at += ACK_FIELDS) {
      try {
        this.channel.basicAck(nums[at], nums[at + 1] === 1);
      } catch (err) {
        this.unobserved(err);
      }
    }
  }

  private perform(r: Exclude<PortRequest, RecordItem>, arena: Buffer): void {
    switch (r[0]) {
      case Req.Publish:
        return this.publish(r[1], r[2], r[3], bodyAt(arena, r[4], r[5]), decodePropertiesInit(r[6]), r[7]);
      case Req.Nack:
        return this.channel.basicNack(r[1], r[2], r[3]);
      case Req.Reject:
        return this.channel.basicReject(r[1], r[2]);
      case Req.Call:
        return this.call(r[1], r[2], unpackArgs(r[3]));
      case Req.Consume:
        return this.consume(r[1], r[2], unpackArgs([r[3]])[0] as ConsumeOptions);
      case Req.Cancel:
        return this.channel.basicCancel(r[2], (err, ok) => (err === null ? this.succeed(r[1], method(ok)) : this.fail(r[1], err)));
      case Req.Get:
        return this.settle(r[1], this.asyncChannel.basicGet(r[2], r[3] as GetOptions), this.messageValue);
      case Req.Rpc:
        return this.rpc(r[1], r[2], r[3], bodyAt(arena, r[4], r[5]), decodePropertiesInit(r[6]), r[7]);
      case Req.Abort:
        return this.rpcs.get(r[1])?.abort();
      default:
        throw new InvalidArgumentError(`channel port: unknown request ${JSON.stringify((r as unknown[])[0])}`);
    }
  }

  private call(id: number, name: string, args: unknown[]): void {
    if (!PORT_CALLS.has(name)) throw new InvalidArgumentError(`channel port: ${JSON.stringify(name)} is not a method a port channel calls`);
    const target = this.asyncChannel as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const promise = target[name].apply(this.asyncChannel, args);
    if (name === 'basicQos' && ((args[0] as { prefetchCount?: number } | undefined)?.prefetchCount ?? 0) > 0) this.prefetchSet = true;
    this.settle(id, promise, resultValue);
  }

  private publish(
    id: number,
    exchange: string,
    routingKey: string,
    body: Buffer,
    properties: spec.BasicPropertiesInit | undefined,
    mandatory: boolean,
  ): void {
    const promise = this.asyncChannel.basicPublish(exchange, routingKey, body, properties, mandatory);
    if (id > 0) return this.settle(id, promise, resultValue);
    this.unwritten += 1;
    if (promise === RESOLVED) return;
    // Not resolved at once: above the high-water mark (or failed). Every later publish of the batch waits for the same drain.
    this.drain ??= promise;
    promise.then(undefined, (err: unknown) => this.unobserved(err));
  }

  /** After a batch: tells the worker how many of its publishes went out, once the writer is under its high-water mark. */
  private written(): void {
    if (this.unwritten === 0) return;
    const count = this.unwritten;
    const drain = this.drain;
    this.unwritten = 0;
    this.drain = null;
    if (drain === null) this.out.push([Ev.Written, count]);
    else
      drain.then(
        () => this.out.push([Ev.Written, count]),
        () => this.out.push([Ev.Written, count]),
      );
  }

  private consume(id: number, queue: string, options: ConsumeOptions): void {
    const autoAck = options?.autoAck === true;
    if (!this.prefetchSet && !autoAck) {
      this.channel.basicQos({ prefetchCount: DEFAULT_CONSUME_PREFETCH });
      this.prefetchSet = true;
    }
    this.channel.basicConsume(queue, this.onDeliver, options, (err: Error | null, ok?: spec.Basic.ConsumeOk) => {
      if (err !== null) this.fail(id, err);
      else this.succeed(id, { plain: ok!.consumerTag });
    });
  }

  private rpc(
    id: number,
    exchange: string,
    routingKey: string,
    body: Buffer,
    properties: spec.BasicPropertiesInit | undefined,
    timeout: number | undefined,
  ): void {
    const controller = new AbortController();
    this.rpcs.set(id, controller);
    const promise = this.asyncChannel.rpc(exchange, routingKey, body, { properties, timeout, signal: controller.signal });
    const forget = (): void => void this.rpcs.delete(id);
    promise.then(forget, forget);
    this.settle(id, promise, this.messageValue);
  }

  private readonly onDeliver = (_ch: Channel, m: spec.Basic.Deliver, properties: spec.BasicProperties, body: Buffer): void => {
    const out = this.out;
    const offset = out.bodies.add(body, body.length);
    const props = encodeProperties(properties);
    const flags = (m.redelivered ? FLAG_1 : 0) | (props === null ? 0 : FLAG_PROPS);
    out.nums.push(m.deliveryTag, flags, out.intern(m.consumerTag), out.intern(m.exchange), out.intern(m.routingKey), offset, body.length);
    out.record(Ev.Deliveries, props, DELIVERY_FIELDS);
  };

  /** A Message (of basicGet, rpc) as it crosses, its body packed into this turn's batch. */
  private readonly messageValue = (message: Message | null): PortValue => {
    if (message === null) return { plain: null };
    const m = message.method;
    const body = message.body;
    const offset = this.out.bodies.add(body, body.length);
    const tagOrCount = 'consumerTag' in m ? m.consumerTag : m.messageCount;
    const kind = 'consumerTag' in m ? 0 : 1;
    const encoded: PortMessage = [
      kind,
      tagOrCount,
      m.deliveryTag,
      m.redelivered,
      m.exchange,
      m.routingKey,
      encodeProperties(message.properties),
      offset,
      body.length,
    ];
    return { message: encoded };
  };

  private settle<T>(id: number, promise: Promise<T>, encode: (value: T) => PortValue): void {
    promise.then(
      (value) => this.succeed(id, encode(value)),
      (err: unknown) => this.fail(id, err),
    );
  }

  private succeed(id: number, value: PortValue): void {
    this.out.push([Ev.Result, id, value]);
  }

  private fail(id: number, err: unknown): void {
    this.out.push([Ev.Error, id, serializeError(err)]);
  }

  /** A failure no promise of the worker's waits for: reported there (acks and publishes on a closing channel are not failures). */
  private unobserved(err: unknown): void {
    if (err instanceof ChannelWrongStateError && (this.channel.isClosing || this.channel.isClosed)) return;
    this.out.push([Ev.Unobserved, serializeError(err)]);
  }

  private readonly onBrokerCancel = (_ch: Channel, m: spec.Basic.Cancel): void => {
    this.out.push([Ev.Cancelled, m.consumerTag]);
  };

  private readonly onChannelClosed = (_ch: Channel, reason: Error): void => {
    // After this turn: the results the close settles (confirms, rpc calls) go in the same last batch.
    setImmediate(() => {
      this.out.push([Ev.Closed, serializeError(reason)]);
      this.out.closeAfterFlush();
    });
  };

  /** The worker's end closed (closed by it, or it exited or crashed): the channel goes too. */
  private readonly onPortClosed = (): void => {
    this.ended = true;
    if (!this.channel.isClosing && !this.channel.isClosed) void this.asyncChannel.close();
  };

  private readonly onMessageError = (err: Error): void => {
    warnUnobserved(new InvalidArgumentError(`channel port ${this.channel.channelNumber}: a message could not be read: ${err.message}`));
  };
}

/** A call's value as it crosses: an AMQP method by its index and fields, anything else as is. */
function resultValue(value: unknown): PortValue {
  return method(value);
}

function method(value: unknown): PortValue {
  const index = (value as { index?: unknown } | null | undefined)?.index;
  if (typeof index === 'number' && METHODS_BY_INDEX.has(index)) return { method: index, fields: { ...(value as object) } };
  return { plain: value };
}
