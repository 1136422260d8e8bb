/**
 * {@link SharedStats}: a connection's counters mirrored from its I/O thread
 * into memory both threads see, so that `IOThreadConnection.stats` reads
 * synchronously without a round trip to the I/O thread.
 * @packageDocumentation
 */
import { ConnectionStats, STAT_NAMES } from '../engine/connection-stats';

/** How often the I/O thread copies its counters out, in ms: reads on the other side are at most this old. */
export const STATS_MIRROR_MS = 100;

/** The counters in a SharedArrayBuffer, one float64 each in STAT_NAMES order. */
export class SharedStats {
  private readonly values: Float64Array;

  /** @param buffer - made by {@link SharedStats.allocate}, shared through workerData */
  constructor(readonly buffer: SharedArrayBuffer) {
    this.values = new Float64Array(buffer);
  }

  /** The memory for one connection's counters. */
  static allocate(): SharedArrayBuffer {
    return new SharedArrayBuffer(STAT_NAMES.length * Float64Array.BYTES_PER_ELEMENT);
  }

  /** Copies `stats` in (the I/O thread's side). */
  write(stats: ConnectionStats): void {
    for (let i = 0; i < STAT_NAMES.length; i++) this.values[i] = stats[STAT_NAMES[i]];
  }

  /** Copies the counters out into `into` (the application's side) and returns it. */
  read(into: ConnectionStats): ConnectionStats {
    for (let i = 0; i < STAT_NAMES.length; i++) into[STAT_NAMES[i]] = this.values[i]!;
    return into;
  }
}
