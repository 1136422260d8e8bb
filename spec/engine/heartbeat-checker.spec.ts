/**
 * HeartbeatChecker on the virtual loop: it ticks every half interval, sends
 * a heartbeat when we have been silent for half an interval, and declares
 * the peer dead after two silent intervals. The host is scripted: it records
 * what the checker asks, and the test says when bytes came and went.
 */
import { expect } from 'chai';
import { VirtualIOLoop } from '../../lib/adapters/virtual-ioloop';
import { HeartbeatChecker, type HeartbeatHost } from '../../lib/engine/heartbeat-checker';

class Host implements HeartbeatHost {
  lastReceivedAt = 0;
  lastSentAt = 0;
  /** Virtual times of the heartbeats sent. */
  readonly heartbeats: number[] = [];
  /** [virtual time, silent seconds] of each timeout. */
  readonly timeouts: Array<[number, number]> = [];

  constructor(private readonly loop: VirtualIOLoop) {}

  sendHeartbeat(): void {
    this.heartbeats.push(this.loop.now());
    this.lastSentAt = this.loop.now(); // the frame goes out like any other
  }

  onHeartbeatTimeout(silentSeconds: number): void {
    this.timeouts.push([this.loop.now(), silentSeconds]);
  }
}

function setup(interval: number): { loop: VirtualIOLoop; host: Host; checker: HeartbeatChecker } {
  const loop = new VirtualIOLoop();
  const host = new Host(loop);
  return { loop, host, checker: new HeartbeatChecker(loop, host, interval) };
}

/** Runs the loop to `t` seconds, the peer sending something at each of `at` (virtual times). */
function peerSendsAt(loop: VirtualIOLoop, host: Host, at: number[], until: number): void {
  for (const t of at) {
    loop.advance(t - loop.now());
    host.lastReceivedAt = loop.now();
  }
  loop.advance(until - loop.now());
}

describe('HeartbeatChecker', () => {
  it('keeps the interval and ticks first after half of it', () => {
    const { loop, checker } = setup(10);
    expect(checker.interval).to.equal(10);
    expect(loop.pendingTimerCount).to.equal(1);
    expect(loop.nextTimerAt).to.equal(5);
  });

  it('sends a heartbeat every half interval while we have nothing else to send', () => {
    const { loop, host } = setup(10);
    peerSendsAt(loop, host, [4, 9, 14, 19, 24], 25);
    expect(host.heartbeats).to.deep.equal([5, 10, 15, 20, 25]);
    expect(host.timeouts).to.deep.equal([]);
  });

  it('sends none while other frames go out', () => {
    const { loop, host } = setup(10);
    for (let t = 1; t <= 30; t++) {
      loop.advance(1);
      host.lastSentAt = loop.now();
      host.lastReceivedAt = loop.now();
    }
    expect(host.heartbeats).to.deep.equal([]);
    expect(host.timeouts).to.deep.equal([]);
  });

  it('sends one once the last frame out is half an interval old, within a millisecond of tolerance', () => {
    const { loop, host } = setup(10);
    loop.advance(4);
    host.lastSentAt = 0.0005; // 4.9995 s before the tick at 5: "half an interval", timers may fire a hair early
    loop.advance(1);
    expect(host.heartbeats).to.deep.equal([5]);
    host.lastReceivedAt = 5;
    host.lastSentAt = 5.002; // 4.998 s before the tick at 10: not yet
    loop.advance(5);
    expect(host.heartbeats).to.deep.equal([5]);
  });

  it('declares the peer dead after two silent intervals, once, and stops ticking', () => {
    const { loop, host } = setup(10);
    loop.advance(19.999);
    expect(host.timeouts).to.deep.equal([]);
    expect(host.heartbeats, 'ours keep going while the peer is silent').to.deep.equal([5, 10, 15]);
    loop.advance(0.001);
    expect(host.timeouts).to.deep.equal([[20, 20]]);
    expect(host.heartbeats, 'no heartbeat at the tick that times out').to.deep.equal([5, 10, 15]);
    expect(loop.pendingTimerCount).to.equal(0);
    loop.advance(100);
    expect(host.timeouts).to.have.length(1);
  });

  it('counts the silence from the last byte received, seen at the next tick', () => {
    const { loop, host } = setup(10);
    peerSendsAt(loop, host, [12], 34.9);
    expect(host.timeouts).to.deep.equal([]);
    loop.advance(0.1);
    expect(host.timeouts).to.deep.equal([[35, 23]]);
  });

  it('stop() cancels the pending tick: no heartbeat, no timeout afterwards', () => {
    const { loop, host, checker } = setup(10);
    loop.advance(6);
    expect(host.heartbeats).to.deep.equal([5]);
    checker.stop();
    expect(loop.pendingTimerCount).to.equal(0);
    loop.advance(100);
    expect(host.heartbeats).to.deep.equal([5]);
    expect(host.timeouts).to.deep.equal([]);
    checker.stop();
    expect(loop.pendingTimerCount).to.equal(0);
  });

  it('works with short intervals (1 s: ticks every 0.5 s, dead after 2 s)', () => {
    const { loop, host } = setup(1);
    loop.advance(2);
    expect(host.heartbeats).to.deep.equal([0.5, 1, 1.5]);
    expect(host.timeouts).to.deep.equal([[2, 2]]);
  });
});
