/**
 * pika's asynchronous consumer example, with reconnection: a consumer that
 * survives the broker closing or dropping its connection.
 *
 * The flow, one callback per step (as in pika's `ExampleConsumer`):
 *
 *   connect -> onConnectionOpen -> openChannel -> onChannelOpen
 *   -> setupExchange -> onExchangeDeclareOk -> setupQueue -> onQueueDeclareOk
 *   -> onBindOk -> setQos -> onBasicQosOk -> startConsuming -> onMessage (ack)
 *
 * When the connection closes and we did not ask for it (the broker closed it,
 * e.g. `rabbitmqctl close_connection`, or the socket was lost), `onConnectionClosed`
 * schedules a reconnect on the same I/O loop with `ioloop.callLater`, after a
 * delay that grows by one second per failed try (up to 30 s) and restarts
 * from zero once consuming worked (pika's `_get_reconnect_delay`). All
 * connections share one `NodeIOLoop`, so a SelectConnection does not stop the
 * loop when it closes (`stopIOLoopOnClose` is false for a loop passed in).
 *
 * Ctrl-C (SIGINT) stops cleanly: cancel the consumer, close the channel,
 * close the connection, then stop the loop.
 *
 * Run:
 *   npx tsx tools/with-broker.ts npx tsx examples/asynchronous-consumer.ts
 *   AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/asynchronous-consumer.ts
 * and publish to exchange `message` with routing key `example.text`, e.g.
 *   amqp-publish -u "$AMQP_URL" -e message -r example.text -b hello
 *
 * Options: `--exchange NAME` (message), `--queue NAME` (text),
 * `--routing-key KEY` (example.text), `--count N` (stop after N messages),
 * `--name NAME` (the connection name shown by the management tools).
 */
import { type Channel, type Connection, ConnectionParameters, NodeIOLoop, SelectConnection, type TimerHandle, URLParameters, spec } from '../lib';
import { AMQP_URL, option } from './support/cli';

/** Consumes a queue; reconnects after an unexpected close until `stop()`. */
class ReconnectingConsumer {
  private readonly exchange = option('exchange', 'message');
  private readonly exchangeType = 'topic';
  private readonly queue = option('queue', 'text');
  private readonly routingKey = option('routing-key', 'example.text');
  private readonly stopAfter = Number(option('count', '0'));

  private connection: SelectConnection | null = null;
  private channel: Channel | null = null;
  private consumerTag: string | null = null;
  private closing = false;
  private consuming = false;
  private wasConsuming = false;
  private reconnectDelay = 0;
  private reconnects = 0;
  private reconnectTimer: TimerHandle | null = null;
  private received = 0;
  private readonly parameters: ConnectionParameters;

  constructor(
    url: string,
    private readonly ioloop: NodeIOLoop,
  ) {
    // The URL's settings, plus a connection name to recognise us in `rabbitmqctl list_connections`.
    const base = new URLParameters(url);
    this.parameters = new ConnectionParameters({
      host: base.host,
      port: base.port,
      virtualHost: base.virtualHost,
      credentials: base.credentials,
      ssl: base.ssl,
      heartbeat: base.heartbeat,
      clientProperties: { connection_name: option('name', `coney-asynchronous-consumer-${process.pid}`) },
    });
  }

  /** Opens a connection; everything else follows from its callbacks. */
  connect(): void {
    console.log(`connecting to ${this.parameters}`);
    this.connection = new SelectConnection({
      parameters: this.parameters,
      ioloop: this.ioloop, // shared: the loop outlives each connection
      onOpen: (c) => this.onConnectionOpen(c),
      onOpenError: (_c, err) => this.onConnectionOpenError(err),
      onClose: (_c, reason) => this.onConnectionClosed(reason),
    });
  }

  private onConnectionOpen(connection: Connection): void {
    console.log('connection opened');
    this.openChannel(connection);
  }

  private onConnectionOpenError(err: Error): void {
    console.log(`connection open failed: ${err.message}`);
    this.reconnect();
  }

  /** The connection closed: stop the loop if we asked for it, otherwise reconnect. */
  private onConnectionClosed(reason: Error): void {
    this.channel = null;
    this.consuming = false;
    if (this.closing) {
      console.log(`connection closed: ${reason.message}`);
      this.ioloop.stop();
    } else {
      console.log(`connection closed, reconnecting: ${reason.constructor.name}: ${reason.message}`);
      this.reconnect();
    }
  }

  /** Schedules a new connection on the same loop. */
  private reconnect(): void {
    if (this.closing) return void this.ioloop.stop();
    const delay = this.nextReconnectDelay();
    console.log(`reconnecting in ${delay} s`);
    this.reconnects += 1;
    this.reconnectTimer = this.ioloop.callLater(delay, () => {
      this.reconnectTimer = null;
      if (!this.closing) this.connect();
    });
  }

  private nextReconnectDelay(): number {
    if (this.wasConsuming) this.reconnectDelay = 0;
    else this.reconnectDelay = Math.min(this.reconnectDelay + 1, 30);
    this.wasConsuming = false;
    return this.reconnectDelay;
  }

  private openChannel(connection: Connection): void {
    console.log('creating a new channel');
    connection.channel((err, channel) => {
      if (err) return console.log(`channel open failed: ${err.message}`);
      this.onChannelOpen(channel);
    });
  }

  private onChannelOpen(channel: Channel): void {
    console.log('channel opened');
    this.channel = channel;
    channel.addOnCloseCallback((ch, reason) => this.onChannelClosed(ch, reason));
    this.setupExchange();
  }

  /** The broker closed the channel (e.g. a failed declare): close the connection, which reconnects. */
  private onChannelClosed(channel: Channel, reason: Error): void {
    console.log(`channel ${channel.channelNumber} was closed: ${reason.message}`);
    this.channel = null;
    this.consuming = false;
    if (this.connection?.isOpen) this.connection.close();
  }

  private setupExchange(): void {
    console.log(`declaring exchange ${this.exchange}`);
    this.channel!.exchangeDeclare(this.exchange, { type: this.exchangeType }, (err) => {
      if (!err) this.setupQueue();
    });
  }

  private setupQueue(): void {
    console.log(`declaring queue ${this.queue}`);
    this.channel!.queueDeclare(this.queue, {}, (err) => {
      if (err) return;
      console.log(`binding ${this.exchange} to ${this.queue} with ${this.routingKey}`);
      this.channel!.queueBind(this.queue, this.exchange, this.routingKey, {}, (err) => {
        if (!err) this.setQos();
      });
    });
  }

  private setQos(): void {
    // A small prefetch: messages are acked one by one as they are handled.
    this.channel!.basicQos({ prefetchCount: 1 }, (err) => {
      if (!err) this.startConsuming();
    });
  }

  private startConsuming(): void {
    const channel = this.channel!;
    channel.addOnCancelCallback(() => {
      console.log('consumer was cancelled remotely, shutting down');
      channel.close();
    });
    this.consumerTag = channel.basicConsume(
      this.queue,
      (ch, method, props, body) => this.onMessage(ch, method, props, body),
      {},
      (err) => {
        if (err) return;
        this.consuming = true;
        this.wasConsuming = true;
        console.log(`consuming on queue ${this.queue} (connection #${this.reconnects + 1})`);
      },
    );
  }

  private onMessage(channel: Channel, method: spec.Basic.Deliver, properties: spec.BasicProperties, body: Buffer): void {
    this.received += 1;
    console.log(`received message #${method.deliveryTag} from ${properties.appId ?? '?'}: ${body.toString()}`);
    channel.basicAck(method.deliveryTag);
    if (this.stopAfter > 0 && this.received >= this.stopAfter) this.stop();
  }

  /** Clean shutdown: cancel the consumer, close the channel and the connection; the loop stops after. */
  stop(): void {
    if (this.closing) return;
    this.closing = true;
    console.log(`stopping (received ${this.received} messages, ${this.reconnects} reconnects)`);
    const connection = this.connection;
    if (connection === null || connection.isClosed) {
      // Between connections: cancel the pending reconnect (a pending timer would keep Node running).
      if (this.reconnectTimer !== null) this.ioloop.removeTimeout(this.reconnectTimer);
      this.ioloop.stop();
      return;
    }
    if (this.channel !== null && this.consuming && this.consumerTag !== null) {
      const channel = this.channel;
      channel.basicCancel(this.consumerTag, () => {
        console.log('consumer cancelled; closing the channel');
        if (channel.isOpen) channel.close(200, 'Normal shutdown', () => this.closeConnection());
        else this.closeConnection();
      });
    } else {
      this.closeConnection();
    }
  }

  private closeConnection(): void {
    const connection = this.connection;
    if (connection === null || connection.isClosed) return void this.ioloop.stop();
    if (!connection.isClosing) {
      console.log('closing the connection');
      connection.close(); // also aborts an attempt still opening
    }
  }

  get messageCount(): number {
    return this.received;
  }
}

const ioloop = new NodeIOLoop();
const consumer = new ReconnectingConsumer(AMQP_URL, ioloop);
process.once('SIGINT', () => consumer.stop());
consumer.connect();
void ioloop.start().then(() => console.log(`stopped; received ${consumer.messageCount} messages`));
