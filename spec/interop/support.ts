/**
 * Helpers of the interoperability specs (spec/interop/*.spec.ts): bounded
 * child processes, prerequisite checks that fail loudly, a byte tap on a
 * coney connection, and an independent decoder of raw frames and field
 * tables that keeps the wire type tags (coney's own decoder drops them).
 */
import { PROPERTY_NAMES } from '../support/property-names';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { type Channel, Decimal, type FieldValue, PlainCredentials, SelectConnection, StreamIOLoop, TypedValue, URLParameters, spec } from '../../lib';
import { amqpUrl } from '../support/broker';
import { cbp, openConnection, within } from '../support/callbacks';

/** Debian's interpreter: python3-pika is installed for it (the pyenv python3 on PATH has no pika). */
export const PYTHON = '/usr/bin/python3';
export const INTEROP_DIR = __dirname;
export const script = (name: string): string => path.join(INTEROP_DIR, name);

// ---------------------------------------------------------------------------
// child processes

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  /** Killed (SIGKILL) after this many ms; the promise then rejects. */
  timeoutMs?: number;
  /** Written to the child's stdin, which is then closed. */
  input?: Buffer | string;
}

/**
 * Runs `file args...` without a shell, bounded by a timeout. Resolves with
 * the exit status and output (whatever the status); rejects when the program
 * cannot be started (`err.code === 'ENOENT'` when it is not installed) or
 * when it overruns the timeout.
 */
export function run(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 30000;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(
        new Error(
          `${file} ${args.join(' ')} did not finish within ${timeoutMs} ms (killed)\n` +
            `stdout: ${Buffer.concat(out).toString()}\nstderr: ${Buffer.concat(err).toString()}`,
        ),
      );
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.on('error', () => undefined); // a child that exits without reading its input
    child.stdin.end(options.input ?? '');
  });
}

/** Describes a finished child for assertion messages. */
export function describeRun(what: string, r: RunResult): string {
  return `${what}: exit ${r.code ?? r.signal}\nstdout: ${r.stdout.toString().slice(0, 4000)}\nstderr: ${r.stderr.slice(0, 4000)}`;
}

// ---------------------------------------------------------------------------
// prerequisites: fail loudly, never skip

let pikaCheck: Promise<string> | null = null;

/** Resolves pika's version; rejects with the install command when python3-pika is missing. */
export function requirePika(): Promise<string> {
  pikaCheck ??= (async () => {
    const install = 'install it with: sudo apt-get install -y python3 python3-pika';
    let r: RunResult;
    try {
      r = await run(PYTHON, ['-c', 'import pika, sys; sys.stdout.write(pika.__version__)'], { timeoutMs: 20000 });
    } catch (e) {
      throw new Error(
        `${PYTHON} cannot be run (${(e as Error).message}); the pika interop specs need Debian's python3 with python3-pika: ${install}`,
      );
    }
    if (r.code !== 0) {
      throw new Error(`python3-pika is not installed for ${PYTHON} (import pika failed: ${r.stderr.trim()}); ${install}`);
    }
    return r.stdout.toString().trim();
  })();
  return pikaCheck;
}

let toolsCheck: Promise<void> | null = null;

/** Rejects with the install command when librabbitmq's amqp-tools are missing. */
export function requireAmqpTools(): Promise<void> {
  toolsCheck ??= (async () => {
    for (const tool of ['amqp-publish', 'amqp-consume', 'amqp-get']) {
      try {
        await run(tool, ['--help'], { timeoutMs: 10000 });
      } catch (e) {
        throw new Error(
          `${tool} (librabbitmq's command-line tools) cannot be run: ${(e as Error).message}; ` +
            'install them with: sudo apt-get install -y amqp-tools',
        );
      }
    }
  })();
  return toolsCheck;
}

/** Connection options of librabbitmq's tools, derived from AMQP_URL (its URL parser maps a path of '/' to vhost ''). */
export function amqpToolsConnectionArgs(): string[] {
  const p = new URLParameters(amqpUrl());
  const creds = plainCredentials(p);
  return ['--server', p.host, '--port', String(p.port), '--vhost', p.virtualHost, '--username', creds.username!, '--password', creds.password!];
}

/** The broker login (RabbitMQ checks the user-id property against it). */
export function brokerUser(): string {
  return plainCredentials(new URLParameters(amqpUrl())).username!;
}

function plainCredentials(p: URLParameters): PlainCredentials {
  if (!(p.credentials instanceof PlainCredentials)) throw new Error('AMQP_URL must carry PLAIN credentials (user:password@)');
  return p.credentials;
}

// ---------------------------------------------------------------------------
// a coney connection with a byte tap

export interface Tap {
  /** Bytes coney wrote, from the protocol header on. */
  outbound: Buffer[];
  /** Bytes coney read. */
  inbound: Buffer[];
}

/**
 * Opens a coney connection over a plain TCP socket whose bytes are recorded
 * in both directions (StreamIOLoop, coney's public adapter seam).
 */
export async function openTappedConnection(): Promise<{ connection: SelectConnection; tap: Tap }> {
  const tap: Tap = { outbound: [], inbound: [] };
  const ioloop = new StreamIOLoop({
    openStream: (target) => {
      const socket = net.connect({ host: target.host, port: target.port });
      socket.on('data', (chunk: Buffer) => tap.inbound.push(Buffer.from(chunk)));
      const write = socket.write;
      socket.write = function tappedWrite(this: net.Socket, chunk: unknown, ...rest: unknown[]): boolean {
        tap.outbound.push(Buffer.from(chunk as Buffer));
        return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
      };
      return socket;
    },
  });
  // Some interop tests make the broker close the connection on purpose and check the
  // outcome themselves: an onClose keeps that from being reported as unhandled.
  const connection = await openConnection({ ioloop, onClose: () => undefined });
  return { connection, tap };
}

// ---------------------------------------------------------------------------
// an independent decoder of raw frames and tagged field tables

export interface RawFrame {
  type: number;
  channel: number;
  payload: Buffer;
}

/** Splits a byte stream into frames (skipping a leading `AMQP` protocol header). */
export function splitFrames(chunks: Buffer[]): RawFrame[] {
  const b = Buffer.concat(chunks);
  let p = b.subarray(0, 4).toString('latin1') === 'AMQP' ? 8 : 0;
  const frames: RawFrame[] = [];
  while (p + 7 <= b.length) {
    const size = b.readUInt32BE(p + 3);
    if (p + 8 + size > b.length) break; // incomplete tail
    if (b[p + 7 + size] !== 0xce) throw new Error(`bad frame end at offset ${p + 7 + size}`);
    frames.push({ type: b[p], channel: b.readUInt16BE(p + 1), payload: b.subarray(p + 7, p + 7 + size) });
    p += 8 + size;
  }
  return frames;
}

/** Content header payloads (type 2), from the property flags on (class, weight and body size dropped). */
export function contentHeaders(chunks: Buffer[]): Buffer[] {
  return splitFrames(chunks)
    .filter((f) => f.type === 2)
    .map((f) => f.payload.subarray(12));
}

export interface RawProperties {
  flags: number;
  /** The headers table with its length prefix, if the flag is set. */
  headers?: Buffer;
  /** The other properties, decoded plainly (shortstrs as UTF-8, timestamp as seconds). */
  fields: Record<string, string | number | bigint>;
}

/** Walks a property list (from the flags on). */
export function rawProperties(b: Buffer): RawProperties {
  const flags = b.readUInt16BE(0);
  if (flags & 1) throw new Error('continued property flags are not expected for basic');
  let p = 2;
  const fields: Record<string, string | number | bigint> = {};
  let headers: Buffer | undefined;
  const shortstr = (): string => {
    const n = b[p];
    const s = b.subarray(p + 1, p + 1 + n).toString('utf8');
    p += 1 + n;
    return s;
  };
  PROPERTY_NAMES.forEach((name, i) => {
    if (!(flags & (1 << (15 - i)))) return;
    if (name === 'headers') {
      const n = b.readUInt32BE(p);
      headers = b.subarray(p, p + 4 + n);
      p += 4 + n;
    } else if (name === 'deliveryMode' || name === 'priority') {
      fields[name] = b[p++];
    } else if (name === 'timestamp') {
      fields[name] = b.readBigUInt64BE(p);
      p += 8;
    } else {
      fields[name] = shortstr();
    }
  });
  if (p !== b.length) throw new Error(`property list has ${b.length - p} trailing byte(s)`);
  return { flags, headers, fields };
}

/** A decoded field value that keeps its tag and its exact bytes. */
export interface Tagged {
  tag: string;
  /** Tag byte and payload, as hex. */
  hex: string;
  value: null | boolean | number | string | Tagged[] | { [key: string]: Tagged } | { places: number; value: number };
}

function decodeTaggedValue(b: Buffer, p: number): [Tagged, number] {
  const start = p;
  const tag = String.fromCharCode(b[p++]);
  let value: Tagged['value'];
  switch (tag) {
    case 't': value = b[p] !== 0; p += 1; break; // prettier-ignore
    case 'b': value = String(b.readInt8(p)); p += 1; break; // prettier-ignore
    case 'B': value = String(b.readUInt8(p)); p += 1; break; // prettier-ignore
    case 's': value = String(b.readInt16BE(p)); p += 2; break; // prettier-ignore
    case 'u': value = String(b.readUInt16BE(p)); p += 2; break; // prettier-ignore
    case 'I': value = String(b.readInt32BE(p)); p += 4; break; // prettier-ignore
    case 'i': value = String(b.readUInt32BE(p)); p += 4; break; // prettier-ignore
    case 'l': value = String(b.readBigInt64BE(p)); p += 8; break; // prettier-ignore
    case 'f': value = b.readFloatBE(p); p += 4; break; // prettier-ignore
    case 'd': value = b.readDoubleBE(p); p += 8; break; // prettier-ignore
    case 'D': value = { places: b[p], value: b.readInt32BE(p + 1) }; p += 5; break; // prettier-ignore
    case 'T': value = String(b.readBigUInt64BE(p)); p += 8; break; // prettier-ignore
    case 'V': value = null; break; // prettier-ignore
    case 'S':
    case 'x': {
      const n = b.readUInt32BE(p);
      const bytes = b.subarray(p + 4, p + 4 + n);
      if (bytes.length !== n) throw new Error(`truncated '${tag}' at ${start}`);
      value = tag === 'S' ? bytes.toString('utf8') : bytes.toString('hex');
      p += 4 + n;
      break;
    }
    case 'A': {
      const n = b.readUInt32BE(p);
      const end = p + 4 + n;
      p += 4;
      const items: Tagged[] = [];
      while (p < end) {
        const [item, q] = decodeTaggedValue(b, p);
        items.push(item);
        p = q;
      }
      if (p !== end) throw new Error(`array at ${start} overruns its length`);
      value = items;
      break;
    }
    case 'F': {
      const [table, q] = decodeTaggedTable(b, p);
      value = table;
      p = q;
      break;
    }
    default:
      throw new Error(`unknown field tag ${JSON.stringify(tag)} (0x${b[start].toString(16)}) at offset ${start}`);
  }
  if (p > b.length) throw new Error(`truncated '${tag}' at ${start}`);
  return [{ tag, hex: b.subarray(start, p).toString('hex'), value }, p];
}

function decodeTaggedTable(b: Buffer, p: number): [{ [key: string]: Tagged }, number] {
  const n = b.readUInt32BE(p);
  const end = p + 4 + n;
  p += 4;
  const out: { [key: string]: Tagged } = {};
  while (p < end) {
    const kn = b[p];
    const key = b.subarray(p + 1, p + 1 + kn).toString('utf8');
    p += 1 + kn;
    const [v, q] = decodeTaggedValue(b, p);
    Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    p = q;
  }
  if (p !== end) throw new Error(`table at ${end - n - 4} overruns its length`);
  return [out, p];
}

/** Decodes a length-prefixed field table, keeping tags and bytes. */
export function decodeTagged(table: Buffer): { [key: string]: Tagged } {
  const [t, p] = decodeTaggedTable(table, 0);
  if (p !== table.length) throw new Error(`${table.length - p} byte(s) after the table`);
  return t;
}

function fmtNum(n: number): string {
  return Object.is(n, -0) ? '-0' : String(n);
}

/**
 * A compact, exact rendering of a tagged value: `b:-1`, `S:"x"`, `D:2,-1234`,
 * `T:1700000000`, `x:00ff`, `V`, `A[I:1,S:"a"]`, `F{k=t:1}`, `d:3.14`, `f:1.5`.
 */
export function sig(t: Tagged): string {
  const v = t.value;
  switch (t.tag) {
    case 'V':
      return 'V';
    case 't':
      return `t:${v ? 1 : 0}`;
    case 'S':
      return `S:${JSON.stringify(v)}`;
    case 'f':
    case 'd':
      return `${t.tag}:${fmtNum(v as number)}`;
    case 'D': {
      const d = v as { places: number; value: number };
      return `D:${d.places},${d.value}`;
    }
    case 'A':
      return `A[${(v as Tagged[]).map(sig).join(',')}]`;
    case 'F':
      return `F{${Object.entries(v as { [key: string]: Tagged })
        .map(([k, x]) => `${k}=${sig(x)}`)
        .join(',')}}`;
    default:
      return `${t.tag}:${v as string}`;
  }
}

// ---------------------------------------------------------------------------
// typed JSON (see pika_common.py) and coney values

export type J = null | boolean | number | string | J[] | { [key: string]: J };

/** How a correct pika decoder represents a value coney sent (typed JSON). */
export function pikaView(v: FieldValue): J {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return { $int: v.toString() };
  if (typeof v === 'number') {
    if (Number.isInteger(v) && !Object.is(v, -0)) return { $int: String(v) };
    return floatJson(v);
  }
  if (v instanceof Date) return { $datetime: Math.floor(v.getTime() / 1000) };
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('base64') };
  if (v instanceof Decimal) return { $decimal: v.toString() };
  if (Array.isArray(v)) return v.map(pikaView);
  if (v instanceof TypedValue) {
    const x = v.value as FieldValue;
    switch (v.type) {
      case 'b':
      case 'B':
      case 's':
      case 'u':
      case 'I':
      case 'i':
      case 'l': // prettier-ignore
        return { $int: (x as number | bigint).toString() };
      case 'f':
        return floatJson(Math.fround(x as number));
      case 'd':
        return floatJson(x as number);
      case 'T':
        return { $datetime: typeof x === 'number' ? x : Math.floor((x as Date).getTime() / 1000) };
      case 'V':
        return null;
      case 'S':
        return typeof x === 'string' ? x : Buffer.from(x as Uint8Array).toString('utf8');
      default:
        return pikaView(x);
    }
  }
  const out: { [key: string]: J } = {};
  for (const [k, x] of Object.entries(v as object)) out[k] = pikaView(x as FieldValue);
  return out;
}

function floatJson(n: number): J {
  if (Number.isNaN(n)) return { $float: 'nan' };
  if (!Number.isFinite(n)) return { $float: n > 0 ? 'inf' : '-inf' };
  return { $float: n };
}

/** How coney is expected to decode a value pika sent (typed JSON → coney's documented mapping). */
export function coneyView(j: J): FieldValue {
  if (j === null || typeof j === 'string' || typeof j === 'boolean') return j;
  if (Array.isArray(j)) return j.map(coneyView);
  const o = j as { [key: string]: unknown };
  if ('$int' in o) {
    const n = BigInt(o['$int'] as string);
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  }
  if ('$float' in o)
    return typeof o['$float'] === 'number' ? o['$float'] : Number(String(o['$float']).replace('inf', 'Infinity').replace('nan', 'NaN'));
  if ('$decimal' in o) return parseDecimal(o['$decimal'] as string);
  if ('$datetime' in o) return new Date((o['$datetime'] as number) * 1000);
  if ('$bytes' in o) return Buffer.from(o['$bytes'] as string, 'base64');
  const out: { [key: string]: FieldValue } = {};
  for (const [k, x] of Object.entries(o)) {
    // defineProperty: a '__proto__' key must stay an own key, as coney decodes it
    Object.defineProperty(out, k, { value: coneyView(x as J), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** '-12.34' → Decimal(-1234, 2) (scale kept). */
export function parseDecimal(s: string): Decimal {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) throw new Error(`not a positional decimal: ${s}`);
  const places = m[3]?.length ?? 0;
  return new Decimal(Number(`${m[1]}${m[2]}${m[3] ?? ''}`), places);
}

// ---------------------------------------------------------------------------
// broker plumbing

/** Declares a queue that the test deletes afterwards (not exclusive: other clients read it). */
export function declareQueue(ch: Channel, name: string): Promise<unknown> {
  return cbp((cb) => ch.queueDeclare(name, { autoDelete: false, durable: false, arguments: { 'x-expires': 300000 } }, cb));
}

/** Enables confirms, runs `sends` once confirm mode is on, and resolves when the broker has acked them all. */
export function publishConfirmed(ch: Channel, sends: Array<() => void>): Promise<void> {
  return within(
    15000,
    new Promise<void>((resolve, reject) => {
      let acked = 0;
      ch.addOnCloseCallback((_c, reason) => reject(reason));
      ch.confirmDelivery(
        (_c, m) => {
          if (m instanceof spec.Basic.Nack) return reject(new Error(`broker nacked publish ${m.deliveryTag}`));
          acked = m.multiple ? m.deliveryTag : acked + 1;
          if (acked >= sends.length) resolve();
        },
        (err) => {
          if (err) return reject(err);
          for (const send of sends) send();
        },
      );
    }),
    'publisher confirms',
  );
}
