/**
 * Starts the I/O thread (io-thread-worker.ts) of `connect(url, { ioThread: true })`.
 *
 * The worker file sits next to this one: `io-thread-worker.js` in the
 * built package, `io-thread-worker.ts` when coney runs from its sources
 * under tsx (its tests, examples, benchmarks), where the worker needs the
 * TypeScript loader: it then starts from a two-line script that registers
 * tsx first.
 * @packageDocumentation
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { IOThreadData } from './io-thread-protocol';

/** Starts the I/O thread with `data` (its control port transferred); the thread does not keep the process alive. */
export function startIOThread(data: IOThreadData): Worker {
  const ext = path.extname(__filename);
  const file = path.join(__dirname, `io-thread-worker${ext}`);
  const options = { workerData: data, transferList: [data.control], name: 'coney I/O thread' };
  if (ext !== '.ts') return unref(new Worker(file, options));
  // tsx resolved from here (next to coney's sources), not from the process's working directory
  const tsx = require.resolve('tsx/cjs');
  return unref(new Worker(`require(${JSON.stringify(tsx)}); require(${JSON.stringify(file)});`, { ...options, eval: true }));
}

function unref(worker: Worker): Worker {
  worker.unref();
  return worker;
}
