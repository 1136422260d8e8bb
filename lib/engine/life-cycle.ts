/**
 * The public state getters that a Connection and a Channel share, read off
 * the name of the state each keeps (see connection-life.ts, channel-life.ts).
 * @packageDocumentation
 */

/** The state names the getters read. */
export type LifeName = 'init' | 'opening' | 'open' | 'recovering' | 'closing' | 'closed';

/**
 * Base of {@link Connection} and {@link Channel}: `isOpen`, `isClosing`,
 * `isClosed` from the one state each of them keeps.
 * @category Connection
 */
export abstract class LifeCycle {
  /** @internal The name of the current state. */
  protected abstract get lifeName(): LifeName;

  /** True once open (`open-ok` arrived) and until a close begins. */
  get isOpen(): boolean {
    return this.lifeName === 'open';
  }

  /**
   * True while automatic recovery brings the connection (and its channels)
   * back: calls are held meanwhile, and `isOpen` is false.
   */
  get isRecovering(): boolean {
    return this.lifeName === 'recovering';
  }

  /** True while a close is in progress. */
  get isClosing(): boolean {
    return this.lifeName === 'closing';
  }

  /** True once closed (for a connection: also once every attempt to open failed). */
  get isClosed(): boolean {
    return this.lifeName === 'closed';
  }
}
