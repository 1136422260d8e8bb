/**
 * The broker side of the connection target: a scripted AMQP peer on a
 * {@link VirtualPeer} that performs a valid handshake, answers the client's
 * synchronous methods like a well-behaved broker (most of the time), and
 * sends whatever the fuzz script queues, cut into random chunks.
 *
 * It mirrors `spec/support/fake-broker.ts` but lives here so that the
 * harness depends on nothing under `spec/`, and it draws every choice from
 * the input's {@link Rng} so that a run replays exactly.
 * @packageDocumentation
 */
import type { VirtualPeer } from '../../lib/adapters/virtual-ioloop';
import { Writer } from '../../lib/wire/codec';
import type { Frame } from '../../lib/wire/frame';
import { FrameParser } from '../../lib/wire/frame-parser';
import * as spec from '../../lib/wire/spec';
import { chunkify, frame, headerPayload, propertiesBytes } from './generators';
import type { Rng } from './prng';

/** What the peer proposes in connection.tune, and how reliably it answers. */
export interface PeerBehaviour {
  channelMax: number;
  frameMax: number;
  heartbeat: number;
  /** Probability of leaving a synchronous method unanswered. */
  silence: number;
  /** Probability of answering with a random (well-formed, wrong) method instead. */
  wrongReply: number;
}

/** The encoded payload of a method. */
export function methodBytes(m: spec.AMQPMethod): Buffer {
  const w = new Writer(256);
  m.encode(w);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

/** See the module notes. */
export class ScriptedPeer {
  /** Everything the peer sent, in order (the "input" of the connection target). */
  readonly sent: Buffer[] = [];
  /** Channels the client opened and the peer confirmed, not closed since. */
  readonly openChannels = new Set<number>();
  /** Consumer tags per channel. */
  readonly consumers = new Map<number, string[]>();
  /** Channels in confirm mode, with the number of publishes seen. */
  readonly confirms = new Map<number, number>();
  /** Problems parsing what the client sent: the client wrote bytes that are not AMQP. */
  readonly clientErrors: unknown[] = [];
  /** True once the peer sent open-ok. */
  opened = false;
  private readonly parser = new FrameParser();
  private headerSeen = false;
  private pending: Buffer[] = [];
  private ended = false;

  constructor(
    private readonly rng: Rng,
    readonly peer: VirtualPeer,
    readonly behaviour: PeerBehaviour,
  ) {
    peer.onData((chunk) => this.onData(chunk));
  }

  /** Queues bytes; they go out on the next {@link flush}, cut into random chunks. */
  queue(bytes: Buffer): void {
    if (!this.ended) this.pending.push(bytes);
  }

  /** Queues a method frame. */
  queueMethod(channel: number, m: spec.AMQPMethod): void {
    this.queue(frame(1, channel, methodBytes(m)));
  }

  /** Queues a content-carrying method with a header and body frames (sizes honest). */
  queueContent(channel: number, m: spec.AMQPMethod, body: Buffer, properties = propertiesBytes(this.rng)): void {
    this.queueMethod(channel, m);
    this.queue(frame(2, channel, headerPayload(body.length, properties)));
    const max = this.behaviour.frameMax - 8;
    for (let i = 0; i < body.length; i += max) this.queue(frame(3, channel, body.subarray(i, i + max)));
  }

  /**
   * Writes what is queued as random chunks. Chunk boundaries ignore frame
   * boundaries: the client must cope with any split.
   */
  flush(): void {
    if (this.pending.length === 0 || this.ended) return;
    const all = Buffer.concat(this.pending);
    this.pending = [];
    this.sent.push(all);
    // at most 1000 chunks per flush: each is a turn of the virtual loop, and a 60 KB
    // deep header cut into 2-byte chunks would measure the loop, not the client
    for (const c of chunkify(this.rng, all, 1000)) this.peer.write(c);
  }

  /** Orderly close from the peer's side (after what is queued). */
  end(): void {
    this.flush();
    this.ended = true;
    this.peer.end();
  }

  /** Abrupt close: data in flight is dropped. */
  destroy(): void {
    this.ended = true;
    this.peer.destroy();
  }

  /** The bytes sent so far as one buffer. */
  sentBytes(): Buffer {
    return Buffer.concat(this.sent);
  }

  private onData(chunk: Buffer): void {
    if (!this.headerSeen) {
      this.headerSeen = true;
      if (!chunk.subarray(0, 8).equals(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'))) {
        this.clientErrors.push(new Error(`client sent ${chunk.subarray(0, 8).toString('hex')} instead of the protocol header`));
        return;
      }
      chunk = chunk.subarray(8);
      this.queueMethod(
        0,
        new spec.Connection.Start({
          serverProperties: { product: 'fuzz-peer', capabilities: { publisher_confirms: true, 'basic.nack': true, consumer_cancel_notify: true } },
          mechanisms: 'PLAIN AMQPLAIN',
        }),
      );
      this.flush();
    }
    if (chunk.length === 0 || this.clientErrors.length > 0) return;
    try {
      this.parser.push(chunk, (f) => this.onFrame(f));
    } catch (err) {
      this.clientErrors.push(err);
    }
    this.flush();
  }

  private onFrame(f: Frame): void {
    if (f.type === 2 && this.confirms.has(f.channel)) {
      // a publish's content header: acknowledge it now (the body does not matter here)
      const n = this.confirms.get(f.channel)! + 1;
      this.confirms.set(f.channel, n);
      if (this.rng.chance(0.8)) {
        const m = this.rng.chance(0.8)
          ? new spec.Basic.Ack({ deliveryTag: n })
          : new spec.Basic.Nack({ deliveryTag: n, multiple: this.rng.chance(0.3) });
        this.queueMethod(f.channel, m);
      }
      return;
    }
    if (f.type !== 1) return;
    this.answer(f.channel, f.method);
  }

  /** The answers of a well-behaved broker, with the configured lapses. */
  private answer(ch: number, m: spec.AMQPMethod): void {
    const reply = (r: spec.AMQPMethod): void => this.queueMethod(ch, r);
    const b = this.behaviour;
    // the handshake is always answered correctly: the fuzzing starts after it
    if (m instanceof spec.Connection.StartOk)
      return reply(new spec.Connection.Tune({ channelMax: b.channelMax, frameMax: b.frameMax, heartbeat: b.heartbeat }));
    if (m instanceof spec.Connection.TuneOk) return;
    if (m instanceof spec.Connection.Open) {
      this.opened = true;
      return reply(new spec.Connection.OpenOk());
    }
    if (m instanceof spec.Connection.Close) {
      reply(new spec.Connection.CloseOk());
      return this.end();
    }
    if (m instanceof spec.Connection.CloseOk) return this.end();
    if (m instanceof spec.Channel.CloseOk) {
      this.forget(ch);
      return;
    }
    if (!m.synchronous || m.replies.length === 0) return;
    if ('noWait' in m && (m as { noWait: boolean }).noWait) return;
    if (this.rng.chance(b.silence)) return;
    if (this.rng.chance(b.wrongReply)) return reply(new (this.rng.pick(spec.METHOD_CLASSES))());
    if (m instanceof spec.Channel.Open) {
      this.openChannels.add(ch);
      return reply(new spec.Channel.OpenOk());
    }
    if (m instanceof spec.Channel.Close) {
      this.forget(ch);
      return reply(new spec.Channel.CloseOk());
    }
    if (m instanceof spec.Basic.Consume) {
      const tag = m.consumerTag || `amq.ctag-${this.rng.int(1000)}`;
      this.consumers.set(ch, [...(this.consumers.get(ch) ?? []), tag]);
      return reply(new spec.Basic.ConsumeOk({ consumerTag: tag }));
    }
    if (m instanceof spec.Basic.Cancel) return reply(new spec.Basic.CancelOk({ consumerTag: m.consumerTag }));
    if (m instanceof spec.Queue.Declare) return reply(new spec.Queue.DeclareOk({ queue: m.queue || 'amq.gen-fuzz' }));
    if (m instanceof spec.Confirm.Select) {
      this.confirms.set(ch, 0);
      return reply(new spec.Confirm.SelectOk());
    }
    if (m instanceof spec.Basic.Get) {
      if (this.rng.chance(0.5)) return reply(new spec.Basic.GetEmpty());
      return this.queueContent(
        ch,
        new spec.Basic.GetOk({ deliveryTag: this.rng.range(1, 5), routingKey: 'rk' }),
        this.rng.bytes(this.rng.smallSize(100)),
      );
    }
    // every other synchronous method: its first reply with default fields
    reply(new m.replies[0]());
  }

  private forget(ch: number): void {
    this.openChannels.delete(ch);
    this.consumers.delete(ch);
    this.confirms.delete(ch);
  }
}
