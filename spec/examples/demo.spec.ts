/** examples/demo.ts: publish with confirms while consuming, summary and exit code. */
import { expect } from 'chai';
import { runExample } from './helpers';

function summaryValue(stdout: string, key: string): number {
  const match = new RegExp(`^${key}\\s+(\\d+)`, 'm').exec(stdout);
  if (!match) throw new Error(`no "${key}" in the summary:\n${stdout}`);
  return Number(match[1]);
}

describe('examples/demo.ts', function () {
  this.timeout(90000);

  it('publishes 100,000 messages (the default) with confirms, receives each exactly once, and exits 0', async () => {
    const r = await runExample('demo', [], 60000);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    for (const key of ['sent', 'confirmed', 'received']) expect(summaryValue(r.stdout, key), key).to.equal(100000);
    expect(summaryValue(r.stdout, 'nacked')).to.equal(0);
    expect(summaryValue(r.stdout, 'duplicates')).to.equal(0);
    expect(r.stdout).to.match(/^rate\s+\d+ msg\/s/m);
    expect(r.stdout).to.match(/^duration\s+[\d.]+ s/m);
    expect(r.stdout).to.match(/result\s+OK/);
    // Not a terminal: plain progress lines, no carriage returns.
    expect(r.stdout).to.match(/msg\/s\s+sent \d+\/100000\s+confirmed \d+\s+received \d+/);
    expect(r.stdout).not.to.include('\r');
  });

  it('waits for the drain callback when basicPublish returns false (large messages)', async () => {
    // 40 kB bodies: above the writer's zero-copy threshold, so each message needs its own buffer.
    const r = await runExample('demo', ['--count', '800', '--size', '40000', '--window', '800'], 60000);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(summaryValue(r.stdout, 'received')).to.equal(800);
    expect(summaryValue(r.stdout, 'confirmed')).to.equal(800);
    expect(summaryValue(r.stdout, 'duplicates')).to.equal(0);
    expect(summaryValue(r.stdout, 'drain waits')).to.be.greaterThan(0);
  });
});
