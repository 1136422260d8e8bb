/**
 * One client, one scenario, one run, in a fresh process:
 * `node --import tsx bench/child.ts '<json ChildJob>'`. Prints one line
 * `BENCH_RESULT <json ChildResult>` on stdout and exits.
 *
 * The measured window starts after a warm-up and covers `n` messages; over
 * it the child records wall time and its own CPU time (process.cpuUsage,
 * user + system). Peak RSS is the process's maxRSS (whole run).
 */
import { loadAdapter, type ClientAdapter, type ClientName, type Target } from './clients/adapter';

export type ScenarioKind =
  | 'publish' // fake server sink: publish, barrier (a passive declare round trip)
  | 'publish-unawaited' // the same, every publish fired without waiting, one drain at the end (publishUnawaited)
  | 'confirm' // publish with confirms, `window` unconfirmed at most
  | 'consume' // fake server (deliver-<size>) or RabbitMQ pre-filled queue
  | 'large' // publish large bodies to the fake sink (MiB/s)
  | 'memory' // publish as fast as backpressure allows to a slow reader; peak RSS
  | 'rmq-publish' // publish to RabbitMQ until the queue holds them all
  | 'rpc'; // sequential request/reply round trips through RabbitMQ

export interface ChildJob {
  client: ClientName;
  kind: ScenarioKind;
  target: Target;
  size: number;
  n: number;
  warmup: number;
  window?: number;
  prefetch?: number;
  ackEvery?: number;
  /** Queue name (unique per run against RabbitMQ). */
  queue: string;
  /** Against RabbitMQ: clean up (delete the queue) at the end. */
  broker?: boolean;
}

export interface ChildResult {
  ok: boolean;
  error?: string;
  client: ClientName;
  n: number;
  secs: number;
  /** messages (or round trips) per second */
  rate: number;
  /** MiB of message bodies per second */
  mibps: number;
  /** client CPU (user + system) per message over the window, µs */
  cpuUs: number;
  /** the system (kernel) part of cpuUs */
  sysUs?: number;
  /** peak RSS of the process, MiB */
  peakRssMiB: number;
  /** RSS after connecting, before the scenario, MiB */
  baseRssMiB: number;
  /** Largest V8 heap use and largest Buffer (external) memory seen by a 50 ms sampler, MiB */
  peakHeapMiB?: number;
  peakExternalMiB?: number;
  p50Us?: number;
  p99Us?: number;
  /** The measured window on process.hrtime's clock, µs (what --cpu-prof profiles use): profile.ts keeps only its samples. */
  windowUs?: [number, number];
}

interface Window {
  t: bigint;
  cpu: NodeJS.CpuUsage;
}

const startWindow = (): Window => ({ t: process.hrtime.bigint(), cpu: process.cpuUsage() });

type Measured = Pick<ChildResult, 'n' | 'secs' | 'rate' | 'mibps' | 'cpuUs' | 'sysUs' | 'windowUs'>;

function endWindow(w: Window, n: number, size: number): Measured {
  const end = process.hrtime.bigint();
  const cpu = process.cpuUsage(w.cpu);
  const secs = Number(end - w.t) / 1e9;
  return {
    n,
    secs,
    rate: n / secs,
    mibps: (n * size) / secs / (1024 * 1024),
    cpuUs: (cpu.user + cpu.system) / n,
    sysUs: cpu.system / n,
    windowUs: [Number(w.t / 1000n), Number(end / 1000n)],
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;

/** A round trip after which everything published before has reached the server (fake server) */
async function barrier(a: ClientAdapter, queue: string): Promise<void> {
  await a.declareQueue(queue, { passive: true });
}

/** Polls the queue depth (passive declare) until it reaches `target` (RabbitMQ). */
async function waitDepth(a: ClientAdapter, queue: string, target: number, timeoutMs = 120000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const { messageCount } = await a.declareQueue(queue, { passive: true });
    if (messageCount >= target) return;
    if (Date.now() > end) throw new Error(`queue ${queue} holds ${messageCount} of ${target} messages after ${timeoutMs} ms`);
    await sleep(5);
  }
}

async function run(job: ChildJob): Promise<ChildResult> {
  const a = loadAdapter(job.client);
  await a.connect(job.target);
  const baseRssMiB = process.memoryUsage.rss() / MiB;
  let peakHeap = 0;
  let peakExternal = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
    if (m.external > peakExternal) peakExternal = m.external;
  }, 50);
  const body = Buffer.alloc(job.size, 0x61);
  const q = job.queue;
  let res: Measured & { p50Us?: number; p99Us?: number };
  let second: ClientAdapter | null = null;

  switch (job.kind) {
    case 'publish':
    case 'large':
    case 'memory': {
      await a.declareQueue(q);
      if (job.warmup > 0) {
        await a.publish(q, body, job.warmup);
        await barrier(a, q);
      }
      const w = startWindow();
      await a.publish(q, body, job.n);
      await barrier(a, q);
      res = endWindow(w, job.n, job.size);
      break;
    }
    case 'publish-unawaited': {
      await a.declareQueue(q);
      await a.publishUnawaited(q, body, job.warmup);
      await barrier(a, q);
      const w = startWindow();
      await a.publishUnawaited(q, body, job.n);
      await barrier(a, q);
      res = endWindow(w, job.n, job.size);
      break;
    }
    case 'rmq-publish': {
      await a.declareQueue(q);
      await a.publish(q, body, job.warmup);
      await waitDepth(a, q, job.warmup);
      const w = startWindow();
      await a.publish(q, body, job.n);
      await waitDepth(a, q, job.warmup + job.n);
      res = endWindow(w, job.n, job.size);
      break;
    }
    case 'confirm': {
      await a.declareQueue(q);
      await a.enableConfirms();
      const window = job.window ?? 1000;
      await a.publishConfirmed(q, body, job.warmup, window);
      const w = startWindow();
      await a.publishConfirmed(q, body, job.n, window);
      res = endWindow(w, job.n, job.size);
      break;
    }
    case 'consume': {
      await a.declareQueue(q);
      if (job.broker) {
        // pre-fill (not measured)
        await a.publish(q, body, job.warmup + job.n);
        await waitDepth(a, q, job.warmup + job.n);
      }
      let count = 0;
      let w: Window | null = null;
      const total = job.warmup + job.n;
      res = await new Promise((resolve, reject) => {
        a.consume(q, job.prefetch ?? 1000, job.ackEvery ?? 100, () => {
          count++;
          if (count === job.warmup) w = startWindow();
          else if (count === total) resolve(endWindow(w!, job.n, job.size));
        }).catch(reject);
      });
      break;
    }
    case 'rpc': {
      second = loadAdapter(job.client);
      await second.connect(job.target);
      await a.declareQueue(q);
      await a.serveRpc(q);
      const call = await second.rpcClient();
      for (let i = 0; i < job.warmup; i++) await call(q, body);
      const lat = new Float64Array(job.n);
      const w = startWindow();
      for (let i = 0; i < job.n; i++) {
        const t0 = process.hrtime.bigint();
        await call(q, body);
        lat[i] = Number(process.hrtime.bigint() - t0) / 1000;
      }
      res = endWindow(w, job.n, job.size);
      lat.sort();
      res.p50Us = lat[Math.floor(job.n * 0.5)];
      res.p99Us = lat[Math.min(job.n - 1, Math.floor(job.n * 0.99))];
      break;
    }
    default:
      throw new Error(`unknown scenario kind ${String(job.kind)}`);
  }

  clearInterval(sampler);
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  const result: ChildResult = {
    ok: true,
    client: job.client,
    ...res,
    peakRssMiB,
    baseRssMiB,
    peakHeapMiB: peakHeap / MiB,
    peakExternalMiB: peakExternal / MiB,
  };
  // report first: cleanup must not change (or lose) the measurement
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
  if (job.broker) {
    const cleanup = (async () => {
      await a.deleteQueue(q).catch(() => undefined);
      await a.close().catch(() => undefined);
      await second?.close().catch(() => undefined);
    })();
    await Promise.race([cleanup, sleep(5000)]);
  }
  return result;
}

const job = JSON.parse(process.argv[2]) as ChildJob;
process.on('unhandledRejection', (err) => {
  process.stdout.write(`BENCH_RESULT ${JSON.stringify({ ok: false, client: job.client, error: `unhandled rejection: ${String(err)}` })}\n`);
  process.exit(1);
});
run(job).then(
  () => process.exit(0),
  (err: unknown) => {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stdout.write(`BENCH_RESULT ${JSON.stringify({ ok: false, client: job.client, error: message.split('\n').slice(0, 3).join(' | ') })}\n`);
    process.exit(1);
  },
);
