/**
 * Allocation of channel numbers: the lowest free number, or one asked for,
 * within the negotiated `channelMax`; numbers are reused after close.
 *
 * A number whose channel the broker closed is *draining*: the broker may
 * still have frames for it on the wire (RabbitMQ writes a closing channel's
 * queued deliveries after its `channel.close`), so frames for it are dropped
 * instead of being taken as a protocol error, and it is handed out again only
 * when no other number is free.
 * @packageDocumentation
 */
import { InvalidArgumentError, NoFreeChannelsError } from '../errors';

/** The set of channel numbers in use on one connection. */
export class ChannelNumbers {
  private readonly used = new Set<number>();
  /** Released after a broker close, oldest first; reused last. */
  private readonly draining = new Set<number>();
  private lowestMaybeFree = 1;

  /** @param max the negotiated channel-max (1..65535). */
  constructor(readonly max: number) {}

  /** Reserves `wanted`, or the lowest free number. Throws when none is free or `wanted` is taken. */
  allocate(wanted?: number): number {
    if (wanted !== undefined) return this.allocateExact(wanted);
    for (let n = this.lowestMaybeFree; n <= this.max; n++) {
      if (!this.used.has(n) && !this.draining.has(n)) {
        this.used.add(n);
        this.lowestMaybeFree = n + 1;
        return n;
      }
    }
    for (const n of this.draining) {
      this.draining.delete(n);
      this.used.add(n);
      return n;
    }
    throw new NoFreeChannelsError(`all ${this.max} channel numbers (the negotiated channelMax) are in use`);
  }

  /**
   * Frees a number for reuse. `draining`: the broker closed that channel and
   * may still send frames for it (see {@link isDraining}).
   */
  release(n: number, draining = false): void {
    this.used.delete(n);
    if (draining) this.draining.add(n);
    else if (n < this.lowestMaybeFree) this.lowestMaybeFree = n;
  }

  /** True for a number released after a broker close and not handed out since: late frames for it are expected. */
  isDraining(n: number): boolean {
    return this.draining.has(n);
  }

  private allocateExact(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > this.max) {
      throw new InvalidArgumentError(`channelNumber must be an integer from 1 to ${this.max} (channelMax), got ${n}`);
    }
    if (this.used.has(n)) throw new InvalidArgumentError(`channelNumber ${n} is already in use`);
    this.draining.delete(n);
    this.used.add(n);
    return n;
  }
}
