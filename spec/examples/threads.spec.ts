/**
 * The threads examples (lib/threads): rabbitpy's multi-threaded example
 * with a channel per worker thread, and the I/O thread that keeps a
 * heartbeat-1 connection alive while the main thread blocks for 5 s (and,
 * with --no-io-thread, the same code losing the connection).
 */
import { expect } from 'chai';
import { uniqueName } from '../support/broker';
import { cleanUp } from '../support/callbacks';
import { queueMessageCount, runExample } from './helpers';

describe('examples/threads-*.ts', function () {
  this.timeout(90000);
  const queue = uniqueName('ex-threads');
  const exchange = uniqueName('ex-threads-x');
  const ioQueue = uniqueName('ex-io-thread');
  const blockQueue = uniqueName('ex-io-thread-block');

  after(() => cleanUp([queue, ioQueue, blockQueue], [exchange]));

  it('threads-channel-per-worker: a publisher and a consumer thread on one connection, 100 then 10,000 confirmed messages, each received once', async () => {
    for (const args of [[], ['--count', '10000', '--confirms']]) {
      const r = await runExample('threads-channel-per-worker', ['--queue', queue, '--exchange', exchange, ...args], 60000);
      const count = args.length === 0 ? 100 : 10000;
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.include(`publisher thread: published ${count} messages`);
      expect(r.stdout).to.include(`consumer thread: received and acked ${count} messages`);
      expect(r.stdout).to.include(`${count} distinct messages received, ${count} exactly once: OK`);
    }
    expect(await queueMessageCount(queue)).to.equal(0);
  });

  it('threads-io-thread: 5 s of blocking per job with heartbeat 1 s, the connection stays open and every job is acked once', async () => {
    const r = await runExample('threads-io-thread', ['--queue', ioQueue, '--jobs', '2', '--work', '5', '--heartbeat', '1'], 60000);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.include('I/O in a thread of its own');
    expect(r.stdout.match(/job \d: done, ack sent/g)).to.have.length(2);
    expect(r.stdout).not.to.include('[redelivered]');
    expect(r.stdout).to.include('broker answered: 0 messages ready');
    expect(r.stdout).to.include('connection open: true');
    expect(r.stdout).to.include('all 2 jobs done and acked; connection closed cleanly');
    expect(await queueMessageCount(ioQueue)).to.equal(0);
  });

  it('threads-io-thread --no-io-thread: the same blocking loses the connection and the job is requeued', async () => {
    const r = await runExample(
      'threads-io-thread',
      ['--queue', blockQueue, '--jobs', '1', '--work', '5', '--heartbeat', '1', '--no-io-thread'],
      60000,
    );
    expect(r.code, r.stdout + r.stderr).to.equal(3);
    expect(r.stdout).to.include('I/O on this thread');
    expect(r.stdout).to.match(
      /connection lost: (StreamLostError|AMQPHeartbeatTimeout|ChannelClosedByClient|ChannelWrongStateError|ConnectionWrongStateError)/,
    );
    expect(await queueMessageCount(blockQueue)).to.equal(1);
  });
});
