/**
 * The fuzz loop: runs a target on input after input, each made from its own
 * seed, and turns what goes wrong into {@link Failure}s: unexpected
 * exceptions, slow inputs, oversized allocations, callbacks not settled
 * exactly once, results that depend on bytes outside the input.
 *
 * Input `i` of a run with seed `S` uses seed `S + i`, so any failing input is
 * replayed alone with `--seed <its seed> --inputs 1`.
 * @packageDocumentation
 */
import { performance } from 'perf_hooks';
import { FrameError } from '../../lib/errors';
import { AllocGuard, AllocationRefused } from './alloc-guard';
import { Rng } from './prng';

/** What went wrong with an input. */
export type FailureKind = 'exception' | 'slow' | 'alloc' | 'callback' | 'overread';

/** Every failure kind, in report order. */
export const FAILURE_KINDS: readonly FailureKind[] = ['exception', 'slow', 'alloc', 'callback', 'overread'];

/** One failing input. */
export interface Failure {
  target: string;
  kind: FailureKind;
  /** The input's seed: `--only <target> --seed <seed> --inputs 1` replays it. */
  seed: number;
  /** One line: the error's name and message, or what was counted. */
  detail: string;
  /** The innermost library frame of the error's stack (or the allocation's). */
  stackTop: string;
  /** The full stack, for `--verbose`. */
  stack: string;
  /** The input bytes (or a description) when the target recorded them. */
  input?: Buffer | string;
}

/** An input longer than this is a failure (checked twice, to rule out a GC pause). */
export const SLOW_MS = 100;
/** No single allocation may be larger than this: 512 MiB of body plus 8 bytes of frame overhead. */
export const ALLOC_LIMIT = 512 * 1024 * 1024 + 8;

/** What a target sees while it runs one input. */
export interface InputContext {
  /** The input's random source. */
  readonly rng: Rng;
  readonly seed: number;
  /** Records the input for the report (bytes are shown in hex). */
  input(bytes: Buffer | string): void;
  /** Lowers the allocation limit for the rest of this input (e.g. to maxMessageSize + 8). */
  limitAllocations(bytes: number): void;
  /** Records a failure. */
  fail(kind: FailureKind, detail: string, err?: unknown): void;
  /**
   * Checks a caught exception: anything that is not an instance of
   * `allowed` is a failure; so is a FrameError that only wraps an internal
   * error (a RangeError or TypeError from a decoder is a bug even when the
   * parser's safety net converts it).
   */
  check(err: unknown, allowed: abstract new (...args: never[]) => Error, where: string): void;
}

/** A fuzz target. */
export interface Target {
  /** Short name, used by `--only`. */
  readonly name: string;
  /** One line for `--help`. */
  readonly description: string;
  /** Its share of the default and `--quick` budgets, relative to the other targets. */
  readonly share: number;
  /** Generates one input from `ctx.rng`, runs it, and reports problems through `ctx`. */
  run(ctx: InputContext): void;
}

/** Counts for one target. */
export interface TargetStats {
  target: string;
  inputs: number;
  failures: Record<FailureKind, number>;
  /** Inputs with at least one failure. */
  failingInputs: number;
  seconds: number;
  /** The slowest input (ms) and its seed. */
  slowestMs: number;
  slowestSeed: number;
  /** Largest growth of process.memoryUsage().arrayBuffers seen (sampled), bytes. */
  arrayBuffersGrowth: number;
}

/** Where a stack line points into the repository, without the machine-specific prefix. */
function shorten(line: string): string {
  return line
    .trim()
    .replace(/^at /, '')
    .replace(/\(?[^()\s]*?\/((?:lib|tools|spec)\/[^():]+:\d+):\d+\)?/, '($1)');
}

/**
 * The innermost stack frame in the library (`lib/`), else the first frame.
 * Two failures with the same kind, error name and stack top are one class.
 */
export function stackTopOf(stack: string): string {
  const lines = stack.split('\n').filter((l) => l.trim().startsWith('at '));
  const inLib = lines.find((l) => /\/lib\/[^/]+\//.test(l) || /\/lib\/[^/]+\.ts/.test(l));
  return shorten(inLib ?? lines[0] ?? '(no stack)');
}

/** `Name: message` of anything thrown, on one line, capped. */
export function describeError(err: unknown): string {
  const s = err instanceof Error ? `${err.name}: ${err.message}` : `thrown non-Error ${typeof err}: ${String(err)}`;
  const line = s.replace(/\s+/g, ' ');
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

class Context implements InputContext {
  readonly rng: Rng;
  failures: Failure[] = [];
  recorded: Buffer | string | undefined;

  constructor(
    readonly target: string,
    readonly seed: number,
    private readonly guard: AllocGuard,
  ) {
    this.rng = new Rng(seed);
  }

  input(bytes: Buffer | string): void {
    this.recorded = bytes;
  }

  limitAllocations(bytes: number): void {
    this.guard.limit = Math.min(this.guard.limit, bytes);
  }

  fail(kind: FailureKind, detail: string, err?: unknown): void {
    const stack = err instanceof Error ? (err.stack ?? '') : '';
    this.failures.push({ target: this.target, kind, seed: this.seed, detail, stackTop: stack ? stackTopOf(stack) : '', stack, input: this.recorded });
  }

  check(err: unknown, allowed: abstract new (...args: never[]) => Error, where: string): void {
    // the harness itself refused a huge allocation: already counted as 'alloc', not a second failure
    if (err instanceof AllocationRefused || (err instanceof Error && err.cause instanceof AllocationRefused)) return;
    if (!(err instanceof allowed)) {
      this.fail('exception', `${where}: ${describeError(err)}`, err);
      return;
    }
    // the parser turns any decoding exception into a FrameError; look through it
    if (err instanceof FrameError && err.cause instanceof Error && !(err.cause instanceof FrameError)) {
      this.fail('exception', `${where}: FrameError wrapping ${describeError(err.cause)}`, err.cause);
    }
  }
}

/** Options of {@link runTarget}. */
export interface RunOptions {
  seed: number;
  inputs: number;
  guard: AllocGuard;
  /** Called with each failure as it is found. */
  onFailure(f: Failure): void;
  /** Called now and then with the inputs done so far (progress display). */
  onProgress?(done: number): void;
}

/** Runs one input; returns its failures and how long it took. */
function runOnce(target: Target, seed: number, guard: AllocGuard): { ctx: Context; ms: number } {
  const ctx = new Context(target.name, seed, guard);
  guard.limit = ALLOC_LIMIT;
  guard.take();
  // CPU time, not wall time: on a shared machine another process can stretch
  // an input's wall time past the limit (seen: 104 ms on a busy run, 0.3 ms alone).
  const t0 = process.cpuUsage();
  try {
    target.run(ctx);
  } catch (err) {
    // targets catch what they expect; anything that gets out is a failure (or a harness bug)
    if (!(err instanceof AllocationRefused)) ctx.fail('exception', `escaped the target: ${describeError(err)}`, err);
  }
  const used = process.cpuUsage(t0);
  const ms = (used.user + used.system) / 1000;
  for (const a of guard.take()) {
    ctx.failures.push({
      target: target.name,
      kind: 'alloc',
      seed,
      detail: `allocation of ${a.size} bytes above the limit of ${a.limit}`,
      stackTop: stackTopOf(a.stack),
      stack: a.stack,
      input: ctx.recorded,
    });
  }
  guard.limit = ALLOC_LIMIT;
  return { ctx, ms };
}

/** Runs `options.inputs` inputs of `target`; see the module notes. */
export function runTarget(target: Target, options: RunOptions): TargetStats {
  const stats: TargetStats = {
    target: target.name,
    inputs: 0,
    failures: { exception: 0, slow: 0, alloc: 0, callback: 0, overread: 0 },
    failingInputs: 0,
    seconds: 0,
    slowestMs: 0,
    slowestSeed: 0,
    arrayBuffersGrowth: 0,
  };
  const baseline = process.memoryUsage().arrayBuffers;
  const start = performance.now();
  for (let i = 0; i < options.inputs; i++) {
    const seed = (options.seed + i) >>> 0;
    let { ctx, ms } = runOnce(target, seed, options.guard);
    if (ms > SLOW_MS) {
      // a GC pause or a JIT deopt can make any input slow once: only a repeat counts
      const again = runOnce(target, seed, options.guard);
      ms = Math.min(ms, again.ms);
      if (ms > SLOW_MS) ctx.fail('slow', `took ${ms.toFixed(1)} ms of CPU (twice above ${SLOW_MS} ms)`);
    }
    if (ms > stats.slowestMs) {
      stats.slowestMs = ms;
      stats.slowestSeed = seed;
    }
    // memoryUsage() costs microseconds: sample it
    if ((i & 1023) === 0 || ms > SLOW_MS / 4) {
      const growth = process.memoryUsage().arrayBuffers - baseline;
      if (growth > stats.arrayBuffersGrowth) stats.arrayBuffersGrowth = growth;
      if (growth > ALLOC_LIMIT) ctx.fail('alloc', `process.memoryUsage().arrayBuffers grew by ${growth} bytes`);
    }
    stats.inputs++;
    if (ctx.failures.length > 0) {
      stats.failingInputs++;
      const kinds = new Set<FailureKind>();
      for (const f of ctx.failures) {
        if (!kinds.has(f.kind)) stats.failures[f.kind]++;
        kinds.add(f.kind);
        options.onFailure(f);
      }
    }
    if (options.onProgress && (i & 0x3fff) === 0x3fff) options.onProgress(i + 1);
  }
  stats.seconds = (performance.now() - start) / 1000;
  return stats;
}
