/**
 * The loops' running state: start() settles on stop(), and a stop() that
 * comes before start() makes that start() return at once (pika's rule), so
 * that a connection that failed early never leaves `await ioloop.start()` hanging.
 */
import { expect } from 'chai';
import { NodeIOLoop } from '../../lib';
import { RunGate } from '../../lib/adapters/run-gate';

describe('adapters/run-gate', () => {
  it('start() settles on stop()', async () => {
    const gate = new RunGate();
    let settled = false;
    const run = gate.open().then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect([gate.isOpen, settled]).to.deep.equal([true, false]);
    gate.close();
    await run;
    expect([gate.isOpen, settled]).to.deep.equal([false, true]);
  });

  it('a stop() before start() makes the next start() return at once, once', async () => {
    const loop = new NodeIOLoop();
    loop.stop();
    const started = Date.now();
    await loop.start();
    expect(Date.now() - started).to.be.below(1000);
    expect(loop.isRunning).to.equal(false);
    // the stop was used up: the next start runs until the next stop
    let settled = false;
    const run = loop.start().then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).to.equal(false);
    loop.stop();
    await run;
    expect(settled).to.equal(true);
  });
});
