/**
 * The I/O thread of `connect(url, { ioThread: true })`: a worker thread
 * that owns the connection (socket, parser, heartbeats, the callback
 * engine, the promise layer's channels) and serves each channel over a
 * port (ChannelPortHost). Its own event loop does nothing but I/O, so
 * heartbeats go on while the application's thread computes, and
 * deliveries wait here and in the port, bounded by the prefetch.
 *
 * It ends when the connection closes: the socket, its loop, the control
 * port and the channel ports all close then, and nothing else holds it.
 * @packageDocumentation
 */
import { workerData } from 'node:worker_threads';
import type { ParametersInput } from '../engine/parameter-sets';
import { connect } from '../promise/connect';
import type { AsyncConnection } from '../promise/async-connection';
import { serializeError } from '../promise/port-errors';
import type { FromIOThread, IOThreadData, IOThreadEvent, ToIOThread } from './io-thread-protocol';
import { fromThreadParameters } from './io-thread-parameters';
import { SharedStats, STATS_MIRROR_MS } from './shared-stats';

const data = workerData as IOThreadData;
const control = data.control;
const sharedStats = new SharedStats(data.stats);
let connection: AsyncConnection | null = null;
let mirror: NodeJS.Timeout | null = null;

/** Copies the counters out now (the other thread reads them without asking). */
function mirrorStats(): void {
  if (connection !== null) sharedStats.write(connection.stats);
}

function post(message: FromIOThread): void {
  control.postMessage(message, message.op === 'port' ? [message.port] : undefined);
}

/** A callback that forwards a connection event (its arguments but the connection itself). */
function forward(name: IOThreadEvent): ((...args: unknown[]) => void) | undefined {
  if (!data.events.includes(name)) return undefined;
  return (...args: unknown[]) => {
    const rest = name === 'onCallbackError' ? args : args.slice(1);
    post({ op: 'event', name, args: rest.map((a) => (a instanceof Error ? { coneyError: serializeError(a) } : a)) });
  };
}

function onRequest(message: ToIOThread): void {
  if (connection === null) return;
  if (message.op === 'channel-port') {
    connection.openChannelPort().then(
      (port) => post({ op: 'port', id: message.id, port }),
      (err: unknown) => post({ op: 'error', id: message.id, error: serializeError(err) }),
    );
  } else if (message.op === 'close') {
    // What close() rejects with (closing already) is of no interest: 'closed' follows either way.
    connection.close(message.replyCode, message.replyText).then(undefined, () => undefined);
  }
}

function start(): void {
  control.on('message', onRequest);
  const sets = fromThreadParameters(data.parameters);
  // SelectConnection takes a list of parameter sets; connect's signature names one.
  connect((sets.length === 1 ? sets[0] : sets) as ParametersInput, {
    ...data.options,
    onClose: (_c, reason) => {
      mirrorStats(); // the final figures, before the other side hears of the close
      if (mirror !== null) clearInterval(mirror);
      post({ op: 'closed', reason: serializeError(reason) });
      control.close();
    },
    // Without the application's, the promise layer's default: a ConeyWarning (printed from this thread).
    onCallbackError: forward('onCallbackError'),
    onRecovering: forward('onRecovering'),
    onRecovered: forward('onRecovered'),
    onRecoveryFailed: forward('onRecoveryFailed'),
    onQueueNameChange: forward('onQueueNameChange'),
  }).then(
    (opened) => {
      connection = opened;
      mirrorStats();
      // unref'd: the connection's socket and ports keep this thread alive, not the mirror
      mirror = setInterval(mirrorStats, STATS_MIRROR_MS).unref();
      post({ op: 'open' });
    },
    (err: unknown) => {
      post({ op: 'open-error', error: serializeError(err) });
      control.close();
    },
  );
}

start();
