/** examples/opentelemetry.ts: spans printed as one trace per message, each consumer span in its producer's trace. */
import { expect } from 'chai';
import { runExample } from './helpers';

describe('examples/opentelemetry.ts', function () {
  this.timeout(60000);

  it('prints one trace per message, from the application span through publish and process to the handler span', async () => {
    const r = await runExample('opentelemetry', ['--count', '4']);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout.match(/^received order #\d \(traceparent 00-[0-9a-f]{32}-[0-9a-f]{16}-01\)$/gm)).to.have.length(4);
    const traces = r.stdout.split(/^trace /m).slice(1);
    expect(traces).to.have.length(4);
    for (const t of traces) {
      const [traceId, ...rest] = t.trimEnd().split('\n');
      const lines = rest.filter((l) => l.startsWith('  '));
      expect(traceId).to.match(/^[0-9a-f]{32}$/);
      // The consumer's traceparent names this trace: the context crossed the broker.
      expect(r.stdout).to.match(new RegExp(`traceparent 00-${traceId}-`));
      expect(lines.map((l) => l.replace(/#\d/, '#N').replace(/coney-opentelemetry-\d+/, 'Q'))).to.deep.equal([
        '  send order #N (INTERNAL)',
        '    publish Q (PRODUCER)',
        '      process Q (CONSUMER)',
        '        handle order #N (INTERNAL)',
      ]);
    }
    expect(r.stdout).to.include("done: 4 messages, every consumer span continued its producer's trace");
  });
});
