/**
 * The seam between a connection and the automatic recovery layer above it
 * (lib/recovery): the engine keeps the mechanics (a connection that outlives
 * its socket, channels that hold calls and come back under the same
 * objects), the layer above decides when and how (which closes, backoff,
 * topology, events). Without hooks installed a connection closes for good,
 * exactly as before recovery existed.
 * @packageDocumentation
 */
import type { TopologyObserver } from './topology-observer';
import type { ConsumeOptions } from './channel-options';

/** What a recovering connection asks of the recovery layer. */
export interface RecoveryHooks {
  /** True: the connection recovers from `reason` instead of closing. Asked of every close the application did not ask for. */
  shouldRecover(reason: Error): boolean;
  /** The connection lost its link and is recovering: schedule the reconnect rounds. */
  onLost(reason: Error): void;
  /** The application closed the connection while it was recovering: stop every timer. */
  cancel(): void;
  /** Told of every topology call and consumer, to redeclare them later. */
  readonly topology: TopologyObserver;
  /** Confirm mode: keep unanswered publishes for republishing (false: they fail with the outage's reason). */
  readonly republish: boolean;
  /** Whether a consumer is re-registered; false: its channel's cancel callbacks are told. */
  keepConsumer(queue: string, consumerTag: string, options: Required<Omit<ConsumeOptions, 'consumerTag'>>): boolean;
}
