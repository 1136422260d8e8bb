/**
 * A channel's life as one state, each variant carrying what is valid in it.
 *
 * ```
 * opening ──open-ok──▶ open ──close()──▶ closing ──close-ok──▶ closed
 *    │                 │  ▲                 ▲                    ▲
 *    └──close()────────┼──┼─────────────────┘                    │
 *                      ├──┼──broker channel.close, connection closed
 *           connection │  │ restored (same object)               │
 *        lost, recovery▼  │                                      │
 *                   recovering ──close(), recovery gave up───────┘
 * ```
 * @packageDocumentation
 */

/** Where a channel is in its life. */
export type ChannelLife =
  /** `channel.open` sent; `pendingClose`: the connection began closing meanwhile. */
  | { readonly kind: 'opening'; pendingClose: { readonly code: number; readonly text: string } | null }
  | { readonly kind: 'open' }
  /** The connection is recovering: calls are held, and the channel comes back as the same object. */
  | { readonly kind: 'recovering' }
  /**
   * close() was called (`byApplication`), or the client closes it over a broker
   * error. `closeSent`: our `channel.close` went out (only close-ok counts then).
   * `reason` becomes the broker's when its close crosses ours.
   */
  | { readonly kind: 'closing'; reason: Error; closeSent: boolean; readonly byApplication: boolean }
  | { readonly kind: 'closed'; readonly reason: Error };

/**
 * True when frames from the broker are acted on: not before open-ok (a
 * reused number may still get late frames of its previous channel) and not
 * once our `channel.close` went out (AMQP 0-9-1: only close-ok counts then).
 */
export function acceptsFrames(life: ChannelLife): boolean {
  return life.kind === 'open' || (life.kind === 'closing' && !life.closeSent);
}
