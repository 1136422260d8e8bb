/**
 * The control messages between an {@link IOThreadConnection} (the
 * application's thread) and its I/O thread (io-thread-worker.ts), over a
 * MessagePort of their own. They are few (opening, closing, a port per
 * channel, the connection's events): the traffic of the channels goes
 * over the channel ports, straight between the I/O thread and whichever
 * thread uses each channel.
 * @packageDocumentation
 */
import type { MessagePort } from 'node:worker_threads';
import type { SerializedError } from '../promise/port-errors';
import type { RecoveryOptions } from '../recovery/options';
import type { ThreadParameters } from './io-thread-parameters';

/** What the I/O thread gets as its `workerData`. */
export interface IOThreadData {
  readonly parameters: ThreadParameters[];
  readonly options: { readonly recovery?: boolean | RecoveryOptions; readonly shuffleHosts?: boolean };
  /** The I/O thread's end of the control port. */
  readonly control: MessagePort;
  /** Which connection callbacks the application gave (the others are not forwarded). */
  readonly events: readonly string[];
  /** Where the I/O thread mirrors the connection's counters (see shared-stats.ts). */
  readonly stats: SharedArrayBuffer;
}

/** Application thread to I/O thread. */
export type ToIOThread =
  /** A channel port, answered by `port` (or `error`) with the same id. */
  | { readonly op: 'channel-port'; readonly id: number }
  /** Close the connection; `closed` follows. */
  | { readonly op: 'close'; readonly replyCode: number | undefined; readonly replyText: string | undefined };

/** I/O thread to application thread. */
export type FromIOThread =
  | { readonly op: 'open' }
  | { readonly op: 'open-error'; readonly error: SerializedError }
  | { readonly op: 'port'; readonly id: number; readonly port: MessagePort }
  | { readonly op: 'error'; readonly id: number; readonly error: SerializedError }
  /** The connection closed (the thread ends after this). */
  | { readonly op: 'closed'; readonly reason: SerializedError }
  /** A connection event the application has a callback for. */
  | { readonly op: 'event'; readonly name: IOThreadEvent; readonly args: unknown[] };

/** The connection events forwarded to the application's thread. */
export type IOThreadEvent = 'onCallbackError' | 'onRecovering' | 'onRecovered' | 'onRecoveryFailed' | 'onQueueNameChange';
