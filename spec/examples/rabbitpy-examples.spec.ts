/** examples/rabbitpy-publisher.ts and rabbitpy-consumer.ts: rabbitpy's examples on the promise API (`await using`, `message.ack()`). */
import { expect } from 'chai';
import { uniqueName } from '../support/broker';
import { cleanUp } from '../support/callbacks';
import { queueMessageCount, runExample, startExample, stopExample, type RunningExample } from './helpers';

describe('examples/rabbitpy-publisher.ts and rabbitpy-consumer.ts', function () {
  this.timeout(30000);
  const queue = uniqueName('ex-rabbitpy-q');
  const exchange = uniqueName('ex-rabbitpy-x');
  const names = ['--queue', queue, '--exchange', exchange];
  let consumer: RunningExample | undefined;

  after(async () => {
    await stopExample(consumer);
    await cleanUp([queue], [exchange]);
  });

  it('the publisher declares, binds and publishes opinionated messages', async () => {
    const r = await runExample('rabbitpy-publisher', [...names, '--count', '3']);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.include(`published 3 message(s) to ${exchange} with routing key test-routing-key`);
    expect(await queueMessageCount(queue)).to.equal(3);
  });

  it('the consumer prints and acks each message, and Ctrl-C closes it cleanly', async () => {
    consumer = startExample('rabbitpy-consumer', ['--queue', queue]);
    await consumer.waitFor(/body: .*\(3 of 3\)/);
    expect(consumer.count(/^message #\d+: /)).to.equal(3);
    expect(consumer.stdout).to.match(/contentType text\/plain, messageId [0-9a-f-]{36}, timestamp \d{4}-\d\d-\d\dT/);
    consumer.kill('SIGINT');
    const r = await consumer.done;
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.include('exited consumer after 3 message(s)');
    expect(await queueMessageCount(queue)).to.equal(0);
  });

  it('the consumer stops by itself after --count messages', async () => {
    await runExample('rabbitpy-publisher', [...names, '--count', '2']);
    const r = await runExample('rabbitpy-consumer', ['--queue', queue, '--count', '2']);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.include('received 2 message(s)');
  });
});
