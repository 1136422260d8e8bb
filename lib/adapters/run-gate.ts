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

  /** True between {@link open} and {@link close}. */
  get isOpen(): boolean {
    return this.running !== null;
  }

  /** Starts running (or returns the promise of the current run). */
  open(): Promise<void> {
    if (this.running) return this.running;
    this.running = new Promise<void>((resolve) => {
      this.resolveRunning = resolve;
    });
    // A ref'd handle is what keeps Node from exiting while the loop "runs".
    this.keepAlive = setInterval(() => {}, KEEP_ALIVE_MS);
    return this.running;
  }

  /** Ends the run and settles its promise; a no-op when not running. */
  close(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
    const resolve = this.resolveRunning;
    this.running = null;
    this.resolveRunning = null;
    resolve?.();
  }
}
