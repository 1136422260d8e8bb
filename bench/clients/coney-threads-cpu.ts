/**
 * CPU time per thread of a threads client (coney-iothread, coney-port),
 * for the split the benchmark reports beside its process-wide CPU per
 * message. Node 20 has no per-thread CPU clock for a worker
 * (`process.threadCpuUsage` came in Node 23), so this reads Linux's
 * /proc/self/task/<tid>/stat (user + system ticks of each thread, 10 ms
 * each): the main thread is the task whose id is the pid; the worker is
 * the busiest other task (the others are V8's and libuv's helpers, counted
 * as "other"). Sampled from the first hot loop to close() (or the process's exit), over every
 * message of those loops (warm-up included), and appended as one JSON line
 * to .tmp/bench-threads-cpu.jsonl, which run.ts prints after the table.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const TICK_US = 10_000;
export const THREADS_CPU_FILE = path.resolve(__dirname, '..', '..', '.tmp', 'bench-threads-cpu.jsonl');
// compiled, this file sits two levels deeper (.tmp/bench-build/bench/clients): the same .tmp
const FILE = __dirname.includes(`${path.sep}.tmp${path.sep}`)
  ? path.resolve(__dirname, '..', '..', '..', 'bench-threads-cpu.jsonl')
  : THREADS_CPU_FILE;

/** User + system ticks of each thread of this process, by thread id. */
function ticks(): Map<number, number> {
  const out = new Map<number, number>();
  if (process.platform !== 'linux') return out;
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), Number(fields[11]) + Number(fields[12]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** Samples the threads of a client from its first hot loop to close(). */
export class ThreadCpu {
  private begin: Map<number, number> | null = null;
  private reported = false;
  messages = 0;

  constructor(
    private readonly client: string,
    /** What the main thread and the worker do, for the report. */
    private readonly roles: { main: string; worker: string },
  ) {
    // bench/child.ts exits without closing the adapter against the fake server: report on the way out
    process.once('exit', () => this.report());
  }

  /** A hot loop of `n` messages begins (the first one starts the sample). */
  loop(n: number): void {
    this.begin ??= ticks();
    this.messages += n;
  }

  /** At close(): writes the split per message (the scenario named by the child's job, its last argument). */
  report(): void {
    if (this.reported) return;
    this.reported = true;
    let scenario = '';
    try {
      const job = JSON.parse(process.argv[process.argv.length - 1]) as { kind: string; size: number };
      scenario = `${job.kind} ${job.size} B`;
    } catch {
      // not run by bench/child.ts
    }
    if (this.begin === null || this.messages === 0) return;
    const end = ticks();
    let main = 0;
    let worker = 0;
    let other = 0;
    const deltas = [...end].map(([tid, t]) => [tid, t - (this.begin!.get(tid) ?? 0)] as const).sort((a, b) => b[1] - a[1]);
    for (const [tid, d] of deltas) {
      if (tid === process.pid) main += d;
      else if (worker === 0 && d > 0) worker = d;
      else other += d;
    }
    const perMsg = (t: number): number => Math.round(((t * TICK_US) / this.messages) * 100) / 100;
    const line = {
      client: this.client,
      scenario,
      messages: this.messages,
      [`${this.roles.main}UsPerMsg`]: perMsg(main),
      [`${this.roles.worker}UsPerMsg`]: perMsg(worker),
      otherUsPerMsg: perMsg(other),
    };
    fs.mkdirSync(path.dirname(FILE), { recursive: true });
    fs.appendFileSync(FILE, `${JSON.stringify(line)}\n`);
  }
}
