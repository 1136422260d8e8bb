/**
 * The connection's outbound side: frames produced during one loop turn are
 * encoded into one {@link FrameWriter} and handed to the transport in a
 * single batched write. Also tracks pika-style backpressure.
 * @packageDocumentation
 */
import { FrameWriter, type PublishWriter, wipeBufferFields } from '../wire/frame-writer';
import type { AMQPMethod } from '../wire/spec';
import type { ConnectionStats } from './connection-stats';
import type { IOLoop, Transport } from './ioloop';

/**
 * The smallest high-water mark. pika's rule (multiplier x average frame size)
 * alone would flag a backlog of ten small frames, which a batched writer
 * builds in every turn; the floor keeps the signal meaningful.
 */
export const MIN_HIGH_WATER_MARK = 1024 * 1024;

/** Receives the backpressure edges. */
export interface OutboundHost {
  /** Pending bytes rose above the high-water mark. */
  onBackpressure(): void;
  /** Pending bytes fell back under half the high-water mark after a backpressure signal. */
  onDrain(): void;
}

/** Batches frames per loop turn and measures the backlog. */
export class OutboundBuffer {
  private readonly writer = new FrameWriter();
  private transport: Transport | null = null;
  /** False once detached: the stream is gone and nothing more may pile up for it. */
  private accepting = true;
  private flushScheduled = false;
  private framesQueued = 0;
  private bytesQueued = 0;
  private multiplier = 10;
  /** True between a backpressure signal and the following drain. */
  needDrain = false;
  /** Loop time of the last flush to the transport. */
  lastSentAt: number;

  private readonly flushCallback = (): void => this.flush();

  constructor(
    private readonly loop: IOLoop,
    private readonly host: OutboundHost,
    /** Where framesOut, bytesOut and heartbeatsSent are counted. */
    private readonly stats: ConnectionStats,
  ) {
    this.lastSentAt = loop.now();
  }

  /** Starts writing to `transport`; anything queued before goes out first. */
  attach(transport: Transport): void {
    this.transport = transport;
    this.accepting = true;
    this.scheduleFlush();
  }

  /**
   * Stops writing; queued bytes are dropped (the stream is gone), and so are
   * later writes until the next attach. Secret frames that were never written
   * are zeroed; one the transport still holds unwritten (it may flush it on a
   * graceful end) is only let go, not zeroed.
   */
  detach(): void {
    const transport = this.transport;
    if (transport === null || transport.bufferedBytes === 0) this.writer.wipeTakenSecrets();
    else this.writer.forgetTakenSecrets();
    this.transport = null;
    this.accepting = false;
    this.writer.take();
    this.writer.wipeTakenSecrets();
  }

  /** Bytes queued here plus bytes the transport has not yet given to the OS. */
  get pendingBytes(): number {
    return this.writer.length + (this.transport === null ? 0 : this.transport.bufferedBytes);
  }

  /** Above this many pending bytes, publishers are asked to wait. */
  get highWaterMark(): number {
    const average = this.framesQueued === 0 ? 0 : this.bytesQueued / this.framesQueued;
    return Math.max(this.multiplier * average, MIN_HIGH_WATER_MARK);
  }

  /** pika's `set_backpressure_multiplier`. */
  setMultiplier(multiplier: number): void {
    this.multiplier = multiplier;
  }

  /** Queues the protocol header. */
  writeProtocolHeader(): void {
    this.writer.writeProtocolHeader();
    this.scheduleFlush();
  }

  /** Queues a heartbeat frame. */
  writeHeartbeat(): void {
    if (!this.accepting) return;
    this.writer.writeHeartbeat();
    this.stats.heartbeatsSent += 1;
    this.stats.framesOut += 1;
    this.scheduleFlush();
  }

  /**
   * Queues one method frame.
   *
   * With `wipeAfterWrite` (for `connection.start-ok` when the credentials
   * have `eraseOnConnect`), the frame carries a secret: it is encoded into a
   * buffer of its own (see `FrameWriter.writeSecretMethod`), the method's
   * Buffer fields (the SASL response) are zeroed at once, and the frame's
   * bytes are zeroed as soon as the transport has passed them on: at the
   * first flush, drain or detach that finds the transport's `bufferedBytes`
   * at 0. In a handshake that is at the latest when `connection.tune-ok` is
   * written, since the broker answered the start-ok. Without it the frame is
   * encoded like any other, into the reused buffer, where its bytes stay
   * until later frames overwrite them.
   */
  writeMethod(channel: number, method: AMQPMethod, options?: { wipeAfterWrite?: boolean }): void {
    const secret = options?.wipeAfterWrite === true;
    if (!this.accepting) {
      if (secret) wipeBufferFields(method);
      return;
    }
    const before = this.writer.length;
    if (secret) this.writer.writeSecretMethod(channel, method);
    else this.writer.writeMethod(channel, method);
    this.account(1, this.writer.length - before);
  }

  /**
   * Queues one method frame encoded beforehand, when its call was made (see
   * frame-checks.ts, `checkedMethodFrame`): the bytes are copied, nothing is
   * encoded again.
   */
  writeFrame(frame: Buffer): void {
    if (!this.accepting) return;
    this.writer.writeFrame(frame);
    this.account(1, frame.length);
  }

  /**
   * Queues a frame that carries a secret, encoded beforehand into a buffer
   * of its own (`checkedMethodFrame` does so for `connection.start-ok` and
   * `connection.update-secret`): sent as a chunk of its own and zeroed once
   * the transport has passed it on, as with {@link writeMethod}'s
   * `wipeAfterWrite`; zeroed at once when nothing is accepted any more.
   */
  writeSecretFrame(frame: Buffer): void {
    if (!this.accepting) {
      frame.fill(0);
      return;
    }
    this.writer.writeSecretFrame(frame);
    this.account(1, frame.length);
  }

  /**
   * Queues a whole message. Returns false when the backlog is above the
   * high-water mark (the message is queued all the same).
   */
  readonly writePublish: PublishWriter<boolean> = (channel, exchange, routingKey, mandatory, properties, body, frameMax) => {
    if (!this.accepting) return !this.needDrain;
    const before = this.writer.length;
    this.writer.writePublish(channel, exchange, routingKey, mandatory, properties, body, frameMax);
    const bodyFrames = body.length === 0 ? 0 : Math.ceil(body.length / (frameMax - 8));
    this.account(2 + bodyFrames, this.writer.length - before);
    return !this.needDrain;
  };

  /**
   * Publishers were told to wait while nothing could be written (the
   * connection was recovering): they hear of the drain once, when the
   * backlog written since is below half the mark, as after any `false`.
   */
  oweDrain(): void {
    this.needDrain = true;
    this.loop.addCallback(() => this.checkDrain());
  }

  /** Writes everything queued now (normally done once per loop turn). */
  flush(): void {
    this.flushScheduled = false;
    const transport = this.transport;
    if (transport === null || this.writer.length === 0) return;
    this.wipeWrittenSecrets(); // before this batch adds to bufferedBytes
    this.stats.bytesOut += this.writer.length;
    transport.write(this.writer.take());
    this.lastSentAt = this.loop.now();
    this.wipeWrittenSecrets();
    this.checkDrain();
  }

  /** The transport's own buffer drained. */
  onTransportDrain(): void {
    this.wipeWrittenSecrets();
    this.checkDrain();
  }

  /** Zeroes the secret frames handed to the transport once it holds nothing unwritten. */
  private wipeWrittenSecrets(): void {
    const transport = this.transport;
    if (transport !== null && this.writer.holdsTakenSecrets && transport.bufferedBytes === 0) {
      this.writer.wipeTakenSecrets();
    }
  }

  private account(frames: number, bytes: number): void {
    this.stats.framesOut += frames;
    this.framesQueued += frames;
    this.bytesQueued += bytes;
    this.scheduleFlush();
    if (!this.needDrain && this.pendingBytes > this.highWaterMark) {
      this.needDrain = true;
      this.host.onBackpressure();
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.transport === null) return;
    this.flushScheduled = true;
    this.loop.addCallback(this.flushCallback);
  }

  private checkDrain(): void {
    if (this.needDrain && this.pendingBytes <= this.highWaterMark / 2) {
      this.needDrain = false;
      this.host.onDrain();
    }
  }
}
