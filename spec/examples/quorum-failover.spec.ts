/**
 * examples/quorum-failover.ts against the throwaway three-node cluster: the
 * node it is connected to is killed mid-run, and every message still ends
 * acked and in the queue.
 */
import { expect } from 'chai';
import type { spec } from '../../lib';
import { uniqueName } from '../support/broker';
import { cbp, closeConnection, openChannel, openConnection } from '../support/callbacks';
import { type TestCluster, testCluster } from '../support/cluster';
import { startExample, stopExample, type RunningExample } from './helpers';

describe('examples/quorum-failover.ts', function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  const queue = uniqueName('ex-quorum');
  let example: RunningExample | undefined;

  before(() => {
    cluster = testCluster(); // fails the suite loudly, naming what is missing, without the cluster
    return cluster.ensureAllRunning();
  });
  after(async () => {
    await stopExample(example);
    await cluster.ensureAllRunning();
    await cluster.rabbitmqctl(cluster.nodes[0], ['delete_queue', queue]).catch(() => undefined);
  });

  it('goes on through a kill of its node, and ends with every message acked', async () => {
    const env = { ...process.env, CONEY_CLUSTER_URLS: cluster.nodes.map((n) => n.url).join(',') };
    example = startExample('quorum-failover', ['--count', '20000', '--queue', queue], 170_000, env);
    const connected = await example.waitFor(/connected to amqp:\/\/[^\s]*?:(\d+)\//);
    await example.waitFor(/acked 5000/, 60_000);
    const port = Number(connected[1]);
    const node = cluster.nodes.find((n) => n.port === port)!;
    await cluster.kill(node);
    await example.waitFor(/recovered on/, 60_000);
    const r = await example.done;
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/final: 20000 acked/);
    const survivor = cluster.nodes.find((n) => n !== node)!;
    const connection = await openConnection({ parameters: survivor.url });
    const channel = await openChannel(connection);
    const ok = await cbp<spec.Queue.DeclareOk>((cb) => channel.queueDeclare(queue, { passive: true }, cb));
    await closeConnection(connection);
    expect(ok.messageCount, 'messages in the queue (duplicates possible)').to.be.at.least(20000);
  });
});
