/**
 * OutboundBuffer: secret frames (connection.start-ok with eraseOnConnect)
 * are zeroed only once the transport no longer needs their bytes.
 */
import { expect } from 'chai';
import { VirtualIOLoop } from '../../lib/adapters/virtual-ioloop';
import type { Transport } from '../../lib/engine/ioloop';
import { ConnectionStats } from '../../lib/engine/connection-stats';
import { OutboundBuffer } from '../../lib/engine/outbound-buffer';
import { encodeMethodFrame, encodeSecretMethodFrame } from '../../lib/wire/frame-writer';
import * as spec from '../../lib/wire/spec';

const PASSWORD = Buffer.from('S3cr3tPw-Zq9');

/** A transport that keeps the chunks it is given by reference, as a Node socket does until the OS takes them. */
class HoldingTransport implements Transport {
  readonly chunks: Buffer[] = [];
  bufferedBytes = 0;
  write(chunks: Buffer[]): boolean {
    this.chunks.push(...chunks);
    return true;
  }
  end(): void {}
  destroy(): void {}
}

function startOk(): spec.Connection.StartOk {
  return new spec.Connection.StartOk({
    clientProperties: { product: 'test' },
    response: Buffer.concat([Buffer.from('\0user\0'), PASSWORD]),
  });
}

const holds = (b: Buffer) => b.includes(PASSWORD);

function setup() {
  const loop = new VirtualIOLoop();
  const outbound = new OutboundBuffer(loop, { onBackpressure() {}, onDrain() {} }, new ConnectionStats());
  const transport = new HoldingTransport();
  outbound.attach(transport);
  return { loop, outbound, transport };
}

describe('engine/outbound-buffer', () => {
  describe('writeMethod(..., { wipeAfterWrite: true })', () => {
    it('zeroes the frame right after the write when the transport passed it on at once', () => {
      const { loop, outbound, transport } = setup();
      transport.write = function (chunks) {
        // Checked at write time: the bytes were intact when handed over.
        expect(chunks.some(holds)).to.equal(true);
        this.chunks.push(...chunks);
        return true;
      };
      outbound.writeMethod(0, startOk(), { wipeAfterWrite: true });
      loop.runUntilIdle();
      expect(transport.chunks.length).to.be.greaterThan(0);
      expect(transport.chunks.filter(holds)).to.deep.equal([]);
    });

    it('keeps the bytes while the transport still buffers them, and zeroes them on its drain', () => {
      const { loop, outbound, transport } = setup();
      transport.bufferedBytes = 1000; // the socket has not written them yet
      outbound.writeMethod(0, startOk(), { wipeAfterWrite: true });
      loop.runUntilIdle();
      expect(transport.chunks.some(holds), 'not zeroed under the socket').to.equal(true);
      transport.bufferedBytes = 0;
      outbound.onTransportDrain();
      expect(transport.chunks.filter(holds)).to.deep.equal([]);
    });

    it('zeroes them at the next flush once the transport has nothing buffered (the broker answered)', () => {
      const { loop, outbound, transport } = setup();
      transport.bufferedBytes = 1000;
      outbound.writeMethod(0, startOk(), { wipeAfterWrite: true });
      loop.runUntilIdle();
      expect(transport.chunks.some(holds)).to.equal(true);
      transport.bufferedBytes = 0;
      outbound.writeMethod(0, new spec.Connection.TuneOk({ channelMax: 1, frameMax: 4096, heartbeat: 0 }));
      // Even if the new batch itself stays buffered: the check runs before it is written.
      transport.write = function (chunks) {
        this.chunks.push(...chunks);
        this.bufferedBytes = 20;
        return true;
      };
      loop.runUntilIdle();
      expect(transport.chunks.filter(holds)).to.deep.equal([]);
    });

    it('zeroes at detach a frame never written; lets go without zeroing one the transport still buffers', () => {
      const a = setup();
      a.outbound.writeMethod(0, startOk(), { wipeAfterWrite: true });
      const before = a.outbound.pendingBytes;
      expect(before).to.be.greaterThan(0);
      const queued = (a.outbound as unknown as { writer: { secretsQueued: Buffer[] } }).writer.secretsQueued.slice();
      expect(queued.some(holds)).to.equal(true);
      a.outbound.detach(); // before any flush
      expect(a.transport.chunks).to.deep.equal([]);
      expect(queued.filter(holds)).to.deep.equal([]);

      const b = setup();
      b.transport.bufferedBytes = 1000;
      b.outbound.writeMethod(0, startOk(), { wipeAfterWrite: true });
      b.loop.runUntilIdle();
      b.outbound.detach();
      // A graceful end may still flush it: zeroing would send zeros.
      expect(b.transport.chunks.some(holds)).to.equal(true);
    });

    it("zeroes the method's own response even when nothing is accepted any more", () => {
      const { outbound } = setup();
      outbound.detach();
      const method = startOk();
      outbound.writeMethod(0, method, { wipeAfterWrite: true });
      expect((method.response as Buffer).every((x) => x === 0)).to.equal(true);
    });

    it('without the option, writes as before: nothing is zeroed', () => {
      const { loop, outbound, transport } = setup();
      const method = startOk();
      outbound.writeMethod(0, method);
      loop.runUntilIdle();
      expect(transport.chunks.some(holds)).to.equal(true);
      expect(holds(method.response as Buffer)).to.equal(true);
    });
  });

  describe('writeFrame / writeSecretFrame (frames encoded when their call was made)', () => {
    it('writeFrame sends the bytes once flushed', () => {
      const { loop, outbound, transport } = setup();
      const frame = encodeMethodFrame(1, new spec.Basic.Qos({ prefetchCount: 10 }));
      outbound.writeFrame(frame);
      expect(outbound.pendingBytes).to.equal(frame.length);
      loop.runUntilIdle();
      expect(Buffer.concat(transport.chunks)).to.deep.equal(frame);
    });

    it('writeSecretFrame zeroes the frame once the transport passed it on, and at once when nothing is accepted', () => {
      const { loop, outbound, transport } = setup();
      const frame = encodeSecretMethodFrame(0, startOk());
      outbound.writeSecretFrame(frame);
      loop.runUntilIdle();
      expect(transport.chunks).to.include(frame);
      expect(frame.every((b) => b === 0)).to.equal(true);

      const late = encodeSecretMethodFrame(0, startOk());
      outbound.detach();
      outbound.writeSecretFrame(late);
      expect(late.every((b) => b === 0)).to.equal(true);
    });
  });
});
