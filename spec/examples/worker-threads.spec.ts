/**
 * examples/worker-threads-consumer.ts: with heartbeat 1 s and 5 s of work per
 * message, worker threads keep the connection alive and every message is
 * acked; --block does the work on the loop and the connection is dropped.
 */
import { expect } from 'chai';
import { uniqueName } from '../support/broker';
import { queueMessageCount, runExample } from './helpers';
import { cleanUp } from '../support/callbacks';

describe('examples/worker-threads-consumer.ts', function () {
  this.timeout(60000);
  const queue = uniqueName('ex-work');
  const blockQueue = uniqueName('ex-work-block');

  after(() => cleanUp([queue, blockQueue]));

  it('hands 5 s jobs to worker threads, keeps the heartbeat-1 connection, acks every message', async () => {
    const r = await runExample(
      'worker-threads-consumer',
      ['--queue', queue, '--jobs', '2', '--work', '5', '--heartbeat', '1', '--prefetch', '2'],
      45000,
    );
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.include('connected, heartbeat 1 s');
    expect(r.stdout.match(/job \d: worker finished/g)).to.have.length(2);
    expect(r.stdout).to.include('broker answered: 0 messages ready');
    expect(r.stdout).to.include('all 2 jobs done and acked; connection closed cleanly');
    expect(r.stdout).not.to.include('connection lost');
    // The loop stayed responsive while the workers ran.
    const lags = [...r.stdout.matchAll(/loop alive, lag (-?\d+) ms/g)].map((m) => Number(m[1]));
    expect(lags.length).to.be.greaterThanOrEqual(3);
    expect(Math.max(...lags)).to.be.lessThan(1500); // far below the 2 s the broker tolerates
    // Nothing left: not ready, and (the consumer being gone) nothing unacked either.
    expect(await queueMessageCount(queue)).to.equal(0);
  });

  it('--block: 5 s of work on the loop with heartbeat 1 s gets the connection dropped and the message requeued', async () => {
    const r = await runExample(
      'worker-threads-consumer',
      ['--queue', blockQueue, '--jobs', '1', '--work', '5', '--heartbeat', '1', '--block'],
      45000,
    );
    expect(r.code, r.stdout + r.stderr).to.equal(3);
    expect(r.stdout).to.include('ON THE I/O LOOP');
    expect(r.stdout).to.match(/connection lost: (StreamLostError|AMQPHeartbeatTimeout): /);
    expect(r.stdout).not.to.include('broker answered');
    // The ack went nowhere: the broker requeued the message.
    expect(await queueMessageCount(blockQueue)).to.equal(1);
  });
});
