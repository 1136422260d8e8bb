/**
 * SocketReader: a plain socket's reads into slabs of ours, reusing the bytes
 * of a chunk its sink released. Driven as Node drives `onread`: `buffer()`
 * for the room of the next read, then `callback(n, room)`; and once through
 * a real loopback socket.
 *
 * Run alone: npx mocha --no-config -r tsx/cjs --extension ts spec/adapters/socket-reader.spec.ts
 */
import { expect } from 'chai';
import * as net from 'node:net';
import { SocketReader } from '../../lib/adapters/socket-reader';

/** One read of `bytes`, as Node makes it: into the room the reader offers. */
function read(r: SocketReader, bytes: Buffer): Buffer {
  const room = r.onread.buffer();
  expect(room.length).to.be.at.least(bytes.length, 'room for the read');
  bytes.copy(room);
  r.onread.callback(bytes.length, room);
  return room;
}

const fill = (n: number, byte: number) => Buffer.alloc(n, byte);
const sameMemory = (a: Buffer, b: Buffer) => a.buffer === b.buffer && a.byteOffset === b.byteOffset;

describe('adapters/socket-reader', () => {
  it('offers at least 64 KiB of room for a read', () => {
    expect(new SocketReader().onread.buffer().length).to.be.at.least(64 * 1024);
  });

  it('hands a large read on as a view of just the bytes read', () => {
    const r = new SocketReader();
    const got: Buffer[] = [];
    r.attach((chunk) => {
      got.push(chunk);
      return false;
    });
    const room = read(r, fill(20000, 7));
    expect(got).to.have.length(1);
    expect(got[0].equals(fill(20000, 7))).to.equal(true);
    expect(sameMemory(got[0], room), 'no copy').to.equal(true);
  });

  it('reads into the same memory again after the sink released a large chunk, not after it kept one', () => {
    const r = new SocketReader();
    let release = true;
    r.attach(() => release);
    const first = r.onread.buffer();
    read(r, fill(20000, 1));
    expect(sameMemory(r.onread.buffer(), first), 'released: same room').to.equal(true);
    release = false;
    read(r, fill(20000, 2));
    expect(r.onread.buffer().byteOffset).to.equal(first.byteOffset + 20000, 'kept: the next read goes after it');
  });

  it('hands a small read on as a copy of its own (exact size), and reads into the same memory again', () => {
    const r = new SocketReader();
    const got: Buffer[] = [];
    r.attach((chunk) => {
      got.push(chunk);
      return false; // even when kept
    });
    const first = r.onread.buffer();
    for (let i = 0; i < 3; i++) read(r, fill(16 * 1024, i));
    expect(sameMemory(r.onread.buffer(), first)).to.equal(true);
    got.forEach((chunk, i) => {
      expect(chunk.buffer).to.not.equal(first.buffer, 'not a view of the slab');
      expect(chunk.buffer.byteLength, 'a buffer of its own').to.equal(16 * 1024);
      expect(chunk.equals(fill(16 * 1024, i))).to.equal(true);
    });
  });

  it('never overwrites a chunk the sink kept, across slabs', () => {
    const r = new SocketReader();
    const kept: Array<[Buffer, number]> = [];
    let i = 0;
    r.attach((chunk) => {
      // keep every third chunk; release the others
      const keep = i % 3 === 0;
      if (keep) kept.push([chunk, i & 0xff]);
      i++;
      return !keep;
    });
    const slabs = new Set<ArrayBufferLike>();
    for (let n = 0; n < 60; n++) slabs.add(read(r, fill(20000 + n * 997, n & 0xff)).buffer);
    expect(slabs.size, 'several slabs were used').to.be.greaterThan(1);
    for (const [chunk, byte] of kept) expect(chunk.equals(fill(chunk.length, byte)), `kept chunk of byte ${byte}`).to.equal(true);
  });

  it('moves to a new slab once less than 64 KiB of room is left', () => {
    const r = new SocketReader();
    r.attach(() => false);
    const slab = r.onread.buffer().buffer;
    read(r, fill(200 * 1024, 1));
    const next = r.onread.buffer();
    expect(next.buffer).to.not.equal(slab);
    expect(next.length).to.be.at.least(64 * 1024);
  });

  it('keeps chunks read before a sink was attached and delivers them first, on a later turn', async () => {
    const r = new SocketReader();
    read(r, Buffer.from('early-1'));
    read(r, Buffer.from('early-2'));
    const got: string[] = [];
    r.attach((chunk) => {
      got.push(String(chunk));
      return true;
    });
    expect(got).to.deep.equal([], 'not synchronously');
    await new Promise((resolve) => setImmediate(resolve));
    read(r, Buffer.from('late'));
    expect(got).to.deep.equal(['early-1', 'early-2', 'late']);
  });

  it('stops delivering once detached', () => {
    const r = new SocketReader();
    const got: string[] = [];
    r.attach((chunk) => got.push(String(chunk)) < 0);
    read(r, Buffer.from('a'));
    r.attach(null);
    read(r, Buffer.from('b'));
    expect(got).to.deep.equal(['a']);
  });

  it('reads a real socket: every byte arrives, in order, kept chunks intact', async () => {
    const total = 3 * 1024 * 1024;
    const payload = Buffer.alloc(total);
    for (let k = 0; k < total; k++) payload[k] = (k * 7 + (k >>> 11)) & 0xff;
    const server = net.createServer((s) => s.end(payload));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const r = new SocketReader();
      const kept: Buffer[] = [];
      const copies: Buffer[] = [];
      let n = 0;
      r.attach((chunk) => {
        // keep every other chunk as it is, copy the rest and release them
        if (n++ % 2 === 0) {
          kept.push(chunk);
          copies.push(chunk);
          return false;
        }
        copies.push(Buffer.from(chunk));
        return true;
      });
      const port = (server.address() as net.AddressInfo).port;
      const socket = net.connect({ host: '127.0.0.1', port, onread: r.onread });
      await new Promise<void>((resolve, reject) => {
        socket.on('end', resolve);
        socket.on('error', reject);
        socket.resume();
      });
      socket.destroy();
      expect(Buffer.concat(copies).equals(payload)).to.equal(true);
      expect(kept.length).to.be.greaterThan(0);
    } finally {
      server.close();
    }
  });
});
