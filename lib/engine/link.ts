/**
 * One byte stream to the broker, from the connect of an attempt until it is
 * dropped: its transport, the parser of what it brings in, and the heartbeat
 * checker watching it. A dropped link is retired for good: what its transport
 * still reports (a late close, the rest of a chunk being parsed) is not acted on.
 * @packageDocumentation
 */
import type { FrameHandler } from '../wire/frame';
import type { ChunkRelease } from '../wire/frame-parser';
import { FrameParser } from '../wire/frame-parser';
import type { HeartbeatChecker } from './heartbeat-checker';
import type { Transport, TransportHandlers } from './ioloop';

/** What a link reports to its connection, while it is live. */
export interface LinkEvents {
  /** A chunk arrived; true when nothing refers to it afterwards (see TransportHandlers.onData). */
  onLinkData(link: Link, chunk: Buffer): ChunkRelease;
  /** The transport closed (err null: the peer ended it). */
  onLinkClosed(link: Link, err: Error | null): void;
  /** The transport can take more. */
  onLinkDrain(): void;
}

/** A connection's byte stream for one attempt and, once open, for the connection's life. */
export class Link {
  /** The stream, once the connect completed. */
  transport: Transport | null = null;
  /** Turns the stream's bytes into frames. */
  readonly parser = new FrameParser();
  /** The connection's handlers for this link's frames. */
  frames: FrameHandler | null = null;
  /** Watches this stream once heartbeats are negotiated. */
  heartbeat: HeartbeatChecker | null = null;
  /** False once dropped. */
  live = true;

  /** @param maxMessageSize bounds what the parser buffers (see FrameParser.maxMessageSize). */
  constructor(maxMessageSize: number) {
    this.parser.maxMessageSize = maxMessageSize;
  }

  /** Transport handlers that act only while this link is live. */
  handlers(events: LinkEvents): TransportHandlers {
    return {
      onData: (chunk) => !this.live || events.onLinkData(this, chunk),
      onClose: (err) => {
        if (this.live) events.onLinkClosed(this, err);
      },
      onDrain: () => {
        if (this.live) events.onLinkDrain();
      },
    };
  }

  /**
   * Retires the link: stops its heartbeat, and ends its stream (`graceful`:
   * what was written still goes out) or destroys it (a dead or stuck peer).
   */
  drop(graceful: boolean): void {
    this.live = false;
    this.heartbeat?.stop();
    this.heartbeat = null;
    const transport = this.transport;
    this.transport = null;
    if (transport === null) return;
    if (graceful) transport.end();
    else transport.destroy();
  }
}
