/**
 * Link: one byte stream to the broker (transport, parser, heartbeat). Its
 * transport handlers act only while it is live; drop() retires it for good,
 * ending or destroying the stream and stopping its heartbeat.
 */
import { expect } from 'chai';
import { VirtualIOLoop } from '../../lib/adapters/virtual-ioloop';
import { HeartbeatChecker } from '../../lib/engine/heartbeat-checker';
import type { Transport } from '../../lib/engine/ioloop';
import { Link, type LinkEvents } from '../../lib/engine/link';

/** A transport that records how it was closed. */
class FakeTransport implements Transport {
  readonly calls: string[] = [];
  readonly bufferedBytes = 0;
  write(): boolean {
    this.calls.push('write');
    return true;
  }
  end(): void {
    this.calls.push('end');
  }
  destroy(): void {
    this.calls.push('destroy');
  }
}

/** Events that record what reached the connection; onLinkData answers `keep ? false : true`. */
function recordingEvents(keep = false): { events: LinkEvents; seen: unknown[][] } {
  const seen: unknown[][] = [];
  return {
    seen,
    events: {
      onLinkData: (link, chunk) => (seen.push(['data', link, chunk.toString()]), !keep),
      onLinkClosed: (link, err) => void seen.push(['closed', link, err]),
      onLinkDrain: () => void seen.push(['drain']),
    },
  };
}

describe('Link', () => {
  it('starts live, with no transport yet, a parser bounded by maxMessageSize, no heartbeat', () => {
    const link = new Link(1234);
    expect(link.live).to.equal(true);
    expect(link.transport).to.equal(null);
    expect(link.heartbeat).to.equal(null);
    expect(link.parser.maxMessageSize).to.equal(1234);
    expect(new Link(99).parser, 'a parser of its own').not.to.equal(link.parser);
  });

  describe('handlers', () => {
    it('pass data, close and drain to the connection while live, naming the link', () => {
      const link = new Link(1 << 20);
      const { events, seen } = recordingEvents();
      const h = link.handlers(events);
      const err = new Error('reset');
      expect(h.onData(Buffer.from('abc'))).to.equal(true);
      h.onDrain();
      h.onClose(err);
      expect(seen).to.deep.equal([['data', link, 'abc'], ['drain'], ['closed', link, err]]);
    });

    it("return the connection's answer for a chunk: false when something kept it", () => {
      const link = new Link(1 << 20);
      expect(link.handlers(recordingEvents(true).events).onData(Buffer.from('x'))).to.equal(false);
    });

    it('do nothing once the link is dropped, and release every chunk', () => {
      const link = new Link(1 << 20);
      const { events, seen } = recordingEvents(true);
      const h = link.handlers(events);
      link.drop(false);
      expect(h.onData(Buffer.from('late bytes'))).to.equal(true);
      h.onDrain();
      h.onClose(null);
      expect(seen).to.deep.equal([]);
    });
  });

  describe('drop', () => {
    it('graceful: ends the stream (pending writes still go out)', () => {
      const link = new Link(1 << 20);
      const transport = new FakeTransport();
      link.transport = transport;
      link.drop(true);
      expect(transport.calls).to.deep.equal(['end']);
      expect(link.transport).to.equal(null);
      expect(link.live).to.equal(false);
    });

    it('not graceful: destroys the stream', () => {
      const link = new Link(1 << 20);
      const transport = new FakeTransport();
      link.transport = transport;
      link.drop(false);
      expect(transport.calls).to.deep.equal(['destroy']);
    });

    it('stops the heartbeat checker', () => {
      const loop = new VirtualIOLoop();
      const link = new Link(1 << 20);
      const beats: number[] = [];
      link.heartbeat = new HeartbeatChecker(
        loop,
        { lastReceivedAt: 0, lastSentAt: 0, sendHeartbeat: () => beats.push(loop.now()), onHeartbeatTimeout: () => beats.push(-1) },
        10,
      );
      expect(loop.pendingTimerCount).to.equal(1);
      link.drop(true);
      expect(link.heartbeat).to.equal(null);
      expect(loop.pendingTimerCount).to.equal(0);
      loop.advance(60);
      expect(beats).to.deep.equal([]);
    });

    it('works before the connect completed, and only once', () => {
      const link = new Link(1 << 20);
      expect(() => link.drop(true)).not.to.throw();
      expect(link.live).to.equal(false);
      const transport = new FakeTransport();
      const other = new Link(1 << 20);
      other.transport = transport;
      other.drop(true);
      other.drop(false);
      expect(transport.calls, 'the stream is closed once').to.deep.equal(['end']);
    });
  });
});
