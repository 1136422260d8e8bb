/** examples/basic-get.ts, transactions.ts, mandatory-returns.ts. */
import { expect } from 'chai';
import { runExample } from './helpers';

describe('examples/basic-get.ts', function () {
  this.timeout(30000);
  it('polls with basicGet until the queue is empty', async () => {
    const r = await runExample('basic-get', ['--count', '7']);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout.match(/^got #\d+: message \d+ of 7 \(\d+ left\)$/gm)).to.have.length(7);
    expect(r.stdout).to.include('got #7: message 7 of 7 (0 left)');
    expect(r.stdout).to.include('queue empty: got 7 messages');
  });
});

describe('examples/transactions.ts', function () {
  this.timeout(30000);
  it('rollback discards the publishes, commit delivers them', async () => {
    const r = await runExample('transactions');
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.include('published 3, rolled back: 0 messages in the queue');
    expect(r.stdout).to.include('published 3, committed: 3 messages in the queue');
  });
});

describe('examples/mandatory-returns.ts', function () {
  this.timeout(30000);
  it('the unroutable mandatory message comes back to the return callback', async () => {
    const r = await runExample('mandatory-returns');
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout.match(/^returned: /gm)).to.have.length(1);
    expect(r.stdout).to.match(/returned: 312 NO_ROUTE .*messageId unroutable\): this one has nowhere to go/);
    expect(r.stdout).to.include('1 message(s) returned');
  });
});
