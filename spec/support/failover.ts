/**
 * The quorum-queue failover scenario, shared by its spec
 * (spec/integration/failover.spec.ts, which asserts) and the benchmark
 * (bench/failover.ts, which reports): persistent confirmed publishes to a
 * quorum queue through a recovering connection given all three nodes, while
 * the node the publisher is connected to is killed (SIGKILL) and restarted,
 * rotating through the nodes; a consumer on another recovering connection
 * acks. Counted: messages confirmed, received, lost, duplicated, nacked
 * (and republished), and the time from each kill to the first ack after it.
 */
import { type Channel, type Connection, SelectConnection } from '../../lib';
import type { ClusterNode } from '../../tools/rabbitmq-node';

/** What the scenario does to the cluster (the test support's TestCluster and the tools' Cluster both fit). */
export interface KillableCluster {
  readonly nodes: ClusterNode[];
  kill(node: ClusterNode): Promise<void>;
  restart(node: ClusterNode): Promise<void>;
}

/** What one run counted. */
export interface FailoverResult {
  /** Message ids the broker acked (each at least once). */
  acked: number;
  /** Distinct message ids the consumer received. */
  received: number;
  /** Acked ids never received. Must be 0. */
  lost: number;
  /** Deliveries beyond the first per id. */
  duplicates: number;
  /** Publishes the broker nacked (each republished by the scenario, as an application would). */
  nacks: number;
  /** Milliseconds from each kill to the first ack after it. */
  killToAck: number[];
  /** Nodes killed, in order (1-based). */
  killed: number[];
  /** Recoveries of the publisher's connection. */
  recoveries: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, ms: number, predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`failover: ${what} did not happen within ${ms} ms`);
    await sleep(5);
  }
}

/** Opens a recovering connection to every node of the cluster, resolving once open. */
function openRecovering(nodes: ClusterNode[], onRecovered: () => void): Promise<Connection> {
  return new Promise((resolve, reject) => {
    new SelectConnection({
      parameters: nodes.map((n) => n.url),
      shuffleHosts: true,
      recovery: { initialDelay: 0.05, maxDelay: 0.5 },
      onRecovered,
      onOpen: (c) => resolve(c),
      onOpenError: (_c, err) => reject(err),
      onClose: () => undefined,
    });
  });
}

function openChannel(connection: Connection): Promise<Channel> {
  return new Promise((resolve, reject) => connection.channel((err, ch) => (err ? reject(err) : resolve(ch))));
}

/** The node a connection is on (by the port of the parameter set it opened with). */
function nodeOf(cluster: KillableCluster, connection: Connection): ClusterNode {
  const port = connection.parameters?.port;
  const node = cluster.nodes.find((n) => n.port === port);
  if (node === undefined) throw new Error(`failover: the connection's port ${port} is no node of the cluster`);
  return node;
}

/** Runs the scenario: `messages` publishes, `kills` kill-and-restart rounds of the publisher's node. */
export async function runFailover(cluster: KillableCluster, queue: string, messages = 50_000, kills = 3): Promise<FailoverResult> {
  let recoveries = 0;
  const publisher = await openRecovering(cluster.nodes, () => (recoveries += 1));
  const consumerConnection = await openRecovering(cluster.nodes, () => undefined);
  try {
    const pub = await openChannel(publisher);
    await new Promise<void>((resolve, reject) =>
      pub.queueDeclare(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } }, (err) => (err ? reject(err) : resolve())),
    );
    await new Promise<void>((resolve) => pub.confirmDelivery(null, () => resolve()));
    const sub = await openChannel(consumerConnection);
    sub.basicQos({ prefetchCount: 500 });
    const seen = new Map<number, number>();
    sub.basicConsume(queue, (ch, method, props) => {
      const id = Number(props.messageId);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      ch.basicAck(method.deliveryTag);
    });

    const acked = new Set<number>();
    const retry: number[] = [];
    let nacks = 0;
    let lastAckAt = 0;
    let outstanding = 0;
    const publish = (id: number): void => {
      outstanding += 1;
      pub.basicPublish(
        '',
        queue,
        Buffer.from(`m${id}`),
        { messageId: String(id), deliveryMode: 2 },
        {
          onConfirm: (err) => {
            outstanding -= 1;
            if (err === null) {
              acked.add(id);
              lastAckAt = performance.now();
            } else {
              nacks += 1;
              retry.push(id); // a nack: not enqueued; publish it again, as an application would
            }
          },
        },
      );
    };

    const killed: number[] = [];
    const killToAck: number[] = [];
    const killAt = Array.from({ length: kills }, (_, k) => Math.floor(((k + 1) * messages) / (kills + 1)));
    let next = 0;
    for (let id = 0; id < messages; id++) {
      publish(id);
      if (id % 200 === 0) await sleep(0);
      while (outstanding > 2000 || retry.length > 0) {
        while (retry.length > 0) publish(retry.shift()!);
        await sleep(1);
      }
      if (next < killAt.length && id === killAt[next]) {
        next += 1;
        const node = nodeOf(cluster, publisher);
        const since = performance.now();
        await cluster.kill(node);
        killed.push(node.index);
        // the first ack after the kill, while publishing goes on
        const keepPublishing = (async () => {
          let more = id + 1;
          while (lastAckAt <= since && performance.now() - since < 60_000) {
            while (retry.length > 0) publish(retry.shift()!);
            if (outstanding < 500 && more < messages && more < id + 5000) publish(more++);
            await sleep(2);
          }
          return more;
        })();
        await until('an ack after the kill', 60_000, () => lastAckAt > since);
        killToAck.push(lastAckAt - since);
        id = (await keepPublishing) - 1;
        await cluster.restart(node);
      }
    }
    await until(`every publish answered (${acked.size} of ${messages})`, 120_000, () => {
      while (retry.length > 0) publish(retry.shift()!);
      return acked.size === messages && outstanding === 0;
    });
    await until(`every acked message received (${seen.size} of ${acked.size})`, 120_000, () => [...acked].every((id) => seen.has(id)));
    const lost = [...acked].filter((id) => !seen.has(id)).length;
    const duplicates = [...seen.values()].reduce((n, c) => n + c - 1, 0);
    return { acked: acked.size, received: seen.size, lost, duplicates, nacks, killToAck, killed, recoveries };
  } finally {
    for (const c of [publisher, consumerConnection]) if (!c.isClosed && !c.isClosing) c.close();
  }
}
