/**
 * The cluster failover figure of `npm run bench`: the failover scenario of
 * spec/support/failover.ts (persistent confirmed publishes to a quorum queue
 * through a recovering connection while the publisher's node is killed and
 * restarted three times) on a throwaway three-node cluster, reporting the
 * time from each kill to the first ack after it, and what was lost (0),
 * duplicated and nacked.
 *
 * It runs lib/ (through tsx) in the bench process itself: the figure is the
 * broker's failover plus coney's recovery, in milliseconds, not CPU.
 *
 * Standalone: `npx tsx bench/failover.ts` (starts its own cluster).
 */
import { runFailover, type FailoverResult } from '../spec/support/failover';

/** Median and max, milliseconds. */
function stats(values: number[]): { median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], max: sorted[sorted.length - 1] };
}

/** Starts a cluster, runs the scenario once, stops the cluster. */
export async function runFailoverBench(messages = 50_000, kills = 3): Promise<FailoverResult> {
  const { startCluster } = await import('../tools/rabbitmq-node');
  const cluster = await startCluster({ size: 3 });
  try {
    return await runFailover(cluster, `coney-bench-failover-${process.pid}`, messages, kills);
  } finally {
    await cluster.stop();
  }
}

/** The result as a table (Markdown-compatible). */
export function failoverTable(r: FailoverResult): string {
  const { median, max } = stats(r.killToAck);
  return [
    `| quorum queue, ${r.acked.toLocaleString('en')} confirmed publishes, ${r.killed.length} kills of the publisher's node | kill to first ack: median | max | lost | duplicates | nacks republished |`,
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    `| coney recovery: true, three nodes as parameter sets, shuffleHosts | ${median.toFixed(0)} ms | ${max.toFixed(0)} ms | ${r.lost} | ${r.duplicates} | ${r.nacks} |`,
  ].join('\n');
}

if (require.main === module) {
  void runFailoverBench().then((r) => console.log(failoverTable(r)));
}
