/**
 * coney with a channel per worker thread (lib/threads,
 * `connection.openChannelPort()` + `channelFromPort()`): the connection
 * lives on the child's main thread; the publish and consume loops run in a
 * worker (clients/coney-port-worker.ts) on a PortChannel, with the same
 * promise patterns as clients/coney-promise.ts. Declares go through an
 * AsyncChannel of the main thread. The worker reports consumed messages in
 * counts once per loop turn, so the measured window starts and ends within
 * a batch of the exact count. CPU per message counts both threads.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type * as Coney from '../../lib/index';
import { coney, coneyParameters } from './coney-module';
import { type ClientAdapter, type DeclareResult, type Target } from './adapter';
import type { PortCommand } from './coney-port-worker';
import { ThreadCpu } from './coney-threads-cpu';

type Command = PortCommand extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

export class ConeyPortAdapter implements ClientAdapter {
  readonly name = 'coney-port' as const;
  private conn!: Coney.AsyncConnection;
  private ch!: Coney.AsyncChannel;
  private worker!: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private onConsumed: (() => void) | null = null;
  private readonly cpu = new ThreadCpu('coney-port', { main: 'connectionThread', worker: 'channelThread' });

  async connect(t: Target): Promise<void> {
    const parameters = coneyParameters(t);
    this.conn = await coney.connect(parameters);
    this.ch = await this.conn.channel();
    const port = await this.conn.openChannelPort();
    const ext = path.extname(__filename);
    const file = path.join(__dirname, `coney-port-worker${ext}`);
    const workerData = { port };
    this.worker =
      ext === '.ts'
        ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(file)});`, { eval: true, workerData, transferList: [port] })
        : new Worker(file, { workerData, transferList: [port] });
    await new Promise<void>((resolve, reject) => {
      this.worker.on('message', (m: { ready?: true; id?: number; done?: true; error?: string; consumed?: number }) => {
        if (m.ready === true) return resolve();
        if (m.consumed !== undefined) {
          this.cpu.messages += m.consumed;
          for (let i = 0; i < m.consumed; i++) this.onConsumed?.();
          return;
        }
        const w = this.waiting.get(m.id!);
        this.waiting.delete(m.id!);
        if (m.error !== undefined) w?.reject(new Error(m.error));
        else w?.resolve();
      });
      this.worker.once('error', reject);
    });
  }

  private command(c: Command): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...c, id });
    });
  }

  async declareQueue(queue: string, opts: { passive?: boolean; exclusive?: boolean } = {}): Promise<DeclareResult> {
    const r = await this.ch.queueDeclare(queue, { passive: opts.passive ?? false, exclusive: opts.exclusive ?? false, durable: false });
    return { queue: r.queue, messageCount: r.messageCount };
  }

  async deleteQueue(queue: string): Promise<void> {
    await this.ch.queueDelete(queue);
  }

  publish(queue: string, body: Buffer, count: number): Promise<void> {
    this.cpu.loop(count);
    return this.command({ cmd: 'publish', queue, size: body.length, count });
  }

  publishUnawaited(queue: string, body: Buffer, count: number): Promise<void> {
    this.cpu.loop(count);
    return this.command({ cmd: 'unawaited', queue, size: body.length, count });
  }

  enableConfirms(): Promise<void> {
    return this.command({ cmd: 'confirms' });
  }

  publishConfirmed(queue: string, body: Buffer, count: number, window: number): Promise<void> {
    this.cpu.loop(count);
    return this.command({ cmd: 'confirmed', queue, size: body.length, count, window });
  }

  consume(queue: string, prefetch: number, ackEvery: number, onMessage: () => void): Promise<void> {
    this.onConsumed = onMessage;
    this.cpu.loop(0);
    return this.command({ cmd: 'consume', queue, prefetch, ackEvery });
  }

  serveRpc(): Promise<void> {
    return Promise.reject(new Error('coney-port runs only the publish and consume scenarios'));
  }

  rpcClient(): Promise<(queue: string, body: Buffer) => Promise<void>> {
    return Promise.reject(new Error('coney-port runs only the publish and consume scenarios'));
  }

  async close(): Promise<void> {
    this.cpu.report();
    await this.worker.terminate();
    if (this.conn.isOpen) await this.conn.close();
  }
}
