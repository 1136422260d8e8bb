/**
 * Which tags of a channel's sequence are still unanswered: publisher-confirm
 * tags (answered by the broker), or delivery tags (settled by the
 * application's acks, for the stats). Tags are handed out in order and
 * answered mostly in order, so the state is a floor (every
 * tag below it is answered) plus the few tags answered above it: nothing is
 * stored per publish.
 * @packageDocumentation
 */

/** Tracks tags 1..published and their answers (acks and nacks). */
export class ConfirmTracker {
  /** The last tag handed out. */
  private published = 0;
  /** Every tag below this one has been answered. */
  private floor = 1;
  /** Tags at or above the floor answered one by one, out of order. */
  private readonly answeredAbove = new Set<number>();

  /** Hands out the next tag. */
  next(): number {
    this.published += 1;
    return this.published;
  }

  /** Every tag up to this one has been answered (0: none yet). */
  get answeredThrough(): number {
    return this.floor - 1;
  }

  /** The tag the next publish will get. */
  get nextTag(): number {
    return this.published + 1;
  }

  /**
   * Records an ack or nack for `tag` (and every tag below it with `multiple`).
   * Returns how many tags this newly answered, or -1, recording nothing, for
   * a tag above the last one handed out: taking it would hide publishes that
   * really are unanswered.
   */
  answer(tag: number, multiple: boolean): number {
    if (tag > this.published) return -1;
    const before = this.floor + this.answeredAbove.size;
    if (multiple) {
      if (tag >= this.floor) this.floor = tag + 1;
      if (this.answeredAbove.size > 0) for (const t of this.answeredAbove) if (t < this.floor) this.answeredAbove.delete(t);
    } else if (tag === this.floor && this.answeredAbove.size === 0) {
      this.floor += 1; // in order: the usual case, no set
      return 1;
    } else if (tag >= this.floor) {
      this.answeredAbove.add(tag);
    }
    while (this.answeredAbove.delete(this.floor)) this.floor += 1;
    return this.floor + this.answeredAbove.size - before;
  }

  /** Tags handed out by someone else (the broker's delivery tags): the last one is now `tag`. */
  advanceTo(tag: number): void {
    if (tag > this.published) this.published = tag;
  }

  /** The tags published but neither acked nor nacked, in order. */
  unanswered(): number[] {
    const tags: number[] = [];
    for (let t = this.floor; t <= this.published; t++) if (!this.answeredAbove.has(t)) tags.push(t);
    return tags;
  }
}
