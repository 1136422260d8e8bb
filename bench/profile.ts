/**
 * Profiles a client's hot paths against the fake server:
 * `tsx bench/profile.ts [--client coney] [--only REGEX] [--top 25] [--quick] [--coney lib|DIR] [--broker-port N]`
 * (`--coney`: as in run.ts; default: lib/ compiled with the bench into .tmp/bench-build)
 *
 * With `--broker-port` (a RabbitMQ you started, e.g. `npm run broker`, guest/guest on '/'), the
 * RabbitMQ scenarios that match `--only` are profiled too. `--coney DIR` loads a compiled coney
 * from DIR (e.g. an experimental build).
 *
 * Runs each matching fake-server scenario once in a child started with
 * `node --cpu-prof`, then prints the functions with the most self time
 * (aggregated by function and source location, counting only the samples
 * inside the measured window) and the self time per source file. Profiles are kept in bench/results/profiles/ (ignored by git);
 * open them in Chrome DevTools (Performance tab) for the call trees.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BENCH_DIR, ROOT, SCENARIOS, buildBench, makeJob, runChild, setExecMode, startFakeServer, type ClientName } from './harness';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const client = (arg('--client') ?? 'coney') as ClientName;
const only = new RegExp(arg('--only') ?? '^fake-(publish-16|publish-1k|consume-16|consume-1k|confirm-16)$');
const top = Number(arg('--top') ?? 25);
const quick = process.argv.includes('--quick');

function shortUrl(url: string): string {
  if (url === '') return '';
  const u = url.replace(/^file:\/\//, '');
  const rel = path.relative(ROOT, u);
  return rel.startsWith('..') ? u : rel;
}

/** Self time (ms) per function and per file. */
export function summarise(p: CpuProfile, window?: [number, number]): { total: number; fns: Array<[string, number]>; files: Array<[string, number]> } {
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (window && (t < window[0] || t > window[1])) continue;
    selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame;
    if (cf.functionName === '(idle)') continue;
    total += us;
    const file = shortUrl(cf.url);
    const key = `${cf.functionName || '(anonymous)'}  ${file ? `${file}:${cf.lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const group = file === '' ? cf.functionName : file.startsWith('node:') ? 'node: internals' : file;
    files.set(group, (files.get(group) ?? 0) + us);
  }
  const sort = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v / 1000] as [string, number]);
  return { total: total / 1000, fns: sort(fns), files: sort(files) };
}

async function main(): Promise<void> {
  const dir = path.join(BENCH_DIR, 'results', 'profiles');
  fs.mkdirSync(dir, { recursive: true });
  const coneyArg = arg('--coney');
  let env: NodeJS.ProcessEnv = {};
  if (coneyArg === 'lib') setExecMode('tsx');
  else {
    buildBench((l) => console.error(l));
    if (coneyArg !== undefined && client === 'coney') env = { CONEY_BENCH_SOURCE: path.resolve(coneyArg) };
  }
  const brokerPort = arg('--broker-port');
  const server = await startFakeServer();
  try {
    for (const s of SCENARIOS.filter((x) => (x.group === 'fake' || brokerPort !== undefined) && only.test(x.id))) {
      const profDir = fs.mkdtempSync(path.join(dir, `${s.id}-${client}-`));
      const target =
        s.group === 'fake'
          ? { host: '127.0.0.1', port: server.port, vhost: 'sink', user: 'guest', password: 'guest' }
          : { host: '127.0.0.1', port: Number(brokerPort), vhost: '/', user: 'guest', password: 'guest' };
      const job = makeJob(s, client, target, quick, 0);
      const res = await runChild(job, {
        quick,
        env,
        timeoutMs: 300_000,
        nodeFlags: ['--cpu-prof', '--cpu-prof-interval', '100', `--cpu-prof-dir=${profDir}`],
      });
      const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
      console.log(
        `\n=== ${s.id} / ${client}: ${res.ok ? `${Math.round(res.rate).toLocaleString('en-US')} msg/s, ${res.cpuUs.toFixed(2)} µs/msg (with the profiler on)` : `FAILED ${res.error}`}${res.sysUs !== undefined ? ` (of which system ${res.sysUs.toFixed(2)} µs)` : ''}`,
      );
      if (!file) {
        console.log('  no profile written');
        continue;
      }
      const prof = JSON.parse(fs.readFileSync(path.join(profDir, file), 'utf8')) as CpuProfile;
      const inWindow = res.windowUs !== undefined && prof.startTime <= res.windowUs[0] && prof.endTime >= res.windowUs[1];
      const { total, fns, files } = summarise(prof, inWindow ? res.windowUs : undefined);
      console.log(
        `  profile: ${path.relative(process.cwd(), path.join(profDir, file))}; ${total.toFixed(0)} ms of samples (idle excluded)${inWindow ? ' in the measured window' : ' (whole process: the window did not line up with the profile clock)'}`,
      );
      console.log('  self time by function:');
      for (const [k, ms] of fns.slice(0, top))
        console.log(`    ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${ms.toFixed(1).padStart(8)} ms  ${k}`);
      console.log('  self time by file:');
      for (const [k, ms] of files.slice(0, 12))
        console.log(`    ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${ms.toFixed(1).padStart(8)} ms  ${k}`);
    }
  } finally {
    server.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
