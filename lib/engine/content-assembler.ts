/**
 * Reassembles a message from its method, content-header and body frames.
 * A body that arrives as one piece (one body frame wholly inside one socket
 * chunk) is passed on as that piece, a view of the socket chunk (no copy);
 * any other body is copied once, piece by piece, into its final buffer.
 * @packageDocumentation
 */
import { constants } from 'buffer';
import { FrameError } from '../errors';
import type { AMQPMethod, BasicProperties } from '../wire/spec';

const EMPTY = Buffer.alloc(0);

/** A complete message. */
export interface AssembledMessage<M extends AMQPMethod = AMQPMethod> {
  /** The method that carried it (basic.deliver, basic.get-ok or basic.return). */
  method: M;
  /** Its properties. */
  properties: BasicProperties;
  /** Its body. */
  body: Buffer;
}

/**
 * Collects the frames of one message at a time. `header` and `bodyPiece`
 * return true when the message is complete: its parts are then in `method`,
 * `properties` and `body` until {@link reset} (which the caller calls before
 * handing them on).
 */
export class ContentAssembler {
  /** The method of the message in progress (or just completed), or null. */
  method: AMQPMethod | null = null;
  /** Its properties, once the content header has arrived. */
  properties: BasicProperties | null = null;
  /** Its body so far (complete once `header` / `bodyPiece` returned true). */
  body: Buffer = EMPTY;
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
  }

  /** Takes the content header; true when the message is complete (an empty body). */
  header(bodySize: number, properties: BasicProperties): boolean {
    if (this.method === null || this.properties !== null) {
      throw new FrameError(`unexpected content header on channel ${this.channel}`);
    }
    if (bodySize > constants.MAX_LENGTH) {
      throw new FrameError(`content header on channel ${this.channel} announces ${bodySize} bytes, more than a Buffer can hold`);
    }
    this.properties = properties;
    this.bodySize = bodySize;
    this.received = 0;
    this.body = EMPTY;
    return bodySize === 0;
  }

  /**
   * Takes a piece of a body frame's payload; `rest`: the bytes of that frame
   * still to come after it (0: the frame's last piece). True when the
   * message is complete.
   */
  bodyPiece(piece: Buffer, rest: number): boolean {
    if (this.properties === null) throw new FrameError(`unexpected body frame on channel ${this.channel}`);
    const received = this.received;
    const total = received + piece.length;
    if (total + rest > this.bodySize) {
      throw new FrameError(`body frames on channel ${this.channel} exceed the announced body size ${this.bodySize}`);
    }
    if (piece.length === 0) return false; // an empty body frame (the message completed earlier otherwise)
    if (received === 0 && total === this.bodySize) {
      this.body = piece;
    } else {
      if (received === 0) this.body = Buffer.allocUnsafe(this.bodySize);
      piece.copy(this.body, received);
    }
    this.received = total;
    return total === this.bodySize;
  }

  /** Forgets the message (after handing a complete one on, or when the channel closed). */
  reset(): void {
    this.method = null;
    this.properties = null;
    this.body = EMPTY;
  }
}
