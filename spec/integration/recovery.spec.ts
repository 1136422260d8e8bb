/**
 * Automatic recovery against RabbitMQ, through a cuttable TCP proxy: cuts at
 * seeded random moments, a silent peer, a broker-side close, a broker that
 * stays away, and a redeclare the broker refuses. What is counted: messages
 * lost (must be 0), duplicated (reported), callbacks settled twice or never.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import {
  AMQPHeartbeatTimeout,
  type Channel,
  ChannelClosedByBroker,
  type Connection,
  ConnectionClosedByBroker,
  PlainCredentials,
  RecoveryFailedError,
  type RecoveryOptions,
  SelectConnection,
  type SelectConnectionOptions,
  StreamLostError,
  type spec,
} from '../../lib';
import { channelFromPort, connect, type PortChannel } from '../../lib';
import { amqpUrl, brokerConnectionInfo, rabbitmqctl, uniqueName } from '../support/broker';
import { brokerParameters, cbp, cleanUp, closeConnection, openChannel, openConnection, within } from '../support/callbacks';
import { eventually, sleep } from '../support/polling';
import { prng } from '../support/prng';
import { TcpProxy } from '../support/tcp-proxy';

/** What a recovering connection reported. */
interface RecoveryLog {
  recovering: Array<{ reason: Error; attempt: number }>;
  recovered: number;
  failed: Error[];
  closes: Error[];
  renames: Array<[string, string]>;
}

/** Opens a recovering connection through `proxy`, recording its recovery events. */
async function openRecovering(
  proxy: TcpProxy,
  recovery: RecoveryOptions,
  extra: Partial<SelectConnectionOptions> = {},
  overrides: Parameters<typeof brokerParameters>[0] = {},
): Promise<{ connection: SelectConnection; log: RecoveryLog }> {
  const log: RecoveryLog = { recovering: [], recovered: 0, failed: [], closes: [], renames: [] };
  const connection = await openConnection({
    parameters: brokerParameters({ host: '127.0.0.1', port: proxy.port, ...overrides }),
    recovery,
    onRecovering: (_c, reason, attempt) => log.recovering.push({ reason, attempt }),
    onRecovered: () => (log.recovered += 1),
    onRecoveryFailed: (_c, err) => log.failed.push(err),
    onQueueNameChange: (_c, oldName, newName) => log.renames.push([oldName, newName]),
    onClose: (_c, reason) => log.closes.push(reason),
    ...extra,
  });
  return { connection, log };
}

/** Reads every message in `queue` (auto-ack) and counts them by message id. */
async function countById(queue: string): Promise<Map<string, number>> {
  const connection = await openConnection();
  const channel = await openChannel(connection);
  const counts = new Map<string, number>();
  const ok = await cbp<spec.Queue.DeclareOk>((cb) => channel.queueDeclare(queue, { passive: true }, cb));
  let received = 0;
  await within(
    60000,
    new Promise<void>((resolve) => {
      if (ok.messageCount === 0) return resolve();
      channel.basicQos({ prefetchCount: 1000 });
      channel.basicConsume(
        queue,
        (_ch, _m, props) => {
          counts.set(props.messageId!, (counts.get(props.messageId!) ?? 0) + 1);
          if (++received === ok.messageCount) resolve();
        },
        { autoAck: true },
      );
    }),
    `reading ${ok.messageCount} messages back`,
  );
  await closeConnection(connection);
  return counts;
}

describe('automatic recovery against RabbitMQ', function () {
  this.timeout(180000);
  const { hostname, port } = new URL(amqpUrl());
  let proxy: TcpProxy;
  const queues: string[] = [];
  const exchanges: string[] = [];
  const connections: Connection[] = [];

  beforeEach(async () => {
    proxy = await TcpProxy.start(hostname, Number(port || 5672));
  });

  afterEach(async () => {
    for (const c of connections.splice(0)) if (!c.isClosed) await closeConnection(c).catch(() => undefined);
    await proxy.close();
    await cleanUp(queues.splice(0), exchanges.splice(0));
  });

  it('loses no confirmed message: 20,000 persistent publishes with 10 cuts at seeded random moments', async () => {
    const queue = uniqueName('recovery-confirms');
    queues.push(queue);
    const { connection, log } = await openRecovering(proxy, { initialDelay: 0.02, maxDelay: 0.2 });
    connections.push(connection);
    const channel = await openChannel(connection);
    await cbp((cb) => channel.queueDeclare(queue, { durable: true }, cb));
    await cbp((cb) => channel.confirmDelivery(null, cb));
    const total = 20000;
    const random = prng(20261203);
    const acked = new Set<number>();
    const failures: Array<[number, Error]> = [];
    const settledTwice: number[] = [];
    const settled = new Set<number>();
    const seqs = new Set<number>();
    // The cuts come at seeded random times while the stream flows: one in each tenth of it.
    let cuts = 0;
    const cutter = (async () => {
      for (let k = 0; k < 10; k++) {
        await eventually(() => connection.isOpen && seqs.size > k * (total / 10), 60000, `cut ${k + 1}: the connection open again and the stream on`);
        await sleep(5 + random() * 60);
        proxy.cut();
        cuts += 1;
      }
    })();
    for (let i = 0; i < total; i++) {
      seqs.add(channel.nextPublishSeqNo);
      const below = channel.basicPublish(
        '',
        queue,
        Buffer.from(`m${i}`),
        { messageId: String(i), deliveryMode: 2 },
        {
          onConfirm: (err) => {
            if (settled.has(i)) settledTwice.push(i);
            settled.add(i);
            if (err === null) acked.add(i);
            else failures.push([i, err]);
          },
        },
      );
      // let the socket work, keep at most 1,000 unanswered, and no segment ends before its cut
      if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      if (!below || i - settled.size > 1000 || (i + 1) % (total / 10) === 0) {
        const segment = Math.floor(i / (total / 10));
        await eventually(
          () => i - settled.size < 500 && !connection.writableNeedDrain && cuts > Math.min(segment, 9) - ((i + 1) % (total / 10) === 0 ? 0 : 1),
          60000,
          'the confirm window draining',
        );
      }
    }
    await within(60000, cutter, 'the 10 cuts');
    await eventually(() => settled.size === total, 90000, `all ${total} publishes answered (${settled.size} so far)`);
    expect(seqs.size, 'sequence numbers kept increasing across recovery (all distinct)').to.equal(total);
    expect(settledTwice, 'onConfirm settled twice').to.deep.equal([]);
    expect(failures.map(([i, e]) => `${i}: ${e.message}`).slice(0, 5), 'publishes not confirmed').to.deep.equal([]);
    expect(channel.unconfirmedDeliveryTags()).to.deep.equal([]);
    expect(log.recovered, 'recoveries').to.equal(10);
    await closeConnection(connection);
    const counts = await countById(queue);
    const lost = [...acked].filter((i) => !counts.has(String(i)));
    const duplicates = [...counts.values()].reduce((n, c) => n + c - 1, 0);
    console.log(`      ${cuts} cuts, ${log.recovered} recoveries; ${acked.size} acked, ${lost.length} lost, ${duplicates} duplicate(s)`);
    expect(cuts).to.equal(10);
    expect(lost.length, 'confirmed messages lost').to.equal(0);
  });

  it('keeps a consumer (prefetch 100) receiving through 5 cuts, on the same Channel object, with no 406', async () => {
    const queue = uniqueName('recovery-consumer');
    queues.push(queue);
    const { connection, log } = await openRecovering(proxy, { initialDelay: 0.02, maxDelay: 0.2 });
    connections.push(connection);
    const channel = await openChannel(connection);
    const channelCloses: Error[] = [];
    channel.addOnCloseCallback((_c, reason) => channelCloses.push(reason));
    await cbp((cb) => channel.queueDeclare(queue, { durable: true }, cb));
    await cbp((cb) => channel.basicQos({ prefetchCount: 100 }, cb));
    const received = new Set<string>();
    const channels = new Set<Channel>();
    let deliveries = 0;
    channel.basicConsume(queue, (ch, method, props) => {
      channels.add(ch);
      deliveries += 1;
      received.add(props.messageId!);
      // an ack from a delivery before a cut may come after it: it must be dropped, not sent (406)
      setTimeout(() => ch.isClosed || ch.basicAck(method.deliveryTag), Math.floor(Math.random() * 5));
    });
    const publisher = await openConnection();
    connections.push(publisher);
    const pub = await openChannel(publisher);
    await cbp((cb) => pub.confirmDelivery(null, cb));
    const total = 5000;
    let cuts = 0;
    for (let batch = 0; batch < 50; batch++) {
      for (let i = 0; i < 100; i++) pub.basicPublish('', queue, Buffer.from('x'), { messageId: String(batch * 100 + i), deliveryMode: 2 });
      await cbp((cb) => pub.waitForConfirms(cb));
      if (batch % 10 === 5) {
        await eventually(() => connection.isOpen, 30000, 'the consumer connection being open before the next cut');
        proxy.cut();
        cuts += 1;
      }
      await sleep(10);
    }
    await eventually(() => received.size === total, 60000, `every message received (${received.size} of ${total})`);
    console.log(
      `      ${cuts} cuts, ${log.recovered} recoveries, ${deliveries} deliveries for ${total} messages (${deliveries - total} redelivered)`,
    );
    expect(cuts).to.equal(5);
    expect(log.recovered).to.equal(5);
    expect([...channels]).to.deep.equal([channel]);
    expect(channelCloses, 'channel closes (a stale ack would close it with 406)').to.deep.equal([]);
    expect(channel.isOpen).to.equal(true);
  });

  it('gives a server-named exclusive queue a new name after close_connection, with its binding and consumer', async () => {
    const exchange = uniqueName('recovery-fanout');
    exchanges.push(exchange);
    const connectionName = uniqueName('recovery-named');
    const { connection, log } = await openRecovering(proxy, { initialDelay: 0.02, maxDelay: 0.2 }, {}, { connectionName });
    connections.push(connection);
    const channel = await openChannel(connection);
    await cbp((cb) => channel.exchangeDeclare(exchange, { type: 'fanout' }, cb));
    const ok = await cbp<spec.Queue.DeclareOk>((cb) => channel.queueDeclare('', { exclusive: true }, cb));
    await cbp((cb) => channel.queueBind(ok.queue, exchange, '', {}, cb));
    const bodies: string[] = [];
    channel.basicConsume(ok.queue, (_ch, _m, _p, body) => bodies.push(body.toString()), { autoAck: true });
    await sleep(50);
    await rabbitmqctl(['close_connection', await brokerConnectionInfo(connectionName, 'pid'), 'recovery test']);
    await eventually(() => log.recovered === 1, 30000, 'recovery after close_connection');
    expect(log.recovering[0].reason).to.be.instanceOf(ConnectionClosedByBroker);
    expect((log.recovering[0].reason as ConnectionClosedByBroker).replyCode).to.equal(320);
    expect(log.renames).to.have.length(1);
    expect(log.renames[0][0]).to.equal(ok.queue);
    expect(log.renames[0][1]).to.not.equal(ok.queue);
    expect(log.renames[0][1]).to.match(/^amq\.gen-/);
    const publisher = await openConnection();
    connections.push(publisher);
    const pub = await openChannel(publisher);
    pub.basicPublish(exchange, '', Buffer.from('after recovery'));
    await eventually(() => bodies.length === 1, 10000, 'the message published after recovery arriving');
    expect(bodies).to.deep.equal(['after recovery']);
  });

  it('recovers from a silent peer with a heartbeat-timeout reason', async () => {
    const { connection, log } = await openRecovering(proxy, { initialDelay: 0.1, maxDelay: 1 }, {}, { heartbeat: 1, stackTimeout: 2 });
    connections.push(connection);
    const channel = await openChannel(connection);
    proxy.goSilent();
    const silentAt = Date.now();
    await eventually(() => log.recovering.length > 0, 10000, 'recovery starting');
    expect(log.recovering[0].reason).to.be.instanceOf(AMQPHeartbeatTimeout);
    await sleep(Math.max(0, 5000 - (Date.now() - silentAt))); // silent for 5 s in all
    proxy.resume();
    await eventually(() => log.recovered === 1, 30000, 'recovery after the peer spoke again');
    const ok = await cbp<spec.Queue.DeclareOk>((cb) => channel.queueDeclare('', { exclusive: true }, cb));
    expect(ok.queue).to.match(/^amq\.gen-/);
    expect(log.closes).to.deep.equal([]);
  });

  it('does not recover after connection.close()', async () => {
    const { connection, log } = await openRecovering(proxy, { initialDelay: 0 });
    await closeConnection(connection);
    await sleep(200);
    expect(log.recovering).to.deep.equal([]);
    expect(log.closes).to.have.length(1);
  });

  it('does not recover from a refused login', async () => {
    const errors: Error[] = [];
    const recovering: Error[] = [];
    await within(
      20000,
      new Promise<void>((resolve) => {
        new SelectConnection({
          parameters: brokerParameters({ host: '127.0.0.1', port: proxy.port, credentials: new PlainCredentials('guest', 'wrong') }),
          recovery: { initialDelay: 0 },
          onRecovering: (_c, reason) => recovering.push(reason),
          onOpenError: (_c, err) => (errors.push(err), resolve()),
        });
      }),
      'the refused login',
    );
    await sleep(300);
    expect(errors).to.have.length(1);
    expect(recovering).to.deep.equal([]);
  });

  it('gives up after maxAttempts with the broker gone for good: onRecoveryFailed then onClose, once each; the process exits by itself', async () => {
    const script = path.join(__dirname, 'fixtures', 'recovery-gives-up.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, TARGET_HOST: hostname, TARGET_PORT: String(port || 5672) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await within(60000, new Promise<number | null>((resolve) => child.once('exit', resolve)), 'the process exiting by itself').catch(
      (err: Error) => {
        child.kill('SIGKILL');
        throw new Error(`${err.message}; output:\n${out}`);
      },
    );
    const events = out.split('\n').filter((l) => l.startsWith('event '));
    expect(code, out).to.equal(0);
    expect(events.slice(0, 4), out).to.deep.equal([
      'event recovering 1',
      'event recovering 2',
      'event recovering 3',
      'event recoveryFailed RecoveryFailedError',
    ]);
    // then every pending callback once, with the same error, and onClose last
    expect(events.slice(4, 7).sort(), out).to.deep.equal([
      'event channel-close RecoveryFailedError',
      'event confirm RecoveryFailedError',
      'event held-call RecoveryFailedError',
    ]);
    expect(events.slice(7), out).to.deep.equal(['event close RecoveryFailedError']);
  });

  for (const verdict of ['skip', 'abort'] as const) {
    it(`hands a refused redeclare (406) to onEntityError: '${verdict}'`, async () => {
      const queue = uniqueName(`recovery-406-${verdict}`);
      queues.push(queue);
      const entityErrors: Array<[string, Error]> = [];
      const { connection, log } = await openRecovering(proxy, {
        initialDelay: 0.05,
        maxDelay: 0.2,
        onEntityError: (entity, err) => {
          entityErrors.push([entity.kind === 'queue' ? entity.name : entity.kind, err]);
          return verdict;
        },
      });
      connections.push(connection);
      const channel = await openChannel(connection);
      await cbp((cb) => channel.queueDeclare(queue, {}, cb));
      proxy.refuse(true);
      proxy.cut();
      await eventually(() => log.recovering.length > 0, 10000, 'recovery starting');
      // meanwhile someone else redeclares the queue with other arguments
      const other = await openConnection();
      connections.push(other);
      const och = await openChannel(other);
      await cbp((cb) => och.queueDelete(queue, {}, cb));
      await cbp((cb) => och.queueDeclare(queue, { arguments: { 'x-max-length': 5 } }, cb));
      proxy.refuse(false);
      await eventually(() => log.recovered + log.failed.length > 0, 30000, 'recovery finishing');
      expect(entityErrors.map(([name]) => name)).to.deep.equal([queue]);
      expect(entityErrors[0][1]).to.be.instanceOf(ChannelClosedByBroker);
      expect((entityErrors[0][1] as ChannelClosedByBroker).replyCode).to.equal(406);
      if (verdict === 'skip') {
        expect([log.recovered, log.failed.length, log.closes.length]).to.deep.equal([1, 0, 0]);
        await cbp((cb) => channel.queueDeclare(queue, { passive: true }, cb)); // the channel works
      } else {
        await eventually(() => log.closes.length === 1, 10000, 'onClose after the abort');
        expect(log.recovered).to.equal(0);
        expect(log.failed).to.have.length(1);
        expect(log.failed[0]).to.be.instanceOf(RecoveryFailedError);
        expect((log.failed[0] as RecoveryFailedError).reason).to.be.instanceOf(StreamLostError);
        expect(log.closes[0]).to.equal(log.failed[0]);
        expect(channel.isClosed).to.equal(true);
      }
    });
  }

  it('resumes a stream consumer after the last offset it was given, not at its original offset', async () => {
    const stream = uniqueName('recovery-stream');
    queues.push(stream);
    const { connection, log } = await openRecovering(proxy, { initialDelay: 0.02, maxDelay: 0.2 });
    connections.push(connection);
    const channel = await openChannel(connection);
    await cbp((cb) => channel.queueDeclare(stream, { durable: true, arguments: { 'x-queue-type': 'stream' } }, cb));
    await cbp((cb) => channel.confirmDelivery(null, cb));
    for (let i = 0; i < 200; i++) channel.basicPublish('', stream, Buffer.from(String(i)));
    await cbp((cb) => channel.waitForConfirms(cb));
    const consumer = await openChannel(connection);
    await cbp((cb) => consumer.basicQos({ prefetchCount: 10 }, cb));
    const offsets: number[] = [];
    let cutAfter = -1;
    consumer.basicConsume(
      stream,
      (ch, method, props) => {
        offsets.push(Number(props.headers!['x-stream-offset']));
        ch.basicAck(method.deliveryTag);
        if (offsets.length === 100 && cutAfter < 0) {
          cutAfter = offsets.length;
          proxy.cut();
        }
      },
      { arguments: { 'x-stream-offset': 'first' } },
    );
    await eventually(() => new Set(offsets).size === 200 && log.recovered === 1, 30000, `every offset read (${new Set(offsets).size} of 200)`);
    const afterCut = offsets.slice(cutAfter);
    expect(Math.min(...afterCut), 'the first offset after recovery').to.be.at.least(90);
    expect(offsets.length - 200, 'offsets read twice').to.be.below(20);
  });

  it('promise API: a for-await consumer carries on across a cut, and confirm publishes resolve through it', async () => {
    const queue = uniqueName('recovery-promise');
    queues.push(queue);
    const log = { recovered: 0 };
    const connection = await connect(`amqp://guest:guest@127.0.0.1:${proxy.port}/`, {
      recovery: { initialDelay: 0.02, maxDelay: 0.2 },
      onRecovered: () => (log.recovered += 1),
    });
    try {
      const channel = await connection.channel();
      await channel.queueDeclare(queue, { durable: true });
      await channel.confirmDelivery();
      const publisher = await connection.channel();
      await publisher.confirmDelivery();
      const received = new Set<string>();
      const reading = (async () => {
        for await (const message of channel.consume(queue, { inactivityTimeout: 20 })) {
          if (message === null) throw new Error(`no message for 20 s (received ${received.size})`);
          received.add(message.body.toString());
          await message.ack();
          if (received.size === 200) break;
        }
      })();
      const sent: Array<Promise<unknown>> = [];
      for (let i = 0; i < 200; i++) {
        sent.push(publisher.basicPublish('', queue, Buffer.from(String(i)), { deliveryMode: 2 }));
        if (i === 100) {
          await Promise.all(sent.slice(0, 50));
          await eventually(() => received.size > 0, 10_000, 'the consumer consuming before the cut');
          proxy.cut();
        }
      }
      await within(30_000, Promise.all(sent), 'every publish answered');
      await within(30_000, reading, 'every message read');
      expect(log.recovered).to.equal(1);
      expect(received.size).to.equal(200);
    } finally {
      await connection.close();
    }
  });

  it('promise API with republish: false: publishes unanswered at a cut reject with the loss, the others resolve, none hangs', async () => {
    const queue = uniqueName('recovery-promise-norepublish');
    queues.push(queue);
    const connection = await connect(`amqp://guest:guest@127.0.0.1:${proxy.port}/`, {
      recovery: { initialDelay: 0.02, maxDelay: 0.2, republish: false },
    });
    try {
      const channel = await connection.channel();
      await channel.queueDeclare(queue, { durable: true });
      await channel.confirmDelivery();
      const outcomes = new Map<number, string>();
      const sent: Array<Promise<void>> = [];
      for (let i = 0; i < 2000; i++) {
        const n = i;
        sent.push(
          channel.basicPublish('', queue, Buffer.from(String(n)), { deliveryMode: 2 }).then(
            () => void outcomes.set(n, 'ack'),
            (err: Error) => void outcomes.set(n, err.name),
          ),
        );
        if (i === 999) await Promise.all(sent.slice(0, 200)); // some answered before the cut
        if (i === 1500) proxy.cut(); // the latest are written or buffered, not yet answered
      }
      await within(30_000, Promise.all(sent), 'every publish settled');
      const counts = new Map<string, number>();
      for (const o of outcomes.values()) counts.set(o, (counts.get(o) ?? 0) + 1);
      expect(outcomes.size).to.equal(2000);
      expect(
        [...counts.keys()].filter((k) => k !== 'ack'),
        'the rejection classes',
      ).to.satisfy((names: string[]) => names.every((n) => ['StreamLostError', 'AMQPConnectionError', 'ConnectionClosed'].includes(n)));
      expect(counts.get('ack') ?? 0, 'acked').to.be.above(0);
      expect(2000 - (counts.get('ack') ?? 0), 'rejected with the loss').to.be.above(0);
      // Every acked message is in the queue (nothing acked was lost); nothing was republished, so at most the unanswered extra.
      const { messageCount } = await channel.queueDeclare(queue, { passive: true });
      expect(messageCount).to.be.at.least(counts.get('ack') ?? 0);
      expect(messageCount).to.be.at.most(2000);
    } finally {
      await connection.close();
    }
  });

  /**
   * A port channel (threads) through a cut: 300 confirmed publishes on one
   * port channel, a for-await consumer on another, the proxy cut after the
   * first 100 were read. Every publish settles (acked, or republished and
   * acked), every id is read, and the iterator carries on.
   */
  async function portChannelsThroughACut(openPort: () => Promise<PortChannel>, recovered: () => number): Promise<void> {
    const queue = uniqueName('recovery-port');
    queues.push(queue);
    const consumer = await openPort();
    await consumer.queueDeclare(queue, { durable: true });
    await consumer.basicQos({ prefetchCount: 50 });
    const publisher = await openPort();
    await publisher.confirmDelivery();
    const received = new Set<string>();
    let cut = false;
    const reading = (async () => {
      for await (const message of consumer.consume(queue, { inactivityTimeout: 20 })) {
        if (message === null) throw new Error(`no message for 20 s (received ${received.size})`);
        received.add(message.body.toString());
        await message.ack();
        if (received.size === 100 && !cut) {
          cut = true;
          proxy.cut();
        }
        if (received.size === 300) break;
      }
    })();
    const sent: Array<Promise<void>> = [];
    for (let i = 0; i < 300; i++) {
      sent.push(publisher.basicPublish('', queue, Buffer.from(String(i)), { deliveryMode: 2 }));
      if (i === 150) await within(20_000, Promise.all(sent.slice(0, 100)), 'the first publishes');
    }
    await within(30_000, Promise.all(sent), 'every publish answered');
    await within(30_000, reading, 'every message read');
    expect(cut, 'the proxy was cut').to.equal(true);
    expect(recovered()).to.be.at.least(1);
    expect(received.size).to.equal(300);
  }

  it('threads: port channels (openChannelPort / channelFromPort) carry on across a cut', async () => {
    let recovered = 0;
    const connection = await connect(`amqp://guest:guest@127.0.0.1:${proxy.port}/`, {
      recovery: { initialDelay: 0.02, maxDelay: 0.2 },
      onRecovered: () => (recovered += 1),
    });
    try {
      await portChannelsThroughACut(
        async () => channelFromPort(await connection.openChannelPort()),
        () => recovered,
      );
    } finally {
      await connection.close();
    }
  });

  it('threads: an ioThread connection recovers in its I/O thread, and its channels carry on', async () => {
    let recovered = 0;
    const connection = await connect(`amqp://guest:guest@127.0.0.1:${proxy.port}/`, {
      ioThread: true,
      recovery: { initialDelay: 0.02, maxDelay: 0.2 },
      onRecovered: () => (recovered += 1),
    });
    try {
      await portChannelsThroughACut(
        () => connection.channel(),
        () => recovered,
      );
      expect(connection.isOpen).to.equal(true);
    } finally {
      await connection.close();
    }
  });
});
