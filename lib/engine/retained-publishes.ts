/**
 * The publishes of a confirm-mode channel that the broker has not answered
 * yet, kept (by reference, like a queued publish) so that automatic recovery
 * can republish them on the next connection. The memory held is bounded by
 * the confirm window the application keeps: each record goes as soon as the
 * broker acks or nacks its publish.
 * @packageDocumentation
 */
import type * as spec from '../wire/spec';

/** One publish, as basicPublish got it. */
export interface RetainedPublish {
  readonly seq: number;
  readonly exchange: string;
  readonly routingKey: string;
  readonly mandatory: boolean;
  readonly properties: spec.BasicPropertiesInit | undefined;
  readonly body: Buffer;
}

/** Unanswered publishes by sequence number, in publish order. */
export class RetainedPublishes {
  // A Map iterates in insertion order, which is sequence order: a multiple ack drops from the front.
  private readonly bySeq = new Map<number, RetainedPublish>();
  private bytes = 0;

  /** How many are kept. */
  get size(): number {
    return this.bySeq.size;
  }

  /** Body bytes kept. */
  get bodyBytes(): number {
    return this.bytes;
  }

  /** Keeps one publish until {@link answered}. */
  retain(publish: RetainedPublish): void {
    this.bySeq.set(publish.seq, publish);
    this.bytes += publish.body.length;
  }

  /** The broker answered `from`..`to` (one tag, or a multiple ack/nack): drop those. */
  answered(from: number, to: number): void {
    if (from === to) return this.drop(from);
    for (const seq of this.bySeq.keys()) {
      if (seq > to) break;
      if (seq >= from) this.drop(seq);
    }
  }

  /** The publishes numbered below `before`, in order (what recovery republishes). */
  below(before: number): RetainedPublish[] {
    const out: RetainedPublish[] = [];
    for (const p of this.bySeq.values()) {
      if (p.seq >= before) break;
      out.push(p);
    }
    return out;
  }

  /** Forgets everything (the channel closed: the outcome is reported through onConfirm and onClose). */
  clear(): void {
    this.bySeq.clear();
    this.bytes = 0;
  }

  private drop(seq: number): void {
    const p = this.bySeq.get(seq);
    if (p === undefined) return;
    this.bySeq.delete(seq);
    this.bytes -= p.body.length;
  }
}
