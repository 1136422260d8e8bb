/**
 * The worker thread of examples/worker-threads-consumer.ts: CPU-heavy work
 * (a busy loop of `workerData.seconds`), then one message back to the main
 * thread with the result. Plain JavaScript, no library code: a worker thread
 * must not touch the AMQP connection (it belongs to the main thread's loop).
 */
'use strict';
const { parentPort, workerData } = require('node:worker_threads');

const { job, seconds } = workerData;
const deadline = Date.now() + seconds * 1000;
let iterations = 0;
let x = 0;
while (Date.now() < deadline) {
  // Burn CPU: nothing here yields to an event loop.
  for (let i = 0; i < 10000; i++) x = (x * 31 + i) % 1000003;
  iterations += 10000;
}
parentPort.postMessage({ job, iterations, checksum: x });
