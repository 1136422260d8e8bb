/**
 * coney's promise face (lib/promise): `connect()`, an AsyncChannel, and the
 * promise patterns its documentation shows: `basicPublish` whose promise
 * is backpressure (resolved at once under the high-water mark), confirm
 * publishes that resolve on the broker's ack, and `for await` over
 * `channel.consume()`.
 *
 * The same coney as clients/coney.ts (lib/ next to this file, or the
 * compiled coney CONEY_BENCH_SOURCE names), so that the two faces are
 * compared on one engine.
 */
import type * as Coney from '../../lib/index';
import { coney, coneyParameters } from './coney-module';
import { publishAwaitingEvery, publishConfirmedByPromise, SequentialRpc, type ClientAdapter, type DeclareResult, type Target } from './adapter';

export class ConeyPromiseAdapter implements ClientAdapter {
  readonly name = 'coney-promise' as const;
  private conn!: Coney.AsyncConnection;
  private ch!: Coney.AsyncChannel;

  async connect(t: Target): Promise<void> {
    const parameters = coneyParameters(t);
    this.conn = await coney.connect(parameters);
    this.ch = await this.conn.channel();
  }

  async declareQueue(queue: string, opts: { passive?: boolean; exclusive?: boolean } = {}): Promise<DeclareResult> {
    const r = await this.ch.queueDeclare(queue, { passive: opts.passive ?? false, exclusive: opts.exclusive ?? false, durable: false });
    return { queue: r.queue, messageCount: r.messageCount };
  }

  async deleteQueue(queue: string): Promise<void> {
    await this.ch.queueDelete(queue);
  }

  /** As the other promise clients: awaits every K-th publish's promise (resolved at once below the high-water mark). */
  publish(queue: string, body: Buffer, count: number): Promise<void> {
    const ch = this.ch;
    return publishAwaitingEvery(count, body.length, () => ch.basicPublish('', queue, body));
  }

  async publishUnawaited(queue: string, body: Buffer, count: number): Promise<void> {
    const ch = this.ch;
    let last: Promise<void> | undefined;
    for (let i = 0; i < count; i++) last = ch.basicPublish('', queue, body);
    await last;
  }

  async enableConfirms(): Promise<void> {
    await this.ch.confirmDelivery();
  }

  publishConfirmed(queue: string, body: Buffer, count: number, window: number): Promise<void> {
    const ch = this.ch;
    return publishConfirmedByPromise(count, window, () => ch.basicPublish('', queue, body));
  }

  async consume(queue: string, prefetch: number, ackEvery: number, onMessage: () => void): Promise<void> {
    const ch = this.ch;
    await ch.basicQos({ prefetchCount: prefetch });
    const messages = ch.consume(queue);
    // the application's loop; consume() has no consume-ok to wait for, the child waits for messages
    void (async () => {
      for await (const message of messages) {
        const tag = message!.deliveryTag;
        if (tag % ackEvery === 0) await message!.ack(true);
        onMessage();
      }
    })().catch((err: unknown) => {
      process.stderr.write(`coney-promise consume loop: ${String(err)}\n`);
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
    if (this.conn.isOpen) await this.conn.close();
  }
}
