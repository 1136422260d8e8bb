/**
 * Publish sequence numbers across recovery. The application's numbers keep
 * increasing; the broker numbers the publishes of each new channel from 1.
 * After a recovery the first broker numbers belong to the republished
 * messages (whose original numbers may have gaps: some were answered before
 * the outage), and every later one is the application's number less a
 * constant. Both orders agree, so a multiple ack up to a broker number is a
 * multiple ack up to its application number.
 * @packageDocumentation
 */

/** Translates the broker's confirm tags to the application's sequence numbers. */
export class ConfirmRemap {
  /**
   * @param republished the application numbers republished first, in order
   * (broker numbers 1..length)
   * @param nextAppSeq the application number of the first publish after them
   */
  constructor(
    private readonly republished: readonly number[],
    private readonly nextAppSeq: number,
  ) {}

  /** The application's number for the broker's `tag` (0 stays 0: "all"). */
  toApp(tag: number): number {
    if (tag === 0) return 0;
    const k = this.republished.length;
    return tag <= k ? this.republished[tag - 1] : this.nextAppSeq + (tag - k - 1);
  }

  /** The broker's number for the application's `seq`, or 0 when it was never sent on this channel. */
  toBroker(seq: number): number {
    const k = this.republished.length;
    if (seq >= this.nextAppSeq) return seq - this.nextAppSeq + k + 1;
    const i = this.republished.indexOf(seq);
    return i === -1 ? 0 : i + 1;
  }
}
