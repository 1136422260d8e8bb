/**
 * rabbitmq-client: a channel from `connection.acquire()` and its
 * `basicPublish` (the Publisher from `createPublisher()` wraps the same call
 * with lazy setup and retries, so it can only be slower). `basicPublish`
 * returns a promise that settles once the frames were written (or, in
 * confirm mode, confirmed): the adapter awaits every K-th one (see
 * promiseWindow). `noDelay: true` sets TCP_NODELAY.
 *
 * Note: rabbitmq-client adds a `timestamp` and a `deliveryMode` property to
 * every published message; that is part of what it costs.
 */
import { Connection, type Channel } from 'rabbitmq-client';
import { publishAwaitingEvery, publishConfirmedByPromise, SequentialRpc, type ClientAdapter, type DeclareResult, type Target } from './adapter';

export class RabbitmqClientAdapter implements ClientAdapter {
  readonly name = 'rabbitmq-client' as const;
  private conn!: Connection;
  private ch!: Channel;

  async connect(t: Target): Promise<void> {
    this.conn = new Connection({
      hostname: t.host,
      port: t.port,
      username: t.user,
      password: t.password,
      vhost: t.vhost,
      frameMax: 131072,
      heartbeat: 0,
      noDelay: true,
      retryLow: 100,
      retryHigh: 200,
    });
    this.conn.on('error', (err) => {
      process.stderr.write(`rabbitmq-client connection error: ${String(err)}\n`);
    });
    await this.conn.onConnect(10000);
    this.ch = await this.conn.acquire();
  }

  async declareQueue(queue: string, opts: { passive?: boolean; exclusive?: boolean } = {}): Promise<DeclareResult> {
    const exclusive = opts.exclusive ?? false;
    const r = await this.ch.queueDeclare({ queue, passive: opts.passive ?? false, durable: false, exclusive, autoDelete: exclusive });
    return { queue: r.queue, messageCount: r.messageCount };
  }

  async deleteQueue(queue: string): Promise<void> {
    await this.ch.queueDelete({ queue });
  }

  publish(queue: string, body: Buffer, count: number): Promise<void> {
    const ch = this.ch;
    const envelope = { routingKey: queue };
    return publishAwaitingEvery(count, body.length, () => ch.basicPublish(envelope, body));
  }

  async publishUnawaited(queue: string, body: Buffer, count: number): Promise<void> {
    const ch = this.ch;
    const envelope = { routingKey: queue };
    let last: Promise<unknown> | undefined;
    for (let i = 0; i < count; i++) last = ch.basicPublish(envelope, body);
    await last;
  }

  async enableConfirms(): Promise<void> {
    await this.ch.confirmSelect();
  }

  publishConfirmed(queue: string, body: Buffer, count: number, window: number): Promise<void> {
    const ch = this.ch;
    const envelope = { routingKey: queue };
    return publishConfirmedByPromise(count, window, () => ch.basicPublish(envelope, body));
  }

  async consume(queue: string, prefetch: number, ackEvery: number, onMessage: () => void): Promise<void> {
    const ch = this.ch;
    await ch.basicQos({ prefetchCount: prefetch });
    await ch.basicConsume({ queue, noAck: false }, (msg) => {
      if (msg.deliveryTag % ackEvery === 0) ch.basicAck({ deliveryTag: msg.deliveryTag, multiple: true });
      onMessage();
    });
  }

  async serveRpc(queue: string): Promise<void> {
    const ch = this.ch;
    await ch.basicConsume({ queue, noAck: true }, (msg) => {
      void ch.basicPublish({ routingKey: msg.replyTo!, correlationId: msg.correlationId }, msg.body);
    });
  }

  async rpcClient(): Promise<(queue: string, body: Buffer) => Promise<void>> {
    const ch = this.ch;
    const { queue: replyTo } = await this.declareQueue('', { exclusive: true });
    const rpc = new SequentialRpc();
    await ch.basicConsume({ queue: replyTo, noAck: true }, (msg) => rpc.onReply(msg.correlationId));
    return (queue, body) => rpc.request((correlationId) => void ch.basicPublish({ routingKey: queue, correlationId, replyTo }, body));
  }

  async close(): Promise<void> {
    await this.ch.close().catch(() => undefined);
    await this.conn.close();
  }
}
