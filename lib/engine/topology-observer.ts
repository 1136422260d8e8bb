/**
 * The seam through which a layer above the engine (automatic recovery)
 * learns of the topology the application builds, without the engine knowing
 * what it is for: a channel reports each topology call the broker accepted,
 * and each consumer that starts or ends.
 * @packageDocumentation
 */
import type * as spec from '../wire/spec';

/** Told by every channel of a connection; see the module comment. */
export interface TopologyObserver {
  /**
   * The broker accepted `method` (exchange/queue declare, delete, bind,
   * unbind); `reply` is its answer, undefined when sent with noWait.
   */
  onTopology(method: spec.AMQPMethod, reply: spec.AMQPMethod | undefined): void;
  /** A consumer on `queue` started (consume-ok). */
  onConsumerStarted(queue: string): void;
  /** A consumer on `queue` ended: cancelled by either side, or its channel closed. */
  onConsumerEnded(queue: string): void;
}
