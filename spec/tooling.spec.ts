/**
 * The test tooling itself: the throwaway broker that `npm test` starts (plain
 * and TLS listeners, vhosts, rabbitmqctl access), checked with raw sockets so
 * that these tests do not depend on lib/. The prerequisite checker, which needs
 * no broker, is tested in spec/tools/check-prereqs.spec.ts.
 */
import { expect } from 'chai';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { amqpUrl, amqpsInfo, deniedVhost, rabbitmqctl, testVhost, uniqueName } from './support/broker';

// --- a few raw AMQP 0-9-1 frames -------------------------------------------

const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

interface RawFrame {
  type: number;
  channel: number;
  payload: Buffer;
}

function frame(type: number, channel: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(7);
  head.writeUInt8(type, 0);
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([0xce])]);
}

function shortstr(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length]), b]);
}

function longstr(s: string | Buffer): Buffer {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length, 0);
  return Buffer.concat([len, b]);
}

function method(classId: number, methodId: number, ...args: Buffer[]): Buffer {
  const ids = Buffer.alloc(4);
  ids.writeUInt16BE(classId, 0);
  ids.writeUInt16BE(methodId, 2);
  return frame(1, 0, Buffer.concat([ids, ...args]));
}

/** Reads whole frames from a socket, one at a time. */
class RawConnection {
  private buf = Buffer.alloc(0);
  private waiting: ((f: RawFrame | Error) => void) | undefined;
  private failure: Error | undefined;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      this.deliver();
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('socket closed')));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const w = this.waiting;
    this.waiting = undefined;
    w?.(err);
  }

  private deliver(): void {
    if (!this.waiting || this.buf.length < 8) return;
    const size = this.buf.readUInt32BE(3);
    if (this.buf.length < size + 8) return;
    const f: RawFrame = { type: this.buf[0], channel: this.buf.readUInt16BE(1), payload: this.buf.subarray(7, 7 + size) };
    const end = this.buf[7 + size];
    this.buf = this.buf.subarray(size + 8);
    const w = this.waiting;
    this.waiting = undefined;
    w(end === 0xce ? f : new Error(`bad frame end ${end}`));
  }

  next(timeoutMs = 10000): Promise<RawFrame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a frame')), timeoutMs);
      this.waiting = (f) => {
        clearTimeout(timer);
        if (f instanceof Error) reject(f);
        else resolve(f);
      };
      const pending = this.waiting;
      this.deliver();
      if (this.waiting === pending && this.failure && this.buf.length === 0) this.fail(this.failure);
    });
  }

  /** The next frame, which must be a method frame of class/method; returns its arguments. */
  async expectMethod(classId: number, methodId: number): Promise<Buffer> {
    const f = await this.next();
    expect(f.type, 'frame type').to.equal(1);
    const got = [f.payload.readUInt16BE(0), f.payload.readUInt16BE(2)];
    if (got[0] === 10 && got[1] === 50 && !(classId === 10 && methodId === 50)) {
      const code = f.payload.readUInt16BE(4);
      const text = f.payload.subarray(7, 7 + f.payload[6]).toString();
      throw new Error(`broker closed the connection: ${code} ${text}`);
    }
    expect(got, 'class and method ids').to.deep.equal([classId, methodId]);
    return f.payload.subarray(4);
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  close(): void {
    this.socket.destroy();
  }
}

function connectPlain(url: string): Promise<RawConnection> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port || 5672) }, () => resolve(new RawConnection(s)));
    s.once('error', reject);
  });
}

function connectTls(options: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect(options, () => resolve(s));
    s.once('error', reject);
  });
}

/** Parses Connection.Start arguments: version, server properties (raw), mechanisms, locales. */
function parseStart(args: Buffer): { major: number; minor: number; mechanisms: string[]; locales: string } {
  const major = args[0];
  const minor = args[1];
  const tableLen = args.readUInt32BE(2);
  let pos = 6 + tableLen;
  const mechLen = args.readUInt32BE(pos);
  const mechanisms = args
    .subarray(pos + 4, pos + 4 + mechLen)
    .toString()
    .split(' ');
  pos += 4 + mechLen;
  const locLen = args.readUInt32BE(pos);
  const locales = args.subarray(pos + 4, pos + 4 + locLen).toString();
  return { major, minor, mechanisms, locales };
}

/** Handshake up to Connection.Open; resolves 'open' or the broker's close reply code and text. */
async function handshake(conn: RawConnection, mechanism: string, response: Buffer, vhost: string): Promise<string> {
  conn.write(PROTOCOL_HEADER);
  await conn.expectMethod(10, 10); // start
  conn.write(method(10, 11, Buffer.alloc(4) /* empty client-properties */, shortstr(mechanism), longstr(response), shortstr('en_US')));
  const tune = await conn.expectMethod(10, 30);
  const channelMax = tune.readUInt16BE(0);
  const tuneOk = Buffer.alloc(8);
  tuneOk.writeUInt16BE(channelMax, 0);
  tuneOk.writeUInt32BE(131072, 2);
  tuneOk.writeUInt16BE(0, 6);
  conn.write(method(10, 31, tuneOk));
  conn.write(method(10, 40, shortstr(vhost), shortstr(''), Buffer.from([0])));
  const f = await conn.next();
  const ids = [f.payload.readUInt16BE(0), f.payload.readUInt16BE(2)];
  if (ids[0] === 10 && ids[1] === 41) return 'open';
  if (ids[0] === 10 && ids[1] === 50) {
    return `${f.payload.readUInt16BE(4)} ${f.payload.subarray(7, 7 + f.payload[6]).toString()}`;
  }
  throw new Error(`unexpected method ${ids.join('/')}`);
}

const plainResponse = (user: string, pass: string): Buffer => Buffer.from(`\0${user}\0${pass}`, 'utf8');

// ---------------------------------------------------------------------------

describe('test tooling: the throwaway broker', function () {
  this.timeout(60000);

  it('AMQP_URL is set and the broker answers the protocol header with Connection.Start', async () => {
    const url = amqpUrl();
    expect(url).to.match(/^amqp:\/\//);
    const conn = await connectPlain(url);
    try {
      conn.write(PROTOCOL_HEADER);
      const f = await conn.next();
      expect(f.type, 'frame type').to.equal(1);
      expect(f.channel).to.equal(0);
      expect(f.payload.readUInt16BE(0), 'class id').to.equal(10);
      expect(f.payload.readUInt16BE(2), 'method id').to.equal(10);
      const start = parseStart(f.payload.subarray(4));
      expect([start.major, start.minor]).to.deep.equal([0, 9]);
      expect(start.mechanisms).to.include('PLAIN');
    } finally {
      conn.close();
    }
  });

  it('guest can open the default vhost and the test vhost, and is refused the denied vhost', async () => {
    const url = amqpUrl();
    for (const [vhost, expected] of [
      ['/', /^open$/],
      [testVhost(), /^open$/],
      [deniedVhost(), /^530 NOT_ALLOWED/],
    ] as const) {
      const conn = await connectPlain(url);
      try {
        expect(await handshake(conn, 'PLAIN', plainResponse('guest', 'guest'), vhost), vhost).to.match(expected);
      } finally {
        conn.close();
      }
    }
  });

  it('rabbitmqctl reaches the node', async () => {
    const status = await rabbitmqctl(['status']);
    expect(status).to.include(process.env['CONEY_BROKER_NODENAME']);
    expect(status).to.match(/RabbitMQ version: 3\./);
    const vhosts = await rabbitmqctl(['-q', 'list_vhosts']);
    expect(vhosts).to.include(deniedVhost());
    const perms = await rabbitmqctl(['-q', 'list_permissions', '-p', deniedVhost()]);
    expect(perms).not.to.include('guest');
  });

  it('rabbitmqctl can change the broker at run time (add and delete a vhost)', async () => {
    const vhost = uniqueName('tooling-vhost');
    await rabbitmqctl(['add_vhost', vhost]);
    try {
      expect(await rabbitmqctl(['-q', 'list_vhosts'])).to.include(vhost);
    } finally {
      await rabbitmqctl(['delete_vhost', vhost]);
    }
    expect(await rabbitmqctl(['-q', 'list_vhosts'])).not.to.include(vhost);
  });

  it('the TLS listener completes a handshake verified with the generated CA', async () => {
    const info = amqpsInfo();
    const u = new URL(info.url);
    expect(u.protocol).to.equal('amqps:');
    const sock = await connectTls({ host: u.hostname, port: Number(u.port), ca: info.ca, servername: 'localhost' });
    try {
      expect(sock.authorized, String(sock.authorizationError)).to.equal(true);
      const conn = new RawConnection(sock);
      expect(await handshake(conn, 'PLAIN', plainResponse('guest', 'guest'), '/')).to.equal('open');
    } finally {
      sock.destroy();
    }
  });

  it('SASL EXTERNAL login works over TLS with the client certificate', async () => {
    const info = amqpsInfo();
    const u = new URL(info.url);
    const sock = await connectTls({
      host: u.hostname,
      port: Number(u.port),
      ca: info.ca,
      cert: info.cert,
      key: info.key,
      servername: 'localhost',
    });
    const conn = new RawConnection(sock);
    try {
      conn.write(PROTOCOL_HEADER);
      const start = parseStart(await conn.expectMethod(10, 10));
      expect(start.mechanisms).to.include('EXTERNAL');
      conn.close();
      const sock2 = await connectTls({
        host: u.hostname,
        port: Number(u.port),
        ca: info.ca,
        cert: info.cert,
        key: info.key,
        servername: 'localhost',
      });
      const conn2 = new RawConnection(sock2);
      try {
        expect(await handshake(conn2, 'EXTERNAL', Buffer.alloc(0), '/')).to.equal('open');
      } finally {
        conn2.close();
      }
    } finally {
      conn.close();
    }
  });
});
