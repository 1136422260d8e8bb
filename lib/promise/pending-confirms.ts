/**
 * The confirm-mode publishes of one promise-API channel that the broker has
 * not answered yet, keyed by sequence number and settled by the channel's
 * one ack/nack callback.
 *
 * Why not the engine's per-publish `onConfirm`: it needs a closure per
 * publish (to turn `(err)` into resolve or reject) beside an options object
 * checked per call; here a publish costs its promise and one map entry, and
 * the settle functions are the promise's own.
 *
 * A `basic.return` carries no sequence number: as in the engine
 * (publish-confirms.ts), RabbitMQ sends it before the ack of the same
 * message, so it is matched to the oldest unanswered mandatory publish with
 * the same exchange, routing key and body, whose ack then rejects with an
 * UnroutableError.
 * @packageDocumentation
 */
import { NackError, UnroutableError } from '../errors';
import { Deferred } from './settle';

/** Where a mandatory publish went, to match a `basic.return` to it. */
interface Destination {
  readonly exchange: string;
  readonly routingKey: string;
  readonly body: Buffer;
  /** The broker's reply text once it came back; null until then. */
  returned: string | null;
}

/** One unanswered publish: its promise, and for a mandatory one where it went. */
class PendingPublish extends Deferred<void> {
  destination: Destination | null = null;
}

/** The unanswered confirm-mode publishes of one channel. */
export class PendingConfirms {
  /** Insertion order is ascending sequence numbers: `multiple` acks walk it from the start. */
  private readonly pending = new Map<number, PendingPublish>();
  /** How many entries are mandatory: returns are matched only when some are. */
  private mandatory = 0;

  constructor(private readonly channelNumber: number) {}

  /** Publishes still waiting for the broker's answer. */
  get size(): number {
    return this.pending.size;
  }

  /** A promise for the publish numbered `seq`: resolved on its ack. */
  add(seq: number): Promise<void> {
    const p = new PendingPublish();
    this.pending.set(seq, p);
    return p.promise;
  }

  /** {@link add} for a mandatory publish, which may come back. */
  addMandatory(seq: number, exchange: string, routingKey: string, body: Buffer): Promise<void> {
    const p = new PendingPublish();
    p.destination = { exchange, routingKey, body, returned: null };
    this.mandatory += 1;
    this.pending.set(seq, p);
    return p.promise;
  }

  /** The broker acked or nacked `tag` (and with `multiple` every unanswered one before it). */
  answered(tag: number, multiple: boolean, nacked: boolean): void {
    if (!multiple) {
      const p = this.pending.get(tag);
      if (p === undefined) return; // not published through this layer (an rpc request, the engine's channel)
      this.pending.delete(tag);
      this.settle(tag, p, nacked);
      return;
    }
    for (const [seq, p] of this.pending) {
      if (seq > tag) break;
      this.pending.delete(seq);
      this.settle(seq, p, nacked);
    }
  }

  /**
   * A mandatory message came back: marks the publish it most probably was.
   * True when one matched (its ack will reject it).
   */
  returned(exchange: string, routingKey: string, body: Buffer, replyText: string): boolean {
    if (this.mandatory === 0) return false;
    for (const p of this.pending.values()) {
      const d = p.destination;
      if (d !== null && d.returned === null && d.exchange === exchange && d.routingKey === routingKey && d.body.equals(body)) {
        d.returned = replyText;
        return true;
      }
    }
    return false;
  }

  /** Every publish still waiting gets `reason` (the channel closed: their outcome is unknown). */
  failAll(reason: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    this.mandatory = 0;
    for (const p of all) p.reject(reason);
  }

  /**
   * After a connection loss, the publishes the engine will not republish
   * (recovery with `republish: false`) are no longer among `unanswered`:
   * they get `reason`. Those still unanswered are republished and wait on.
   */
  failAnsweredElsewhere(unanswered: readonly number[], reason: Error): void {
    if (this.pending.size === 0) return;
    const keep = new Set(unanswered);
    for (const [seq, p] of this.pending) {
      if (keep.has(seq)) continue;
      this.pending.delete(seq);
      if (p.destination !== null) this.mandatory -= 1;
      p.reject(reason);
    }
  }

  private settle(seq: number, p: PendingPublish, nacked: boolean): void {
    const d = p.destination;
    if (d !== null) this.mandatory -= 1;
    if (nacked) return p.reject(new NackError(`the broker nacked publish ${seq} on channel ${this.channelNumber}`));
    if (d?.returned != null) {
      return p.reject(
        new UnroutableError(
          `publish ${seq} on channel ${this.channelNumber} to exchange ${JSON.stringify(d.exchange)} with routing key ${JSON.stringify(d.routingKey)} was returned: ${d.returned}`,
        ),
      );
    }
    p.resolve();
  }
}
