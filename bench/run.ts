/**
 * Benchmark entry point: `npm run bench` (add `-- --quick` for short runs).
 *
 * 1. The codec benchmark (bench/codec.ts), in this process.
 * 2. The client benchmark: coney, amqplib, @cloudamqp/amqp-client and
 *    rabbitmq-client through the same scenarios (and coney's promise face,
 *    coney-promise, in the fake-promise-* ones), each run of each client in
 *    a fresh child process (`node --import tsx bench/child.ts`), against the
 *    fake server (bench/fake-server.ts, its own process) and then one
 *    throwaway RabbitMQ (tools/rabbitmq-node.ts) for the whole run.
 *    Median of 3 runs (1 with --quick). One table; also written to
 *    bench/results/latest.md.
 * 3. The recovery figure (bench/recovery.ts), on that RabbitMQ: time from a
 *    network cut to the first delivery and the first confirm, with automatic
 *    recovery and with the README's hand-written reconnect.
 * 4. The cluster failover figure (bench/failover.ts), on a throwaway
 *    three-node cluster: time from each kill of the publisher's node to the
 *    first ack after it (--only failover runs it alone).
 *
 * Options (after `npm run bench --`):
 *   --quick              short runs, 1 run each (under 2 minutes)
 *   --runs N             runs per client and scenario (default 3, quick 1)
 *   --only REGEX         only scenarios whose id matches (e.g. 'fake-(publish|consume)')
 *   --clients a,b        only these clients (coney,coney-promise,coney-port,coney-iothread,amqplib,cloudamqp,rabbitmq-client;
 *                        coney-promise runs only in the fake-promise-* scenarios, coney-port and
 *                        coney-iothread only in the fake-threads-* ones)
 *   --no-codec           skip the codec benchmark
 *   --no-broker          skip the RabbitMQ scenarios
 *   --coney SOURCE       which coney the children load: `build` (default: lib/
 *                        compiled by tsc with the bench into .tmp/bench-build, the
 *                        same JavaScript as dist/), `dist` (dist/ as it is: run
 *                        `npm run build` first), `lib` (every bench process runs its
 *                        TypeScript through tsx: slower coney, see clients/coney.ts),
 *                        or a directory holding a compiled coney (index.js)
 *   --verbose-server     the fake server prints a STATS line (its own CPU time) per connection
 *   --out FILE           where to write the Markdown (default bench/results/latest.md for a complete
 *                        run, bench/results/partial.md otherwise; '-' for none)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCodecBench, type CodecBenchRow } from './codec';
import {
  BENCH_DIR,
  ALL_CLIENTS,
  ROOT,
  buildBench,
  nodeArgs,
  setExecMode,
  SCENARIOS,
  makeJob,
  medianResult,
  runChild,
  scenarioClients,
  startFakeServer,
  type ChildResult,
  type ClientName,
  type Scenario,
} from './harness';
import { HEADER, markdownTable, printTable, rows, writeLatest, type ScenarioResult } from './report';
import { resetThreadsCpu, threadsCpuLines } from './threads-cpu-report';
import type { Target } from './clients/adapter';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(name);

const quick = flag('--quick');
const runs = Number(arg('--runs') ?? (quick ? 1 : 3));
const only = arg('--only');
const clients = (arg('--clients')?.split(',') ?? [...ALL_CLIENTS]) as ClientName[];
const coneySource = arg('--coney') ?? 'build';
// Only a complete run replaces the committed results; partial runs go beside them (ignored by git).
const partial = quick || only !== undefined || arg('--clients') !== undefined || flag('--no-codec') || flag('--no-broker');
const out = arg('--out') ?? path.join(BENCH_DIR, 'results', partial ? 'partial.md' : 'latest.md');
for (const c of clients) if (!ALL_CLIENTS.includes(c)) throw new Error(`unknown client ${c}; known: ${ALL_CLIENTS.join(', ')}`);
if (!(runs >= 1)) throw new Error('--runs must be >= 1');

const started = Date.now();
const loadAtStart = os.loadavg()[0];
const log = (s: string) => process.stderr.write(`${s}\n`);

/** bench/codec.ts's runCodecBench in a compiled child (bench/codec-child.ts); its table goes to our stdout. */
function runCodecChild(): CodecBenchRow[] | null {
  const r = spawnSync(process.execPath, nodeArgs('codec-child.ts').concat(quick ? ['--quick'] : []), { cwd: ROOT, encoding: 'utf8' });
  let rows: CodecBenchRow[] | null = null;
  for (const line of (r.stdout ?? '').split('\n')) {
    if (line.startsWith('CODEC_ROWS ')) rows = JSON.parse(line.slice('CODEC_ROWS '.length)) as CodecBenchRow[];
    else if (line !== '') console.log(line);
  }
  if (rows === null) log(`codec benchmark failed: ${r.stderr}`);
  return rows;
}

let coneyEnv: NodeJS.ProcessEnv = {};
let coneyFrom = '';

async function runGroup(
  scenarios: Scenario[],
  target: Target,
  results: Map<string, Map<ClientName, ChildResult[]>>,
  failures: string[],
): Promise<void> {
  for (let r = 0; r < runs; r++) {
    for (const s of scenarios) {
      // rotate the client order from run to run, so that no client always goes first
      const mine = scenarioClients(s, clients);
      const order = mine.map((_c, i) => mine[(i + r + SCENARIOS.indexOf(s)) % mine.length]);
      for (const c of order) {
        const job = makeJob(s, c, target, quick, r);
        const res = await runChild(job, {
          quick,
          timeoutMs: quick ? 60_000 : 180_000,
          env: coneyEnv,
        });
        const byClient = results.get(s.id)!;
        byClient.get(c)!.push(res);
        const what = res.ok
          ? `${Math.round(res.rate).toLocaleString('en-US')} msg/s, ${res.cpuUs.toFixed(2)} µs/msg${res.p50Us !== undefined ? `, p50 ${Math.round(res.p50Us)} µs` : ''}, peak RSS ${Math.round(res.peakRssMiB)} MiB`
          : `FAILED: ${res.error}`;
        if (!res.ok) failures.push(`${s.id} / ${c} (run ${r + 1}): ${res.error}`);
        log(`  [${r + 1}/${runs}] ${s.id.padEnd(16)} ${c.padEnd(15)} ${what}`);
      }
    }
  }
}

async function main(): Promise<void> {
  if (coneySource === 'lib') {
    setExecMode('tsx');
    coneyFrom = 'lib/ via tsx';
  } else {
    buildBench(log);
    if (coneySource === 'build') {
      coneyFrom = 'lib/ compiled by tsc';
    } else {
      const dir = coneySource === 'dist' ? path.join(ROOT, 'dist') : path.resolve(coneySource);
      coneyEnv = { CONEY_BENCH_SOURCE: dir };
      coneyFrom = path.relative(ROOT, dir) || dir;
    }
  }
  let codec: CodecBenchRow[] | null = null;
  if (!flag('--no-codec')) {
    // compiled: in a child, so that coney's codec runs as compiled JavaScript (as users get it)
    codec = coneySource === 'lib' ? runCodecBench({ quick }) : runCodecChild();
    console.log('');
  }

  const scenarios = SCENARIOS.filter((s) => (only ? new RegExp(only).test(s.id) : true)).filter((s) => s.group === 'fake' || !flag('--no-broker'));
  resetThreadsCpu();
  const results = new Map<string, Map<ClientName, ChildResult[]>>();
  for (const s of scenarios) results.set(s.id, new Map(scenarioClients(s, clients).map((c) => [c, [] as ChildResult[]])));
  const failures: string[] = [];
  const creds = { user: 'guest', password: 'guest' };

  const fake = scenarios.filter((s) => s.group === 'fake');
  if (fake.length > 0) {
    const server = await startFakeServer(flag('--verbose-server'));
    log(`client benchmark: fake server on port ${server.port}`);
    try {
      await runGroup(fake, { host: '127.0.0.1', port: server.port, vhost: 'sink', ...creds }, results, failures);
    } finally {
      server.stop();
    }
  }

  const broker = scenarios.filter((s) => s.group === 'broker');
  // The recovery figure runs with the broker scenarios (or alone: --only recovery).
  const recoveryWanted = !flag('--no-broker') && (only === undefined || new RegExp(only).test('recovery'));
  const failoverWanted = !flag('--no-broker') && (only === undefined || new RegExp(only).test('failover'));
  let recovery: string | undefined;
  let failover: string | undefined;
  if (broker.length > 0 || recoveryWanted) {
    log('client benchmark: starting a throwaway RabbitMQ...');
    // loaded here so that --no-broker runs do not need RabbitMQ installed
    const { startBroker } = await import('../tools/rabbitmq-node');
    const b = await startBroker({});
    log(`client benchmark: RabbitMQ on port ${b.port} (started in ${(b.startupMs / 1000).toFixed(1)} s)`);
    try {
      await runGroup(broker, { host: b.host, port: b.port, vhost: '/', ...creds }, results, failures);
      if (recoveryWanted) {
        log('recovery figure: 10 proxy cuts, automatic recovery and then the hand-written reconnect...');
        const { runRecoveryBench, recoveryTable } = await import('./recovery');
        recovery = recoveryTable(await runRecoveryBench(b.host, b.port));
      }
    } finally {
      await b.stop();
    }
  }

  if (failoverWanted) {
    log('cluster failover figure: a throwaway three-node cluster, 50,000 confirmed publishes, three kills...');
    const { runFailoverBench, failoverTable } = await import('./failover');
    failover = failoverTable(await runFailoverBench());
  }

  const srs: ScenarioResult[] = scenarios.map((s) => {
    const per = results.get(s.id)!;
    return {
      scenario: s,
      runs,
      errors: [],
      byClient: new Map(scenarioClients(s, clients).map((c) => [c, medianResult(per.get(c)!)])),
    };
  });
  const body = rows(srs, ALL_CLIENTS);
  const title = `client benchmark (${quick ? 'quick' : 'full'}, ${runs === 1 ? '1 run' : `median of ${runs} runs`}, coney from ${coneyFrom})`;
  console.log(title);
  console.log(printTable(HEADER, body));
  const threadsCpu = threadsCpuLines();
  if (threadsCpu.length > 0) console.log(`\n${threadsCpu.join('\n')}`);
  if (recovery !== undefined) console.log(`\nrecovery after a network cut (bench/recovery.ts)\n${recovery}`);
  if (failover !== undefined) console.log(`\ncluster failover (bench/failover.ts)\n${failover}`);
  if (failures.length > 0) {
    console.log(`\n${failures.length} failed run(s):`);
    for (const f of failures) console.log(`  ${f}`);
  }
  if (out !== '-') {
    const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
    writeLatest(out, {
      command,
      date: new Date(),
      quick,
      runs,
      coneyFrom,
      table: markdownTable(HEADER, body) + (threadsCpu.length > 0 ? `\n\n${threadsCpu.join('\n')}` : ''),
      codec,
      failures,
      wallSecs: (Date.now() - started) / 1000,
      load: [loadAtStart, os.loadavg()[0]],
      recovery,
      failover,
    });
    // every run's raw numbers, for whoever wants more than the medians
    const raw = scenarios.map((s) => ({ scenario: s.id, label: s.label, runs: Object.fromEntries(results.get(s.id)!) }));
    fs.writeFileSync(
      out.replace(/\.md$/, '') + '.json',
      JSON.stringify({ command, date: new Date().toISOString(), quick, coneyFrom, codec, results: raw }, null, 1),
    );
    console.log(`\nwritten to ${path.relative(process.cwd(), out)} (${Math.round((Date.now() - started) / 1000)} s)`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
