/**
 * Reads of a plain `net.Socket` into memory of ours (`onread`), for
 * `NodeIOLoop`'s TCP and Unix sockets.
 * @packageDocumentation
 */
import type { ChunkRelease } from '../wire/frame-parser';
import type { ChunkSource } from './duplex-transport';

/** Size of a slab that successive reads are made into. */
const SLAB_SIZE = 256 * 1024;
/** A read is offered at least this much room; a slab with less left is retired. */
const MIN_READ_ROOM = 64 * 1024;
/** A read of at most this many bytes is handed on as a copy of its own. */
const COPY_READ_SIZE = 16 * 1024;

/**
 * Hands a socket's reads to a sink, reading into slabs of ours.
 *
 * Node's own reads allocate 64 KiB, read into it and shrink it to what was
 * read: one allocation per read and at most 64 KiB per read syscall. Here a
 * read goes into the unused rest of a 256 KiB slab (at least 64 KiB of room,
 * so up to 256 KiB per syscall under load).
 *
 * A large read (above 16 KiB: a busy connection) is handed on as a view of
 * the slab, and what the sink returns decides what happens to those bytes.
 * `true` (nothing refers to the chunk any more: its frames were decoded into
 * objects of their own, its body pieces copied) lets the next read overwrite
 * them, so a connection that copies what it reads (large bodies) reads into
 * the same memory over and over. Anything else (a consumer got a body that is
 * a view of the chunk) moves past them for good; a new slab is allocated once
 * the room left is too small.
 *
 * A small read (a quiet connection: a few messages, replies, confirms) is
 * handed on as a copy of just its bytes, as Node's own reads are, and the
 * slab is read into again. So a body a consumer keeps pins at most its small
 * chunk on a quiet connection, and at most one slab on a busy one, never a
 * slab per kept message of a trickle.
 */
export class SocketReader implements ChunkSource {
  private slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
  private used = 0;
  /** Where the next read goes: `slab.subarray(used)`, made again only when `used` moves. */
  private rest = this.slab;
  private sink: ((chunk: Buffer) => ChunkRelease) | null = null;
  /** Chunks read before a sink was attached; null once one was. */
  private early: Buffer[] | null = [];

  /** The `onread` option for `net.connect`. */
  readonly onread = {
    buffer: (): Buffer => this.rest,
    callback: (n: number, buf: Uint8Array): boolean => {
      const view = (buf as Buffer).subarray(0, n);
      if (n <= COPY_READ_SIZE) {
        // a copy of its own: the slab's bytes are free again at once, whatever the sink does
        const copy = Buffer.allocUnsafeSlow(n);
        view.copy(copy);
        this.deliver(copy);
      } else if (!this.deliver(view)) {
        this.advance(n);
      }
      return true;
    },
  };

  /** Hands a chunk to the sink (or queues it until there is one); true when the sink released it. */
  private deliver(chunk: Buffer): ChunkRelease {
    const sink = this.sink;
    if (sink !== null) return sink(chunk) === true;
    this.early?.push(chunk);
    return false;
  }

  /** The bytes just read stay as they are: later reads go after them. */
  private advance(n: number): void {
    this.used += n;
    if (SLAB_SIZE - this.used < MIN_READ_ROOM) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
      this.used = 0;
    }
    this.rest = this.slab.subarray(this.used);
  }

  attach(sink: ((chunk: Buffer) => ChunkRelease) | null): void {
    const early = this.early;
    if (sink === null || early === null || early.length === 0) {
      this.early = null;
      this.sink = sink;
      return;
    }
    // Chunks that came early go first, on a later turn; reads meanwhile queue behind them.
    setImmediate(() => {
      const queued = this.early;
      this.early = null;
      if (queued === null) return; // detached meanwhile
      this.sink = sink;
      for (const chunk of queued) if (this.sink === sink) sink(chunk);
    });
  }
}
