/**
 * Frame types of AMQP 0-9-1 and the protocol header.
 *
 * ```
 * 0      1         3             7                  size+7 size+8
 * +------+---------+-------------+ +--------------+ +-----------+
 * | type | channel |    size     | |   payload    | | frame-end |
 * +------+---------+-------------+ +--------------+ +-----------+
 *  octet   short       long          size octets       0xCE
 * ```
 * @packageDocumentation
 */
import type { FrameError } from '../errors';
import type { AMQPMethod, BasicProperties } from './spec';

export { FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT, FRAME_END, FRAME_MIN_SIZE } from './spec';

/**
 * A method frame; `method` is decoded.
 * @category Wire internals
 */
export interface MethodFrame {
  type: 1;
  channel: number;
  method: AMQPMethod;
}

/**
 * A content header frame.
 * @category Wire internals
 */
export interface HeaderFrame {
  type: 2;
  channel: number;
  /** The class of the content (60, `basic`). */
  classId: number;
  /** The total size of the body frames that follow. */
  bodySize: number;
  properties: BasicProperties;
}

/**
 * A content body frame.
 * @category Wire internals
 */
export interface BodyFrame {
  type: 3;
  channel: number;
  /**
   * The payload. A view into the socket chunk when the frame arrived in one
   * chunk (no copy): it keeps that chunk alive while referenced.
   */
  payload: Buffer;
}

/**
 * A heartbeat frame (always on channel 0).
 * @category Wire internals
 */
export interface HeartbeatFrame {
  type: 8;
  channel: 0;
}

/**
 * The peer sent a protocol header (`AMQP` + 4 octets) instead of a frame:
 * it does not accept our protocol version and tells which one it speaks.
 * @category Wire internals
 */
export interface ProtocolHeaderFrame {
  type: 0;
  major: number;
  minor: number;
  revision: number;
}

/**
 * Anything the {@link FrameParser} emits as an object (`push(chunk, onFrame)`).
 * @category Wire internals
 */
export type Frame = MethodFrame | HeaderFrame | BodyFrame | HeartbeatFrame | ProtocolHeaderFrame;

/**
 * Receives frames from {@link FrameParser.push} as direct calls, without a
 * frame object per frame: the connection's hot path. One call per frame,
 * except that a body frame's payload may come in pieces (see `onBody`).
 * @category Wire internals
 */
export interface FrameHandler {
  /** A method frame, decoded. */
  onMethod(channel: number, method: AMQPMethod): void;
  /** A content header frame (always class 60, `basic`: the parser rejects others). */
  onHeader(channel: number, bodySize: number, properties: BasicProperties): void;
  /**
   * A piece of a body frame's payload, a view into the socket chunk that
   * carried it (never a copy). A body frame that arrives whole in one chunk
   * comes as one piece; one that spans chunks comes as one piece per chunk,
   * as the bytes arrive. `rest` is the number of this frame's payload bytes
   * still to come after this piece: 0 marks the frame's last piece, which is
   * only handed over once the frame-end octet has been checked. A frame with
   * an empty payload comes as one empty piece.
   *
   * Return `true` when nothing refers to `payload` once the call returns (its
   * bytes were copied or not needed): only then may the socket chunk's memory
   * be read into again (see {@link FrameParser.push}'s result). Anything else
   * means the piece may be kept.
   */
  onBody(channel: number, payload: Buffer, rest: number): boolean | void;
  /**
   * A sound content header frame whose properties cannot be decoded within
   * the limits (nesting too deep, a truncated table, an unknown flag): a
   * poison message, not a broken stream. Its body frames still follow. Without
   * this member the parser throws `error` instead, failing the stream.
   */
  onBadHeader?(channel: number, bodySize: number, error: FrameError): void;
  /** A heartbeat frame (channel 0). */
  onHeartbeat(): void;
  /** The peer sent a protocol header (`AMQP` + 4 octets) instead of a frame. */
  onProtocolHeader(major: number, minor: number, revision: number): void;
}

/**
 * The protocol header a client sends first: `AMQP` 0 0 9 1.
 * @category Wire internals
 */
export const PROTOCOL_HEADER: Buffer = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

/** The size of {@link PROTOCOL_HEADER}, and of the one a peer may answer with. */
export const PROTOCOL_HEADER_SIZE = 8;
/** Bytes before a frame payload: type (1), channel (2), payload size (4). */
export const FRAME_HEADER_SIZE = 7;
/** Bytes of a frame that are not payload: the header plus the frame-end octet; also the size of a heartbeat frame. */
export const FRAME_OVERHEAD = 8;
/** The frame-max used until `connection.tune` is negotiated (RabbitMQ's default). */
export const DEFAULT_FRAME_MAX = 131072;

/** The heartbeat frame, shared (frames are not mutated). */
export const HEARTBEAT_FRAME: HeartbeatFrame = Object.freeze({ type: 8, channel: 0 });
