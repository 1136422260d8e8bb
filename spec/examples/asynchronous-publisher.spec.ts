/** examples/asynchronous-publisher.ts: every delivery tag tracked until acked; reports. */
import { expect } from 'chai';
import { uniqueName } from '../support/broker';
import { queueMessageCount, runExample } from './helpers';
import { cleanUp } from '../support/callbacks';

describe('examples/asynchronous-publisher.ts', function () {
  this.timeout(60000);
  const queue = uniqueName('ex-pub-q');
  const exchange = uniqueName('ex-pub-x');

  after(() => cleanUp([queue], [exchange]));

  it('publishes --count messages, reports progress, and ends with all acked and none pending', async () => {
    const r = await runExample('asynchronous-publisher', [
      '--count',
      '60',
      '--interval',
      '0.02',
      '--batch',
      '4',
      '--report',
      '0.1',
      '--queue',
      queue,
      '--exchange',
      exchange,
    ]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^progress: published \d+, acked \d+, nacked 0, pending \d+/m);
    expect(r.stdout).to.include('final: published 60, acked 60, nacked 0, pending 0');
    expect(r.stdout).to.include('connection closed: (200) Normal shutdown');
    expect(await queueMessageCount(queue)).to.equal(60);
  });
});
