/**
 * The worker thread of clients/coney-port.ts: a PortChannel from the port
 * in its workerData, and the adapter's hot loops run here, on commands
 * from the child's main thread (which holds the connection). Consumed
 * messages are reported in counts, once per loop turn.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type * as Coney from '../../lib/index';
import { publishAwaitingEvery, publishConfirmedByPromise } from './adapter';
// A worker sees the same process.env: coney-module loads the same coney as the main thread.
import { coney } from './coney-module';

const { port } = workerData as { port: MessagePort };

/** A command of the adapter; each is answered with `{ id, done }` or `{ id, error }`. */
export type PortCommand =
  | { id: number; cmd: 'publish' | 'unawaited' | 'confirmed'; queue: string; size: number; count: number; window?: number }
  | { id: number; cmd: 'confirms' }
  | { id: number; cmd: 'consume'; queue: string; prefetch: number; ackEvery: number };

async function main(): Promise<void> {
  const ch = await coney.channelFromPort(port);
  const reply = (id: number, p: Promise<unknown>): void => {
    p.then(
      () => parentPort!.postMessage({ id, done: true }),
      (err: unknown) => parentPort!.postMessage({ id, error: String(err) }),
    );
  };
  parentPort!.on('message', (c: PortCommand) => {
    if (c.cmd === 'confirms') return reply(c.id, ch.confirmDelivery());
    if (c.cmd === 'consume') return reply(c.id, consume(ch, c.queue, c.prefetch, c.ackEvery));
    const body = Buffer.alloc(c.size, 0x61);
    if (c.cmd === 'publish')
      return reply(
        c.id,
        publishAwaitingEvery(c.count, c.size, () => ch.basicPublish('', c.queue, body)),
      );
    if (c.cmd === 'confirmed')
      return reply(
        c.id,
        publishConfirmedByPromise(c.count, c.window ?? 1000, () => ch.basicPublish('', c.queue, body)),
      );
    reply(
      c.id,
      (async () => {
        let last: Promise<void> | undefined;
        for (let i = 0; i < c.count; i++) last = ch.basicPublish('', c.queue, body);
        await last;
      })(),
    );
  });
  parentPort!.postMessage({ ready: true });
}

/** Starts the for-await loop; resolves once it runs. Counts go to the main thread once per turn. */
async function consume(ch: Coney.PortChannel, queue: string, prefetch: number, ackEvery: number): Promise<void> {
  await ch.basicQos({ prefetchCount: prefetch });
  const messages = ch.consume(queue);
  let unreported = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    parentPort!.postMessage({ consumed: unreported });
    unreported = 0;
  };
  void (async () => {
    for await (const message of messages) {
      if (message!.deliveryTag % ackEvery === 0) await message!.ack(true);
      unreported += 1;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    }
  })().catch((err: unknown) => {
    process.stderr.write(`coney-port consume loop: ${String(err)}\n`);
    process.exit(1);
  });
}

void main();
