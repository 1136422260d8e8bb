/**
 * Failover between the nodes of the throwaway three-node cluster, proven
 * with automatic recovery: 50,000 persistent confirmed publishes to a quorum
 * queue while the publisher's node is killed and restarted three times
 * (rotating through the nodes), a consumer acking on another recovering
 * connection. The scenario lives in spec/support/failover.ts (the benchmark
 * runs it too).
 */
import { expect } from 'chai';
import { type Connection, SelectConnection } from '../../lib';
import { uniqueName } from '../support/broker';
import { cbp, closeConnection, openChannel, within } from '../support/callbacks';
import { type ClusterNode, type TestCluster, testCluster } from '../support/cluster';
import { eventually, sleep } from '../support/polling';
import { runFailover } from '../support/failover';

describe('failover on a three-node cluster', function () {
  this.timeout(600_000);
  let cluster: TestCluster;
  before(() => {
    cluster = testCluster(); // fails the suite loudly, naming what is missing, without the cluster
    return cluster.ensureAllRunning();
  });
  afterEach(() => cluster.ensureAllRunning());

  it('loses no confirmed message through three kills of the publisher node (quorum queue, recovery on)', async () => {
    const queue = uniqueName('failover');
    const r = await runFailover(cluster, queue, 50_000, 3);
    const ms = r.killToAck.map((t) => `${t.toFixed(0)} ms`).join(', ');
    console.log(
      `      killed nodes ${r.killed.join(', ')}; ${r.recoveries} recoveries; ${r.acked} acked, ${r.received} received, ` +
        `${r.lost} lost, ${r.duplicates} duplicate(s), ${r.nacks} nack(s) republished; kill to first ack: ${ms}`,
    );
    expect(r.lost, 'confirmed messages lost').to.equal(0);
    expect(r.acked).to.equal(50_000);
    expect(r.killed).to.have.length(3);
    expect(new Set(r.killed).size, 'the kills rotate through the nodes').to.be.at.least(2);
    expect(r.recoveries, 'publisher recoveries').to.be.at.least(3);
    await cluster.rabbitmqctl(cluster.nodes[0], ['delete_queue', queue]).catch(() => undefined);
  });
});

describe('consumers on a three-node cluster', function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  before(() => {
    cluster = testCluster(); // fails the suite loudly, naming what is missing, without the cluster
    return cluster.ensureAllRunning();
  });
  afterEach(() => cluster.ensureAllRunning());

  /** A recovering connection to `first` (then the other nodes), resolving once open. */
  function connect(first: ClusterNode, events: { recovered: number; closes: Error[] }): Promise<Connection> {
    const others = cluster.nodes.filter((n) => n !== first);
    return within(
      30_000,
      new Promise<Connection>((resolve, reject) => {
        new SelectConnection({
          parameters: [first, ...others].map((n) => n.url),
          recovery: { initialDelay: 0.05, maxDelay: 0.5 },
          onRecovered: () => (events.recovered += 1),
          onOpen: resolve,
          onOpenError: (_c, err) => reject(err),
          onClose: (_c, reason) => events.closes.push(reason),
        });
      }),
      'opening a cluster connection',
    );
  }

  it('resumes a quorum-queue consumer on its own after the node it is connected to is killed', async () => {
    const queue = uniqueName('failover-consumer');
    const [node1, node2] = cluster.nodes;
    const publisherEvents = { recovered: 0, closes: [] as Error[] };
    const publisher = await connect(node1, publisherEvents);
    const pub = await openChannel(publisher);
    await cbp((cb) => pub.queueDeclare(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } }, cb));
    await cbp((cb) => pub.confirmDelivery(null, cb));
    const events = { recovered: 0, closes: [] as Error[] };
    const consumerConnection = await connect(node2, events);
    const sub = await openChannel(consumerConnection);
    const bodies = new Set<string>();
    sub.basicConsume(queue, (ch, method, _p, body) => {
      bodies.add(body.toString());
      ch.basicAck(method.deliveryTag);
    });
    pub.basicPublish('', queue, 'before');
    await eventually(() => bodies.has('before'), 10_000, 'the message before the kill');
    await cluster.kill(node2);
    await eventually(() => events.recovered === 1, 30_000, 'the consumer connection recovering');
    pub.basicPublish('', queue, 'after');
    await cbp((cb) => pub.waitForConfirms(cb));
    await eventually(() => bodies.has('after'), 30_000, 'the message after the kill');
    expect(events.closes).to.deep.equal([]);
    for (const c of [publisher, consumerConnection]) await closeConnection(c);
    await cluster.rabbitmqctl(node1, ['delete_queue', queue]).catch(() => undefined);
  });

  it('tells a consumer whose queue is deleted, through its cancel callback', async () => {
    const queue = uniqueName('failover-deleted');
    const events = { recovered: 0, closes: [] as Error[] };
    const connection = await connect(cluster.nodes[0], events);
    const channel = await openChannel(connection);
    await cbp((cb) => channel.queueDeclare(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } }, cb));
    const cancelled: string[] = [];
    channel.addOnCancelCallback((_c, method) => cancelled.push(method.consumerTag));
    const tag = channel.basicConsume(queue, () => undefined);
    await sleep(200);
    const other = await connect(cluster.nodes[1], { recovered: 0, closes: [] });
    const och = await openChannel(other);
    await cbp((cb) => och.queueDelete(queue, {}, cb));
    await eventually(() => cancelled.length === 1, 10_000, 'the cancel callback');
    expect(cancelled).to.deep.equal([tag]);
    expect(channel.consumerTags).to.deep.equal([]);
    for (const c of [connection, other]) await closeConnection(c);
  });

  it("heals a publishing channel that 3.10 would nack forever after its quorum queue's leader died: acks again on the same Channel", async () => {
    const queue = uniqueName('failover-nacks');
    const setup = await connect(cluster.nodes[0], { recovered: 0, closes: [] });
    const sch = await openChannel(setup);
    await cbp((cb) =>
      sch.queueDeclare(queue, { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-queue-leader-locator': 'client-local' } }, cb),
    );
    const leaderName = (await cluster.rabbitmqctl(cluster.nodes[0], ['list_queues', 'name', 'leader', '--no-table-headers', '-q']))
      .split('\n')
      .find((l) => l.startsWith(`${queue}\t`))!
      .split('\t')[1]
      .trim();
    const leader = cluster.node(leaderName);
    await closeConnection(setup);
    const events = { recovered: 0, closes: [] as Error[] };
    const connection = await connect(leader, events); // the publisher sits on the leader's node
    const channel = await openChannel(connection);
    await cbp((cb) => channel.confirmDelivery(null, cb));
    const answers: Array<{ at: number; ok: boolean }> = [];
    const publish = (): void =>
      void channel.basicPublish('', queue, 'x', { deliveryMode: 2 }, { onConfirm: (e) => answers.push({ at: Date.now(), ok: e === null }) });
    const timer = setInterval(publish, 5); // publishing goes on through the kill, so the first publishes after recovery meet no leader
    try {
      await eventually(() => answers.some((a) => a.ok), 10_000, 'acks before the kill');
      await cluster.kill(leader);
      await eventually(() => events.recovered === 1, 30_000, 'recovery to another node');
      const recoveredAt = Date.now();
      await eventually(() => answers.some((a) => a.ok && a.at > recoveredAt + 100), 20_000, 'an ack on the same Channel after the failover');
    } finally {
      clearInterval(timer);
    }
    const before = answers.length;
    for (let i = 0; i < 40; i++) publish();
    await cbp((cb) => channel.waitForConfirms(cb)).catch(() => undefined);
    const last = answers.slice(before);
    console.log(
      `      ${answers.filter((a) => !a.ok).length} nack(s) during the failover; the last 40 publishes: ${last.filter((a) => a.ok).length} acked`,
    );
    expect(last.filter((a) => a.ok)).to.have.length(40);
    expect(channel.isOpen).to.equal(true);
    await closeConnection(connection);
    await cluster
      .rabbitmqctl(
        cluster.nodes.find((n) => n !== leader)!,
        ['delete_queue', queue],
      )
      .catch(() => undefined);
  });
});
