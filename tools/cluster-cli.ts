/**
 * `npm run cluster`: starts a throwaway three-node RabbitMQ cluster on
 * loopback (tools/rabbitmq-node.ts, startCluster), prints how to reach each
 * node and how to run rabbitmqctl against it, and keeps it running until
 * Ctrl-C (or SIGTERM), then stops every node and removes its files.
 * `npm run cluster -- --size 5` starts another number of nodes.
 */
import { startCluster, RABBITMQCTL } from './rabbitmq-node';

/** The value of `--size N` (default 3); throws on anything that is not a whole number from 1 to 9. */
function sizeFrom(argv: string[]): number {
  const at = argv.indexOf('--size');
  if (at < 0) return 3;
  const size = Number(argv[at + 1]);
  if (!Number.isInteger(size) || size < 1 || size > 9) throw new Error(`--size wants a whole number from 1 to 9, not ${argv[at + 1]}`);
  return size;
}

async function main(): Promise<void> {
  const size = sizeFrom(process.argv.slice(2));
  process.stderr.write(`coney: starting a throwaway ${size}-node RabbitMQ cluster...\n`);
  // handleSignals (the default): Ctrl-C stops every node and exits.
  const cluster = await startCluster({ size });
  const ctlEnv = `HOME='${cluster.home}' ERL_EPMD_PORT=${cluster.epmdPort}`;
  const lines = [
    `coney: ${cluster.nodes.length}-node RabbitMQ cluster formed in ${(cluster.startupMs / 1000).toFixed(1)} s (files in ${cluster.dir})`,
    '',
    ...cluster.nodes.flatMap((n) => [`  node ${n.index}  ${n.url}`, `          ${n.nodename}, pid ${cluster.pid(n) ?? '?'}, log ${n.logFile}`]),
    '',
    `  user guest/guest on vhost '/'`,
    '',
    'Use it from another shell: spec/support/cluster.ts (the cluster specs) reads these:',
    '',
    ...Object.entries(cluster.env()).map(([k, v]) => `  export ${k}='${v}'`),
    '',
    'rabbitmqctl for node 1 (the others: their node name after -n):',
    `  ${ctlEnv} ${RABBITMQCTL} -n ${cluster.nodes[0].nodename} cluster_status`,
    '',
    'Ctrl-C stops it.',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  // Keep the process alive; the signal handlers installed by startCluster stop the nodes and exit.
  setInterval(() => undefined, 1 << 30);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
