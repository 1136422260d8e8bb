/**
 * coney with `connect(url, { ioThread: true })` (lib/threads): the
 * connection (socket, parser, heartbeats, the callback engine) runs in an
 * I/O thread of coney's own; this thread drives a PortChannel with the
 * same promise patterns as clients/coney-promise.ts. Every call and
 * delivery crosses between the two threads in batches (one postMessage
 * per loop turn each way). CPU per message (process.cpuUsage) counts both
 * threads.
 */
import type * as Coney from '../../lib/index';
import { coney, coneyParameters } from './coney-module';
import { publishAwaitingEvery, publishConfirmedByPromise, SequentialRpc, type ClientAdapter, type DeclareResult, type Target } from './adapter';
import { ThreadCpu } from './coney-threads-cpu';

export class ConeyIOThreadAdapter implements ClientAdapter {
  readonly name = 'coney-iothread' as const;
  private conn!: Coney.IOThreadConnection;
  private ch!: Coney.PortChannel;
  private readonly cpu = new ThreadCpu('coney-iothread', { main: 'appThread', worker: 'ioThread' });

  async connect(t: Target): Promise<void> {
    const parameters = coneyParameters(t);
    this.conn = await coney.connect(parameters, { ioThread: true });
    this.ch = await this.conn.channel();
  }

  async declareQueue(queue: string, opts: { passive?: boolean; exclusive?: boolean } = {}): Promise<DeclareResult> {
    const r = await this.ch.queueDeclare(queue, { passive: opts.passive ?? false, exclusive: opts.exclusive ?? false, durable: false });
    return { queue: r.queue, messageCount: r.messageCount };
  }

  async deleteQueue(queue: string): Promise<void> {
    await this.ch.queueDelete(queue);
  }

  publish(queue: string, body: Buffer, count: number): Promise<void> {
    const ch = this.ch;
    this.cpu.loop(count);
    return publishAwaitingEvery(count, body.length, () => ch.basicPublish('', queue, body));
  }

  async publishUnawaited(queue: string, body: Buffer, count: number): Promise<void> {
    const ch = this.ch;
    this.cpu.loop(count);
    let last: Promise<void> | undefined;
    for (let i = 0; i < count; i++) last = ch.basicPublish('', queue, body);
    await last;
  }

  async enableConfirms(): Promise<void> {
    await this.ch.confirmDelivery();
  }

  publishConfirmed(queue: string, body: Buffer, count: number, window: number): Promise<void> {
    const ch = this.ch;
    this.cpu.loop(count);
    return publishConfirmedByPromise(count, window, () => ch.basicPublish('', queue, body));
  }

  async consume(queue: string, prefetch: number, ackEvery: number, onMessage: () => void): Promise<void> {
    const ch = this.ch;
    await ch.basicQos({ prefetchCount: prefetch });
    const messages = ch.consume(queue);
    const cpu = this.cpu;
    cpu.loop(0);
    void (async () => {
      for await (const message of messages) {
        if (message!.deliveryTag % ackEvery === 0) await message!.ack(true);
        cpu.messages += 1;
        onMessage();
      }
    })().catch((err: unknown) => {
      process.stderr.write(`coney-iothread consume loop: ${String(err)}\n`);
      process.exit(1);
    });
  }

  async serveRpc(queue: string): Promise<void> {
    const ch = this.ch;
    await ch.basicConsume(queue, (request) => ch.reply(request, request.body), { autoAck: true });
  }

  async rpcClient(): Promise<(queue: string, body: Buffer) => Promise<void>> {
    const ch = this.ch;
    const { queue: replyTo } = await this.declareQueue('', { exclusive: true });
    const rpc = new SequentialRpc();
    await ch.basicConsume(replyTo, (reply) => rpc.onReply(reply.properties.correlationId), { autoAck: true });
    return (queue, body) => rpc.request((correlationId) => void ch.basicPublish('', queue, body, { correlationId, replyTo }));
  }

  async close(): Promise<void> {
    this.cpu.report();
    if (this.conn.isOpen) await this.conn.close();
  }
}
