/**
 * {@link ConnectionStats}: a connection's counters, for dashboards and
 * health checks. Plain number fields bumped in place on the paths they
 * count: no allocation, no event, nothing to subscribe to.
 * @packageDocumentation
 */

/**
 * The counters of one connection (`connection.stats`), over its whole life,
 * across automatic recoveries. Each counts messages unless it says
 * otherwise. Read them at any time; they are never reset (take differences
 * for rates).
 * @category Observability
 */
export class ConnectionStats {
  /** `basicPublish` calls whose message was sent (or queued to be sent) to the broker. */
  published = 0;
  /** Publishes the broker acked (confirm mode; a `multiple` ack counts every publish it covers). */
  confirmed = 0;
  /** Publishes the broker nacked (confirm mode; per publish, as {@link confirmed}). */
  nacked = 0;
  /** Messages the broker returned (`basic.return`: mandatory and unroutable). */
  returned = 0;
  /** Messages received: `basic.deliver` to a consumer and `basic.get-ok`. */
  delivered = 0;
  /**
   * Messages the application acked with `basicAck`. A `multiple` ack counts
   * every delivery tag it covers that was not settled before (deliveries of
   * an `autoAck` consumer on the same channel included).
   */
  acked = 0;
  /** Messages the application nacked or rejected (`basicNack`, `basicReject`), counted as {@link acked}. */
  rejected = 0;
  /** Bytes read from the socket. */
  bytesIn = 0;
  /** Bytes handed to the socket. */
  bytesOut = 0;
  /** Frames read (heartbeats included). */
  framesIn = 0;
  /** Frames written (heartbeats included; a message is a method, a header and its body frames). */
  framesOut = 0;
  /** Heartbeat frames sent. */
  heartbeatsSent = 0;
  /** Heartbeat frames received. */
  heartbeatsReceived = 0;
  /** Automatic recoveries completed. */
  recoveries = 0;

  /** A plain object of the current values (for JSON, logging, or a diff against a later snapshot). */
  snapshot(): Record<StatName, number> {
    const out = {} as Record<StatName, number>;
    for (const name of STAT_NAMES) out[name] = this[name];
    return out;
  }
}

/**
 * The names of the counters, in the order of {@link ConnectionStats}.
 * @category Observability
 */
export const STAT_NAMES = [
  'published',
  'confirmed',
  'nacked',
  'returned',
  'delivered',
  'acked',
  'rejected',
  'bytesIn',
  'bytesOut',
  'framesIn',
  'framesOut',
  'heartbeatsSent',
  'heartbeatsReceived',
  'recoveries',
] as const;

/**
 * One counter's name.
 * @category Observability
 */
export type StatName = (typeof STAT_NAMES)[number];
