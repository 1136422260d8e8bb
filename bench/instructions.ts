/**
 * Instructions per message on the hot paths, counted by valgrind's
 * callgrind: repeatable whatever else the machine is doing, where the
 * timed benchmarks here swing by 30%. For A/B checks of a change that must
 * cost (close to) nothing, such as a feature unused:
 *
 * ```sh
 * npx tsx bench/instructions.ts                                   # lib/ (compiled with the bench)
 * npx tsx bench/instructions.ts --coney before=/tmp/old/dist,build --paths publish,consume --sizes 16,1024
 * ```
 *
 * Each figure is the difference between a run of 2N and a run of N messages
 * of the in-process micro-benchmarks (publish-micro-child.ts,
 * consume-micro-child.ts), divided by N: start-up, warm-up and compilation
 * cancel out. Node runs with `--predictable` (V8 compiles and collects on
 * the main thread, in the same order every time) and a 64 MiB young
 * generation, so that the same build gives the same count run after run.
 *
 * `--coney` takes a comma-separated list of `build` (lib/ compiled into
 * .tmp/bench-build) or directories holding a compiled coney (`index.js`),
 * each optionally named `name=DIR`. Needs valgrind (Debian package `valgrind`).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { BENCH_BUILD_DIR, ROOT, buildBench, median } from './harness';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const rounds = Number(arg('--rounds') ?? 1);
const paths = (arg('--paths') ?? 'publish,consume').split(',') as Array<'publish' | 'consume'>;
const sizes = (arg('--sizes') ?? '16,1024').split(',').map(Number);
const N = Number(arg('--n') ?? 100_000);
const builds = (arg('--coney') ?? 'build').split(',').map((s) => {
  const eq = s.indexOf('=');
  const name = eq > 0 ? s.slice(0, eq) : s === 'build' ? 'lib' : path.basename(path.resolve(s));
  const dir = eq > 0 ? s.slice(eq + 1) : s;
  return { name, dir: dir === 'build' ? null : path.resolve(dir) };
});

/** Total instructions of one child run under callgrind. */
function instructions(dir: string | null, which: 'publish' | 'consume', size: number, n: number): number {
  const child = path.join(BENCH_BUILD_DIR, 'bench', `${which}-micro-child.js`);
  const job = which === 'publish' ? { size, n, warmup: 50_000 } : { size, n, warmup: 20_000 };
  const env = { ...process.env };
  if (dir !== null) env['CONEY_BENCH_SOURCE'] = dir;
  else delete env['CONEY_BENCH_SOURCE'];
  const r = spawnSync(
    'valgrind',
    ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--predictable', '--max-semi-space-size=64', child, JSON.stringify(job)],
    { cwd: ROOT, env, encoding: 'utf8', timeout: 1_200_000 },
  );
  if (r.error !== undefined) throw new Error(`valgrind could not run (${r.error.message}): install the Debian package valgrind`);
  const collected = /Collected : (\d+)/.exec(r.stderr ?? '');
  if (r.status !== 0 || collected === null || !(r.stdout ?? '').includes('MICRO_RESULT')) {
    throw new Error(
      `${which} ${size} B under callgrind failed (${r.status ?? r.signal}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`,
    );
  }
  return Number(collected[1]);
}

function main(): void {
  buildBench((s) => process.stderr.write(`${s}\n`));
  const rows: string[][] = [];
  for (const which of paths) {
    for (const size of sizes) {
      for (const b of builds) {
        const counts: number[] = [];
        for (let r = 0; r < rounds; r++) {
          const perMessage = (instructions(b.dir, which, size, 2 * N) - instructions(b.dir, which, size, N)) / N;
          counts.push(perMessage);
          process.stderr.write(`  ${which} ${size} B ${b.name}: ${Math.round(perMessage)} instructions per message\n`);
        }
        rows.push([which, `${size} B`, b.name, String(Math.round(median(counts))), counts.map((c) => Math.round(c)).join(', ')]);
      }
    }
  }
  console.log(`instructions per message (callgrind, node --predictable, (run of ${2 * N}) - (run of ${N}))`);
  console.log('| path | body | build | instructions per message (median) | each round |');
  console.log('| --- | --- | --- | ---: | --- |');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

main();
