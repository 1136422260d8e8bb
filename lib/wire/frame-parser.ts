/**
 * Incremental frame parser: socket chunks in, decoded frames out.
 * @packageDocumentation
 */
import { describeError, FrameError } from '../errors';
import { Reader } from './codec';
import * as frameDefs from './frame';
import type { Frame, FrameHandler } from './frame';
import { type AMQPMethod, Basic, BasicProperties, decodeMethod } from './spec';

// frame.ts's constants, read once into module-local consts. Used directly, each
// use of an imported constant is a property load from frame.js's exports object
// at run time, and that object is in dictionary mode (slow properties), so each
// load is a lookup: on the parse path that cost ~10% (about 900 more
// instructions per 16-byte delivery under callgrind). A module-local const
// costs what the literal does. See bench/README.md, "Wire primitives".
//
// The big-endian reads on the per-frame path (payload size, method id,
// delivery tag) are written out here instead of calling bytes.ts's readUint32
// and readUint64: with the calls, the consume path cost 8-10% more CPU per
// message for 256 B and 1 KiB bodies (bench/consume-micro.ts, medians of 6
// runs), although callgrind counts the same instructions; these functions
// are large, and V8 does not always inline helpers into them.
const { DEFAULT_FRAME_MAX, FRAME_END, FRAME_HEADER_SIZE, FRAME_OVERHEAD, HEARTBEAT_FRAME, PROTOCOL_HEADER_SIZE } = frameDefs;
/** 'A', the first octet of a protocol header ('AMQP' + 4 octets), where a frame type should be. */
const PROTOCOL_HEADER_START = 0x41;
/** The default of `maxMessageSize` (ConnectionParameters): 128 MiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 128 * 1024 * 1024;

/**
 * Whether received bytes were released: the answer that climbs back from the
 * body handler through {@link FrameParser.push} and the transport to the
 * socket reader, which reads into the chunk's memory again only on `true`.
 *
 * - `true`, released: nothing refers to the bytes once the call returns
 *   (frames decoded into objects of their own, body pieces copied or dropped).
 * - `false` (or no answer at all from a handler), kept: a view of them may
 *   live on (a body handed to the application uncopied); the memory must not
 *   be reused.
 *
 * See docs/DESIGN.md on reading into reused memory.
 * @inline
 */
export type ChunkRelease = boolean;

/**
 * Any exception from decoding a sound frame's payload becomes a FrameError,
 * so that it closes the connection instead of escaping the I/O loop (a
 * RangeError, a TypeError from a decoder bug).
 */
function asFrameError(err: unknown, what: string): FrameError {
  if (err instanceof FrameError) return err;
  return new FrameError(`undecodable ${what}: ${describeError(err)}`, { cause: err });
}
const EMPTY = Buffer.alloc(0);
/** basic.deliver's method index (class 60, method 60): decoded without going through decodeMethod. */
const BASIC_DELIVER = 0x003c003c;

/**
 * Turns {@link FrameHandler} calls back into {@link Frame} objects, for
 * `push(chunk, onFrame)`. A body frame that came in pieces is copied into
 * one buffer of the frame's size (a frame that came whole stays a view).
 */
class FrameObjects implements FrameHandler {
  onFrame: (f: Frame) => void = () => undefined;
  /** The pieces so far of a body frame that spans chunks. */
  private pieces: Buffer[] = [];

  onMethod(channel: number, method: AMQPMethod): void {
    this.onFrame({ type: 1, channel, method });
  }

  onHeader(channel: number, bodySize: number, properties: BasicProperties): void {
    this.onFrame({ type: 2, channel, classId: 60, bodySize, properties });
  }

  onBody(channel: number, piece: Buffer, rest: number): void {
    if (this.pieces.length === 0 && rest === 0) return this.onFrame({ type: 3, channel, payload: piece });
    // Copies kept as they arrive (the chunk's memory may be reused), joined at the
    // frame's end: memory follows the bytes received, not the size the header claims.
    this.pieces.push(Buffer.from(piece));
    if (rest > 0) return;
    const payload = Buffer.concat(this.pieces);
    this.pieces = [];
    this.onFrame({ type: 3, channel, payload });
  }

  onHeartbeat(): void {
    this.onFrame(HEARTBEAT_FRAME);
  }

  onProtocolHeader(major: number, minor: number, revision: number): void {
    this.onFrame({ type: 0, major, minor, revision });
  }
}

/**
 * Turns a byte stream into frames. Chunks may split frames anywhere (down
 * to one byte per chunk) or hold many frames.
 *
 * Body payloads are never copied: a body frame that arrives whole in one
 * chunk is handed over as one view into that chunk, and one that spans
 * chunks as one view per chunk, as its bytes arrive (see
 * {@link FrameHandler.onBody}), so that whoever assembles the message copies
 * each byte at most once. Chunks must therefore not be modified after
 * `push`: the views (and the last piece of a body frame whose frame-end octet
 * is still to come, which the parser holds) point into them. Method and
 * content-header frames that span chunks are assembled in a buffer of the
 * frame's size, allocated once its 7-byte header is known.
 *
 * A {@link FrameError} (bad frame end, unknown frame type, frame larger than
 * `frameMax`, undecodable payload) leaves the parser failed: later `push`
 * calls throw the same error. The connection must be closed (reply code 501).
 * @category Wire internals
 */
export class FrameParser {
  private negotiatedFrameMax = 0;
  private messageSizeLimit = DEFAULT_MAX_MESSAGE_SIZE;
  /** The largest frame accepted: frame-max. */
  private frameLimit = DEFAULT_FRAME_MAX;
  /**
   * The largest method or header frame accepted, which the parser buffers
   * whole: frame-max, but never more than the largest message plus overhead.
   * (Body frames are handed on in pieces as they arrive, never buffered.)
   */
  private bufferLimit = DEFAULT_FRAME_MAX;

  /** The method or header frame being assembled (header + payload + end), or null. */
  private partial: Buffer | null = null;
  private partialFill = 0;
  /** A frame header (or protocol header) that straddles chunks. */
  private readonly head = Buffer.alloc(PROTOCOL_HEADER_SIZE);
  private headFill = 0;
  /** A body frame that spans chunks is in progress: its channel, payload size, payload bytes not yet seen. */
  private bodyActive = false;
  private bodyChannel = 0;
  private bodySize = 0;
  private bodyRest = 0;
  /** The last piece of that frame's payload, held until its frame-end octet arrives. */
  private bodyHeld: Buffer | null = null;
  /** Unparsed input left over when a frame handler threw. */
  private backlog: Buffer | null = null;
  /** Where the chunk being parsed resumes after the frame being dispatched. */
  private resumeAt = 0;
  /** A view of the chunk being parsed went to a handler that may keep it. */
  private viewKept = false;
  private failed: FrameError | null = null;
  /** Reused for the payloads decoded here (decoding finishes before any handler runs). */
  private readonly reader = new Reader(EMPTY, 0, 0);
  /**
   * The previous basic.deliver's consumer tag, then exchange and routing key,
   * as on the wire (each with its length octet), and their strings.
   */
  private readonly deliverKey = Buffer.alloc(3 * 256);
  private deliverKeyTag = 0;
  private deliverKeyRest = 0;
  private deliverTag = '';
  private deliverExchange = '';
  private deliverRoutingKey = '';
  /** The adapter behind `push(chunk, onFrame)`; it keeps a spanning body frame's payload between pushes. */
  private objects: FrameObjects | null = null;

  /** The negotiated frame-max; 0 = not negotiated yet (`DEFAULT_FRAME_MAX`, 131072, applies). */
  get frameMax(): number {
    return this.negotiatedFrameMax;
  }

  set frameMax(value: number) {
    this.negotiatedFrameMax = value;
    this.updateFrameLimit();
  }

  /**
   * The largest message body accepted (`maxMessageSize`). Whatever frame-max
   * was negotiated (up to 2^32-1), no single frame larger than this plus the
   * 8 bytes of frame overhead is ever buffered: a peer's 7-byte header cannot
   * make the parser allocate gigabytes.
   */
  get maxMessageSize(): number {
    return this.messageSizeLimit;
  }

  set maxMessageSize(value: number) {
    this.messageSizeLimit = value;
    this.updateFrameLimit();
  }

  private updateFrameLimit(): void {
    this.frameLimit = this.negotiatedFrameMax > 0 ? this.negotiatedFrameMax : DEFAULT_FRAME_MAX;
    this.bufferLimit = Math.min(this.frameLimit, this.messageSizeLimit + FRAME_OVERHEAD);
  }

  /** Bytes received towards the next frame (a frame in progress, or input left over). */
  get buffered(): number {
    let n = this.backlog?.length ?? 0;
    if (this.partial !== null) n += this.partialFill;
    else if (this.bodyActive) n += FRAME_HEADER_SIZE + this.bodySize - this.bodyRest;
    else n += this.headFill;
    return n;
  }

  /**
   * Parses `chunk`, calling `handler` for each frame in order: either a
   * {@link FrameHandler} (direct calls, body payloads in pieces: the fast
   * path) or a function that gets a {@link Frame} object per frame (a body
   * frame's payload whole). Throws FrameError on malformed input. If the
   * handler throws, the error propagates and the rest of the chunk is kept
   * for the next `push`.
   *
   * Returns true when no view of `chunk` outlives the call: every body piece
   * cut from it was released by `onBody` returning true, and the parser holds
   * none. The caller may then reuse the chunk's memory for its next read.
   */
  push(chunk: Buffer, handler: FrameHandler | ((f: Frame) => void)): ChunkRelease {
    if (this.failed !== null) throw this.failed;
    let h: FrameHandler;
    if (typeof handler === 'function') {
      const objects = this.objects ?? (this.objects = new FrameObjects());
      objects.onFrame = handler;
      h = objects;
    } else {
      h = handler;
    }
    if (this.backlog !== null) {
      chunk = chunk.length === 0 ? this.backlog : Buffer.concat([this.backlog, chunk]);
      this.backlog = null;
    }
    this.resumeAt = 0;
    this.viewKept = false;
    try {
      this.parse(chunk, h);
      return !this.viewKept && this.bodyHeld === null;
    } catch (e) {
      if (e instanceof FrameError) {
        this.failed = e;
        this.partial = null;
        this.bodyHeld = null;
      } else if (this.resumeAt < chunk.length) {
        // the frame handler threw: keep what has not been parsed yet
        this.backlog = Buffer.from(chunk.subarray(this.resumeAt));
      }
      throw e;
    }
  }

  private fail(msg: string): FrameError {
    return new FrameError(msg);
  }

  private checkType(type: number): void {
    if (type !== 1 && type !== 2 && type !== 3 && type !== 8 && type !== PROTOCOL_HEADER_START) {
      throw this.fail(`unknown frame type ${type} (0x${type.toString(16)})`);
    }
  }

  /** Validates a frame header; returns the total frame size. */
  private checkHeader(type: number, channel: number, size: number): number {
    this.checkType(type);
    const max = type === 3 ? this.frameLimit : this.bufferLimit;
    const total = size + FRAME_OVERHEAD;
    if (total > max) {
      const limit =
        max === this.frameLimit ? `frame-max ${max}` : `the frame limit ${max} (maxMessageSize ${this.messageSizeLimit} + ${FRAME_OVERHEAD})`;
      throw this.fail(`frame of ${total} bytes (type ${type}, channel ${channel}) exceeds ${limit}`);
    }
    if (type === 8 && channel !== 0) throw this.fail(`heartbeat frame on channel ${channel}; heartbeats must use channel 0`);
    return total;
  }

  private badEnd(octet: number, type: number, size: number): FrameError {
    return this.fail(`bad frame end octet 0x${octet.toString(16)} (expected 0xce) after a frame of type ${type} with a ${size}-byte payload`);
  }

  private parse(chunk: Buffer, h: FrameHandler): void {
    const len = chunk.length;
    let off = 0;

    // 1. a header that straddles chunks
    if (this.headFill > 0) {
      const head = this.head;
      while (off < len) {
        const need = head[0] === PROTOCOL_HEADER_START ? PROTOCOL_HEADER_SIZE : FRAME_HEADER_SIZE;
        if (this.headFill >= need) break;
        head[this.headFill++] = chunk[off++];
      }
      const need = head[0] === PROTOCOL_HEADER_START ? PROTOCOL_HEADER_SIZE : FRAME_HEADER_SIZE;
      if (this.headFill < need) return;
      this.headFill = 0;
      if (head[0] === PROTOCOL_HEADER_START) {
        this.resumeAt = off;
        this.protocolHeader(head, 0, h);
      } else {
        const channel = (head[1] << 8) | head[2];
        const size = head.readUInt32BE(3);
        const total = this.checkHeader(head[0], channel, size);
        if (head[0] === 3) {
          this.startBody(channel, size);
        } else {
          const frame = Buffer.allocUnsafe(total);
          head.copy(frame, 0, 0, FRAME_HEADER_SIZE);
          this.partial = frame;
          this.partialFill = FRAME_HEADER_SIZE;
        }
      }
    }

    // 2a. a body frame in progress: its payload is handed on in pieces, not assembled
    if (this.bodyActive) {
      off = this.continueBody(chunk, off, h);
      if (this.bodyActive) return;
    }

    // 2b. a method or header frame being assembled
    const partial = this.partial;
    if (partial !== null) {
      const need = partial.length - this.partialFill;
      if (len - off < need) {
        chunk.copy(partial, this.partialFill, off);
        this.partialFill += len - off;
        return;
      }
      chunk.copy(partial, this.partialFill, off, off + need);
      off += need;
      this.partial = null;
      this.partialFill = 0;
      this.resumeAt = off;
      this.dispatch(partial, 0, partial.length - FRAME_OVERHEAD, h);
    }

    // 3. whole frames
    while (len - off >= FRAME_HEADER_SIZE) {
      const type = chunk[off];
      if (type === PROTOCOL_HEADER_START) {
        if (len - off < PROTOCOL_HEADER_SIZE) break;
        this.resumeAt = off + PROTOCOL_HEADER_SIZE;
        this.protocolHeader(chunk, off, h);
        off += PROTOCOL_HEADER_SIZE;
        continue;
      }
      // inline: see the top of this file
      const size = chunk[off + 3] * 0x1000000 + ((chunk[off + 4] << 16) | (chunk[off + 5] << 8) | chunk[off + 6]);
      const channel = (chunk[off + 1] << 8) | chunk[off + 2];
      const total = this.checkHeader(type, channel, size);
      if (len - off < total) {
        // 4a. an incomplete frame with a known header
        if (type === 3) {
          this.startBody(channel, size);
          this.continueBody(chunk, off + FRAME_HEADER_SIZE, h);
          return;
        }
        const frame = Buffer.allocUnsafe(total);
        chunk.copy(frame, 0, off, len);
        this.partial = frame;
        this.partialFill = len - off;
        return;
      }
      this.resumeAt = off + total;
      this.dispatch(chunk, off, size, h);
      off += total;
    }

    // 4b. less than a frame header (or protocol header) left
    if (off < len) {
      this.checkType(chunk[off]);
      chunk.copy(this.head, 0, off, len);
      this.headFill = len - off;
    }
  }

  private startBody(channel: number, size: number): void {
    this.bodyActive = true;
    this.bodyChannel = channel;
    this.bodySize = size;
    this.bodyRest = size;
    this.bodyHeld = null;
  }

  /**
   * Hands on what `chunk[off..]` holds of the body frame in progress; returns
   * where the chunk continues (its end unless the frame ended in it).
   */
  private continueBody(chunk: Buffer, off: number, h: FrameHandler): number {
    const len = chunk.length;
    const rest = this.bodyRest;
    if (len - off > rest) {
      // the rest of the payload and the frame-end octet
      const endAt = off + rest;
      if (chunk[endAt] !== FRAME_END) throw this.badEnd(chunk[endAt], 3, this.bodySize);
      let piece: Buffer;
      if (rest > 0) piece = chunk.subarray(off, endAt);
      else piece = this.bodyHeld ?? EMPTY;
      this.bodyActive = false;
      this.bodyHeld = null;
      this.bodyRest = 0;
      this.resumeAt = endAt + 1;
      if (h.onBody(this.bodyChannel, piece, 0) !== true) this.viewKept = true;
      return endAt + 1;
    }
    if (len === off) return len;
    if (len - off === rest) {
      // the payload ends with the chunk: hold its last piece until the frame-end octet is seen
      this.bodyHeld = chunk.subarray(off, len);
      this.bodyRest = 0;
      return len;
    }
    // a piece from the middle of the payload
    this.bodyRest = rest - (len - off);
    this.resumeAt = len;
    if (h.onBody(this.bodyChannel, chunk.subarray(off, len), this.bodyRest) !== true) this.viewKept = true;
    return len;
  }

  /**
   * Decodes basic.deliver's fields at `buf[p, end)`. Deliveries to one
   * consumer repeat its consumer tag, exchange and routing key: when those
   * bytes equal the previous delivery's, its strings are reused without
   * decoding; otherwise Basic.Deliver.decode does the work.
   */
  private deliver(buf: Buffer, p: number, end: number): Basic.Deliver {
    const key = this.deliverKey;
    const n1 = this.deliverKeyTag; // consumer tag with its length octet
    const q = p + n1 + 9; // after the delivery tag (8) and the redelivered bit (1)
    if (n1 > 0 && q + this.deliverKeyRest === end) {
      let i = 0;
      while (i < n1 && buf[p + i] === key[i]) i++;
      if (i === n1) {
        const n = n1 + this.deliverKeyRest;
        let k = q;
        while (i < n && buf[k] === key[i]) {
          i++;
          k++;
        }
        if (i === n) {
          const t = p + n1;
          const m = new Basic.Deliver();
          m.consumerTag = this.deliverTag;
          // inline: see the top of this file
          m.deliveryTag =
            (buf[t] * 0x1000000 + ((buf[t + 1] << 16) | (buf[t + 2] << 8) | buf[t + 3])) * 4294967296 +
            (buf[t + 4] * 0x1000000 + ((buf[t + 5] << 16) | (buf[t + 6] << 8) | buf[t + 7]));
          m.redelivered = (buf[t + 8] & 1) !== 0;
          m.exchange = this.deliverExchange;
          m.routingKey = this.deliverRoutingKey;
          return m;
        }
      }
    }
    const r = this.reader;
    r.buf = buf;
    r.pos = p;
    r.end = end;
    const m = Basic.Deliver.decode(r);
    r.buf = EMPTY;
    // remember this one's strings and bytes (when it has no trailing bytes and they fit)
    const tagBytes = 1 + buf[p];
    const rest = end - (p + tagBytes + 9);
    if (r.pos === end && tagBytes + rest <= key.length) {
      buf.copy(key, 0, p, p + tagBytes);
      buf.copy(key, tagBytes, end - rest, end);
      this.deliverKeyTag = tagBytes;
      this.deliverKeyRest = rest;
      this.deliverTag = m.consumerTag;
      this.deliverExchange = m.exchange;
      this.deliverRoutingKey = m.routingKey;
    }
    return m;
  }

  /**
   * Decodes a content header frame. The frame itself is sound (its size and
   * frame-end were checked): properties that cannot be decoded within the
   * limits make a poison message, not a broken stream, so they go to
   * `onBadHeader` (the channel rejects that one message) when the handler has one.
   */
  private header(buf: Buffer, start: number, end: number, channel: number, h: FrameHandler): void {
    const r = this.reader;
    r.buf = buf;
    r.pos = start;
    r.end = end;
    let properties: BasicProperties;
    let bodySize: number;
    try {
      // a truncated class, weight or size is a broken frame (FrameError from the reader)
      const classId = r.short();
      r.short(); // weight, unused
      bodySize = r.longlong();
      if (classId !== 60) throw this.fail(`content header for class ${classId}; only basic (60) carries content`);
    } catch (err) {
      r.buf = EMPTY;
      throw err;
    }
    try {
      properties = BasicProperties.decode(r);
    } catch (err) {
      const error = asFrameError(err, `content header properties on channel ${channel}`);
      if (h.onBadHeader === undefined) throw error;
      h.onBadHeader(channel, bodySize, error);
      return;
    } finally {
      r.buf = EMPTY;
    }
    h.onHeader(channel, bodySize, properties);
  }

  private protocolHeader(buf: Buffer, off: number, h: FrameHandler): void {
    if (buf[off + 1] !== 0x4d || buf[off + 2] !== 0x51 || buf[off + 3] !== 0x50) {
      throw this.fail(`unknown frame type 65 (0x41) and not an 'AMQP' protocol header`);
    }
    // 'AMQP' then: 0 0 9 1 for 0-9-1, or e.g. 1 1 0 9 / 0 1 0 0 / 3 1 0 0 (1-0, TLS, SASL)
    h.onProtocolHeader(buf[off + 5], buf[off + 6], buf[off + 7]);
  }

  /** Decodes and emits the frame at `buf[off]` whose payload has `size` bytes. */
  private dispatch(buf: Buffer, off: number, size: number, h: FrameHandler): void {
    const start = off + FRAME_HEADER_SIZE;
    const end = start + size;
    if (buf[end] !== FRAME_END) throw this.badEnd(buf[end], buf[off], size);
    const channel = (buf[off + 1] << 8) | buf[off + 2];
    switch (buf[off]) {
      case 1: {
        let method: AMQPMethod;
        try {
          // inline: see the top of this file
          if (size >= 4 && buf[start] * 0x1000000 + ((buf[start + 1] << 16) | (buf[start + 2] << 8) | buf[start + 3]) === BASIC_DELIVER) {
            method = this.deliver(buf, start + 4, end);
          } else {
            method = decodeMethod(buf, start, end);
          }
        } catch (err) {
          throw asFrameError(err, `method frame on channel ${channel}`);
        }
        h.onMethod(channel, method);
        return;
      }
      case 2:
        return this.header(buf, start, end, channel, h);
      case 3:
        if (h.onBody(channel, buf.subarray(start, end), 0) !== true) this.viewKept = true;
        return;
      default:
        // 8: heartbeat (any payload is ignored)
        h.onHeartbeat();
    }
  }
}
