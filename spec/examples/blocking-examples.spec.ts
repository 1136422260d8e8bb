/** examples/blocking-publish.ts, blocking-consume.ts, blocking-basic-get.ts: pika's BlockingConnection examples on the promise API. */
import { expect } from 'chai';
import { uniqueName } from '../support/broker';
import { cleanUp } from '../support/callbacks';
import { queueMessageCount, runExample } from './helpers';

describe('examples/blocking-publish.ts', function () {
  this.timeout(30000);
  it('confirms what fits, nacks what the full queue refuses, reports the unroutable one', async () => {
    const r = await runExample('blocking-publish', ['--count', '5', '--max-length', '3']);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout.match(/^message \d of 5: publish was confirmed$/gm)).to.have.length(3);
    expect(r.stdout).to.match(/^message 4 of 5: nacked by the broker/m);
    expect(r.stdout).to.match(/^message 5 of 5: nacked by the broker/m);
    expect(r.stdout).to.match(/^message to nowhere: could not be routed \(.*312 NO_ROUTE\)$/m);
    expect(r.stdout).to.include('confirmed 3, nacked 2, unroutable 1');
  });
});

describe('examples/blocking-consume.ts', function () {
  this.timeout(30000);
  const queue = uniqueName('ex-blocking-consume');
  after(() => cleanUp([queue]));

  it('stops after --count messages; cancel() requeues the buffered rest', async () => {
    const r = await runExample('blocking-consume', ['--queue', queue, '--publish', '20', '--count', '10', '--idle', '5']);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout.match(/^#\d+ .*: message \d+ of 20$/gm)).to.have.length(10);
    const requeued = Number(/^received 10, requeued (\d+) messages$/m.exec(r.stdout)?.[1]);
    expect(requeued, r.stdout).to.be.within(0, 10);
    // acked 10; the requeued ones and any never delivered are back in the queue
    expect(await queueMessageCount(queue)).to.equal(10);
  });

  it('stops once idle for --idle seconds, nothing left to requeue', async () => {
    const started = Date.now();
    const r = await runExample('blocking-consume', ['--queue', queue, '--count', '100', '--idle', '1']);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout.match(/^#\d+ .*: message \d+ of 20$/gm)).to.have.length(10);
    expect(r.stdout).to.include('no message for 1 s');
    expect(r.stdout).to.include('received 10, requeued 0 messages');
    expect(Date.now() - started).to.be.below(15000);
    expect(await queueMessageCount(queue)).to.equal(0);
  });
});

describe('examples/blocking-basic-get.ts', function () {
  this.timeout(30000);
  it('gets null from the empty queue, then each message until empty', async () => {
    const r = await runExample('blocking-basic-get', ['--count', '4']);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^no message returned$/m);
    expect(r.stdout.match(/^got #\d+ \(text\/plain\): message \d of 4 \(\d left\)$/gm)).to.have.length(4);
    expect(r.stdout).to.include('got #4 (text/plain): message 4 of 4 (0 left)');
    expect(r.stdout).to.include('queue empty: got 4 messages');
  });
});
