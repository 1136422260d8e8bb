/**
 * {@link BodyPacker}: the bodies of one batch of port messages packed into
 * one fresh `ArrayBuffer`, which the batch transfers.
 *
 * Why not post the Buffers themselves: the structured clone of a Buffer
 * copies its whole underlying ArrayBuffer, and a delivered body is usually a
 * view into a 64 KiB socket slab (a small published Buffer, into Node's
 * 8 KiB pool). Copying each body once into an arena of exactly the batch's
 * size, and transferring the arena, is the one copy a body makes between
 * threads; the receiver reads each body as a view into it.
 * @packageDocumentation
 */

/** Collects the bodies of a batch; {@link take} copies them into one ArrayBuffer. */
export class BodyPacker {
  private pieces: Array<Uint8Array | string> = [];
  private offsets: number[] = [];
  private size = 0;

  /** Bytes collected so far. */
  get bytes(): number {
    return this.size;
  }

  /** Adds a body (a string as UTF-8); returns its offset in the arena {@link take} makes. */
  add(body: Uint8Array | string, length: number): number {
    const offset = this.size;
    if (length > 0) {
      this.pieces.push(body);
      this.offsets.push(offset);
      this.size += length;
    }
    return offset;
  }

  /**
   * The arena with every body added since the last take (at its start),
   * `size` bytes long (room for more after the bodies); null when it would be empty. Resets.
   */
  take(size = this.size): ArrayBuffer | null {
    if (size === 0) return null;
    const arena = freshBuffer(size);
    const { pieces, offsets } = this;
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (typeof piece === 'string') arena.write(piece, offsets[i], 'utf8');
      else arena.set(piece, offsets[i]);
    }
    this.pieces = [];
    this.offsets = [];
    this.size = 0;
    return arena.buffer as ArrayBuffer;
  }
}

/**
 * A Buffer on an ArrayBuffer of its own, exactly `size` bytes, not
 * zero-filled (every byte is written before it is sent): transferable,
 * unlike a Buffer from Node's pool.
 */
function freshBuffer(size: number): Buffer {
  const b = Buffer.allocUnsafeSlow(size);
  return b.byteOffset === 0 && b.buffer.byteLength === size ? b : Buffer.from(new ArrayBuffer(size));
}

/** The byte length of a body as sent (a string as UTF-8). */
export function bodyLength(body: Uint8Array | string): number {
  return typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
}

/** A body received in a batch: a view into its arena (no copy). */
export function bodyAt(arena: Buffer, offset: number, length: number): Buffer {
  return arena.subarray(offset, offset + length);
}

/** The received arena as a Buffer (an empty one when the batch had no bodies). */
export function arenaOf(bodies: ArrayBuffer | null): Buffer {
  return bodies === null ? EMPTY : Buffer.from(bodies);
}

const EMPTY = Buffer.alloc(0);

/** The records' numbers of a received batch (a view into its arena, no copy). */
export function numsOf(batch: { readonly bodies: ArrayBuffer | null; readonly numsAt: number }): Float64Array {
  if (batch.bodies === null || batch.numsAt >= batch.bodies.byteLength) return NO_NUMS;
  return new Float64Array(batch.bodies, batch.numsAt);
}

const NO_NUMS = new Float64Array(0);
