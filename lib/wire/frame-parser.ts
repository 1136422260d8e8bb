/**
 * Incremental frame parser: socket chunks in, decoded frames out.
 * @packageDocumentation
 */
import { FrameError } from '../errors';
import { Reader } from './codec';
import { DEFAULT_FRAME_MAX, HEARTBEAT_FRAME, type Frame } from './frame';
import { BasicProperties, decodeMethod } from './spec';

const FRAME_END = 206;

/**
 * Turns a byte stream into frames. Chunks may split frames anywhere (down
 * to one byte per chunk) or hold many frames. Only an incomplete tail is
 * buffered: once its 7-byte header is known, one buffer of the frame's size
 * is allocated and filled. Body payloads of frames that arrive whole in one
 * chunk are views into that chunk (no copy).
 *
 * A {@link FrameError} (bad frame end, unknown frame type, frame larger than
 * `frameMax`, undecodable payload) leaves the parser failed: later `push`
 * calls throw the same error. The connection must be closed (reply code 501).
 */
export class FrameParser {
  /** The negotiated frame-max; 0 = not negotiated yet (131072 applies). */
  frameMax = 0;

  /** The frame being assembled (header + payload + end), or null. */
  private partial: Buffer | null = null;
  private partialFill = 0;
  /** Up to 8 bytes of a header that straddles chunks. */
  private readonly head = Buffer.alloc(8);
  private headFill = 0;
  /** Unparsed input left over when a frame handler threw. */
  private backlog: Buffer | null = null;
  /** Where the chunk being parsed resumes after the frame being dispatched. */
  private resumeAt = 0;
  private failed: FrameError | null = null;

  /** Bytes buffered towards the next frame. */
  get buffered(): number {
    return (this.partial !== null ? this.partialFill : this.headFill) + (this.backlog?.length ?? 0);
  }

  /**
   * Parses `chunk`, calling `onFrame` for each complete frame in order.
   * Throws FrameError on malformed input. If `onFrame` throws, the error
   * propagates and the rest of the chunk is kept for the next `push`.
   */
  push(chunk: Buffer, onFrame: (f: Frame) => void): void {
    if (this.failed !== null) throw this.failed;
    if (this.backlog !== null) {
      chunk = chunk.length === 0 ? this.backlog : Buffer.concat([this.backlog, chunk]);
      this.backlog = null;
    }
    this.resumeAt = 0;
    try {
      this.parse(chunk, onFrame);
    } catch (e) {
      if (e instanceof FrameError) {
        this.failed = e;
        this.partial = null;
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
    if (type !== 1 && type !== 2 && type !== 3 && type !== 8 && type !== 0x41) {
      throw this.fail(`unknown frame type ${type} (0x${type.toString(16)})`);
    }
  }

  /** Validates a frame header; returns the total frame size. */
  private checkHeader(type: number, channel: number, size: number): number {
    this.checkType(type);
    const max = this.frameMax > 0 ? this.frameMax : DEFAULT_FRAME_MAX;
    if (size + 8 > max) {
      throw this.fail(`frame of ${size + 8} bytes (type ${type}, channel ${channel}) exceeds frame-max ${max}`);
    }
    if (type === 8 && channel !== 0) throw this.fail(`heartbeat frame on channel ${channel}; heartbeats must use channel 0`);
    return size + 8;
  }

  private parse(chunk: Buffer, onFrame: (f: Frame) => void): void {
    const len = chunk.length;
    let off = 0;

    // 1. a header that straddles chunks
    if (this.headFill > 0) {
      const head = this.head;
      while (off < len) {
        const need = head[0] === 0x41 ? 8 : 7;
        if (this.headFill >= need) break;
        head[this.headFill++] = chunk[off++];
      }
      const need = head[0] === 0x41 ? 8 : 7;
      if (this.headFill < need) return;
      this.headFill = 0;
      if (head[0] === 0x41) {
        this.resumeAt = off;
        this.protocolHeader(head, 0, onFrame);
      } else {
        const total = this.checkHeader(head[0], (head[1] << 8) | head[2], head.readUInt32BE(3));
        const frame = Buffer.allocUnsafe(total);
        head.copy(frame, 0, 0, 7);
        this.partial = frame;
        this.partialFill = 7;
      }
    }

    // 2. a frame being assembled
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
      this.dispatch(partial, 0, partial.length - 8, onFrame);
    }

    // 3. whole frames
    while (len - off >= 7) {
      const type = chunk[off];
      if (type === 0x41) {
        if (len - off < 8) break;
        this.resumeAt = off + 8;
        this.protocolHeader(chunk, off, onFrame);
        off += 8;
        continue;
      }
      const size = chunk[off + 3] * 0x1000000 + ((chunk[off + 4] << 16) | (chunk[off + 5] << 8) | chunk[off + 6]);
      const channel = (chunk[off + 1] << 8) | chunk[off + 2];
      const total = this.checkHeader(type, channel, size);
      if (len - off < total) {
        // 4a. an incomplete frame with a known header
        const frame = Buffer.allocUnsafe(total);
        chunk.copy(frame, 0, off, len);
        this.partial = frame;
        this.partialFill = len - off;
        return;
      }
      this.resumeAt = off + total;
      this.dispatch(chunk, off, size, onFrame);
      off += total;
    }

    // 4b. fewer than 7 bytes (8 for a protocol header) left
    if (off < len) {
      this.checkType(chunk[off]);
      chunk.copy(this.head, 0, off, len);
      this.headFill = len - off;
    }
  }

  private protocolHeader(buf: Buffer, off: number, onFrame: (f: Frame) => void): void {
    if (buf[off + 1] !== 0x4d || buf[off + 2] !== 0x51 || buf[off + 3] !== 0x50) {
      throw this.fail(`unknown frame type 65 (0x41) and not an 'AMQP' protocol header`);
    }
    // 'AMQP' then: 0 0 9 1 for 0-9-1, or e.g. 1 1 0 9 / 0 1 0 0 / 3 1 0 0 (1-0, TLS, SASL)
    onFrame({ type: 0, major: buf[off + 5], minor: buf[off + 6], revision: buf[off + 7] });
  }

  /** Decodes and emits the frame at `buf[off]` whose payload has `size` bytes. */
  private dispatch(buf: Buffer, off: number, size: number, onFrame: (f: Frame) => void): void {
    const end = off + 7 + size;
    if (buf[end] !== FRAME_END) {
      throw this.fail(
        `bad frame end octet 0x${buf[end].toString(16)} (expected 0xce) after a frame of type ${buf[off]} with a ${size}-byte payload`,
      );
    }
    const channel = (buf[off + 1] << 8) | buf[off + 2];
    const start = off + 7;
    switch (buf[off]) {
      case 1:
        onFrame({ type: 1, channel, method: decodeMethod(buf, start, end) });
        return;
      case 2: {
        const r = new Reader(buf, start, end);
        const classId = r.short();
        r.short(); // weight, unused
        const bodySize = r.longlong();
        if (classId !== 60) throw this.fail(`content header for class ${classId}; only basic (60) carries content`);
        onFrame({ type: 2, channel, classId, bodySize, properties: BasicProperties.decode(r) });
        return;
      }
      case 3:
        onFrame({ type: 3, channel, payload: buf.subarray(start, end) });
        return;
      default:
        // 8: heartbeat (any payload is ignored)
        onFrame(HEARTBEAT_FRAME);
    }
  }
}
