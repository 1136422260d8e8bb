/**
 * Formats the client benchmark's results: one table, printed and written
 * as Markdown to bench/results/latest.md.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CodecBenchRow } from './codec';
import { ROOT, type ChildResult, type ClientName, type Scenario } from './harness';

export interface ScenarioResult {
  scenario: Scenario;
  /** Median per client (null: every run failed). */
  byClient: Map<ClientName, ChildResult | null>;
  /** Error messages of failed runs. */
  errors: string[];
  runs: number;
}

/** The headline number of a result for its scenario. */
function headline(s: Scenario, r: ChildResult): number {
  switch (s.metric) {
    case 'rate':
      return r.rate;
    case 'mibps':
      return r.mibps;
    case 'peakRss':
      // growth over the RSS after connecting: coney loaded through tsx, or any client's
      // module loading, would otherwise count
      return r.peakRssMiB - r.baseRssMiB;
    case 'p50':
      return r.p50Us ?? NaN;
  }
}

const lowerIsBetter = (s: Scenario): boolean => s.metric === 'peakRss' || s.metric === 'p50';

export interface Advantage {
  /** >1: the subject (coney, or the scenario's subject) better on the headline metric. */
  headline: number;
  /** >1: coney uses less CPU per message than the best other. */
  cpu: number;
  bestOther: ClientName | null;
  met: boolean | null;
  /** The subject against the scenario's baseline client (>1: the subject better), when it has one. */
  baseline: { ratio: number; met: boolean } | null;
}

export function advantage(sr: ScenarioResult): Advantage | null {
  const s = sr.scenario;
  const subject = s.subject ?? 'coney';
  const coney = sr.byClient.get(subject);
  if (!coney) return null;
  const others = [...sr.byClient.entries()].filter(([c, r]) => c !== subject && c !== s.baseline?.client && r !== null) as Array<
    [ClientName, ChildResult]
  >;
  if (others.length === 0) return null;
  const low = lowerIsBetter(s);
  const base = s.baseline ? sr.byClient.get(s.baseline.client) : null;
  let baseline: Advantage['baseline'] = null;
  if (s.baseline && base) {
    const ratio = low ? headline(s, base) / headline(s, coney) : headline(s, coney) / headline(s, base);
    baseline = { ratio, met: s.baseline.check(ratio) };
  }
  let best = others[0];
  for (const o of others) {
    const better = low ? headline(s, o[1]) < headline(s, best[1]) : headline(s, o[1]) > headline(s, best[1]);
    if (better) best = o;
  }
  const h = low ? headline(s, best[1]) / headline(s, coney) : headline(s, coney) / headline(s, best[1]);
  const minCpu = Math.min(...others.map(([, r]) => r.cpuUs));
  const cpu = minCpu / coney.cpuUs;
  return { headline: h, cpu, bestOther: best[0], met: s.target ? s.target.check(h, cpu, coney) : null, baseline };
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const fix = (n: number, d: number) => (Number.isFinite(n) ? n.toFixed(d) : '-');

export const HEADER = [
  'scenario',
  'client',
  'msgs/s',
  'MiB/s',
  'CPU µs/msg',
  'peak RSS MiB',
  'p50 / p99 µs',
  'coney vs best other',
  'CPU vs best other',
  'target',
];

/** Table rows (strings), one per scenario and client. */
export function rows(results: ScenarioResult[], clients: readonly ClientName[]): string[][] {
  const out: string[][] = [];
  for (const sr of results) {
    const adv = advantage(sr);
    for (const c of clients) {
      if (!sr.byClient.has(c)) continue;
      const r = sr.byClient.get(c) ?? null;
      const s = sr.scenario;
      if (r === null) {
        out.push([s.label, c, 'FAILED', '', '', '', '', '', '', '']);
        continue;
      }
      const isConey = c === (s.subject ?? 'coney');
      const showMib = s.metric === 'mibps' || s.size >= 1024;
      out.push([
        s.label,
        c,
        int(r.rate),
        showMib ? fix(r.mibps, 1) : '',
        fix(r.cpuUs, r.cpuUs < 100 ? 2 : 0),
        s.metric === 'peakRss' || s.kind === 'large' ? `${int(r.peakRssMiB)} (base ${int(r.baseRssMiB)})` : int(r.peakRssMiB),
        r.p50Us !== undefined ? `${int(r.p50Us)} / ${int(r.p99Us ?? NaN)}` : '',
        isConey && adv ? `${fix(adv.headline, 2)}x (vs ${adv.bestOther})` : '',
        isConey && adv ? `${fix(adv.cpu, 2)}x` : '',
        isConey && s.target ? targetText(s, adv) : '',
      ]);
    }
  }
  return out;
}

/** The target cell: the goal against the others, and against the baseline client (with the ratio) when there is one. */
function targetText(s: Scenario, adv: Advantage | null): string {
  let text = `${s.target!.text}: ${adv?.met ? 'met' : 'NOT met'}`;
  if (s.baseline) {
    const b = adv?.baseline ?? null;
    text += `; ${s.baseline.text} (${b ? `${fix(b.ratio, 2)}x` : '-'}): ${b?.met ? 'met' : 'NOT met'}`;
  }
  return text;
}

export function printTable(header: string[], body: string[][]): string {
  const all = [header, ...body];
  const widths = header.map((_h, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i < 2 ? (c ?? '').padEnd(widths[i]) : (c ?? '').padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function markdownTable(header: string[], body: string[][]): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `| ${header.map((_h, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`,
    ...body.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function cpuModel(): string {
  try {
    const m = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch {
    /* not Linux */
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

function nproc(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

function rabbitmqVersion(): string {
  try {
    const d = fs.readdirSync('/usr/lib/rabbitmq/lib').find((x) => x.startsWith('rabbitmq_server-'));
    return d ? d.slice('rabbitmq_server-'.length) : '?';
  } catch {
    return '?';
  }
}

export function machineLine(): string {
  return `${nproc()} cores (nproc), ${cpuModel()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Node.js ${process.version}, ${os.type()} ${os.release()}`;
}

export function versionsLine(): string {
  return `amqplib ${packageVersion('amqplib')}, @cloudamqp/amqp-client ${packageVersion('@cloudamqp/amqp-client')}, rabbitmq-client ${packageVersion('rabbitmq-client')}, RabbitMQ ${rabbitmqVersion()}`;
}

export interface LatestMd {
  command: string;
  date: Date;
  quick: boolean;
  runs: number;
  coneyFrom: string;
  table: string;
  codec: CodecBenchRow[] | null;
  failures: string[];
  wallSecs: number;
  /** 1-minute load averages at the start and at the end */
  load: [number, number];
  /** The recovery figure (bench/recovery.ts), when it ran. */
  recovery?: string;
  /** The cluster failover figure (bench/failover.ts), when it ran. */
  failover?: string;
}

export function writeLatest(file: string, d: LatestMd): void {
  const codec =
    d.codec === null
      ? ''
      : `\n## Codec (same process, no I/O; bench/codec.ts)\n\n${markdownTable(
          ['case', 'coney msg/s', 'amqplib msg/s', 'coney/amqplib'],
          d.codec.map((r) => [r.name, int(r.coney), int(r.amqplib), `${r.ratio.toFixed(2)}x`]),
        )}\n`;
  const failures = d.failures.length === 0 ? '' : `\n## Failed runs\n\n${d.failures.map((f) => `- ${f}`).join('\n')}\n`;
  const text = `# coney client benchmark: latest results

- Command: \`${d.command}\`
- Date: ${d.date.toISOString()}
- Machine: ${machineLine()}
- Clients: coney (${d.coneyFrom}), ${versionsLine()}
- Mode: ${d.quick ? 'quick' : 'full'}, ${d.runs === 1 ? '1 run' : `median of ${d.runs} runs`} per client and scenario, each run in a fresh child process; wall time ${Math.round(d.wallSecs)} s
- Load average (1 min) at start / end: ${d.load[0].toFixed(2)} / ${d.load[1].toFixed(2)} (anything well above 0 means other work shared the 2 cores: throughput numbers are then noisy, CPU µs/msg less so)

How to read it: msgs/s over the measured window (after a warm-up); CPU µs/msg is the
client process's user+system CPU over that window divided by the messages; peak RSS is
the child process's maxRSS over its whole life (base: RSS after connecting). "coney vs best
other" is coney's advantage on the scenario's headline number (throughput; RSS growth, peak
minus base, for the memory scenario; p50 for RPC) over the best of the three other clients:
>1 means coney is better. "CPU vs best other" is the lowest CPU/msg among the others divided by coney's (>1:
coney uses less). Targets are goals, reported and not asserted. See bench/README.md.

## Client benchmark

${d.table}
${codec}${d.recovery === undefined ? '' : `\n## Recovery after a network cut (bench/recovery.ts)\n\n${d.recovery}\n`}${d.failover === undefined ? '' : `\n## Cluster failover (bench/failover.ts)\n\n${d.failover}\n`}${failures}`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}
