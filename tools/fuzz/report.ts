/**
 * The fuzz report: a summary table per target, then the distinct failure
 * classes with their first failing inputs (seed, hex) and a command that
 * replays each one.
 * @packageDocumentation
 */
import { FAILURE_KINDS, type Failure, type TargetStats } from './harness';

/** Failures grouped by cause: same target, kind, normalized detail and stack top. */
export interface FailureClass {
  key: string;
  first: Failure;
  count: number;
  /** The first few seeds (for the report). */
  seeds: number[];
}

/**
 * The frames of a stack overflow differ from input to input (the recursion
 * is cut at any point of its cycle, and only the innermost frames are kept):
 * name the files the recursion runs through and its direction instead.
 */
function recursionTop(stack: string): string {
  const files = new Set<string>();
  let direction = '';
  for (const line of stack.split('\n')) {
    const m = /\/(lib\/[^():]+):\d+:\d+\)?$/.exec(line.trim());
    if (!m) continue;
    files.add(m[1]);
    if (!direction && /\b(en|de)code\w*/.test(line)) direction = /\bencode/.test(line) ? 'encode*' : 'decode*';
  }
  return `stack overflow: recursion in ${direction || '?'} (${[...files].sort().join(', ') || 'no library frames'})`;
}

/** The class a failure belongs to. */
export function classKey(f: Failure): string {
  const detail = f.detail
    .replace(/ \((fn|handler)\)/g, '')
    .replace(/\d+(\.\d+)?/g, 'N')
    .replace(/'[^']*'/g, "'…'")
    .slice(0, 160);
  const overflow = /Maximum call stack size exceeded/.test(f.detail);
  // generated code: one bug shows in every method class at a different line; group by the pattern
  const top = overflow ? recursionTop(f.stack) : f.stackTop.replace(/^\w+\.(encode|decode) \(lib\/wire\/spec\.ts:\d+\)$/, '*.$1 (lib/wire/spec.ts)');
  return `${f.target} | ${f.kind} | ${detail} | ${top}`;
}

/** Collects failures into classes as they come. */
export class FailureLog {
  readonly classes = new Map<string, FailureClass>();
  total = 0;

  add(f: Failure): void {
    this.total++;
    const key = classKey(f);
    const c = this.classes.get(key);
    if (c === undefined) {
      this.classes.set(key, { key, first: f, count: 1, seeds: [f.seed] });
    } else {
      c.count++;
      if (c.seeds.length < 3 && !c.seeds.includes(f.seed)) c.seeds.push(f.seed);
    }
  }
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

/** The summary table. */
export function summaryTable(stats: TargetStats[]): string {
  const head = ['target', 'inputs', 'failing', ...FAILURE_KINDS, 'inputs/s', 'seconds', 'slowest CPU ms', 'arrayBuffers +MiB'];
  const rows = stats.map((s) => [
    s.target,
    String(s.inputs),
    String(s.failingInputs),
    ...FAILURE_KINDS.map((k) => String(s.failures[k])),
    String(Math.round(s.inputs / Math.max(s.seconds, 1e-9))),
    s.seconds.toFixed(1),
    `${s.slowestMs.toFixed(1)} (seed ${s.slowestSeed})`,
    (s.arrayBuffersGrowth / 1048576).toFixed(1),
  ]);
  const total = stats.reduce((a, s) => a + s.inputs, 0);
  const secs = stats.reduce((a, s) => a + s.seconds, 0);
  rows.push([
    'total',
    String(total),
    String(stats.reduce((a, s) => a + s.failingInputs, 0)),
    ...FAILURE_KINDS.map((k) => String(stats.reduce((a, s) => a + s.failures[k], 0))),
    String(Math.round(total / Math.max(secs, 1e-9))),
    secs.toFixed(1),
    '',
    '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => pad(c, widths[i], i > 0 && i < head.length - 2)).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** An input for the report: hex (capped) or the description the target gave. */
export function showInput(input: Buffer | string | undefined, maxBytes = 96): string {
  if (input === undefined) return '(not recorded)';
  if (typeof input === 'string') return input.length > 300 ? `${input.slice(0, 300)}…` : input;
  const hex = input.subarray(0, maxBytes).toString('hex');
  return input.length > maxBytes ? `${hex}… (${input.length} bytes)` : `${hex} (${input.length} bytes)`;
}

/** The failure classes, most frequent first, with a replay command each. */
export function failureReport(log: FailureLog, maxClasses: number, verbose: boolean): string {
  const classes = [...log.classes.values()].sort((a, b) => b.count - a.count);
  const out: string[] = [`${classes.length} distinct failure class(es), ${log.total} failure(s) in all:`];
  classes.slice(0, maxClasses).forEach((c, i) => {
    const f = c.first;
    out.push('');
    out.push(`#${i + 1} [${f.target}] ${f.kind} ×${c.count}`);
    out.push(`   ${f.detail}`);
    if (f.stackTop) out.push(`   at ${/Maximum call stack/.test(f.detail) ? recursionTop(f.stack) : f.stackTop}`);
    out.push(`   seeds: ${c.seeds.join(', ')}`);
    out.push(`   input: ${showInput(f.input)}`);
    out.push(`   replay: npm run fuzz -- --only ${f.target} --seed ${f.seed} --inputs 1 --verbose`);
    if (verbose && f.stack)
      out.push(
        f.stack
          .split('\n')
          .slice(0, 14)
          .map((l) => `     ${l}`)
          .join('\n'),
      );
  });
  if (classes.length > maxClasses) out.push('', `(${classes.length - maxClasses} more class(es); --max-classes N shows more)`);
  return out.join('\n');
}
