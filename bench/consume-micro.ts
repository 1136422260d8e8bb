/**
 * Micro-benchmark of coney's consume path without sockets (see
 * consume-micro-child.ts): CPU µs per delivery from socket chunk to consumer
 * callback, steadier than the client benchmark because no kernel, fake
 * server or scheduler sits in the measurement. For comparing builds:
 *
 * ```sh
 * npx tsx bench/consume-micro.ts                                  # lib/ (compiled with the bench)
 * npx tsx bench/consume-micro.ts --coney before=/tmp/old/dist,build --rounds 7
 * npx tsx bench/consume-micro.ts --sizes 16,1024,16777216 --quick
 * npx tsx bench/consume-micro.ts --fresh     # a new Buffer per 64 KiB chunk, as Node's sockets do
 * ```
 *
 * By default the 64 KiB chunks are a reused ring of buffers, refilled just
 * before each is fed: the steadiest measure of coney's own work. With
 * `--fresh` each chunk is a new Buffer, as a socket read makes it: more
 * realistic (allocation, GC, and when large bodies get freed and their
 * memory reused), noisier.
 *
 * `--coney` takes a comma-separated list of `build` (lib/ compiled into
 * .tmp/bench-build) or directories holding a compiled coney (`index.js`),
 * each optionally named `name=DIR`. Every round runs every build and size once,
 * each run a fresh `node` process, the builds' order rotating from round to
 * round; the table gives the median and the minimum over the rounds.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { BENCH_BUILD_DIR, ROOT, buildBench, median } from './harness';
import type { MicroJob, MicroResult } from './consume-micro-child';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const quick = process.argv.includes('--quick');
const fresh = process.argv.includes('--fresh');
const rounds = Number(arg('--rounds') ?? (quick ? 3 : 5));
const sizes = (arg('--sizes') ?? '16,1024,16777216').split(',').map(Number);
const builds = (arg('--coney') ?? 'build').split(',').map((s) => {
  const eq = s.indexOf('=');
  const name = eq > 0 ? s.slice(0, eq) : s === 'build' ? 'lib' : path.basename(path.resolve(s));
  const dir = eq > 0 ? s.slice(eq + 1) : s;
  return { name, dir: dir === 'build' ? null : path.resolve(dir) };
});

function job(size: number): MicroJob {
  const f = quick ? 0.2 : 1;
  if (size >= 1024 * 1024)
    return {
      size,
      fresh,
      n: Math.max(4, Math.round((f * 640 * 1024 * 1024) / size)),
      warmup: Math.max(2, Math.round((f * 128 * 1024 * 1024) / size)),
    };
  if (size >= 1024) return { size, fresh, n: Math.round(f * 300_000), warmup: Math.round(f * 60_000) };
  return { size, fresh, n: Math.round(f * 600_000), warmup: Math.round(f * 100_000) };
}

function runOne(dir: string | null, j: MicroJob): MicroResult | string {
  const child = path.join(BENCH_BUILD_DIR, 'bench', 'consume-micro-child.js');
  const env = { ...process.env };
  if (dir !== null) env['CONEY_BENCH_SOURCE'] = dir;
  else delete env['CONEY_BENCH_SOURCE'];
  const r = spawnSync(process.execPath, [child, JSON.stringify(j)], { cwd: ROOT, env, encoding: 'utf8', timeout: 180_000 });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('MICRO_RESULT '));
  if (line === undefined) return `failed (${r.status ?? r.signal}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`;
  return JSON.parse(line.slice('MICRO_RESULT '.length)) as MicroResult;
}

function sizeLabel(n: number): string {
  if (n >= 1024 * 1024) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024) return `${n / 1024} KiB`;
  return `${n} B`;
}

function main(): void {
  buildBench((s) => process.stderr.write(`${s}\n`));
  const results = new Map<string, MicroResult[]>();
  const key = (b: string, size: number) => `${b}\u0000${size}`;
  process.stderr.write(`load average (1 min) at start: ${os.loadavg()[0].toFixed(2)}\n`);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < builds.length; k++) {
      const b = builds[(k + r) % builds.length];
      for (const size of sizes) {
        const res = runOne(b.dir, job(size));
        if (typeof res === 'string') {
          process.stderr.write(`  [${r + 1}/${rounds}] ${b.name} ${sizeLabel(size)}: ${res}\n`);
          continue;
        }
        if (res.bad !== 0) throw new Error(`${b.name} ${sizeLabel(size)}: ${res.bad} bodies of the wrong size`);
        const list = results.get(key(b.name, size)) ?? [];
        list.push(res);
        results.set(key(b.name, size), list);
        process.stderr.write(
          `  [${r + 1}/${rounds}] ${b.name.padEnd(12)} ${sizeLabel(size).padEnd(8)} ${res.cpuUs.toFixed(3)} µs/msg CPU, ${Math.round(res.rate).toLocaleString('en-US')} msg/s, ${res.mibps.toFixed(0)} MiB/s\n`,
        );
      }
    }
  }
  const head = ['body', 'build', 'CPU µs/msg (median)', 'CPU µs/msg (min)', 'msgs/s (median)', 'MiB/s (median)', 'of which filling chunks µs/msg'];
  const rows: string[][] = [];
  for (const size of sizes) {
    for (const b of builds) {
      const rs = results.get(key(b.name, size)) ?? [];
      if (rs.length === 0) continue;
      const cpu = rs.map((x) => x.cpuUs);
      rows.push([
        sizeLabel(size),
        b.name,
        median(cpu).toFixed(3),
        Math.min(...cpu).toFixed(3),
        Math.round(median(rs.map((x) => x.rate))).toLocaleString('en-US'),
        median(rs.map((x) => x.mibps)).toFixed(0),
        median(rs.map((x) => x.harnessUs)).toFixed(3),
      ]);
    }
  }
  console.log(
    `consume micro-benchmark (no sockets; ${fresh ? 'a fresh Buffer per chunk' : 'reused chunk buffers'}; ${rounds} rounds; load average now ${os.loadavg()[0].toFixed(2)})`,
  );
  console.log(`| ${head.join(' | ')} |`);
  console.log(`| ${head.map((_h, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

main();
