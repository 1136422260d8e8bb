/**
 * `npm run fuzz`: the command line of the fuzz harness.
 *
 * ```
 * npm run fuzz                      # the full run: 10 million inputs across the targets
 * npm run fuzz -- --quick           # about a minute (CI)
 * npm run fuzz -- --only parser --inputs 100000 --seed 42
 * npm run fuzz -- --only tables --seed 123456 --inputs 1 --verbose   # replay one input
 * ```
 *
 * Exits 1 when any input failed, 2 on bad arguments.
 * @packageDocumentation
 */
import { AllocGuard } from './alloc-guard';
import { connectionTarget } from './connection-target';
import { runTarget, SLOW_MS, ALLOC_LIMIT, type Target, type TargetStats } from './harness';
import { FailureLog, failureReport, summaryTable } from './report';
import { decodersTarget, encodersTarget, parserTarget, tablesTarget } from './targets';

/** Every target, in run order. */
export const TARGETS: readonly Target[] = [parserTarget, decodersTarget, tablesTarget, encodersTarget, connectionTarget];

/** Inputs of the default run, split between the targets by their shares. */
const DEFAULT_TOTAL = 10_000_000;

/**
 * Inputs per target for `--quick`, sized for about a minute on a 2-core CI
 * machine (fixed counts rather than a time budget, so that a seed replays
 * the same inputs everywhere).
 */
const QUICK: Readonly<Record<string, number>> = {
  parser: 300_000,
  decoders: 300_000,
  tables: 100_000,
  encoders: 100_000,
  connection: 10_000,
};

/**
 * Inputs per target for the default run: the connection target is about a
 * hundred times slower per input than the wire targets, so its count is
 * fixed and the rest of the 10 million is split by share.
 */
function defaultBudget(targets: readonly Target[]): Map<Target, number> {
  const budget = new Map<Target, number>();
  const conn = targets.includes(connectionTarget) ? 150_000 : 0;
  if (conn > 0) budget.set(connectionTarget, conn);
  const wire = targets.filter((t) => t !== connectionTarget);
  const shares = wire.reduce((a, t) => a + t.share, 0);
  for (const t of wire) budget.set(t, Math.round(((DEFAULT_TOTAL - conn) * t.share) / shares));
  return budget;
}

interface Options {
  quick: boolean;
  seed: number;
  only: string[] | null;
  inputs: number | null;
  verbose: boolean;
  maxClasses: number;
}

const USAGE = `usage: npm run fuzz -- [options]
  --quick            about a minute in total (the CI setting)
  --seed N           run seed (default: random, printed); input i uses seed N+i
  --only T[,T...]    only these targets: ${TARGETS.map((t) => t.name).join(', ')}
  --inputs N         inputs in total (split by share), or for the one target of --only
  --verbose          print the stack of each failure class
  --max-classes N    failure classes to print (default 20)
  --help
targets:
${TARGETS.map((t) => `  ${t.name.padEnd(11)} ${t.description}`).join('\n')}
failures: an exception that is not FrameError (decoding) / InvalidArgumentError (encoding);
  an input slower than ${SLOW_MS} ms (twice); an allocation above ${ALLOC_LIMIT} bytes or maxMessageSize + 8;
  a callback not run exactly once; a decode result that depends on bytes outside the input.`;

function parseArgs(argv: string[]): Options {
  const o: Options = { quick: false, seed: Math.floor(Math.random() * 2 ** 31), only: null, inputs: null, verbose: false, maxClasses: 20 };
  const int = (flag: string, v: string | undefined): number => {
    if (v === undefined || !/^\d+$/.test(v)) throw new Error(`${flag} wants a non-negative integer, got ${v ?? 'nothing'}`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--verbose') o.verbose = true;
    else if (a === '--seed') o.seed = int(a, argv[++i]) >>> 0;
    else if (a === '--inputs') o.inputs = int(a, argv[++i]);
    else if (a === '--max-classes') o.maxClasses = int(a, argv[++i]);
    else if (a === '--only') {
      const names = (argv[++i] ?? '').split(',').filter(Boolean);
      for (const n of names) if (!TARGETS.some((t) => t.name === n)) throw new Error(`--only: no target named ${n}`);
      o.only = names;
    } else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

function budgetFor(o: Options, targets: readonly Target[]): Map<Target, number> {
  if (o.inputs !== null) {
    const budget = new Map<Target, number>();
    if (targets.length === 1) budget.set(targets[0], o.inputs);
    else {
      const shares = targets.reduce((a, t) => a + t.share, 0);
      for (const t of targets) budget.set(t, Math.max(1, Math.round((o.inputs * t.share) / shares)));
    }
    return budget;
  }
  if (o.quick) return new Map(targets.map((t) => [t, QUICK[t.name] ?? 10_000]));
  return defaultBudget(targets);
}

function main(): number {
  let o: Options;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const targets = o.only ? TARGETS.filter((t) => o.only!.includes(t.name)) : TARGETS;
  const budget = budgetFor(o, targets);
  const total = [...budget.values()].reduce((a, n) => a + n, 0);
  console.log(`coney fuzz: seed ${o.seed}, ${total} inputs (${targets.map((t) => `${t.name} ${budget.get(t)}`).join(', ')})`);

  // The library reports odd broker behaviour as process warnings. They are counted, not
  // emitted: emitWarning defers to process.nextTick, and this synchronous run never yields,
  // so every warning (and, through its stack, its connection) would pile up until the end.
  let warnings = 0;
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {
    warnings++;
  };

  // stack traces cost time on every FrameError the targets provoke; a dozen frames
  // locate a bug, --verbose keeps more for the report
  Error.stackTraceLimit = o.verbose ? 60 : 12;

  const guard = new AllocGuard();
  guard.install();
  const log = new FailureLog();
  const stats: TargetStats[] = [];
  const tty = process.stderr.isTTY === true;
  try {
    for (const t of targets) {
      const n = budget.get(t) ?? 0;
      const s = runTarget(t, {
        seed: o.seed,
        inputs: n,
        guard,
        onFailure: (f) => log.add(f),
        onProgress: tty ? (done) => process.stderr.write(`\r  ${t.name}: ${done}/${n} inputs, ${log.total} failure(s)   `) : undefined,
      });
      if (tty) process.stderr.write('\r\x1b[K');
      console.log(`  ${t.name}: ${s.inputs} inputs in ${s.seconds.toFixed(1)} s, ${s.failingInputs} failing`);
      stats.push(s);
    }
  } finally {
    guard.uninstall();
    process.emitWarning = emitWarning;
  }
  console.log(`\n${summaryTable(stats)}\n`);
  if (warnings > 0) console.log(`(${warnings} process warning(s) from the library were counted, not printed)\n`);
  if (log.total === 0) {
    console.log('no failures');
    return 0;
  }
  console.log(failureReport(log, o.maxClasses, o.verbose));
  return 1;
}

process.exitCode = main();
