/**
 * `tsx tools/with-broker.ts [--cluster | --no-cluster] <command> [args...]`
 *
 * Runs a command against RabbitMQ. When AMQP_URL is already set, the command
 * just runs with it (your own broker). Otherwise a throwaway broker (with a
 * TLS listener) is started, its coordinates are put in the child's
 * environment (AMQP_URL, AMQPS_URL, CONEY_TLS_CA/CERT/KEY,
 * CONEY_BROKER_NODENAME/HOME/EPMD_PORT, CONEY_BROKER_TEST_VHOST,
 * CONEY_BROKER_DENIED_VHOST), the command runs with inherited stdio, and the
 * broker is stopped afterwards in every case. Exits with the command's exit
 * code (128 + signal number when it died of a signal).
 *
 * With the broker, and at the same time (the nodes boot in parallel), a
 * throwaway three-node cluster (tools/rabbitmq-node.ts, startCluster) when
 * the command runs mocha, or with --cluster; --no-cluster leaves it out.
 * Its coordinates go into the child's environment too: CONEY_CLUSTER_DIR,
 * CONEY_CLUSTER_URLS, CONEY_CLUSTER_NODENAMES, CONEY_CLUSTER_HOME,
 * CONEY_CLUSTER_EPMD_PORT (spec/support/cluster.ts reads them). The demo and
 * the examples run without it: a cluster costs about 10 s and 400 MB.
 */
import { spawn, ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { startBroker, startCluster, Broker, Cluster } from './rabbitmq-node';

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  if (signal) return 128 + (os.constants.signals[signal] ?? 1);
  return 1;
}

/** PATH with the project's node_modules/.bin first, so `mocha`, `tsx` resolve without npx. */
function pathWithLocalBin(): string {
  const bin = path.resolve(__dirname, '..', 'node_modules', '.bin');
  const current = process.env['PATH'] ?? '';
  return current.split(path.delimiter).includes(bin) ? current : [bin, current].filter(Boolean).join(path.delimiter);
}

function runCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env });
    } catch (err) {
      process.stderr.write(`coney: cannot run ${argv[0]}: ${(err as Error).message}\n`);
      resolve(127);
      return;
    }
    const forward = (sig: NodeJS.Signals): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    };
    for (const sig of SIGNALS) process.on(sig, forward);
    child.once('error', (err) => {
      process.stderr.write(`coney: cannot run ${argv[0]}: ${err.message}\n`);
      for (const sig of SIGNALS) process.off(sig, forward);
      resolve(127);
    });
    child.once('exit', (code, signal) => {
      for (const sig of SIGNALS) process.off(sig, forward);
      resolve(exitCodeOf(code, signal));
    });
  });
}

/** What with-broker.ts was asked to do: the command, and whether to start a cluster for it. */
export interface WithBrokerArgs {
  command: string[];
  cluster: boolean;
}

/**
 * Reads `[--cluster | --no-cluster] <command> [args...]`. Without a flag, a
 * cluster is started for mocha (the test suite: `mocha ...`, `c8 mocha ...`,
 * `npx mocha ...`) and for nothing else.
 */
export function parseArgs(argv: string[]): WithBrokerArgs {
  let cluster: boolean | undefined;
  let i = 0;
  for (; i < argv.length && (argv[i] === '--cluster' || argv[i] === '--no-cluster'); i++) cluster = argv[i] === '--cluster';
  const command = argv.slice(i);
  return { command, cluster: cluster ?? runsMocha(command) };
}

/** The command is mocha itself, or a runner (c8, npx, nyc) that runs mocha (`c8 --reporter lcov mocha`). */
function runsMocha(command: string[]): boolean {
  const words = command.filter((w) => !w.startsWith('-')).map((w) => path.basename(w));
  return words[0] === 'mocha' || (['c8', 'npx', 'nyc'].includes(words[0]) && words.includes('mocha'));
}

async function main(): Promise<number> {
  const { command: argv, cluster: wantCluster } = parseArgs(process.argv.slice(2));
  if (argv.length === 0) {
    process.stderr.write('usage: tsx tools/with-broker.ts [--cluster | --no-cluster] <command> [args...]\n');
    return 2;
  }
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, PATH: pathWithLocalBin() };

  if (process.env['AMQP_URL']) {
    process.stderr.write(`coney: using AMQP_URL=${process.env['AMQP_URL']} (no throwaway broker)\n`);
    return runCommand(argv, baseEnv);
  }

  // A signal that arrives while the broker is still starting: remember it, stop, exit.
  let interrupted: NodeJS.Signals | null = null;
  const onEarlySignal = (sig: NodeJS.Signals): void => {
    interrupted = sig;
  };
  for (const sig of SIGNALS) process.on(sig, onEarlySignal);

  // Both at once: on 2 cores the single node's start hides inside the cluster's.
  const [brokerStart, clusterStart] = await Promise.allSettled([
    startBroker({ tls: true, handleSignals: false }),
    wantCluster ? startCluster({ handleSignals: false }) : Promise.resolve(undefined),
  ]);
  const broker: Broker | undefined = brokerStart.status === 'fulfilled' ? brokerStart.value : undefined;
  const cluster: Cluster | undefined = clusterStart.status === 'fulfilled' ? clusterStart.value : undefined;
  if (!broker || (wantCluster && !cluster)) {
    for (const sig of SIGNALS) process.off(sig, onEarlySignal);
    for (const failed of [brokerStart, clusterStart]) {
      if (failed.status === 'rejected') process.stderr.write(`${(failed.reason as Error).message}\n`);
    }
    await Promise.all([broker?.stop(), cluster?.stop()]);
    return 1;
  }
  try {
    if (interrupted) return 128 + (os.constants.signals[interrupted as NodeJS.Signals] ?? 1);
    for (const sig of SIGNALS) process.off(sig, onEarlySignal);
    // While the child runs, signals are forwarded to it (runCommand); keep the
    // process from dying on them before the broker is stopped.
    const keepAlive = (): void => undefined;
    for (const sig of SIGNALS) process.on(sig, keepAlive);
    process.stderr.write(
      `coney: throwaway RabbitMQ at ${broker.url} and ${broker.tls?.url} (node ${broker.nodename}, ` +
        `started in ${(broker.startupMs / 1000).toFixed(1)} s; stopped afterwards)\n`,
    );
    if (cluster) {
      process.stderr.write(
        `coney: throwaway ${cluster.nodes.length}-node cluster at ${cluster.urls.join(' ')} ` +
          `(formed in ${(cluster.startupMs / 1000).toFixed(1)} s; stopped afterwards)\n`,
      );
    }
    const code = await runCommand(argv, { ...baseEnv, ...broker.env(), ...cluster?.env() });
    return code;
  } finally {
    await Promise.all([broker.stop(), cluster?.stop()]);
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`coney: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
