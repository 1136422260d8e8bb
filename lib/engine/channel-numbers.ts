/**
 * Allocation of channel numbers: the lowest free number, or one asked for,
 * within the negotiated `channelMax`; numbers are reused after close.
 * @packageDocumentation
 */
import { InvalidArgumentError, NoFreeChannelsError } from '../errors';

/** The set of channel numbers in use on one connection. */
export class ChannelNumbers {
  private readonly used = new Set<number>();
  private lowestMaybeFree = 1;

  /** @param max the negotiated channel-max (1..65535). */
  constructor(readonly max: number) {}

  /** Reserves `wanted`, or the lowest free number. Throws when none is free or `wanted` is taken. */
  allocate(wanted?: number): number {
    if (wanted !== undefined) return this.allocateExact(wanted);
    for (let n = this.lowestMaybeFree; n <= this.max; n++) {
      if (!this.used.has(n)) {
        this.used.add(n);
        this.lowestMaybeFree = n + 1;
        return n;
      }
    }
    throw new NoFreeChannelsError(`all ${this.max} channel numbers (the negotiated channelMax) are in use`);
  }

  /** Frees a number for reuse. */
  release(n: number): void {
    this.used.delete(n);
    if (n < this.lowestMaybeFree) this.lowestMaybeFree = n;
  }

  private allocateExact(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > this.max) {
      throw new InvalidArgumentError(`channelNumber must be an integer from 1 to ${this.max} (channelMax), got ${n}`);
    }
    if (this.used.has(n)) throw new InvalidArgumentError(`channelNumber ${n} is already in use`);
    this.used.add(n);
    return n;
  }
}
