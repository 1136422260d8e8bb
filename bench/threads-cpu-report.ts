/**
 * The per-thread CPU split of the threads clients (coney-port,
 * coney-iothread), which their adapters append to
 * .tmp/bench-threads-cpu.jsonl (see clients/coney-threads-cpu.ts): the
 * median of the runs per client and scenario, printed after the table.
 */
import * as fs from 'node:fs';
import { THREADS_CPU_FILE } from './clients/coney-threads-cpu';

/** Forgets the lines of an earlier run. */
export function resetThreadsCpu(): void {
  fs.rmSync(THREADS_CPU_FILE, { force: true });
}

/** The split as text lines (none when no threads client ran). */
export function threadsCpuLines(): string[] {
  if (!fs.existsSync(THREADS_CPU_FILE)) return [];
  const groups = new Map<string, Array<Record<string, number | string>>>();
  for (const line of fs.readFileSync(THREADS_CPU_FILE, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const r = JSON.parse(line) as Record<string, number | string>;
    const key = `${r['client']}, ${r['scenario']}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out = ['CPU µs per message by thread (median of runs; from the first hot loop to close, warm-up included):'];
  for (const [key, runs] of groups) {
    const fields = Object.keys(runs[0]).filter((k) => k.endsWith('UsPerMsg'));
    const parts = fields.map((f) => `${f.replace('UsPerMsg', '')} ${median(runs.map((r) => Number(r[f]))).toFixed(2)}`);
    out.push(`  ${key}: ${parts.join(', ')}`);
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
