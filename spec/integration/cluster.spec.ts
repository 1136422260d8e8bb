/**
 * coney against a three-node RabbitMQ cluster (issue 14): every node serves
 * AMQP, a quorum queue keeps its confirmed persistent messages through the
 * SIGKILL of its leader and that node's restart, and the test helpers
 * (spec/support/cluster.ts) stop, start, kill and restart each node.
 *
 * The cluster is the throwaway one tools/with-broker.ts starts for mocha
 * (or `npm run cluster`'s, with its variables exported); without it every
 * test here fails, saying so. Each test leaves all three nodes running
 * (afterEach), every wait is bounded, names are unique per run, and every
 * connection is closed after each test. Killing and restarting a node takes
 * 5-10 s on 2 cores, so this file takes about a minute.
 */
import { expect } from 'chai';
import { type Channel, type Connection, type SelectConnection, spec } from '../../lib';
import { uniqueName } from '../support/broker';
import { cbp, closeConnection, openChannel, openConnection, within } from '../support/callbacks';
import { type ClusterNode, type TestCluster, testCluster } from '../support/cluster';
import { eventually } from '../support/polling';

/** Upper bound of one wait on a broker call. */
const WAIT = 20000;
/** Messages published to the quorum queue. */
const COUNT = 100;

describe('a three-node RabbitMQ cluster (throwaway)', function () {
  // Node restarts take 5-10 s each on 2 cores (and more on a loaded CI box);
  // every single wait inside is bounded far below this.
  this.timeout(300000);

  let cluster: TestCluster;
  const connections: Connection[] = [];
  /** Exceptions thrown by callbacks given to coney; a test fails on any. */
  const callbackErrors: unknown[] = [];

  /** Opens a connection to one node; it is closed after the test. Closes by a killed node are expected: onClose takes them. */
  async function connectTo(node: ClusterNode): Promise<SelectConnection> {
    const connection = await openConnection({
      parameters: node.url,
      onClose: () => undefined,
      onCallbackError: (err) => callbackErrors.push(err),
    });
    connections.push(connection);
    return connection;
  }

  /** A channel on a fresh connection to `node`. */
  async function channelOn(node: ClusterNode): Promise<Channel> {
    return within(WAIT, openChannel(await connectTo(node)), `opening a channel on ${node.nodename}`);
  }

  /** Messages in `queue`, by a passive declare through `node`. */
  async function messageCount(node: ClusterNode, queue: string): Promise<number> {
    const ch = await channelOn(node);
    const ok = await within(
      WAIT,
      cbp<spec.Queue.DeclareOk>((cb) => ch.queueDeclare(queue, { passive: true }, cb)),
      `passive declare of ${queue} on ${node.nodename}`,
    );
    return ok.messageCount;
  }

  /** The node name `rabbitmqctl list_queues name leader` gives for `queue`, asked of `node`. */
  async function leaderOf(node: ClusterNode, queue: string): Promise<string> {
    const out = await cluster.rabbitmqctl(node, ['list_queues', '-q', '--no-table-headers', 'name', 'leader']);
    const line = out.split('\n').find((l) => l.split('\t')[0] === queue);
    if (line === undefined) throw new Error(`${queue} not listed by ${node.nodename}:\n${out}`);
    return line.split('\t')[1].trim();
  }

  before(function () {
    cluster = testCluster();
  });

  afterEach(async function () {
    await Promise.all(connections.splice(0).map((c) => closeConnection(c).catch(() => undefined)));
    // Whatever a failed test left stopped or killed: the next test starts from three running nodes.
    await cluster.ensureAllRunning();
    expect(callbackErrors.splice(0), 'exceptions in callbacks').to.deep.equal([]);
  });

  it('has three running nodes, each reporting all three, each serving AMQP', async () => {
    expect(cluster.nodes).to.have.length(3);
    const all = cluster.nodes.map((n) => n.nodename).sort();
    for (const node of cluster.nodes) {
      expect(await cluster.runningNodes(node), `running nodes reported by ${node.nodename}`).to.deep.equal(all);
      const ch = await channelOn(node);
      const ok = await within(
        WAIT,
        cbp<spec.Queue.DeclareOk>((cb) => ch.queueDeclare('', { exclusive: true }, cb)),
        `declaring a queue on ${node.nodename}`,
      );
      expect(ok.queue).to.match(/^amq\.gen-/);
    }
  });

  it(`a quorum queue keeps ${COUNT} confirmed persistent messages through the SIGKILL and restart of its leader`, async () => {
    const queue = uniqueName('cluster-quorum');
    const [first] = cluster.nodes;

    // Declare and fill it through node 1, every message confirmed.
    const ch = await channelOn(first);
    await within(
      WAIT,
      cbp((cb) => ch.queueDeclare(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } }, cb)),
      'declaring the quorum queue',
    );
    await within(
      WAIT,
      cbp((cb) => ch.confirmDelivery(null, cb)),
      'confirm mode',
    );
    for (let i = 0; i < COUNT; i++) ch.basicPublish('', queue, `message ${i}`, { deliveryMode: 2, messageId: String(i) });
    await within(
      WAIT,
      cbp((cb) => ch.waitForConfirms(cb)),
      `confirms for ${COUNT} messages`,
    );
    expect(ch.unconfirmedDeliveryTags()).to.deep.equal([]);
    await Promise.all(connections.splice(0).map((c) => closeConnection(c)));

    // Kill the queue's leader: the two others elect a new one and keep every message.
    const victim = cluster.node(await leaderOf(first, queue));
    const survivor = cluster.nodes.find((n) => n !== victim)!;
    await cluster.kill(victim);
    let newLeader = '';
    await eventually(
      async () => {
        newLeader = await leaderOf(survivor, queue).catch(() => '');
        return newLeader !== '' && newLeader !== victim.nodename && cluster.nodes.some((n) => n.nodename === newLeader);
      },
      60000,
      `a new leader for ${queue} after ${victim.nodename} was killed`,
      500,
    );
    expect(await messageCount(survivor, queue), `messages while ${victim.nodename} is down`).to.equal(COUNT);

    // The killed node starts again and rejoins by itself.
    await cluster.restart(victim);
    expect(await cluster.runningNodes(victim)).to.deep.equal(cluster.nodes.map((n) => n.nodename).sort());

    // Every message is readable from a node other than the restarted one.
    const reader = await channelOn(survivor);
    await within(
      WAIT,
      cbp((cb) => reader.basicQos({ prefetchCount: COUNT }, cb)),
      'basicQos',
    );
    const bodies: string[] = [];
    let lastTag = 0;
    await within(
      WAIT,
      new Promise<void>((resolve) => {
        reader.basicConsume(queue, (_ch, method, properties, body) => {
          expect(properties.deliveryMode).to.equal(2);
          bodies.push(body.toString());
          lastTag = method.deliveryTag;
          if (bodies.length === COUNT) resolve();
        });
      }),
      `consuming ${COUNT} messages from ${survivor.nodename}`,
    );
    reader.basicAck(lastTag, true);
    expect([...bodies].sort()).to.deep.equal(Array.from({ length: COUNT }, (_, i) => `message ${i}`).sort());
    await eventually(async () => (await messageCount(survivor, queue)) === 0, WAIT, `${queue} empty after the acks`, 200);

    const cleanup = await channelOn(survivor);
    await within(
      WAIT,
      cbp((cb) => cleanup.queueDelete(queue, {}, cb)),
      `deleting ${queue}`,
    );
  });

  it('the helpers kill and restart each node, and stop and start one node, which rejoins each time', async () => {
    const all = cluster.nodes.map((n) => n.nodename).sort();
    for (const node of cluster.nodes) {
      const pid = cluster.pid(node);
      expect(pid, `${node.nodename} runs`).to.be.a('number');
      const other = cluster.nodes.find((n) => n !== node)!;

      await cluster.kill(node);
      expect(cluster.pid(node), `${node.nodename} after kill`).to.equal(undefined);
      expect(await cluster.runningNodes(other), `running nodes reported by ${other.nodename}`).to.deep.equal(all.filter((n) => n !== node.nodename));

      await cluster.restart(node);
      expect(cluster.pid(node)).to.be.a('number').and.not.equal(pid);
      expect(await cluster.runningNodes(other)).to.deep.equal(all);
      // It serves AMQP again.
      await channelOn(node);
    }

    const node = cluster.nodes[2];
    const pid = cluster.pid(node);
    await cluster.stop(node);
    expect(await cluster.runningNodes(cluster.nodes[0])).to.deep.equal(all.filter((n) => n !== node.nodename));
    expect(cluster.pid(node), 'stop_app leaves the Erlang node running').to.equal(pid);
    await cluster.start(node);
    expect(await cluster.runningNodes(cluster.nodes[0])).to.deep.equal(all);
    await channelOn(node);
  });
});
