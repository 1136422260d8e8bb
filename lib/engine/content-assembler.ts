/**
 * Reassembles a message from its method, content-header and body frames.
 * A body that arrives in one frame is passed on as that frame's view of the
 * socket chunk (no copy); a split body is copied once into its final buffer.
 * @packageDocumentation
 */
import { constants } from 'buffer';
import { FrameError } from '../errors';
import type { BodyFrame, HeaderFrame } from '../wire/frame';
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

/** Collects the frames of one message at a time. */
export class ContentAssembler {
  private method: AMQPMethod | null = null;
  private properties: BasicProperties | null = null;
  private bodySize = 0;
  private received = 0;
  private body: Buffer = EMPTY;

  /** True between a content-carrying method and its last body frame. */
  get busy(): boolean {
    return this.method !== null;
  }

  /** Begins a message. */
  start(method: AMQPMethod): void {
    this.method = method;
    this.properties = null;
  }

  /** Takes the content header; returns the message when the body is empty. */
  header(frame: HeaderFrame): AssembledMessage | null {
    if (this.method === null || this.properties !== null) {
      throw new FrameError(`unexpected content header on channel ${frame.channel}`);
    }
    if (frame.bodySize > constants.MAX_LENGTH) {
      throw new FrameError(`content header on channel ${frame.channel} announces ${frame.bodySize} bytes, more than a Buffer can hold`);
    }
    this.properties = frame.properties;
    this.bodySize = frame.bodySize;
    this.received = 0;
    this.body = EMPTY;
    return frame.bodySize === 0 ? this.finish() : null;
  }

  /** Takes a body frame; returns the message when it was the last one. */
  bodyFrame(frame: BodyFrame): AssembledMessage | null {
    if (this.properties === null) throw new FrameError(`unexpected body frame on channel ${frame.channel}`);
    const payload = frame.payload;
    const total = this.received + payload.length;
    if (total > this.bodySize) {
      throw new FrameError(`body frames on channel ${frame.channel} exceed the announced body size ${this.bodySize}`);
    }
    if (this.received === 0 && total === this.bodySize) {
      this.body = payload;
    } else {
      if (this.received === 0) this.body = Buffer.allocUnsafe(this.bodySize);
      payload.copy(this.body, this.received);
    }
    this.received = total;
    return total === this.bodySize ? this.finish() : null;
  }

  /** Drops a partial message (the channel closed). */
  reset(): void {
    this.method = null;
    this.properties = null;
    this.body = EMPTY;
  }

  private finish(): AssembledMessage {
    const message = { method: this.method!, properties: this.properties!, body: this.body };
    this.reset();
    return message;
  }
}
