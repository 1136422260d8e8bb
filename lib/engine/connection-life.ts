/**
 * A connection's life as one state: each state carries the data valid in it,
 * so that an impossible combination (a close timer on an open connection, a
 * blocked closed one, a handshake step with no attempt) cannot be written.
 *
 * ```
 * init ──loop runs──▶ opening ──open-ok──▶ open ──close()──▶ closing
 *   │                    │                 │ ▲                │
 *   └─close() before─────┴──every attempt──┼─┼─lost, broker───┴──close-ok,
 *     the loop ran         failed, or      │ │ close, error      lost, timeout
 *                          close()         │ │ (no recovery)
 *                 lost, recovery on        │ └──────────────────┐ restored
 *                       ▼                  │                    │
 *                  recovering ──reconnected──▶ restoring ───────┘
 *                       ▲                           │
 *                       └──lost again───────────────┘
 *   recovering, restoring ──close(), recovery gave up──▶ closed
 * ```
 * The transitions are the Connection's methods that assign `life`; what
 * recovering and restoring do is decided by the recovery layer above
 * (RecoveryHooks), which the engine calls and which calls back.
 * @packageDocumentation
 */
import type { ConnectionClosedByClient } from '../errors';
import type { ConnectionWorkflow } from './connection-workflow';
import type { HandshakeStep } from './handshake';
import type { TimerHandle } from './ioloop';
import type { Link } from './link';
import type { ConnectionParameters } from './parameters';

/** One try at one parameter set, from its connect until open-ok or failure. */
export interface Attempt {
  /** The parameter set tried. */
  readonly params: ConnectionParameters;
  /** Reports the outcome to the workflow. */
  readonly done: (err: Error | null) => void;
  /** Bounds the whole handshake (stackTimeout). */
  readonly stackTimer: TimerHandle;
  /** Cancels the transport connect while it is pending; null once it completed. */
  abortConnect: (() => void) | null;
  /** The stream, once connected. */
  link: Link | null;
  /** How far the handshake got; decides how a failure is reported. */
  step: HandshakeStep;
}

/** The broker has blocked the connection (`connection.blocked`). */
export interface Blocked {
  /** Closes the connection after `blockedConnectionTimeout`, when one is set. */
  readonly timer: TimerHandle | null;
}

/** Where a connection is in its life. */
export type ConnectionLife =
  /** Constructed; the workflow starts once the loop runs. `closeRequested`: close() came first. */
  | { readonly kind: 'init'; readonly closeRequested: boolean }
  /** Trying the parameter sets; `attempt` is the one in progress (null between attempts). */
  | { readonly kind: 'opening'; readonly workflow: ConnectionWorkflow; attempt: Attempt | null }
  /** Open on `link`. */
  | { readonly kind: 'open'; readonly link: Link; blocked: Blocked | null }
  /** close() was called: channels close, then `connection.close` goes out (`closeSent`), then close-ok is awaited until `timer`. */
  | {
      readonly kind: 'closing';
      readonly link: Link;
      blocked: Blocked | null;
      readonly reason: ConnectionClosedByClient;
      readonly timer: TimerHandle;
      closeSent: boolean;
    }
  /**
   * The link was lost and automatic recovery is bringing the connection
   * back: waiting before a round (`workflow` null) or trying the parameter
   * sets (`attempt`: the one in progress). Channels hold their calls.
   */
  | { readonly kind: 'recovering'; readonly reason: Error; workflow: ConnectionWorkflow | null; attempt: Attempt | null }
  /** Reconnected on `link`: the topology and the channels are being restored before the connection counts as open again. */
  | { readonly kind: 'restoring'; readonly link: Link; blocked: Blocked | null; readonly reason: Error }
  /** Over: every attempt failed, or the open connection closed for `reason`. */
  | { readonly kind: 'closed'; readonly reason: Error };

/** The name of the state, as the public getters and error messages use it. */
export function lifeName(life: ConnectionLife): 'init' | 'opening' | 'open' | 'recovering' | 'closing' | 'closed' {
  if (life.kind === 'init' && life.closeRequested) return 'closing';
  if (life.kind === 'restoring') return 'recovering';
  return life.kind;
}
