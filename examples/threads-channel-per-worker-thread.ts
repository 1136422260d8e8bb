/**
 * The worker thread of examples/threads-channel-per-worker.ts: a channel
 * from the port in `workerData` (`channelFromPort`), then the job
 * (rabbitpy's `publisher` or `consumer` function). `await using` closes the
 * channel at the end, as rabbitpy's `with connection.channel()` does.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { channelFromPort } from '../lib';

interface Job {
  role: 'publish' | 'consume';
  port: MessagePort;
  count: number;
  queue?: string;
  exchange?: string;
  routingKey?: string;
  confirms?: boolean;
}

const job = workerData as Job;

async function publisher(): Promise<void> {
  await using channel = await channelFromPort(job.port);
  if (job.confirms === true) await channel.confirmDelivery();
  const confirmed: Array<Promise<void>> = [];
  for (let index = 0; index < job.count; index++) {
    const publish = channel.basicPublish(job.exchange!, job.routingKey!, `Message #${index}`);
    // Without confirms the promise is backpressure (resolved at once unless too much waits to be written).
    if (job.confirms === true) confirmed.push(publish);
    else await publish;
  }
  await Promise.all(confirmed);
  parentPort!.postMessage({ published: job.count });
}

async function consumer(): Promise<void> {
  await using channel = await channelFromPort(job.port);
  let received = 0;
  for await (const message of channel.consume(job.queue!)) {
    parentPort!.postMessage({ body: message!.body.toString() });
    await message!.ack();
    received += 1;
    if (received === job.count) break;
  }
  parentPort!.postMessage({ done: received });
}

void (job.role === 'publish' ? publisher() : consumer());
