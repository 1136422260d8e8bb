/**
 * The throwaway three-node cluster, for specs that need one.
 *
 * `npm test` runs mocha under tools/with-broker.ts, which starts the cluster
 * next to the single broker and exports its coordinates (CONEY_CLUSTER_DIR,
 * CONEY_CLUSTER_URLS, CONEY_CLUSTER_NODENAMES, CONEY_CLUSTER_HOME,
 * CONEY_CLUSTER_EPMD_PORT); `npm run cluster` prints the same variables for
 * a cluster kept running in another shell. `testCluster()` reads them and
 * throws loudly when they are missing, so a cluster spec FAILS instead of
 * silently skipping. How to start a node again comes from the cluster's own
 * `cluster.json` (in CONEY_CLUSTER_DIR); the control itself is
 * tools/rabbitmq-node.ts's `controlCluster`, shared with the cluster's owner.
 */
import { type ClusterInfo, type ClusterNode, controlCluster, readClusterInfo } from '../../tools/rabbitmq-node';

export type { ClusterNode };

const RUN_WITH_NPM_TEST =
  'run the tests with npm test (tools/with-broker.ts starts a throwaway three-node cluster for mocha), ' +
  'or start one with npm run cluster and export the variables it prints';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: this spec needs the throwaway RabbitMQ cluster; ${RUN_WITH_NPM_TEST}`);
  return value;
}

/** The cluster under test and what a spec does to its nodes. Every wait is bounded; each method rejects with a message naming the node. */
export interface TestCluster {
  readonly info: ClusterInfo;
  /** Node 1 first. */
  readonly nodes: ClusterNode[];
  /** The node with that 1-based index or Erlang node name (as `rabbitmqctl list_queues leader` prints it). */
  node(indexOrName: number | string): ClusterNode;
  /** `rabbitmqctl -n <node> ...args`; resolves its stdout. */
  rabbitmqctl(node: ClusterNode, args: string[], timeoutMs?: number): Promise<string>;
  /** The node names `node` reports running, sorted; null when it does not answer. */
  runningNodes(node: ClusterNode): Promise<string[] | null>;
  /** The node's beam.smp PID while it runs. */
  pid(node: ClusterNode): number | undefined;
  /** `rabbitmqctl stop_app`: the Erlang node stays up, RabbitMQ on it stops; resolves once the others no longer count it. */
  stop(node: ClusterNode): Promise<void>;
  /** `rabbitmqctl start_app` after stop(); resolves once the node is back in the cluster. */
  start(node: ClusterNode): Promise<void>;
  /** SIGKILL of the node's beam.smp (by PID); resolves once it is gone and the others no longer count it. */
  kill(node: ClusterNode): Promise<void>;
  /** Starts a killed node again with the same settings and data; resolves once it has rejoined the cluster by itself. */
  restart(node: ClusterNode): Promise<void>;
  /** Brings every node back (restart() a killed one, start() a stopped one): for an afterEach. */
  ensureAllRunning(): Promise<void>;
}

/** The throwaway cluster named by the CONEY_CLUSTER_* variables; throws when they are missing or stale. */
export function testCluster(): TestCluster {
  const dir = required('CONEY_CLUSTER_DIR');
  const urls = required('CONEY_CLUSTER_URLS').split(',');
  const nodenames = required('CONEY_CLUSTER_NODENAMES').split(',');
  required('CONEY_CLUSTER_HOME');
  required('CONEY_CLUSTER_EPMD_PORT');
  const info = readClusterInfo(dir);
  if (info.nodes.map((n) => n.url).join() !== urls.join() || info.nodes.map((n) => n.nodename).join() !== nodenames.join()) {
    throw new Error(`CONEY_CLUSTER_URLS / CONEY_CLUSTER_NODENAMES do not describe the cluster in ${dir}: stale exports? ${RUN_WITH_NPM_TEST}`);
  }
  const control = controlCluster(info);
  const ensureAllRunning = async (): Promise<void> => {
    for (const n of info.nodes) {
      if (control.pid(n) === undefined) await control.restart(n);
      else if (!(await control.runningNodes(n))?.includes(n.nodename)) await control.startApp(n);
    }
  };
  return {
    info,
    nodes: info.nodes,
    node: control.node,
    rabbitmqctl: control.ctl,
    runningNodes: control.runningNodes,
    pid: control.pid,
    stop: (n) => control.stopApp(n),
    start: (n) => control.startApp(n),
    kill: (n) => control.kill(n),
    restart: (n) => control.restart(n),
    ensureAllRunning,
  };
}
