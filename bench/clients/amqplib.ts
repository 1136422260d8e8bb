/**
 * amqplib (promise API): `channel.publish` until it returns false, then the
 * channel's 'drain' event; a ConfirmChannel with per-message callbacks for
 * confirms; `socketOptions.noDelay` for TCP_NODELAY.
 */
import * as amqplib from 'amqplib';
import { ConfirmWindow, publishWithDrain, SequentialRpc, type ClientAdapter, type DeclareResult, type Target } from './adapter';

export class AmqplibAdapter implements ClientAdapter {
  readonly name = 'amqplib' as const;
  private conn!: amqplib.ChannelModel;
  private ch!: amqplib.Channel;
  private confirmCh: amqplib.ConfirmChannel | null = null;

  async connect(t: Target): Promise<void> {
    this.conn = await amqplib.connect(
      { protocol: 'amqp', hostname: t.host, port: t.port, username: t.user, password: t.password, vhost: t.vhost, frameMax: 131072, heartbeat: 0 },
      { noDelay: true },
    );
    this.ch = await this.conn.createChannel();
  }

  async declareQueue(queue: string, opts: { passive?: boolean; exclusive?: boolean } = {}): Promise<DeclareResult> {
    const r = opts.passive
      ? await this.ch.checkQueue(queue)
      : await this.ch.assertQueue(queue, { durable: false, exclusive: opts.exclusive ?? false });
    return { queue: r.queue, messageCount: r.messageCount };
  }

  async deleteQueue(queue: string): Promise<void> {
    await this.ch.deleteQueue(queue);
  }

  publish(queue: string, body: Buffer, count: number): Promise<void> {
    const ch = this.ch;
    return publishWithDrain(
      count,
      () => ch.publish('', queue, body),
      (resume) => ch.once('drain', resume),
    );
  }

  publishUnawaited(queue: string, body: Buffer, count: number): Promise<void> {
    const ch = this.ch;
    let below = true;
    for (let i = 0; i < count; i++) below = ch.publish('', queue, body);
    return below ? Promise.resolve() : new Promise((resolve) => ch.once('drain', resolve));
  }

  async enableConfirms(): Promise<void> {
    // amqplib's confirm mode is a different channel type
    await this.ch.close();
    this.confirmCh = await this.conn.createConfirmChannel();
    this.ch = this.confirmCh;
  }

  async publishConfirmed(queue: string, body: Buffer, count: number, window: number): Promise<void> {
    const ch = this.confirmCh!;
    const w = new ConfirmWindow(count, window);
    const onConfirm = (err: unknown): void => {
      if (err) w.fail(err);
      else w.confirm();
    };
    for (let i = 0; i < count; i++) {
      if (w.full) await w.room();
      w.sent();
      ch.publish('', queue, body, {}, onConfirm);
    }
    await w.done;
  }

  async consume(queue: string, prefetch: number, ackEvery: number, onMessage: () => void): Promise<void> {
    const ch = this.ch;
    await ch.prefetch(prefetch);
    await ch.consume(
      queue,
      (msg) => {
        if (msg === null) return;
        if (msg.fields.deliveryTag % ackEvery === 0) ch.ack(msg, true);
        onMessage();
      },
      { noAck: false },
    );
  }

  async serveRpc(queue: string): Promise<void> {
    const ch = this.ch;
    await ch.consume(
      queue,
      (msg) => {
        if (msg === null) return;
        // amqplib types the message properties `any`
        const { replyTo, correlationId } = msg.properties as { replyTo: string; correlationId?: string };
        ch.publish('', replyTo, msg.content, { correlationId });
      },
      { noAck: true },
    );
  }

  async rpcClient(): Promise<(queue: string, body: Buffer) => Promise<void>> {
    const ch = this.ch;
    const { queue: replyTo } = await ch.assertQueue('', { exclusive: true, durable: false });
    const rpc = new SequentialRpc();
    await ch.consume(
      replyTo,
      (msg) => {
        if (msg !== null) rpc.onReply(msg.properties.correlationId as string | undefined);
      },
      { noAck: true },
    );
    return (queue, body) => rpc.request((correlationId) => ch.publish('', queue, body, { correlationId, replyTo }));
  }

  async close(): Promise<void> {
    await this.conn.close();
  }
}
