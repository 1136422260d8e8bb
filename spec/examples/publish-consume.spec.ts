/** examples/publish-consume.ts: continuation-passing style, --count, clean close on SIGINT. */
import { expect } from 'chai';
import { runExample, startExample } from './helpers';

describe('examples/publish-consume.ts', function () {
  this.timeout(60000);

  it('receives --count messages and closes cleanly', async () => {
    const r = await runExample('publish-consume', ['--count', '25']);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout.match(/^received #\d+: message #\d+$/gm)).to.have.length(25);
    expect(r.stdout).to.include('received #25: message #25');
    expect(r.stdout).to.include('connection closed: (200) Normal shutdown');
    expect(r.stdout).to.include('done: received 25 messages');
  });

  it('on SIGINT closes the connection, and the loop stops on its own', async () => {
    const example = startExample('publish-consume');
    await example.waitFor(/received #10: message #10/);
    example.kill('SIGINT');
    const r = await example.done;
    expect(r.code, example.output).to.equal(0);
    expect(r.stdout).to.include('SIGINT: closing the connection');
    expect(r.stdout).to.include('connection closed: (200) Normal shutdown');
    expect(r.stdout).to.include('done: received 10 messages');
  });
});
