/**
 * Batched frame encoder: everything written during a loop turn goes into
 * one growable buffer and leaves with one `take()`.
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors';
import { writeUint32 } from './bytes';
import { Writer, writeLonglong, writeShortstr } from './codec';
import * as frameDefs from './frame';
import { BasicProperties, type AMQPMethod, type BasicPropertiesInit } from './spec';

// frame.ts's constants, read once into module-local consts: a use of the import
// itself would be a property load from frame.js's exports object (in dictionary
// mode) on every frame, measurably slower on this hot path (see frame-parser.ts).
const {
  DEFAULT_FRAME_MAX,
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER,
  FRAME_HEADER_SIZE,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  FRAME_OVERHEAD,
  PROTOCOL_HEADER,
  PROTOCOL_HEADER_SIZE,
} = frameDefs;

/** The frame-max in force: 0 (not negotiated yet) means the default, 131072. */
export function frameMaxInForce(frameMax: number): number {
  return frameMax > 0 ? frameMax : DEFAULT_FRAME_MAX;
}

/**
 * The error for a content header frame of `frameSize` bytes above `max`:
 * thrown by the writer, and by the channel when it checks a publish it
 * queues (see engine/frame-checks.ts), with the same words.
 */
export function contentHeaderTooLarge(frameSize: number, max: number): InvalidArgumentError {
  return new InvalidArgumentError(`the content header frame (${frameSize} bytes: properties and headers) exceeds frame-max ${max}`);
}

/** Bodies at least this large are referenced by `take()`'s chunk list, not copied. */
export const LARGE_BODY_THRESHOLD = 32 * 1024;
/** A pending tail up to this size is copied out by `take()` so that the buffer can be reused from its start. */
const COPY_OUT_MAX = 2048;
/** Free space wanted before each frame; below it a handed-out buffer is replaced. */
const MIN_FREE = 4096;

function checkChannel(channel: number): void {
  if ((channel & 0xffff) !== channel) {
    throw new InvalidArgumentError(`channel number must be an integer in 0..65535, got ${channel}`);
  }
}

/**
 * A whole message on its way down to the wire (`basic.publish`, content
 * header, body frames): the one argument list of every hop, from the
 * channel's host through the outbound buffer to {@link FrameWriter.writePublish}.
 * `frameMax` splits the body (0: `DEFAULT_FRAME_MAX`, 131072). `R`: what the
 * hop answers (the outbound buffer: false above its high-water mark).
 * @inline
 */
export type PublishWriter<R = void> = (
  channel: number,
  exchange: string,
  routingKey: string,
  mandatory: boolean,
  properties: BasicPropertiesInit | undefined,
  body: Buffer,
  frameMax: number,
) => R;

/**
 * Encodes a method frame at `w.pos` (header, payload, frame-end) and moves
 * `pos` past it. Throws what encoding throws, leaving `pos` anywhere: the
 * caller rolls back.
 */
function putMethodFrame(w: Writer, channel: number, method: AMQPMethod): void {
  w.ensure(FRAME_HEADER_SIZE);
  const mark = w.pos;
  const b = w.buf;
  b[mark] = FRAME_METHOD;
  b[mark + 1] = channel >>> 8;
  b[mark + 2] = channel;
  w.pos = mark + FRAME_HEADER_SIZE;
  method.encode(w);
  writeUint32(w.buf, mark + 3, w.pos - mark - FRAME_HEADER_SIZE);
  w.ensure(1);
  w.buf[w.pos++] = FRAME_END;
}

/**
 * Encodes frames into a reused buffer. `take()` hands the pending bytes to
 * the transport as a list of chunks; the chunks stay valid after later
 * writes (written bytes are never overwritten once handed out), so the
 * transport may hold them until the OS accepts them.
 *
 * Message bodies of at least `LARGE_BODY_THRESHOLD` (32 KiB) bytes are not
 * copied: the chunk list references slices of the caller's Buffer, which must
 * not be modified until the transport has written it.
 *
 * A write that throws (a field out of range, a string too long) leaves
 * nothing behind: the writer is rolled back to the previous frame boundary.
 * @category Wire internals
 */
export class FrameWriter {
  private readonly w: Writer;
  private readonly initialSize: number;
  /** Start of the bytes in `w.buf` not yet moved to `chunks`. */
  private start = 0;
  /** Chunks cut but not yet taken. */
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  /** Whether part of the current buffer has been handed out (so it must not be rewritten). */
  private exposed = false;
  /** Buffers of secret frames ({@link writeSecretMethod}) queued, not yet taken. */
  private secretsQueued: Buffer[] = [];
  /** Buffers of secret frames handed out by {@link take}, until {@link wipeTakenSecrets} or {@link forgetTakenSecrets}. */
  private secretsTaken: Buffer[] = [];

  constructor(initialSize = 64 * 1024) {
    this.initialSize = Math.max(initialSize, 2 * MIN_FREE);
    this.w = new Writer(this.initialSize);
  }

  /** Bytes pending (written, not yet taken). */
  get length(): number {
    return this.chunkBytes + this.w.pos - this.start;
  }

  /**
   * Called at every frame boundary: when less than MIN_FREE bytes are left,
   * closes the pending bytes off as a chunk and continues in a fresh buffer.
   * Nothing is copied: a burst costs one buffer per `initialSize` bytes,
   * where growing-and-copying would allocate and copy about twice the burst.
   */
  private prepare(): void {
    const w = this.w;
    if (w.buf.length - w.pos >= MIN_FREE) return;
    this.cut();
    w.buf = Buffer.allocUnsafe(this.initialSize);
    w.pos = 0;
    w.keepFrom = 0;
    this.start = 0;
    this.exposed = false;
  }

  /** Moves the bytes written since the last cut to the chunk list. */
  private cut(): void {
    const w = this.w;
    if (w.pos > this.start) {
      this.chunks.push(w.buf.subarray(this.start, w.pos));
      this.chunkBytes += w.pos - this.start;
      this.start = w.pos;
      w.keepFrom = w.pos;
      this.exposed = true;
    }
  }

  /** Writes the 8-byte protocol header `AMQP 0 0 9 1`. */
  writeProtocolHeader(): void {
    this.prepare();
    const w = this.w;
    w.ensure(PROTOCOL_HEADER_SIZE);
    PROTOCOL_HEADER.copy(w.buf, w.pos);
    w.pos += PROTOCOL_HEADER_SIZE;
  }

  /** Writes a heartbeat frame. */
  writeHeartbeat(): void {
    this.prepare();
    const w = this.w;
    w.ensure(FRAME_OVERHEAD); // an empty payload
    const b = w.buf;
    const p = w.pos;
    b[p] = FRAME_HEARTBEAT;
    b[p + 1] = 0;
    b[p + 2] = 0;
    b[p + 3] = 0;
    b[p + 4] = 0;
    b[p + 5] = 0;
    b[p + 6] = 0;
    b[p + 7] = FRAME_END;
    w.pos = p + FRAME_OVERHEAD;
  }

  /**
   * Starts a method frame at a frame boundary: type and channel written, at
   * least `room` bytes available. Returns the frame's offset, which is also
   * where a failed write rolls back to.
   */
  private beginMethodFrame(channel: number, room: number): number {
    checkChannel(channel);
    this.prepare();
    return this.frameStart(FRAME_METHOD, channel, room);
  }

  /** Writes a frame's type and channel at `pos` with `room` bytes available; returns the offset (pos is not moved). */
  private frameStart(type: number, channel: number, room: number): number {
    const w = this.w;
    w.ensure(room);
    const b = w.buf;
    const p = w.pos;
    b[p] = type;
    b[p + 1] = channel >>> 8;
    b[p + 2] = channel;
    return p;
  }

  /** Writes one method frame. */
  writeMethod(channel: number, method: AMQPMethod): void {
    checkChannel(channel);
    this.prepare();
    const w = this.w;
    const mark = w.pos;
    try {
      putMethodFrame(w, channel, method);
    } catch (e) {
      w.pos = mark;
      throw e;
    }
  }

  /**
   * Writes a frame encoded beforehand (`encodeMethodFrame`): a call's
   * method, encoded once when the call was made and sent when its turn comes.
   * The bytes are copied.
   */
  writeFrame(frame: Buffer): void {
    this.prepare();
    const w = this.w;
    w.ensure(frame.length);
    w.pos += frame.copy(w.buf, w.pos);
  }

  /**
   * Writes one method frame that carries a secret (`connection.start-ok`
   * with a password), so that no copy of it outlives its use:
   *
   * - the frame is encoded into a buffer of its own, never into the shared
   *   buffer that later frames reuse (every buffer the encoding grew out of
   *   is zeroed at once), and {@link take} hands that buffer out as its own
   *   chunk, uncopied;
   * - the method's own Buffer fields (the SASL response) are zeroed once
   *   encoded, so the method object must not be used again;
   * - the frame's bytes stay until {@link wipeTakenSecrets}, which the owner
   *   calls once the transport no longer needs them (it may hold the chunk
   *   until the OS accepts it).
   *
   * A write that throws zeroes everything it wrote and leaves nothing queued.
   */
  writeSecretMethod(channel: number, method: AMQPMethod): void {
    let frame: Buffer;
    try {
      frame = encodeSecretMethodFrame(channel, method);
    } finally {
      wipeBufferFields(method);
    }
    this.writeSecretFrame(frame);
  }

  /**
   * Queues a frame that carries a secret, encoded beforehand by
   * `encodeSecretMethodFrame`, as a chunk of its own (never copied
   * into the shared buffer); its bytes stay until {@link wipeTakenSecrets}.
   */
  writeSecretFrame(frame: Buffer): void {
    this.cut(); // the bytes before it go first
    this.chunks.push(frame);
    this.chunkBytes += frame.length;
    this.secretsQueued.push(frame);
  }

  /** True while secret frames that {@link take} handed out have not been wiped or forgotten. */
  get holdsTakenSecrets(): boolean {
    return this.secretsTaken.length > 0;
  }

  /**
   * Zeroes the bytes of every secret frame {@link take} has handed out.
   * Call it once the transport has passed them on (nothing buffered), or
   * when they will never be written.
   */
  wipeTakenSecrets(): void {
    for (const buf of this.secretsTaken) buf.fill(0);
    this.secretsTaken = [];
  }

  /**
   * Drops the references to secret frames handed out without zeroing them:
   * for a transport that may still be writing them when it goes away (they
   * are garbage once it lets go).
   */
  forgetTakenSecrets(): void {
    this.secretsTaken = [];
  }

  /**
   * Writes a `basic.publish` method frame, its content header and its body
   * frames (split so that no frame exceeds `frameMax`; 0 means `DEFAULT_FRAME_MAX`, 131072). An
   * empty body sends no body frame. No method object is allocated.
   */
  readonly writePublish: PublishWriter = (channel, exchange, routingKey, mandatory, properties, body, frameMax) => {
    const w = this.w;
    // method frame: header + 4 (ids) + 2 (ticket) + 2 x 256 (shortstr) + 1 (bits) + 1 (end)
    const mark = this.beginMethodFrame(channel, FRAME_HEADER_SIZE + 4 + 2 + 2 * 256 + 1 + 1);
    try {
      const b = w.buf;
      const q = mark + FRAME_HEADER_SIZE; // the payload
      b[q] = 0; // class 60, method 40
      b[q + 1] = 60;
      b[q + 2] = 0;
      b[q + 3] = 40;
      b[q + 4] = 0; // ticket
      b[q + 5] = 0;
      let p = writeShortstr(b, q + 6, exchange, 'basic.publish exchange');
      p = writeShortstr(b, p, routingKey, 'basic.publish routing key');
      b[p++] = mandatory ? 1 : 0;
      writeUint32(b, mark + 3, p - q);
      b[p++] = FRAME_END;
      w.pos = p;
      this.contentFrames(channel, properties, body, frameMax);
    } catch (e) {
      w.pos = mark;
      throw e;
    }
  };

  /**
   * Writes a content header frame (class `basic`) and the body frames. With
   * {@link writeMethod} this sends any content-carrying method
   * (`basic.deliver`, `basic.get-ok`, `basic.return`; useful to test peers).
   */
  writeContent(channel: number, properties: BasicPropertiesInit | undefined, body: Buffer, frameMax: number): void {
    checkChannel(channel);
    this.prepare();
    const mark = this.w.pos;
    try {
      this.contentFrames(channel, properties, body, frameMax);
    } catch (e) {
      this.w.pos = mark;
      throw e;
    }
  }

  private contentFrames(channel: number, properties: BasicPropertiesInit | undefined, body: Buffer, frameMax: number): void {
    const max = frameMaxInForce(frameMax);
    if (!(max > FRAME_OVERHEAD)) throw new InvalidArgumentError(`frameMax ${frameMax} leaves no room for a frame payload`);
    if (!Buffer.isBuffer(body)) {
      if (!((body as unknown) instanceof Uint8Array)) throw new InvalidArgumentError(`message body must be a Buffer, got ${typeof body}`);
      body = Buffer.from((body as Uint8Array).buffer, (body as Uint8Array).byteOffset, (body as Uint8Array).length);
    }
    const w = this.w;
    // header frame: header + class, weight (4) + body size (8) + properties + end
    w.ensure(FRAME_HEADER_SIZE + 12);
    let b = w.buf;
    const h = w.pos;
    const q = h + FRAME_HEADER_SIZE; // the payload
    const len = body.length;
    b[h] = FRAME_HEADER;
    b[h + 1] = channel >>> 8;
    b[h + 2] = channel;
    b[q] = 0; // class 60
    b[q + 1] = 60;
    b[q + 2] = 0; // weight
    b[q + 3] = 0;
    writeLonglong(b, q + 4, len, 'body size');
    w.pos = q + 12;
    BasicProperties.encode(w, properties);
    const payload = w.pos - q;
    if (payload + FRAME_OVERHEAD > max) throw contentHeaderTooLarge(payload + FRAME_OVERHEAD, max);
    w.ensure(1);
    b = w.buf;
    writeUint32(b, h + 3, payload);
    b[w.pos++] = FRAME_END;
    if (len === 0) return;

    // body frames
    const maxPayload = max - FRAME_OVERHEAD;
    if (len >= LARGE_BODY_THRESHOLD) {
      for (let off = 0; off < len; off += maxPayload) {
        const n = len - off < maxPayload ? len - off : maxPayload;
        w.pos = this.bodyFrameHeader(channel, n, FRAME_HEADER_SIZE) + FRAME_HEADER_SIZE;
        this.cut();
        this.chunks.push(off === 0 && n === len ? body : body.subarray(off, off + n));
        this.chunkBytes += n;
        w.ensure(1);
        w.buf[w.pos++] = FRAME_END;
      }
    } else {
      for (let off = 0; off < len; off += maxPayload) {
        const n = len - off < maxPayload ? len - off : maxPayload;
        const p = this.bodyFrameHeader(channel, n, FRAME_OVERHEAD + n);
        const d = p + FRAME_HEADER_SIZE; // the payload
        b = w.buf;
        if (n < 64) {
          for (let i = 0; i < n; i++) b[d + i] = body[off + i];
        } else {
          body.copy(b, d, off, off + n);
        }
        b[d + n] = FRAME_END;
        w.pos = d + n + 1;
      }
    }
  }

  /** Writes a body frame's 7-byte header at `pos` with `room` bytes available; returns its offset (pos is not moved). */
  private bodyFrameHeader(channel: number, size: number, room: number): number {
    const p = this.frameStart(FRAME_BODY, channel, room);
    writeUint32(this.w.buf, p + 3, size);
    return p;
  }

  /**
   * Hands out the pending bytes as chunks, in order, for one vectored write,
   * and starts a new batch. Returns `[]` when nothing is pending.
   */
  take(): Buffer[] {
    const w = this.w;
    const tail = w.pos - this.start;
    if (this.chunks.length === 0) {
      if (tail === 0) return [];
      if (!this.exposed && tail <= COPY_OUT_MAX) {
        // small batch: copy it out and reuse the buffer from its start
        const out = Buffer.allocUnsafe(tail);
        w.buf.copy(out, 0, this.start, w.pos);
        w.pos = 0;
        w.keepFrom = 0;
        this.start = 0;
        return [out];
      }
    }
    this.cut();
    const out = this.chunks;
    this.chunks = [];
    this.chunkBytes = 0;
    if (this.secretsQueued.length > 0) {
      this.secretsTaken.push(...this.secretsQueued);
      this.secretsQueued = [];
    }
    return out;
  }
}

/**
 * A {@link Writer} that remembers every buffer it writes into, including the
 * ones a grow replaces (which would otherwise be dropped holding a copy of
 * what was written so far), so that all of them can be zeroed.
 */
class TrackingWriter {
  readonly writer: Writer;
  private readonly used: Buffer[] = [];

  constructor(initialSize: number) {
    const w = new Writer(initialSize);
    let current = w.buf;
    this.used.push(current);
    const used = this.used;
    // Writer.grow() assigns `buf`; an accessor on this one instance sees each new buffer.
    Object.defineProperty(w, 'buf', {
      get: () => current,
      set: (b: Buffer) => {
        current = b;
        used.push(b);
      },
      enumerable: true,
      configurable: true,
    });
    this.writer = w;
  }

  /** Zeroes the buffers the writer has left behind (all but the current one). */
  wipeOutgrown(): void {
    for (const b of this.used) if (b !== this.writer.buf) b.fill(0);
    this.used.length = 0;
    this.used.push(this.writer.buf);
  }

  /** Zeroes every buffer, the current one included. */
  wipeAll(): void {
    for (const b of this.used) b.fill(0);
  }
}

/**
 * Encodes one method frame that carries a secret (a SASL response, an OAuth
 * token) into a buffer of its own: every buffer the encoding grew out of is
 * zeroed at once, and everything it wrote when it throws. The caller zeroes
 * the frame once it is no longer needed ({@link FrameWriter.writeSecretFrame}
 * does, through `wipeTakenSecrets`). The method itself is left as is.
 */
export function encodeSecretMethodFrame(channel: number, method: AMQPMethod): Buffer {
  checkChannel(channel);
  const scratch = new TrackingWriter(4096);
  const w = scratch.writer;
  try {
    putMethodFrame(w, channel, method);
  } catch (e) {
    scratch.wipeAll();
    throw e;
  }
  scratch.wipeOutgrown();
  return w.buf.subarray(0, w.pos);
}

/**
 * The payload size of `method` (what its frame holds between the 7-byte
 * header and the frame-end octet), measured by encoding it into scratch
 * buffers that are all zeroed before returning: for methods that carry a
 * secret. The method itself is left as is. Throws what encoding throws.
 */
export function secretMethodPayloadSize(method: AMQPMethod): number {
  const frame = encodeSecretMethodFrame(0, method);
  frame.fill(0);
  return frame.length - FRAME_OVERHEAD;
}

/** Zeroes the Buffer-valued fields of a method (a SASL response), which hold a secret once it is written or dropped. */
export function wipeBufferFields(method: AMQPMethod): void {
  for (const value of Object.values(method)) {
    if (value instanceof Uint8Array) value.fill(0);
  }
}

/**
 * Encodes one method frame into a Buffer of its own: what a call encodes once,
 * when it is made, for {@link FrameWriter.writeFrame} to send later (and for
 * tests and simple peers). Throws what encoding throws.
 */
export function encodeMethodFrame(channel: number, method: AMQPMethod): Buffer {
  checkChannel(channel);
  const w = new Writer(256);
  putMethodFrame(w, channel, method);
  return w.buf.subarray(0, w.pos);
}

/** Encodes a content header frame and the body frames into a new Buffer (for tests and simple peers). */
export function encodeContentFrames(
  channel: number,
  properties: BasicPropertiesInit | undefined,
  body: Buffer,
  frameMax = DEFAULT_FRAME_MAX,
): Buffer {
  const fw = new FrameWriter(8192);
  fw.writeContent(channel, properties, body, frameMax);
  return Buffer.concat(fw.take());
}

/** The 8-byte heartbeat frame. */
export const HEARTBEAT_BYTES: Buffer = Buffer.from([FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END]);
