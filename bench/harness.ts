/**
 * The client benchmark's plumbing: the scenario list, the fake server and
 * the per-run child processes. Used by run.ts (the suite) and profile.ts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALL_CLIENTS, CLIENTS, type ClientName, type Target } from './clients/adapter';
import type { ChildJob, ChildResult, ScenarioKind } from './child';

export const BENCH_DIR = __dirname;
export const ROOT = path.resolve(__dirname, '..');

/** Which way a scenario's headline number is better. */
export type Metric = 'rate' | 'mibps' | 'peakRss' | 'p50';

export interface Scenario {
  /** Short id for --only filters, e.g. `fake-publish-16`. */
  id: string;
  /** Row label in the table. */
  label: string;
  group: 'fake' | 'broker';
  kind: ScenarioKind;
  /** Fake server mode (its virtual host). */
  vhost?: string;
  size: number;
  /** [quick, full] */
  n: [number, number];
  warmup: [number, number];
  window?: number;
  prefetch?: number;
  ackEvery?: number;
  metric: Metric;
  /** The goal for the subject's advantage over the best other client (reported, never asserted). */
  target?: { text: string; check: (advantage: number, cpuAdvantage: number, r: ChildResult) => boolean };
  /** The clients it runs (default {@link CLIENTS}, which leaves coney-promise out). */
  clients?: readonly ClientName[];
  /** Whose advantage the table shows (default coney). */
  subject?: ClientName;
  /**
   * A second goal against one client that is not counted among the others
   * (coney-promise against coney's callback API): `ratio` is subject / baseline
   * on the headline number (>1: the subject is better).
   */
  baseline?: { client: ClientName; text: string; check: (ratio: number) => boolean };
}

/** The clients a scenario runs, of those asked for (in that order). */
export function scenarioClients(s: Scenario, asked: readonly ClientName[]): ClientName[] {
  const mine = s.clients ?? CLIENTS;
  return asked.filter((c) => mine.includes(c));
}

/**
 * A scenario of one of coney's other faces (`subject`): against the other clients, with
 * coney's callback API in one thread beside it as the baseline (target: at least
 * `minRatio` of its msgs/s).
 */
function face(subject: ClientName, minRatio: number): Pick<Scenario, 'clients' | 'subject' | 'baseline'> {
  return {
    clients: [subject, 'coney', 'amqplib', 'cloudamqp', 'rabbitmq-client'],
    subject,
    baseline: { client: 'coney', text: `>= ${minRatio}x coney`, check: (r: number) => r >= minRatio },
  };
}

/** The promise face: at most 25% slower than the callback API (its time per message at most 1.25x, so >= 0.8x the msgs/s). */
const PROMISE_FACE = face('coney-promise', 0.8);

const KiB = 1024;
const MiB = 1024 * 1024;

/** Publish 16 B and consume 1 KiB through one of the threads patterns (`subject`), against the one-thread clients. */
function threadsScenarios(idPart: string, labelPart: string, subject: ClientName): Scenario[] {
  const common = {
    group: 'fake' as const,
    n: [100_000, 500_000] as [number, number],
    warmup: [20_000, 50_000] as [number, number],
    metric: 'rate' as const,
  };
  const target = { text: '> 1x', check: (a: number) => a > 1 };
  return [
    {
      id: `fake-threads-${idPart}-publish-16`,
      label: `fake: publish 16 B, ${labelPart}`,
      kind: 'publish',
      vhost: 'sink',
      size: 16,
      target,
      ...common,
      ...face(subject, 0.5), // at least half of one thread's rate
    },
    {
      id: `fake-threads-${idPart}-consume-1k`,
      label: `fake: consume 1 KiB, ${labelPart}`,
      kind: 'consume',
      vhost: `deliver-${KiB}`,
      size: KiB,
      prefetch: 1000,
      ackEvery: 100,
      target,
      ...common,
      ...face(subject, 0.5), // at least half of one thread's rate
    },
  ];
}

export const SCENARIOS: Scenario[] = [
  // 1. fake server: the client is the bottleneck
  {
    id: 'fake-publish-16',
    label: 'fake: publish 16 B',
    group: 'fake',
    kind: 'publish',
    vhost: 'sink',
    size: 16,
    n: [100_000, 500_000],
    warmup: [20_000, 50_000],
    metric: 'rate',
    target: { text: '>= 3x', check: (a) => a >= 3 },
  },
  {
    id: 'fake-publish-1k',
    label: 'fake: publish 1 KiB',
    group: 'fake',
    kind: 'publish',
    vhost: 'sink',
    size: KiB,
    n: [100_000, 500_000],
    warmup: [20_000, 50_000],
    metric: 'rate',
    target: { text: '>= 3x', check: (a) => a >= 3 },
  },
  {
    id: 'fake-consume-16',
    label: 'fake: consume 16 B',
    group: 'fake',
    kind: 'consume',
    vhost: 'deliver-16',
    size: 16,
    n: [100_000, 500_000],
    warmup: [20_000, 50_000],
    prefetch: 1000,
    ackEvery: 100,
    metric: 'rate',
    target: { text: '>= 2x', check: (a) => a >= 2 },
  },
  {
    id: 'fake-consume-1k',
    label: 'fake: consume 1 KiB',
    group: 'fake',
    kind: 'consume',
    vhost: `deliver-${KiB}`,
    size: KiB,
    n: [100_000, 500_000],
    warmup: [20_000, 50_000],
    prefetch: 1000,
    ackEvery: 100,
    metric: 'rate',
    target: { text: '>= 2x', check: (a) => a >= 2 },
  },
  {
    id: 'fake-confirm-16',
    label: 'fake: confirm-publish 16 B (window 1000)',
    group: 'fake',
    kind: 'confirm',
    vhost: 'sink',
    size: 16,
    n: [100_000, 500_000],
    warmup: [20_000, 50_000],
    window: 1000,
    metric: 'rate',
    target: { text: '>= 2.5x', check: (a) => a >= 2.5 },
  },
  // the promise face (lib/promise), coney-promise against the others and against coney's callbacks
  {
    id: 'fake-promise-publish-16',
    label: 'fake: publish 16 B, un-awaited, one final drain',
    group: 'fake',
    kind: 'publish-unawaited',
    vhost: 'sink',
    size: 16,
    // fewer than fake-publish-16: nothing bounds the other clients' buffers here (cloudamqp did not finish 500,000 in 180 s)
    n: [50_000, 100_000],
    warmup: [10_000, 20_000],
    metric: 'rate',
    target: { text: '>= 3x', check: (a) => a >= 3 },
    ...PROMISE_FACE,
  },
  {
    id: 'fake-promise-confirm-16',
    label: 'fake: confirm-publish 16 B, window of 1000 promises',
    group: 'fake',
    kind: 'confirm',
    vhost: 'sink',
    size: 16,
    n: [100_000, 500_000],
    warmup: [20_000, 50_000],
    window: 1000,
    metric: 'rate',
    target: { text: '>= 3x', check: (a) => a >= 3 },
    ...PROMISE_FACE,
  },
  {
    id: 'fake-promise-consume-1k',
    label: 'fake: consume 1 KiB (coney-promise: for await)',
    group: 'fake',
    kind: 'consume',
    vhost: `deliver-${KiB}`,
    size: KiB,
    n: [100_000, 500_000],
    warmup: [20_000, 50_000],
    prefetch: 1000,
    ackEvery: 100,
    metric: 'rate',
    target: { text: '>= 2x', check: (a) => a >= 2 },
    ...PROMISE_FACE,
  },
  // the threads patterns (lib/threads): a channel in a worker, and the I/O thread
  ...threadsScenarios('port', 'a channel in a worker (openChannelPort)', 'coney-port'),
  ...threadsScenarios('io', 'ioThread', 'coney-iothread'),
  // 3. large messages
  {
    id: 'fake-large-1m',
    label: 'fake: publish 1 MiB',
    group: 'fake',
    kind: 'large',
    vhost: 'sink',
    size: MiB,
    n: [200, 1000],
    warmup: [20, 50],
    metric: 'mibps',
  },
  {
    id: 'fake-large-16m',
    label: 'fake: publish 16 MiB',
    group: 'fake',
    kind: 'large',
    vhost: 'sink',
    size: 16 * MiB,
    n: [16, 64],
    warmup: [2, 4],
    metric: 'mibps',
  },
  {
    id: 'fake-consume-16m',
    label: 'fake: consume 16 MiB (prefetch 4)',
    group: 'fake',
    kind: 'consume',
    vhost: `deliver-${16 * MiB}`,
    size: 16 * MiB,
    n: [24, 96],
    warmup: [4, 8],
    prefetch: 4,
    ackEvery: 1,
    metric: 'mibps',
  },
  // 4. memory under backpressure
  {
    id: 'fake-memory-16',
    label: 'fake (slow reader, 6 MiB/s): publish 16 B, peak RSS',
    group: 'fake',
    kind: 'memory',
    vhost: 'sink-slow',
    size: 16,
    n: [200_000, 1_000_000],
    warmup: [0, 0],
    metric: 'peakRss',
    target: { text: 'bounded: peak - base < 64 MiB', check: (_a, _c, r) => r.peakRssMiB - r.baseRssMiB < 64 },
  },
  // 2. RabbitMQ
  {
    id: 'rmq-publish-16',
    label: 'RabbitMQ: publish 16 B',
    group: 'broker',
    kind: 'rmq-publish',
    size: 16,
    n: [30_000, 100_000],
    warmup: [5_000, 10_000],
    metric: 'rate',
    target: { text: 'broker limit, lowest CPU', check: (a, c) => a >= 0.95 && c >= 1 },
  },
  {
    id: 'rmq-publish-1k',
    label: 'RabbitMQ: publish 1 KiB',
    group: 'broker',
    kind: 'rmq-publish',
    size: KiB,
    n: [30_000, 100_000],
    warmup: [5_000, 10_000],
    metric: 'rate',
    target: { text: 'broker limit, lowest CPU', check: (a, c) => a >= 0.95 && c >= 1 },
  },
  {
    id: 'rmq-confirm-16',
    label: 'RabbitMQ: confirm-publish 16 B (window 1000)',
    group: 'broker',
    kind: 'confirm',
    size: 16,
    n: [30_000, 100_000],
    warmup: [5_000, 10_000],
    window: 1000,
    metric: 'rate',
    target: { text: 'broker limit, lowest CPU', check: (a, c) => a >= 0.95 && c >= 1 },
  },
  {
    id: 'rmq-consume-16',
    label: 'RabbitMQ: consume 16 B (prefetch 1000)',
    group: 'broker',
    kind: 'consume',
    size: 16,
    n: [30_000, 100_000],
    warmup: [5_000, 10_000],
    prefetch: 1000,
    ackEvery: 100,
    metric: 'rate',
    target: { text: 'broker limit, lowest CPU', check: (a, c) => a >= 0.95 && c >= 1 },
  },
  {
    id: 'rmq-rpc',
    label: 'RabbitMQ: sequential RPC 16 B',
    group: 'broker',
    kind: 'rpc',
    size: 16,
    n: [500, 5_000],
    warmup: [100, 500],
    metric: 'p50',
    target: { text: 'p50 no worse than best', check: (a) => a >= 1 },
  },
];

/**
 * Where the bench processes' code is compiled: bench/tsconfig.json emits lib/
 * and the child-side bench files (child.ts, clients/, fake-server.ts) with
 * tsc into .tmp/bench-build (ignored by git, like all of .tmp/). The children
 * then run as plain `node` (no tsx: ~0.35 s less per start), and coney is the
 * same JavaScript that dist/ holds.
 */
export const BENCH_BUILD_DIR = path.join(ROOT, '.tmp', 'bench-build');

function newestMtime(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of fs.readdirSync(p)) if (e !== 'results' && e !== 'node_modules') newest = Math.max(newest, newestMtime(path.join(p, e)));
  return newest;
}

/**
 * Compiles lib/ and the child-side bench files (tsc --noCheck, a few
 * seconds) unless the build is newer than every file in lib/ and bench/.
 */
export function buildBench(log: (s: string) => void = () => undefined): string {
  const marker = path.join(BENCH_BUILD_DIR, '.built');
  const newest = Math.max(newestMtime(path.join(ROOT, 'lib')), newestMtime(BENCH_DIR));
  if (fs.existsSync(marker) && fs.statSync(marker).mtimeMs > newest) return BENCH_BUILD_DIR;
  log(`compiling lib/ and bench/ into ${path.relative(process.cwd(), BENCH_BUILD_DIR)} (tsc -p bench/tsconfig.json)...`);
  fs.rmSync(BENCH_BUILD_DIR, { recursive: true, force: true });
  const tsc = require.resolve('typescript/bin/tsc');
  // --noCheck: emit only (npm run typecheck checks); someone may be mid-edit in lib/
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(BENCH_DIR, 'tsconfig.json'), '--noCheck'], { cwd: ROOT, encoding: 'utf8' });
  if (!fs.existsSync(path.join(BENCH_BUILD_DIR, 'bench', 'child.js')) || !fs.existsSync(path.join(BENCH_BUILD_DIR, 'lib', 'index.js'))) {
    throw new Error(`compiling the benchmark failed:\n${r.stdout}${r.stderr}`);
  }
  fs.writeFileSync(marker, new Date().toISOString());
  return BENCH_BUILD_DIR;
}

/**
 * How the bench processes run. `compiled`: plain node on .tmp/bench-build
 * (call buildBench() first); `tsx`: node --import tsx on the TypeScript.
 */
export type ExecMode = 'compiled' | 'tsx';
let execMode: ExecMode = 'compiled';
export function setExecMode(m: ExecMode): void {
  execMode = m;
}

/** A running fake server. */
export interface FakeServer {
  port: number;
  stop(): void;
}

/** The node arguments that start a bench process (`file`: e.g. 'child.ts'). */
export function nodeArgs(file: string, extra: string[] = []): string[] {
  if (execMode === 'tsx') return [...extra, '--import', 'tsx', path.join(BENCH_DIR, file)];
  return [...extra, path.join(BENCH_BUILD_DIR, 'bench', file.replace(/\.ts$/, '.js'))];
}

/** Starts bench/fake-server.ts in its own process; it dies with us (its stdin is our pipe). */
export function startFakeServer(verbose = false): Promise<FakeServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs('fake-server.ts').concat(verbose ? ['--verbose'] : []), {
      stdio: ['pipe', 'pipe', 'inherit'],
      cwd: ROOT,
    });
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /LISTENING (\d+)/.exec(out);
      if (m) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve({
          port: Number(m[1]),
          stop: () => {
            child.stdin.end();
            child.kill();
          },
        });
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`fake server exited (${code}) before listening`)));
    child.once('error', reject);
  });
}

export interface RunOptions {
  quick: boolean;
  /** Extra node flags for the child (e.g. --cpu-prof). */
  nodeFlags?: string[];
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
}

/** The job for one client and scenario run. */
export function makeJob(s: Scenario, client: ClientName, target: Target, quick: boolean, runIndex: number): ChildJob {
  const q = quick ? 0 : 1;
  return {
    client,
    kind: s.kind,
    target: s.group === 'fake' ? { ...target, vhost: s.vhost ?? 'sink' } : target,
    size: s.size,
    n: s.n[q],
    warmup: s.warmup[q],
    window: s.window,
    prefetch: s.prefetch,
    ackEvery: s.ackEvery,
    queue: s.group === 'fake' ? 'bench' : `bench-${s.id}-${client}-${runIndex}-${process.pid}`,
    broker: s.group === 'broker',
  };
}

/** Runs one child process; never rejects (failures come back as ok: false). */
export function runChild(job: ChildJob, opts: RunOptions): Promise<ChildResult> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    const fail = (error: string): ChildResult => ({
      ok: false,
      error,
      client: job.client,
      n: 0,
      secs: 0,
      rate: 0,
      mibps: 0,
      cpuUs: 0,
      peakRssMiB: 0,
      baseRssMiB: 0,
    });
    try {
      child = spawn(process.execPath, nodeArgs('child.ts', opts.nodeFlags ?? []).concat(JSON.stringify(job)), {
        stdio: ['ignore', 'pipe', 'pipe'],
        cwd: ROOT,
        env: { ...process.env, ...opts.env },
      });
    } catch (err) {
      resolve(fail(String(err)));
      return;
    }
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (line) {
        const r = JSON.parse(line.slice('BENCH_RESULT '.length)) as ChildResult;
        if (r.ok) return resolve(r);
        return resolve(fail(r.error ?? 'failed'));
      }
      const why = timedOut ? `timed out after ${opts.timeoutMs / 1000} s` : `exited with ${code ?? signal}`;
      resolve(fail(`${why}${err ? `: ${err.trim().split('\n').slice(-3).join(' | ')}` : ''}`));
    });
  });
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median of each field over the successful runs. */
export function medianResult(rs: ChildResult[]): ChildResult | null {
  const ok = rs.filter((r) => r.ok);
  if (ok.length === 0) return null;
  const f = (k: keyof ChildResult) => median(ok.map((r) => r[k] as number).filter((v) => typeof v === 'number'));
  return {
    ok: true,
    client: ok[0].client,
    n: ok[0].n,
    secs: f('secs'),
    rate: f('rate'),
    mibps: f('mibps'),
    cpuUs: f('cpuUs'),
    sysUs: f('sysUs'),
    peakRssMiB: f('peakRssMiB'),
    baseRssMiB: f('baseRssMiB'),
    peakHeapMiB: f('peakHeapMiB'),
    peakExternalMiB: f('peakExternalMiB'),
    p50Us: ok[0].p50Us === undefined ? undefined : f('p50Us'),
    p99Us: ok[0].p99Us === undefined ? undefined : f('p99Us'),
  };
}

export { ALL_CLIENTS, CLIENTS };
export type { ClientName, ChildResult };
