/**
 * AMQP heartbeats: send one when we have been silent for a while, and declare
 * the peer dead when it has been silent for two intervals.
 * @packageDocumentation
 */
import type { IOLoop, TimerHandle } from './ioloop';

/** What the checker needs from its connection. */
export interface HeartbeatHost {
  /** Loop time of the last byte received. */
  readonly lastReceivedAt: number;
  /** Loop time of the last byte handed to the transport. */
  readonly lastSentAt: number;
  /** Queue a heartbeat frame. */
  sendHeartbeat(): void;
  /** Nothing arrived for two intervals. */
  onHeartbeatTimeout(silentSeconds: number): void;
}

/**
 * Ticks every half interval. Checking at half the interval keeps our longest
 * silence at about one interval, well inside the broker's two-interval limit.
 */
export class HeartbeatChecker {
  private timer: TimerHandle | null = null;

  /** @param interval negotiated heartbeat in seconds (> 0). */
  constructor(
    private readonly loop: IOLoop,
    private readonly host: HeartbeatHost,
    readonly interval: number,
  ) {
    this.schedule();
  }

  /** Cancels the pending tick. */
  stop(): void {
    if (this.timer !== null) this.loop.removeTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    this.timer = this.loop.callLater(this.interval / 2, () => this.tick());
  }

  private tick(): void {
    this.timer = null;
    const now = this.loop.now();
    const silentFor = now - this.host.lastReceivedAt;
    if (silentFor >= 2 * this.interval) {
      this.host.onHeartbeatTimeout(silentFor);
      return;
    }
    // A small tolerance: timers may fire a hair early relative to now().
    if (now - this.host.lastSentAt >= this.interval / 2 - 0.001) this.host.sendHeartbeat();
    this.schedule();
  }
}
