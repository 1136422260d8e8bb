/**
 * The recovery figure of `npm run bench`: how long a connection is gone when
 * the network cuts it. A consumer and a confirm-mode publisher talk to
 * RabbitMQ through a TCP proxy; the proxy cuts both sockets 10 times, and
 * each cut is timed to the consumer's first delivery after it and to the
 * publisher's first confirm after it. Once with automatic recovery
 * (`recovery: { initialDelay: 0 }`), once with the hand-written reconnect of
 * the README's recipe (onClose → reconnect at once → channel, qos, consume /
 * confirm mode), so that the figure is the mechanics, not a backoff setting.
 *
 * Standalone: `npx tsx bench/recovery.ts` (starts its own RabbitMQ).
 */
import {
  type Channel,
  type Connection,
  ConnectionParameters,
  NodeIOLoop,
  PlainCredentials,
  SelectConnection,
  type SelectConnectionOptions,
} from '../lib';
import { TcpProxy } from '../spec/support/tcp-proxy';

/** One way of coming back, timed over the cuts (milliseconds). */
export interface RecoveryRow {
  way: string;
  toDelivery: { median: number; max: number };
  toConfirm: { median: number; max: number };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function stats(values: number[]): { median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], max: sorted[sorted.length - 1] };
}

/** What both ways report: the time of the last delivery and the last confirm, and how to stop. */
interface Pair {
  lastDelivery: number;
  lastConfirm: number;
  stop(): void;
}

/** A consumer and a publisher on connections that come back by themselves (coney's recovery). */
function automatic(parameters: ConnectionParameters, queue: string): Pair {
  const pair: Pair = { lastDelivery: 0, lastConfirm: 0, stop: () => undefined };
  const options: SelectConnectionOptions = { parameters, recovery: { initialDelay: 0, maxDelay: 0.05 } };
  const consumer = new SelectConnection({
    ...options,
    onOpen: (c) =>
      c.channel((err, ch) => {
        if (err) throw err;
        ch.queueDeclare(queue, { autoDelete: false });
        ch.basicQos({ prefetchCount: 100 });
        ch.basicConsume(queue, (chan, m) => {
          pair.lastDelivery = performance.now();
          chan.basicAck(m.deliveryTag);
        });
      }),
  });
  let timer: NodeJS.Timeout | null = null;
  const publisher = new SelectConnection({
    ...options,
    onOpen: (c) =>
      c.channel((err, ch) => {
        if (err) throw err;
        ch.confirmDelivery(null, () => {
          timer = setInterval(() => {
            if (ch.unconfirmedDeliveryTags().length < 200)
              ch.basicPublish('', queue, 'x', {}, { onConfirm: (e) => e || (pair.lastConfirm = performance.now()) });
          }, 2);
        });
      }),
  });
  pair.stop = () => {
    if (timer) clearInterval(timer);
    for (const c of [consumer, publisher]) if (!c.isClosed && !c.isClosing) c.close();
  };
  return pair;
}

/** The same pair with the README's hand-written reconnect: a new connection at once, everything set up again. */
function handWritten(parameters: ConnectionParameters, queue: string): Pair {
  const pair: Pair = { lastDelivery: 0, lastConfirm: 0, stop: () => undefined };
  const ioloop = new NodeIOLoop();
  let stopping = false;
  let timer: NodeJS.Timeout | null = null;
  const connections = new Set<Connection>();
  const connect = (setUp: (ch: Channel) => void): void => {
    const c = new SelectConnection({
      parameters,
      ioloop,
      stopIOLoopOnClose: false,
      onOpen: (conn) => conn.channel((err, ch) => (err ? undefined : setUp(ch))),
      onOpenError: () => stopping || ioloop.callLater(0, () => connect(setUp)),
      onClose: () => {
        connections.delete(c);
        if (!stopping) ioloop.callLater(0, () => connect(setUp));
      },
    });
    connections.add(c);
  };
  connect((ch) => {
    ch.queueDeclare(queue, { autoDelete: false });
    ch.basicQos({ prefetchCount: 100 });
    ch.basicConsume(queue, (chan, m) => {
      pair.lastDelivery = performance.now();
      chan.basicAck(m.deliveryTag);
    });
  });
  connect((ch) => {
    ch.confirmDelivery(null, () => {
      if (timer) clearInterval(timer);
      timer = setInterval(() => {
        if (ch.isOpen && ch.unconfirmedDeliveryTags().length < 200) {
          ch.basicPublish('', queue, 'x', {}, { onConfirm: (e) => e || (pair.lastConfirm = performance.now()) });
        }
      }, 2);
    });
  });
  pair.stop = () => {
    stopping = true;
    if (timer) clearInterval(timer);
    for (const c of connections) if (!c.isClosed && !c.isClosing) c.close();
    ioloop.callLater(0.5, () => ioloop.stop());
  };
  return pair;
}

async function timeCuts(proxy: TcpProxy, pair: Pair, cuts: number): Promise<{ toDelivery: number[]; toConfirm: number[] }> {
  const toDelivery: number[] = [];
  const toConfirm: number[] = [];
  const deadline = (what: string, since: number, value: () => number): Promise<number> =>
    (async () => {
      while (value() <= since) {
        if (performance.now() - since > 30000) throw new Error(`recovery bench: no ${what} within 30 s of a cut`);
        await sleep(1);
      }
      return value() - since;
    })();
  await deadline('delivery', 0, () => pair.lastDelivery);
  await deadline('confirm', 0, () => pair.lastConfirm);
  for (let i = 0; i < cuts; i++) {
    await sleep(300); // steady flow before each cut
    const at = performance.now();
    proxy.cut();
    const [d, c] = await Promise.all([deadline('delivery', at, () => pair.lastDelivery), deadline('confirm', at, () => pair.lastConfirm)]);
    toDelivery.push(d);
    toConfirm.push(c);
  }
  return { toDelivery, toConfirm };
}

/** Runs both ways against the broker at host:port; one row each. */
export async function runRecoveryBench(host: string, port: number, cuts = 10): Promise<RecoveryRow[]> {
  const rows: RecoveryRow[] = [];
  for (const [way, make] of [
    ['coney recovery: true', automatic],
    ['hand-written reconnect (README recipe)', handWritten],
  ] as const) {
    const proxy = await TcpProxy.start(host, port);
    const parameters = new ConnectionParameters({ host: '127.0.0.1', port: proxy.port, credentials: new PlainCredentials('guest', 'guest') });
    const pair = make(parameters, `coney-bench-recovery-${process.pid}-${rows.length}`);
    try {
      const { toDelivery, toConfirm } = await timeCuts(proxy, pair, cuts);
      rows.push({ way, toDelivery: stats(toDelivery), toConfirm: stats(toConfirm) });
    } finally {
      pair.stop();
      await sleep(600);
      await proxy.close();
    }
  }
  return rows;
}

/** The rows as a table (Markdown-compatible). */
export function recoveryTable(rows: RecoveryRow[], cuts = 10): string {
  const ms = (v: number): string => `${v.toFixed(1)} ms`;
  const lines = [
    `| after a cut (${cuts} cuts) | to the first delivery: median | max | to the first confirm: median | max |`,
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.way} | ${ms(r.toDelivery.median)} | ${ms(r.toDelivery.max)} | ${ms(r.toConfirm.median)} | ${ms(r.toConfirm.max)} |`),
  ];
  return lines.join('\n');
}

if (require.main === module) {
  void (async () => {
    const { startBroker } = await import('../tools/rabbitmq-node');
    const broker = await startBroker({});
    try {
      console.log(recoveryTable(await runRecoveryBench(broker.host, broker.port)));
    } finally {
      await broker.stop();
    }
  })();
}
