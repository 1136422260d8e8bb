/**
 * A fake AMQP 0-9-1 server for the client benchmarks. It runs as its own
 * Node process (so it has its own core) and is self-contained: it does not
 * import coney, so a change in lib/ cannot change what the clients are
 * measured against.
 *
 * It does just enough of the protocol for the benchmark clients:
 * connection start/tune/open, channel open/close, confirm.select,
 * exchange/queue declare, queue bind/purge/delete, basic.qos,
 * basic.consume/cancel, connection close. Everything else is ignored.
 *
 * What a connection does after its handshake depends on its virtual host:
 *
 * - `sink`: swallows publishes. Frames are split by their 7-byte headers
 *   only; a method frame's class/method ids are read to count basic.publish;
 *   content frames are skipped without being looked at. In confirm mode a
 *   `basic.ack` (multiple) for everything counted so far is sent after each
 *   socket read, as a broker would batch them.
 * - `sink-slow` / `sink-slow-<MiB/s>`: the same, but the socket is paused
 *   whenever more than `SLOW_MIB_PER_SEC` (or the given rate) has been read
 *   since the open: a slow reader of the client's bytes. Once the kernel
 *   buffers are full, the client's backpressure signal must hold its memory.
 * - `deliver-<size>`: after `basic.consume`, blasts pre-encoded deliveries
 *   (basic.deliver + content header + body of `<size>` bytes, no properties)
 *   for the consumer tag, in batches of `DELIVER_BATCH` (fewer for bodies
 *   above 10 KiB: a batch stays near 1 MiB, down to one message), as fast as the
 *   socket takes them, with increasing delivery tags. The client's
 *   `basic.ack`s are honoured loosely: no more than 2 x prefetch (from
 *   `basic.qos`) unacknowledged deliveries are sent (no limit with prefetch 0).
 *
 * Usage: `node --import tsx bench/fake-server.ts [port]` — prints
 * `LISTENING <port>` on stdout once ready; exits when stdin closes (its
 * parent died) or on SIGTERM. `STATS` lines on stderr with `--verbose`.
 */
import * as net from 'node:net';

const FRAME_END = 206;
const FRAME_MAX = 131072;
const DELIVER_BATCH = 100;
/** At most this many delivery batches go into one socket write... */
const MAX_BATCHES_PER_WRITE = 20;
/** ...and no more bytes than this (unless one batch is larger). */
const MAX_BYTES_PER_WRITE = 4 * 1024 * 1024;
/** Output buffers per connection for small messages: a write in flight does not stop the next. */
const OUTPUT_RING = 4;
/** Read rate of `sink-slow` (MiB/s); `sink-slow-<n>` picks another. */
const SLOW_MIB_PER_SEC = 6;
const verbose = process.argv.includes('--verbose');

// ---- encoding (handshake and replies only: not on any hot path) -------------

class Out {
  private buf = Buffer.alloc(256);
  private pos = 0;
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const b = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(b, 0, 0, this.pos);
    this.buf = b;
  }
  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }
  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }
  u64(v: number): this {
    this.ensure(8);
    this.buf.writeBigUInt64BE(BigInt(v), this.pos);
    this.pos += 8;
    return this;
  }
  shortstr(s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.u8(b.length);
    this.bytes(b);
    return this;
  }
  longstr(s: string | Buffer): this {
    const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    this.u32(b.length);
    this.bytes(b);
    return this;
  }
  bytes(b: Buffer): this {
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
    return this;
  }
  /** A field table of strings, booleans and nested tables. */
  table(t: Record<string, string | boolean | Record<string, boolean>>): this {
    const inner = new Out();
    for (const [k, v] of Object.entries(t)) {
      inner.shortstr(k);
      if (typeof v === 'string') inner.u8(0x53).longstr(v);
      else if (typeof v === 'boolean') inner.u8(0x74).u8(v ? 1 : 0);
      else inner.u8(0x46).table(v);
    }
    return this.longstr(inner.done());
  }
  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

function frame(type: number, channel: number, payload: Buffer): Buffer {
  const f = Buffer.allocUnsafe(payload.length + 8);
  f[0] = type;
  f.writeUInt16BE(channel, 1);
  f.writeUInt32BE(payload.length, 3);
  payload.copy(f, 7);
  f[f.length - 1] = FRAME_END;
  return f;
}

function method(channel: number, classId: number, methodId: number, args?: (o: Out) => void): Buffer {
  const o = new Out().u16(classId).u16(methodId);
  if (args) args(o);
  return frame(1, channel, o.done());
}

const CONNECTION_START = method(0, 10, 10, (o) =>
  o
    .u8(0)
    .u8(9)
    .table({
      product: 'coney-bench-fake-server',
      version: '1.0',
      platform: `Node.js ${process.version}`,
      capabilities: {
        publisher_confirms: true,
        exchange_exchange_bindings: true,
        'basic.nack': true,
        consumer_cancel_notify: true,
        'connection.blocked': true,
        consumer_priorities: true,
        authentication_failure_close: true,
        per_consumer_qos: true,
        direct_reply_to: true,
      },
    })
    .longstr('PLAIN AMQPLAIN')
    .longstr('en_US'),
);
const CONNECTION_TUNE = method(0, 10, 30, (o) => o.u16(2047).u32(FRAME_MAX).u16(0));

// ---- decoding of the few method arguments we need ---------------------------

function readShortstr(b: Buffer, p: number): [string, number] {
  const n = b[p];
  return [b.toString('utf8', p + 1, p + 1 + n), p + 1 + n];
}

// ---- connections -------------------------------------------------------------

type Mode = 'handshake' | 'sink' | 'sink-slow' | 'deliver';

interface Stats {
  publishes: number;
  bytes: number;
}

const total: Stats = { publishes: 0, bytes: 0 };
let connectionSeq = 0;

class FakeConnection {
  private readonly id = ++connectionSeq;
  private mode: Mode = 'handshake';
  private gotHeader = false;
  /** Input not parsed yet (a split header or a whole non-publish method frame being assembled). */
  private carry: Buffer | null = null;
  /** Bytes of the current frame still to skip (content frames, publish method frames). */
  private skip = 0;
  private published = 0;
  private bytesIn = 0;
  private confirmChannels = new Set<number>();
  private confirmTagByChannel = new Map<number, number>();
  private publishedByChannel = new Map<number, number>();
  // deliver mode
  private deliverSize = 0;
  private prefetch = 0;
  private delivering = false;
  private sent = 0;
  private acked = 0;
  private template: Buffer | null = null;
  private tagOffsets: number[] = [];
  /** Output buffers (copies of the template, batchesPerWrite() times) not being written. */
  private freeOutput: Buffer[] = [];
  /** Deliveries per batch (the template). */
  private batch = DELIVER_BATCH;
  private waitingDrain = false;
  private slowTimer: NodeJS.Timeout | null = null;
  private slowRate = 0;
  private slowStart = 0;
  private slowBase = 0;
  private closed = false;
  private readonly cpuAtOpen = process.cpuUsage();
  private readonly openedAt = Date.now();

  constructor(private readonly sock: net.Socket) {
    sock.setNoDelay(true);
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('drain', () => {
      this.waitingDrain = false;
      this.pump();
    });
    sock.on('error', () => this.close());
    sock.on('close', () => this.close());
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.slowTimer) clearTimeout(this.slowTimer);
    total.publishes += this.published;
    total.bytes += this.bytesIn;
    if (verbose) {
      const cpu = process.cpuUsage(this.cpuAtOpen);
      const ms = Date.now() - this.openedAt;
      process.stderr.write(
        `STATS conn=${this.id} mode=${this.mode} publishes=${this.published} bytesIn=${this.bytesIn} delivered=${this.sent} ` +
          `open ${ms} ms, server cpu ${Math.round((cpu.user + cpu.system) / 1000)} ms (system ${Math.round(cpu.system / 1000)} ms)\n`,
      );
    }
    this.sock.destroy();
  }

  private send(b: Buffer): void {
    if (!this.closed) this.sock.write(b);
  }

  private onData(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    let off = 0;
    if (!this.gotHeader) {
      // 'AMQP' 0 0 9 1 (assume it arrives in one piece: it is the first write)
      this.gotHeader = true;
      off = 8;
      this.send(CONNECTION_START);
    }
    const published = this.published;
    this.parse(chunk, off);
    if (this.published !== published && this.confirmChannels.size > 0) this.sendConfirms();
    if (this.slowRate > 0) this.throttle();
    if (this.delivering) this.pump();
  }

  /** sink-slow: pauses the socket while more than the allowed bytes have been read. */
  private throttle(): void {
    const ahead = this.bytesIn - this.slowBase - this.slowRate * (Date.now() - this.slowStart);
    if (ahead <= 0 || this.slowTimer !== null) return;
    this.sock.pause();
    this.slowTimer = setTimeout(
      () => {
        this.slowTimer = null;
        if (!this.closed) this.sock.resume();
      },
      Math.ceil(ahead / this.slowRate),
    );
  }

  /** Splits frames by their headers; skips content; decodes only non-publish methods. */
  private parse(chunk: Buffer, off: number): void {
    const len = chunk.length;
    if (this.skip > 0) {
      const n = Math.min(this.skip, len - off);
      this.skip -= n;
      off += n;
    }
    if (this.carry !== null) {
      // complete the head of the frame that straddles reads, taking only what is needed
      let c = this.carry;
      this.carry = null;
      for (;;) {
        const need = this.needFor(c);
        if (c.length >= need) break;
        const take = Math.min(need - c.length, len - off);
        if (take === 0) {
          this.carry = c;
          return;
        }
        c = Buffer.concat([c, chunk.subarray(off, off + take)]);
        off += take;
      }
      if (this.frameAt(c, 0, c.length) < 0) return; // closed
      if (this.skip > 0) {
        const n = Math.min(this.skip, len - off);
        this.skip -= n;
        off += n;
      }
    }
    while (off < len) {
      const r = this.frameAt(chunk, off, len);
      if (r === -1) {
        this.carry = Buffer.from(chunk.subarray(off));
        return;
      }
      if (r < 0) return;
      off += r;
    }
  }

  /** How many bytes of a frame's start must be at hand before {@link frameAt} can deal with it. */
  private needFor(c: Buffer): number {
    if (c.length < 7) return 7;
    if (c[0] !== 1) return 7;
    if (c.length < 11) return 11;
    if (c[7] === 0 && c[8] === 60 && c[9] === 0 && c[10] === 40) return 11; // basic.publish
    return c.readUInt32BE(3) + 8;
  }

  /**
   * Deals with the frame at buf[off]: returns the bytes consumed (setting
   * `skip` for the rest of a frame that goes on past `end`), -1 when more
   * bytes are needed first, -2 when the connection was closed.
   */
  private frameAt(buf: Buffer, off: number, end: number): number {
    if (end - off < 7) return -1;
    const type = buf[off];
    const size = buf.readUInt32BE(off + 3);
    const total = size + 8;
    if (type === 1) {
      if (end - off < 11) return -1;
      const channel = (buf[off + 1] << 8) | buf[off + 2];
      const classId = (buf[off + 7] << 8) | buf[off + 8];
      const methodId = (buf[off + 9] << 8) | buf[off + 10];
      if (classId === 60 && methodId === 40) {
        this.published++;
        if (this.confirmChannels.size > 0) this.publishedByChannel.set(channel, (this.publishedByChannel.get(channel) ?? 0) + 1);
      } else {
        if (end - off < total) return -1; // assemble the whole frame
        this.onMethod(channel, classId, methodId, buf, off + 11);
        return total;
      }
    } else if (type !== 2 && type !== 3 && type !== 8) {
      process.stderr.write(`fake-server: bad frame type ${type} on connection ${this.id}\n`);
      this.close();
      return -2;
    }
    if (end - off < total) {
      this.skip = total - (end - off);
      return end - off;
    }
    return total;
  }

  private sendConfirms(): void {
    for (const ch of this.confirmChannels) {
      const n = this.publishedByChannel.get(ch) ?? 0;
      const acked = this.confirmTagByChannel.get(ch) ?? 0;
      if (n > acked) {
        this.confirmTagByChannel.set(ch, n);
        this.send(method(ch, 60, 80, (o) => o.u64(n).u8(1)));
      }
    }
  }

  private onMethod(ch: number, classId: number, methodId: number, b: Buffer, p: number): void {
    const key = classId * 1000 + methodId;
    switch (key) {
      case 10011: // connection.start-ok
        this.send(CONNECTION_TUNE);
        return;
      case 10031: // connection.tune-ok
        return;
      case 10040: {
        // connection.open
        const [vhost] = readShortstr(b, p);
        this.setMode(vhost);
        this.send(method(0, 10, 41, (o) => o.shortstr('')));
        return;
      }
      case 10050: // connection.close
        this.send(method(0, 10, 51));
        this.sock.end();
        return;
      case 10051: // connection.close-ok
        this.sock.end();
        return;
      case 20010: // channel.open
        this.send(method(ch, 20, 11, (o) => o.longstr('')));
        return;
      case 20040: // channel.close
        this.confirmChannels.delete(ch);
        this.send(method(ch, 20, 41));
        return;
      case 20041: // channel.close-ok
        return;
      case 85010: // confirm.select
        this.confirmChannels.add(ch);
        if ((b[p] & 1) === 0) this.send(method(ch, 85, 11));
        return;
      case 40010: {
        // exchange.declare: ticket, exchange, type, bits
        let q = p + 2;
        [, q] = readShortstr(b, q);
        [, q] = readShortstr(b, q);
        if ((b[q] & 16) === 0) this.send(method(ch, 40, 11));
        return;
      }
      case 50010: {
        // queue.declare: ticket, queue, bits (passive, durable, exclusive, auto-delete, no-wait), args
        let [queue, q] = readShortstr(b, p + 2);
        if (queue === '') queue = `amq.gen-fake-${this.id}-${Math.random().toString(36).slice(2, 10)}`;
        if ((b[q] & 16) === 0) this.send(method(ch, 50, 11, (o) => o.shortstr(queue).u32(0).u32(0)));
        return;
      }
      case 50020: {
        // queue.bind: ticket, queue, exchange, routing key, no-wait, args
        let q = p + 2;
        [, q] = readShortstr(b, q);
        [, q] = readShortstr(b, q);
        [, q] = readShortstr(b, q);
        if ((b[q] & 1) === 0) this.send(method(ch, 50, 21));
        return;
      }
      case 50030: {
        // queue.purge: ticket, queue, no-wait
        const [, q] = readShortstr(b, p + 2);
        if ((b[q] & 1) === 0) this.send(method(ch, 50, 31, (o) => o.u32(0)));
        return;
      }
      case 50040: {
        // queue.delete: ticket, queue, bits
        const [, q] = readShortstr(b, p + 2);
        if ((b[q] & 4) === 0) this.send(method(ch, 50, 41, (o) => o.u32(0)));
        return;
      }
      case 60010: // basic.qos: prefetch-size, prefetch-count, global
        this.prefetch = b.readUInt16BE(p + 4);
        this.send(method(ch, 60, 11));
        return;
      case 60020: {
        // basic.consume: ticket, queue, consumer-tag, bits, args
        let [, q] = readShortstr(b, p + 2);
        let tag: string;
        [tag, q] = readShortstr(b, q);
        if (tag === '') tag = `amq.ctag-fake-${this.id}-${Math.random().toString(36).slice(2, 12)}`;
        if ((b[q] & 8) === 0) this.send(method(ch, 60, 21, (o) => o.shortstr(tag)));
        if (this.mode === 'deliver') this.startDelivering(ch, tag);
        return;
      }
      case 60030: {
        // basic.cancel
        const [tag, q] = readShortstr(b, p);
        this.delivering = false;
        if ((b[q] & 1) === 0) this.send(method(ch, 60, 31, (o) => o.shortstr(tag)));
        return;
      }
      case 60080: {
        // basic.ack from a consumer: delivery-tag (longlong), multiple
        const tag = Number(b.readBigUInt64BE(p));
        if (tag > this.acked) this.acked = tag;
        return; // onData pumps once the whole read is parsed
      }
      case 60090: // basic.reject
      case 60120: // basic.nack
        return;
      default:
        if (verbose) process.stderr.write(`fake-server: ignoring method ${classId}.${methodId}\n`);
    }
  }

  private setMode(vhost: string): void {
    const v = vhost.replace(/^\//, '');
    if (v === 'sink') this.mode = 'sink';
    else if (v === 'sink-slow' || v.startsWith('sink-slow-')) {
      this.mode = 'sink-slow';
      const mib = v === 'sink-slow' ? SLOW_MIB_PER_SEC : Number(v.slice('sink-slow-'.length));
      this.slowRate = (mib * 1024 * 1024) / 1000; // bytes per ms
      this.slowStart = Date.now();
      this.slowBase = this.bytesIn;
    } else if (v.startsWith('deliver-')) {
      this.mode = 'deliver';
      this.deliverSize = Number(v.slice('deliver-'.length));
    } else {
      this.mode = 'sink';
    }
  }

  private startDelivering(ch: number, tag: string): void {
    // one batch of deliveries; tags are patched in before each write
    const body = Buffer.alloc(this.deliverSize, 0x62);
    const parts: Buffer[] = [];
    const offsets: number[] = [];
    let pos = 0;
    this.batch = Math.max(1, Math.min(DELIVER_BATCH, Math.floor((1024 * 1024) / (this.deliverSize + 64))));
    for (let i = 0; i < this.batch; i++) {
      const deliver = method(ch, 60, 60, (o) => o.shortstr(tag).u64(0).u8(0).shortstr('').shortstr('bench'));
      // delivery tag: after frame header (7), ids (4) and the consumer tag
      offsets.push(pos + 7 + 4 + 1 + Buffer.byteLength(tag));
      parts.push(deliver);
      pos += deliver.length;
      const header = frame(2, ch, new Out().u16(60).u16(0).u64(body.length).u16(0).done());
      parts.push(header);
      pos += header.length;
      for (let off = 0; off < body.length; off += FRAME_MAX - 8) {
        const f = frame(3, ch, body.subarray(off, Math.min(body.length, off + FRAME_MAX - 8)));
        parts.push(f);
        pos += f.length;
      }
    }
    this.template = Buffer.concat(parts);
    this.tagOffsets = offsets;
    if (this.batch > 1) {
      const perWrite = this.batchesPerWrite();
      for (let i = 0; i < OUTPUT_RING; i++) {
        const out = Buffer.allocUnsafe(this.template.length * perWrite);
        for (let b = 0; b < perWrite; b++) this.template.copy(out, b * this.template.length);
        this.freeOutput.push(out);
      }
    }
    this.delivering = true;
    // start on the next turn, after the consume-ok went out
    setImmediate(() => this.pump());
  }

  /** Delivery batches that go into one socket write. */
  private batchesPerWrite(): number {
    return Math.max(1, Math.min(MAX_BATCHES_PER_WRITE, Math.floor(MAX_BYTES_PER_WRITE / this.template!.length)));
  }

  /**
   * Writes delivery batches while the socket takes them and the prefetch
   * window allows: as many batches as fit the window, in one write.
   */
  private pump(): void {
    const template = this.template;
    if (!this.delivering || this.waitingDrain || this.closed || template === null) return;
    const size = template.length;
    const perWrite = this.batchesPerWrite();
    const window = this.prefetch > 0 ? 2 * this.prefetch : perWrite * this.batch;
    const batches = Math.min(perWrite, Math.floor((window - (this.sent - this.acked)) / this.batch));
    if (batches <= 0) return;
    let ok: boolean;
    if (this.batch === 1) {
      // large messages: only the deliver frame is patched (a small copy); the content goes out as views of the template
      const head = this.tagOffsets[0] + 8;
      this.sock.cork();
      ok = true;
      for (let b = 0; b < batches; b++) {
        const first = Buffer.from(template.subarray(0, head));
        const tag = ++this.sent;
        first.writeUInt32BE(Math.floor(tag / 0x100000000), head - 8);
        first.writeUInt32BE(tag >>> 0, head - 4);
        this.sock.write(first);
        ok = this.sock.write(template.subarray(head));
      }
      this.sock.uncork();
    } else {
      // small messages: a free output buffer of the ring, already holding copies of the
      // template, gets only its delivery tags patched (no copy, no allocation)
      const out = this.freeOutput.pop();
      if (out === undefined) return; // all in flight: the write callback pumps again
      const offsets = this.tagOffsets;
      const per = this.batch;
      let tag = this.sent;
      for (let b = 0; b < batches; b++) {
        const base = b * size;
        for (let i = 0; i < per; i++) {
          const o = base + offsets[i];
          tag++;
          out.writeUInt32BE(Math.floor(tag / 0x100000000), o);
          out.writeUInt32BE(tag >>> 0, o + 4);
        }
      }
      this.sent = tag;
      ok = this.sock.write(out.subarray(0, size * batches), () => {
        this.freeOutput.push(out);
        this.pump();
      });
    }
    if (ok) {
      // room for more: come back once the acks say so, or right away without a window
      if (this.prefetch === 0) setImmediate(() => this.pump());
    } else {
      this.waitingDrain = true;
    }
  }
}

const server = net.createServer((sock) => new FakeConnection(sock));
const port = Number(process.argv.find((a, i) => i >= 2 && /^\d+$/.test(a)) ?? 0);
server.listen(port, '127.0.0.1', () => {
  const addr = server.address() as net.AddressInfo;
  process.stdout.write(`LISTENING ${addr.port}\n`);
});
// the parent holds our stdin: when it goes away, so do we
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
