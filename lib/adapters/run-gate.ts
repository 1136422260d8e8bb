/**
 * The "running" state shared by the loops: `start()` hands out one promise
 * that settles on `stop()`, and a ref'd handle keeps Node alive meanwhile.
 * @packageDocumentation
 */

/** Longest interval Node accepts; the handle never fires in practice. */
const KEEP_ALIVE_MS = 0x7fffffff;

/** Tracks whether a loop is started and keeps the process alive while it is. */
export class RunGate {
  private running: Promise<void> | null = null;
  private resolveRunning: (() => void) | null = null;
  private keepAlive: NodeJS.Timeout | null = null;
  /** stop() came while not running: the next start() returns at once (pika's rule). */
  private stopPending = false;

  /** True between {@link open} and {@link close}. */
  get isOpen(): boolean {
    return this.running !== null;
  }

  /**
   * Starts running (or returns the promise of the current run). After a
   * close() that came while not running, returns a settled promise instead,
   * once: a connection that failed before the application reached
   * `await ioloop.start()` stopped the loop already, and must not leave it hanging.
   */
  open(): Promise<void> {
    if (this.running) return this.running;
    if (this.stopPending) {
      this.stopPending = false;
      return Promise.resolve();
    }
    this.running = new Promise<void>((resolve) => {
      this.resolveRunning = resolve;
    });
    // A ref'd handle is what keeps Node from exiting while the loop "runs".
    this.keepAlive = setInterval(() => {}, KEEP_ALIVE_MS);
    return this.running;
  }

  /** Ends the run and settles its promise; when not running, makes the next open() return at once. */
  close(): void {
    if (this.running === null) {
      this.stopPending = true;
      return;
    }
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
    const resolve = this.resolveRunning;
    this.running = null;
    this.resolveRunning = null;
    resolve?.();
  }
}
