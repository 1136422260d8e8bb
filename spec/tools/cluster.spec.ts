/**
 * The throwaway cluster's tooling without a cluster: each node's
 * rabbitmq.conf, the variables with-broker.ts exports, cluster.json, the
 * control's refusals, and spec/support/cluster.ts failing loudly when the
 * variables are missing or stale. The live cluster is tested in
 * spec/integration/cluster.spec.ts.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CLUSTER_INFO_FILE,
  type ClusterInfo,
  type ClusterNode,
  clusterEnv,
  clusterNodeConfig,
  controlCluster,
  readClusterInfo,
} from '../../tools/rabbitmq-node';
import { testCluster } from '../support/cluster';

/** A ClusterInfo of `size` nodes under `dir`, as startCluster writes it (nothing runs). */
function fakeInfo(dir: string, size = 3): ClusterInfo {
  const nodes: ClusterNode[] = Array.from({ length: size }, (_, i) => {
    const nodename = `coney-1-abc-${i + 1}@localhost`;
    const nodeDir = path.join(dir, `node-${i + 1}`);
    return {
      index: i + 1,
      nodename,
      host: '127.0.0.1',
      port: 5000 + i,
      url: `amqp://guest:guest@127.0.0.1:${5000 + i}/`,
      distPort: 6000 + i,
      dir: nodeDir,
      logFile: path.join(nodeDir, 'log', `${nodename}.log`),
      launch: { nodename, cwd: nodeDir, stdoutFile: path.join(nodeDir, 'stdout.log'), pidFile: path.join(nodeDir, 'beam.pid'), env: {} },
    };
  });
  return { dir, home: path.join(dir, 'home'), epmdPort: 4400, ctlEnv: {}, nodes };
}

const ENV_NAMES = ['CONEY_CLUSTER_DIR', 'CONEY_CLUSTER_URLS', 'CONEY_CLUSTER_NODENAMES', 'CONEY_CLUSTER_HOME', 'CONEY_CLUSTER_EPMD_PORT'];

describe('test tooling: the throwaway cluster (no broker)', () => {
  let dir: string;
  let savedEnv: Record<string, string | undefined>;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coney-cluster-spec-'));
    savedEnv = Object.fromEntries(ENV_NAMES.map((k) => [k, process.env[k]]));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("each node's rabbitmq.conf has its listener, every peer for classic_config discovery, then the extra lines", () => {
    const names = ['a-1@localhost', 'a-2@localhost', 'a-3@localhost'];
    const lines = clusterNodeConfig(5672, names, ['consumer_timeout = 500']).trimEnd().split('\n');
    expect(lines[0]).to.equal('listeners.tcp.default = 127.0.0.1:5672');
    expect(lines).to.include.members([
      'cluster_formation.peer_discovery_backend = classic_config',
      'cluster_formation.classic_config.nodes.1 = a-1@localhost',
      'cluster_formation.classic_config.nodes.2 = a-2@localhost',
      'cluster_formation.classic_config.nodes.3 = a-3@localhost',
      'loopback_users = none',
    ]);
    expect(lines[lines.length - 1], 'extra lines last, so that they win').to.equal('consumer_timeout = 500');
  });

  it('exports CONEY_CLUSTER_* for the child, and cluster.json reads back', () => {
    const info = fakeInfo(dir);
    expect(clusterEnv(info)).to.deep.equal({
      CONEY_CLUSTER_DIR: dir,
      CONEY_CLUSTER_URLS: 'amqp://guest:guest@127.0.0.1:5000/,amqp://guest:guest@127.0.0.1:5001/,amqp://guest:guest@127.0.0.1:5002/',
      CONEY_CLUSTER_NODENAMES: 'coney-1-abc-1@localhost,coney-1-abc-2@localhost,coney-1-abc-3@localhost',
      CONEY_CLUSTER_HOME: path.join(dir, 'home'),
      CONEY_CLUSTER_EPMD_PORT: '4400',
    });
    fs.writeFileSync(path.join(dir, CLUSTER_INFO_FILE), JSON.stringify(info));
    expect(readClusterInfo(dir)).to.deep.equal(info);
    expect(() => readClusterInfo(path.join(dir, 'gone'))).to.throw(/no throwaway cluster in .*gone.*still running/);
  });

  it('the control finds nodes by index or name, and refuses to kill a node that is not running or restart one that is', async () => {
    const info = fakeInfo(dir);
    const control = controlCluster(info);
    expect(control.node(2).nodename).to.equal('coney-1-abc-2@localhost');
    expect(control.node('coney-1-abc-3@localhost').index).to.equal(3);
    expect(() => control.node(4)).to.throw(/no node 4 in the cluster/);

    const [first, second] = info.nodes;
    expect(control.pid(first), 'no pid file').to.equal(undefined);
    const killed = await control.kill(first).then(
      () => null,
      (err: Error) => err,
    );
    expect(killed?.message).to.match(/cannot kill coney-1-abc-1@localhost: it is not running/);

    // A pid file naming a live process (this one) is a running node: restart() must not start a second copy.
    fs.mkdirSync(second.dir, { recursive: true });
    fs.writeFileSync(second.launch.pidFile, `${process.pid}\n`);
    expect(control.pid(second)).to.equal(process.pid);
    const restarted = await control.restart(second).then(
      () => null,
      (err: Error) => err,
    );
    expect(restarted?.message).to.match(/cannot restart coney-1-abc-2@localhost: it still runs .*kill\(\) it first/);
  });

  it('spec/support/cluster.ts fails loudly without the variables, and on variables that do not match the cluster', () => {
    for (const k of ENV_NAMES) delete process.env[k];
    expect(() => testCluster()).to.throw(/CONEY_CLUSTER_DIR is not set: this spec needs the throwaway RabbitMQ cluster; run the tests with npm test/);

    const info = fakeInfo(dir);
    fs.writeFileSync(path.join(dir, CLUSTER_INFO_FILE), JSON.stringify(info));
    Object.assign(process.env, clusterEnv(info));
    const cluster = testCluster();
    expect(cluster.nodes.map((n) => n.url)).to.deep.equal(info.nodes.map((n) => n.url));

    process.env['CONEY_CLUSTER_URLS'] = 'amqp://guest:guest@127.0.0.1:1/';
    expect(() => testCluster()).to.throw(/do not describe the cluster in .*stale exports/);
  });
});
