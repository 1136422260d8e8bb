/**
 * The consume path without sockets: `node consume-micro-child.js '<json job>'`
 * (started by bench/consume-micro.ts). A coney Connection runs on a
 * scripted in-process loop and transport; after the handshake, basic.qos and
 * basic.consume, pre-encoded deliveries (basic.deliver + content header +
 * body, no properties, frame-max 131072) are fed to the transport's `onData`
 * in 64 KiB chunks, each filled just before it is fed, as a socket read
 * leaves it (that copy is included, and also measured alone as
 * `harnessUs`; the chunk buffers are reused unless `fresh`, see below): socket
 * chunk -> FrameParser -> Connection -> Channel -> ContentAssembler ->
 * consumer callback, which acks (multiple) every 100th delivery like the
 * client benchmark's consumer. The pending acks are flushed (handed to the
 * transport, which drops them) after each chunk.
 *
 * Measures CPU time (process.cpuUsage, user + system) and wall time of the
 * feeding. Prints one line `MICRO_RESULT <json>`.
 *
 * Which coney: CONEY_BENCH_SOURCE (a directory holding a compiled coney's
 * index.js), else the lib/ compiled next to this file.
 */
import { coney } from './clients/coney-module';
import { FRAME_MAX, MicroLoop, openChannel } from './micro-loop';

const { spec } = coney;

export interface MicroJob {
  /** Body size in bytes. */
  size: number;
  /** Messages measured (after `warmup`). */
  n: number;
  warmup: number;
  /** A freshly allocated Buffer per chunk (like a socket) instead of a reused ring of them. */
  fresh?: boolean;
}

export interface MicroResult {
  size: number;
  n: number;
  /** CPU (user + system) per message, µs */
  cpuUs: number;
  /** wall time per message, µs */
  wallUs: number;
  rate: number;
  mibps: number;
  /** CPU per message of refilling the chunks alone (included in cpuUs) */
  harnessUs: number;
  /** Buffers the consumer saw with a length other than `size` (must be 0) */
  bad: number;
}

const CHUNK = 65536;
const TAG = 'ctag-micro';

/** `count` deliveries of `size`-byte bodies on channel 1, tags 1..count, as one byte stream. */
function deliveries(size: number, count: number): Buffer {
  const w = new coney.FrameWriter(64 * 1024);
  const body = Buffer.alloc(size, 0x62);
  const parts: Buffer[] = [];
  for (let i = 1; i <= count; i++) {
    w.writeMethod(1, new spec.Basic.Deliver({ consumerTag: TAG, deliveryTag: i, redelivered: false, exchange: '', routingKey: 'bench' }));
    w.writeContent(1, undefined, body, FRAME_MAX);
    if (w.length > 4 * 1024 * 1024) parts.push(...w.take());
  }
  parts.push(...w.take());
  return Buffer.concat(parts);
}

function main(job: MicroJob): MicroResult {
  const loop = new MicroLoop(TAG);
  const ch = openChannel(loop);
  let received = 0;
  let bad = 0;
  const size = job.size;
  ch.basicQos({ prefetchCount: 1000 });
  ch.basicConsume(
    'bench',
    (c, method, _props, body) => {
      received++;
      if (body.length !== size) bad++;
      const tag = method.deliveryTag;
      if (tag % 100 === 0) c.basicAck(tag, true);
    },
    { autoAck: false, consumerTag: TAG },
  );
  loop.run();

  // one template stream of `per` deliveries, cut into 64 KiB chunks; each batch feeds fresh copies
  const per = Math.max(1, Math.min(10_000, Math.floor((16 * 1024 * 1024) / (size + 100))));
  const stream = deliveries(size, per);
  const cuts: Array<[number, number]> = [];
  for (let off = 0; off < stream.length; off += CHUNK) cuts.push([off, Math.min(stream.length, off + CHUNK)]);
  const onData = loop.handlers!.onData;
  // The chunk buffers. `fresh`: a new one per read, as Node's sockets allocate them (that
  // allocation and its GC cost about as much as the parsing at 1 KiB, and decide when large
  // bodies are freed). Otherwise a ring of reused buffers, each refilled just before it is fed
  // (hot in the cache, as a socket read leaves it): the steadier measure of coney's own work.
  // The consumer keeps no body, so reuse is safe.
  const ring = job.fresh ? [] : Array.from({ length: 64 }, () => Buffer.allocUnsafeSlow(CHUNK));
  let next = 0;
  const fresh = (a: number, b: number): Buffer => {
    let c: Buffer;
    if (job.fresh) {
      c = Buffer.allocUnsafeSlow(b - a);
    } else {
      c = ring[next].subarray(0, b - a);
      next = (next + 1) & 63;
    }
    stream.copy(c, 0, a, b);
    return c;
  };
  // the harness alone: refilling the chunks
  let sink = 0;
  const h0 = process.cpuUsage();
  for (let done = 0; done < job.n; done += per) for (const [a, b] of cuts) sink += fresh(a, b)[0];
  const h = process.cpuUsage(h0);
  const harnessUs = (h.user + h.system) / (Math.ceil(job.n / per) * per);
  let cpuMicros = 0;
  let wallNs = 0n;
  let measured = 0;
  for (let done = 0; done < job.warmup + job.n; done += per) {
    const timed = done >= job.warmup;
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    for (let i = 0; i < cuts.length; i++) {
      onData(fresh(cuts[i][0], cuts[i][1]));
      loop.run(); // the turn's flush (acks)
    }
    if (timed) {
      const c = process.cpuUsage(c0);
      cpuMicros += c.user + c.system;
      wallNs += process.hrtime.bigint() - t0;
      measured += per;
    }
  }
  if (sink < 0) console.log(sink);
  if (received < job.warmup + job.n) throw new Error(`micro: ${received} deliveries reached the consumer, expected ${job.warmup + job.n}`);
  const secs = Number(wallNs) / 1e9;
  return {
    size,
    n: measured,
    cpuUs: cpuMicros / measured,
    wallUs: (secs * 1e6) / measured,
    rate: measured / secs,
    mibps: (measured * size) / secs / (1024 * 1024),
    harnessUs,
    bad,
  };
}

if (require.main === module) {
  const job = JSON.parse(process.argv[2]) as MicroJob;
  process.stdout.write(`MICRO_RESULT ${JSON.stringify(main(job))}\n`);
}
