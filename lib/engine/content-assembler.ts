/**
 * Reassembles a message from its method, content-header and body frames.
 * A body that arrives as one piece (one body frame wholly inside one socket
 * chunk) is passed on as that piece, a view of the socket chunk (no copy);
 * any other body is copied piece by piece into a buffer of its own.
 *
 * Memory follows the bytes that arrived, not the size a header announces:
 * a body of up to {@link UPFRONT_BODY_BYTES} gets its final buffer at its
 * first piece (one copy of each byte), a larger one starts there and doubles
 * as its bytes come, so that a peer announcing a huge body and sending a few
 * bytes reserves little. A message may also be *skipped* (its body counted
 * and dropped, nothing allocated): one whose properties could not be decoded,
 * or one larger than `maxMessageSize`.
 * @packageDocumentation
 */
import { FrameError } from '../errors';
import type { AMQPMethod, BasicProperties } from '../wire/spec';

const EMPTY = Buffer.alloc(0);

/** The largest body whose whole buffer is allocated when its first piece arrives. */
export const UPFRONT_BODY_BYTES = 16 * 1024 * 1024;

/**
 * A complete message.
 * @category Messages and field tables
 */
export interface AssembledMessage<M extends AMQPMethod = AMQPMethod> {
  /** The method that carried it (basic.deliver, basic.get-ok or basic.return). */
  method: M;
  /** Its properties. */
  properties: BasicProperties;
  /** Its body. */
  body: Buffer;
}

/**
 * Collects the frames of one message at a time. `header`, `skip` and
 * `bodyPiece` return true when the message is complete: its parts are then in
 * `method`, `properties` and `body` until {@link reset} (which the caller
 * calls before handing them on). A skipped message completes with
 * `properties` null and an empty body.
 */
export class ContentAssembler {
  /** The method of the message in progress (or just completed), or null. */
  method: AMQPMethod | null = null;
  /** Its properties, once the content header has arrived (null for a skipped message). */
  properties: BasicProperties | null = null;
  /** Its body so far (complete once `header` / `bodyPiece` returned true). */
  body: Buffer = EMPTY;
  /** True between the content header of a skipped message and its last body byte. */
  skipping = false;
  private hasHeader = false;
  private bodySize = 0;
  private received = 0;

  /** @param channel the channel number, for error messages. */
  constructor(private readonly channel: number) {}

  /** True between a content-carrying method and its last body frame. */
  get busy(): boolean {
    return this.method !== null;
  }

  /** Begins a message. */
  start(method: AMQPMethod): void {
    this.method = method;
    this.properties = null;
    this.hasHeader = false;
  }

  /** Takes the content header; true when the message is complete (an empty body). */
  header(bodySize: number, properties: BasicProperties): boolean {
    // No size check here: the channel refused anything above maxMessageSize (at most 512 MiB) first.
    this.takeHeader(bodySize);
    this.properties = properties;
    return bodySize === 0;
  }

  /**
   * Takes the content header of a message that is dropped: its body frames
   * are checked against `bodySize` and discarded, nothing is allocated.
   * True when the message is complete (an empty body).
   */
  skip(bodySize: number): boolean {
    this.takeHeader(bodySize);
    this.skipping = bodySize > 0;
    return bodySize === 0;
  }

  private takeHeader(bodySize: number): void {
    if (this.method === null || this.hasHeader) {
      throw new FrameError(`unexpected content header on channel ${this.channel}`);
    }
    this.hasHeader = true;
    this.bodySize = bodySize;
    this.received = 0;
    this.body = EMPTY;
  }

  /**
   * Takes a piece of a body frame's payload; `rest`: the bytes of that frame
   * still to come after it (0: the frame's last piece). True when the
   * message is complete.
   */
  bodyPiece(piece: Buffer, rest: number): boolean {
    if (!this.hasHeader) throw new FrameError(`unexpected body frame on channel ${this.channel}`);
    const received = this.received;
    const total = received + piece.length;
    if (total + rest > this.bodySize) {
      throw new FrameError(`body frames on channel ${this.channel} exceed the announced body size ${this.bodySize}`);
    }
    if (piece.length === 0) return false; // an empty body frame (the message completed earlier otherwise)
    this.received = total;
    if (this.skipping) {
      if (total < this.bodySize) return false;
      this.skipping = false;
      return true;
    }
    if (received === 0 && total === this.bodySize) {
      this.body = piece;
    } else {
      if (total > this.body.length) this.grow(total, received);
      piece.copy(this.body, received);
    }
    return total === this.bodySize;
  }

  /** Makes room for at least `needed` bytes, keeping the `kept` received so far (see the module's comment on memory). */
  private grow(needed: number, kept: number): void {
    const size = this.bodySize;
    let room = size <= UPFRONT_BODY_BYTES ? size : Math.max(this.body.length * 2, UPFRONT_BODY_BYTES);
    while (room < needed) room *= 2;
    const next = Buffer.allocUnsafe(Math.min(room, size));
    if (kept > 0) this.body.copy(next, 0, 0, kept);
    this.body = next;
  }

  /** Forgets the message (after handing a complete one on, or when the channel closed). */
  reset(): void {
    this.method = null;
    this.properties = null;
    this.hasHeader = false;
    this.skipping = false;
    this.body = EMPTY;
  }
}
