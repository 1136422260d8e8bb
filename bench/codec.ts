/**
 * Codec benchmark: coney's FrameWriter / FrameParser against amqplib's own
 * encode and parse path, in the same process.
 *
 * - encode: a publish (basic.publish + content header + body) with
 *   contentType, deliveryMode, messageId and 3 headers; coney via
 *   `FrameWriter.writePublish` (with a `take()` every 64 messages, like a
 *   loop turn), amqplib via what `Connection#sendMessage` does:
 *   `defs.encodeMethod` + `defs.encodeProperties` + `frame.makeBodyFrame`
 *   copied into one buffer.
 * - parse: a stream of pre-encoded deliveries (basic.deliver + header + body)
 *   fed in 64 KiB chunks; coney via `FrameParser.push` with a `FrameHandler`
 *   as the connection uses it (methods and properties decoded), amqplib via what `Connection#recvFrame` does:
 *   `Buffer.concat([rest, chunk])`, then `frame.parseFrame` + `frame.decodeFrame`.
 *
 * Usage: `npm run bench` (or `tsx bench/run.ts --quick`).
 */
import { dirname, join } from 'node:path';
import type { FrameHandler } from '../lib/wire/frame';
import { FrameParser } from '../lib/wire/frame-parser';
import { FrameWriter } from '../lib/wire/frame-writer';
import * as spec from '../lib/wire/spec';

// amqplib's internals (no type declarations for these modules)
interface AmqplibDefs {
  BasicPublish: number;
  BasicProperties: number;
  encodeMethod(id: number, channel: number, fields: object): Buffer;
  encodeProperties(id: number, channel: number, size: number, fields: object): Buffer;
}
interface AmqplibFrame {
  makeBodyFrame(channel: number, payload: Buffer): Buffer;
  parseFrame(bin: Buffer, max: number): false | { type: number; channel: number; size: number; payload: Buffer; rest: Buffer };
  decodeFrame(frame: object): unknown;
}
// amqplib's "exports" hides lib/: resolve the files next to its entry point
const amqplibDir = join(dirname(require.resolve('amqplib')), 'lib');
const defs = require(join(amqplibDir, 'defs.js')) as AmqplibDefs;
const amqpFrame = require(join(amqplibDir, 'frame.js')) as AmqplibFrame;

export interface CodecBenchOptions {
  /** Shorter runs (for CI / smoke). */
  quick: boolean;
}

export interface CodecBenchRow {
  name: string;
  coney: number;
  amqplib: number;
  ratio: number;
}

const FRAME_MAX = 131072;
const EXCHANGE = 'bench-exchange';
const ROUTING_KEY = 'bench.routing.key';
const MESSAGE_IDS = Array.from({ length: 1024 }, (_x, i) => `msg-${String(i).padStart(8, '0')}`);
const HEADERS = { 'x-source': 'bench', 'x-attempt': 1, 'x-trace-id': 'f3a9c2d1e4b5' };
const props = (i: number) => ({
  contentType: 'application/json',
  deliveryMode: 2,
  messageId: MESSAGE_IDS[i & 1023],
  headers: HEADERS,
});
// the property objects are built ahead so that both sides measure encoding only
const PROPS = Array.from({ length: 1024 }, (_x, i) => props(i));

/** Runs `fn(n)` (which processes n messages) repeatedly for about `ms`; returns messages per second. */
function measure(fn: (n: number) => void, batch: number, ms: number): number {
  // warm up
  const warmEnd = Date.now() + Math.min(100, ms / 2);
  while (Date.now() < warmEnd) fn(batch);
  let count = 0;
  const t0 = process.hrtime.bigint();
  const end = Date.now() + ms;
  do {
    fn(batch);
    count += batch;
  } while (Date.now() < end);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return count / secs;
}

function encodeConey(body: Buffer): (n: number) => void {
  const fw = new FrameWriter();
  let i = 0;
  return (n) => {
    for (let k = 0; k < n; k++) {
      fw.writePublish(1, EXCHANGE, ROUTING_KEY, false, PROPS[i++ & 1023], body, FRAME_MAX);
      if ((k & 63) === 63) fw.take();
    }
    fw.take();
  };
}

function encodeAmqplib(body: Buffer): (n: number) => void {
  let i = 0;
  let sink = 0;
  return (n) => {
    for (let k = 0; k < n; k++) {
      // Connection#sendMessage, minus the stream write
      const mframe = defs.encodeMethod(defs.BasicPublish, 1, {
        exchange: EXCHANGE,
        routingKey: ROUTING_KEY,
        mandatory: false,
        immediate: false,
        ticket: 0,
      });
      const pframe = defs.encodeProperties(defs.BasicProperties, 1, body.length, PROPS[i++ & 1023]);
      const all = Buffer.allocUnsafe(mframe.length + pframe.length + body.length + 8);
      let offset = mframe.copy(all, 0);
      offset += pframe.copy(all, offset);
      amqpFrame.makeBodyFrame(1, body).copy(all, offset);
      sink += all.length;
    }
    if (sink < 0) console.log(sink);
  };
}

/** A stream of `count` deliveries, encoded by coney and checked against amqplib's decoder. */
function deliveryStream(body: Buffer, count: number): Buffer {
  const fw = new FrameWriter();
  for (let i = 0; i < count; i++) {
    fw.writeMethod(
      1,
      new spec.Basic.Deliver({
        consumerTag: 'amq.ctag-Xk3qsNd9u2L8vB1yQw7ZpA',
        deliveryTag: i + 1,
        redelivered: false,
        exchange: EXCHANGE,
        routingKey: ROUTING_KEY,
      }),
    );
    fw.writeContent(1, PROPS[i & 1023], body, FRAME_MAX);
  }
  return Buffer.concat(fw.take());
}

function chunk64k(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < stream.length; off += 65536) out.push(stream.subarray(off, off + 65536));
  return out;
}

function parseConey(chunks: Buffer[], perRound: number): (n: number) => void {
  const parser = new FrameParser();
  parser.frameMax = FRAME_MAX;
  let frames = 0;
  // the connection's way: direct calls, no frame objects
  const onFrame: FrameHandler = {
    onMethod: () => void frames++,
    onHeader: () => void frames++,
    onBody: (_c, _payload, rest) => void (rest === 0 && frames++),
    onHeartbeat: () => undefined,
    onProtocolHeader: () => undefined,
  };
  return (n) => {
    for (let done = 0; done < n; done += perRound) {
      for (let c = 0; c < chunks.length; c++) parser.push(chunks[c], onFrame);
    }
    if (frames < 0) console.log(frames);
  };
}

function parseAmqplib(chunks: Buffer[], perRound: number): (n: number) => void {
  let rest: Buffer = Buffer.alloc(0);
  let frames = 0;
  return (n) => {
    for (let done = 0; done < n; done += perRound) {
      for (let c = 0; c < chunks.length; c++) {
        // Connection#recvFrame: concatenate, then parse frames off the front
        rest = Buffer.concat([rest, chunks[c]]);
        for (;;) {
          const f = amqpFrame.parseFrame(rest, FRAME_MAX);
          if (!f) break;
          rest = f.rest;
          amqpFrame.decodeFrame(f);
          frames++;
        }
      }
    }
    if (frames < 0) console.log(frames);
  };
}

/** Runs the codec benchmark, prints a table and returns the rows. */
export function runCodecBench(opts: CodecBenchOptions): CodecBenchRow[] {
  const ms = opts.quick ? 250 : 1000;
  const rows: CodecBenchRow[] = [];
  const row = (name: string, coney: number, amqplib: number) => rows.push({ name, coney, amqplib, ratio: coney / amqplib });

  // The two sides alternate for a few rounds and the best round of each
  // counts: on a shared machine the best round is the least disturbed one.
  const rounds = opts.quick ? 2 : 3;
  const best = (a: () => number, b: () => number): [number, number] => {
    let x = 0;
    let y = 0;
    for (let i = 0; i < rounds; i++) {
      x = Math.max(x, a());
      y = Math.max(y, b());
    }
    return [x, y];
  };
  for (const size of [16, 1024]) {
    const body = Buffer.alloc(size, 0x61);
    const c = encodeConey(body);
    const a = encodeAmqplib(body);
    const [cr, ar] = best(
      () => measure(c, 1024, ms),
      () => measure(a, 1024, ms),
    );
    row(`encode publish ${size} B`, cr, ar);
  }
  for (const size of [16, 1024]) {
    const body = Buffer.alloc(size, 0x62);
    const perRound = 2000;
    const chunks = chunk64k(deliveryStream(body, perRound));
    const c = parseConey(chunks, perRound);
    const a = parseAmqplib(chunks, perRound);
    const [cr, ar] = best(
      () => measure(c, perRound, ms),
      () => measure(a, perRound, ms),
    );
    row(`parse deliver ${size} B`, cr, ar);
  }

  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const lines = [
    ['case', 'coney msg/s', 'amqplib msg/s', 'coney/amqplib'],
    ...rows.map((r) => [r.name, fmt(r.coney), fmt(r.amqplib), `${r.ratio.toFixed(2)}x`]),
  ];
  const widths = lines[0].map((_c, i) => Math.max(...lines.map((l) => l[i].length)));
  const print = (l: string[]) => console.log(l.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  console.log(`codec benchmark (${opts.quick ? 'quick' : 'full'}, node ${process.version})`);
  print(lines[0]);
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines.slice(1)) print(l);
  return rows;
}
