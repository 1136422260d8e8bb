/**
 * @cloudamqp/amqp-client (AMQPClient over a TCP socket): `basicPublish`
 * returns a promise that settles once the frames were written to the socket
 * (or, in confirm mode, once confirmed). Its flow-control signal is that
 * promise: the adapter awaits every K-th one (see promiseWindow).
 *
 * TCP_NODELAY: the client has no option for it and creates the socket with
 * Node's default (Nagle on); the adapter calls `client.socket.setNoDelay(true)`
 * right after connect() resolves (the handshake ran with Nagle on, which
 * does not matter for the measurements).
 */
import { AMQPClient, type AMQPChannel } from '@cloudamqp/amqp-client';
import { publishAwaitingEvery, publishConfirmedByPromise, SequentialRpc, type ClientAdapter, type DeclareResult, type Target } from './adapter';

export class CloudamqpAdapter implements ClientAdapter {
  readonly name = 'cloudamqp' as const;
  private client!: AMQPClient;
  private ch!: AMQPChannel;

  async connect(t: Target): Promise<void> {
    const vhost = encodeURIComponent(t.vhost);
    const url = `amqp://${encodeURIComponent(t.user)}:${encodeURIComponent(t.password)}@${t.host}:${t.port}/${vhost}?frameMax=131072&heartbeat=0`;
    this.client = new AMQPClient(url);
    await this.client.connect();
    if (!this.client.socket) throw new Error('cloudamqp: no socket after connect');
    this.client.socket.setNoDelay(true);
    this.ch = await this.client.channel();
  }

  async declareQueue(queue: string, opts: { passive?: boolean; exclusive?: boolean } = {}): Promise<DeclareResult> {
    const exclusive = opts.exclusive ?? false;
    const r = await this.ch.queueDeclare(queue, { passive: opts.passive ?? false, durable: false, exclusive, autoDelete: exclusive });
    return { queue: r.name, messageCount: r.messageCount };
  }

  async deleteQueue(queue: string): Promise<void> {
    await this.ch.queueDelete(queue);
  }

  publish(queue: string, body: Buffer, count: number): Promise<void> {
    const ch = this.ch;
    return publishAwaitingEvery(count, body.length, () => ch.basicPublish('', queue, body));
  }

  async publishUnawaited(queue: string, body: Buffer, count: number): Promise<void> {
    const ch = this.ch;
    let last: Promise<unknown> | undefined;
    for (let i = 0; i < count; i++) last = ch.basicPublish('', queue, body);
    await last;
  }

  async enableConfirms(): Promise<void> {
    await this.ch.confirmSelect();
  }

  publishConfirmed(queue: string, body: Buffer, count: number, window: number): Promise<void> {
    const ch = this.ch;
    return publishConfirmedByPromise(count, window, () => ch.basicPublish('', queue, body));
  }

  async consume(queue: string, prefetch: number, ackEvery: number, onMessage: () => void): Promise<void> {
    const ch = this.ch;
    await ch.basicQos(prefetch);
    await ch.basicConsume(queue, { noAck: false }, (msg) => {
      if (msg.deliveryTag % ackEvery === 0) void ch.basicAck(msg.deliveryTag, true);
      onMessage();
    });
  }

  async serveRpc(queue: string): Promise<void> {
    const ch = this.ch;
    await ch.basicConsume(queue, { noAck: true }, (msg) => {
      void ch.basicPublish('', msg.properties.replyTo!, msg.body, { correlationId: msg.properties.correlationId });
    });
  }

  async rpcClient(): Promise<(queue: string, body: Buffer) => Promise<void>> {
    const ch = this.ch;
    const { queue: replyTo } = await this.declareQueue('', { exclusive: true });
    const rpc = new SequentialRpc();
    await ch.basicConsume(replyTo, { noAck: true }, (msg) => rpc.onReply(msg.properties.correlationId));
    return (queue, body) => rpc.request((correlationId) => void ch.basicPublish('', queue, body, { correlationId, replyTo }));
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
