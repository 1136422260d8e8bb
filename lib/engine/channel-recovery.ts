/**
 * What a channel keeps so that it can come back after its connection
 * recovered, as the same object: the settings to re-apply (qos, confirm
 * mode), the consumers' `basic.consume` methods, the delivery-tag offset
 * that keeps the application's tags increasing, and in confirm mode the
 * unanswered publishes with the numbering that keeps their sequence numbers.
 * Created only on a connection with recovery on: without it a channel pays
 * one null check on the paths that consult it.
 * @packageDocumentation
 */
import * as spec from '../wire/spec';
import { ConfirmRemap } from './confirm-remap';
import { type RetainedPublish, RetainedPublishes } from './retained-publishes';

/** See the module comment. */
export class ChannelRecovery {
  /** The application's delivery tag is the broker's plus this (the tags seen on earlier connections). */
  tagOffset = 0;
  /** The highest delivery tag the broker gave on the current connection. */
  lastBrokerTag = 0;
  /** The last basic.qos per `global` flag (index 0: per consumer, 1: global). */
  private readonly qos: Array<spec.Basic.Qos | null> = [null, null];
  /** Each active consumer's basic.consume, by tag (queue renames are applied to it). */
  readonly consumes = new Map<string, spec.Basic.Consume>();
  /** Unanswered confirm-mode publishes (null: not republishing). */
  readonly retained: RetainedPublishes | null;
  /** Broker confirm tag → application sequence number, after a recovery (null: the same). */
  remap: ConfirmRemap | null = null;
  /**
   * The sequence number of the last confirm-mode publish written to a
   * connection. Publishes held while recovering already have their numbers
   * but are written later, in order, after the republished ones.
   */
  private lastSentSeq = 0;
  /** Restored in confirm mode: the first answer tells whether the broker accepts this channel's publishes (see Channel.onConfirm). */
  firstAnswerPending = false;
  /** Reopens after a nack since the connection last recovered, and the loop time of the last one. */
  reopens = 0;
  lastReopenAt = -Infinity;

  constructor(republish: boolean) {
    this.retained = republish ? new RetainedPublishes() : null;
  }

  /** A basic.qos the broker accepted. */
  recordQos(method: spec.Basic.Qos): void {
    this.qos[method.global ? 1 : 0] = method;
  }

  /** The qos methods to re-apply, per-consumer first (as the application most likely sent them). */
  qosMethods(): spec.Basic.Qos[] {
    return this.qos.filter((m): m is spec.Basic.Qos => m !== null);
  }

  /**
   * The broker channel is gone (the connection was lost, or the channel is
   * being reopened: `reopen`): every delivery tag given so far is stale (the
   * broker requeues those messages), and the next channel numbers from 1
   * again. A lost connection also resets the count of reopens.
   */
  onLost(reopen = false): void {
    this.tagOffset += this.lastBrokerTag;
    this.lastBrokerTag = 0;
    this.firstAnswerPending = false;
    if (!reopen) this.reopens = 0;
  }

  /**
   * The broker's tag for an ack, nack or reject of the application's `tag`:
   * -1 when it refers to a delivery from before the last outage (it must be
   * dropped: the broker redelivers that message, and would close the new
   * channel with 406 for an unknown tag). 0 ("all so far") stays 0.
   */
  brokerTag(tag: number): number {
    if (tag === 0) return 0;
    return tag > this.tagOffset ? tag - this.tagOffset : -1;
  }

  /** A server-named queue was renamed: consumers on it follow. */
  renameQueue(oldName: string, newName: string): void {
    for (const [tag, m] of this.consumes) {
      if (m.queue === oldName) this.consumes.set(tag, new spec.Basic.Consume({ ...m, queue: newName }));
    }
  }

  /** Confirm-mode publish `seq` was written: kept until answered when republishing. */
  sent(seq: number, exchange: string, routingKey: string, mandatory: boolean, properties: spec.BasicPropertiesInit | undefined, body: Buffer): void {
    this.lastSentSeq = seq;
    this.retained?.retain({ seq, exchange, routingKey, mandatory, properties, body });
  }

  /**
   * A channel that leaves this connection's consumers' records: those
   * consumers' queues, for the recorder's auto-delete rule.
   */
  forgetConsumers(): string[] {
    const queues = [...this.consumes.values()].map((m) => m.queue);
    this.consumes.clear();
    this.retained?.clear();
    return queues;
  }

  /** The last confirm-mode publish written to a connection (0: none). */
  get sentThrough(): number {
    return this.lastSentSeq;
  }

  /**
   * The confirm numbering of the next connection: the unanswered publishes
   * (returned, in order) go out first, then the held ones from
   * `sentThrough + 1` on.
   */
  renumber(): RetainedPublish[] {
    const republish = this.retained?.below(this.lastSentSeq + 1) ?? [];
    this.remap = new ConfirmRemap(
      republish.map((p) => p.seq),
      this.lastSentSeq + 1,
    );
    return republish;
  }
}
