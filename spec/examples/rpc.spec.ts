/** examples/rpc-server.ts + rpc-client.ts: direct reply-to and correlation ids. */
import { expect } from 'chai';
import { uniqueName } from '../support/broker';
import { runExample, startExample, stopExample, type RunningExample } from './helpers';
import { cleanUp } from '../support/callbacks';

describe('examples/rpc-server.ts and rpc-client.ts', function () {
  this.timeout(60000);
  const queue = uniqueName('ex-rpc');
  let server: RunningExample | undefined;

  after(async () => {
    await stopExample(server);
    await cleanUp([queue]);
  });

  it('the client gets N correct replies through amq.rabbitmq.reply-to', async () => {
    server = startExample('rpc-server', ['--queue', queue, '--count', '15'], 40000);
    await server.waitFor(/awaiting RPC requests/);
    const client = await runExample('rpc-client', ['--queue', queue, '--count', '15', '--timeout', '20'], 40000);
    expect(client.code, client.stdout + client.stderr).to.equal(0);
    expect(client.stdout).to.include('15/15 replies correct');
    expect(client.stdout).to.include('fib(0) = 0');
    expect(client.stdout).to.include('fib(14) = 377');
    expect(client.stdout.match(/^fib\(\d+\) = \d+$/gm)).to.have.length(15);

    const s = await server.done;
    expect(s.code, server.output).to.equal(0);
    expect(s.stdout).to.include('served 15 requests');
    expect(s.stdout.match(/^fib\(\d+\) = \d+ {2}\[[^\]]+\]$/gm)).to.have.length(15);
  });

  it('a client with no server to answer times out and exits 1', async () => {
    const client = await runExample('rpc-client', ['--queue', queue, '--count', '2', '--timeout', '1'], 30000);
    expect(client.code).to.equal(1);
    expect(client.stderr).to.include('timed out after 1 s');
    expect(client.stdout).to.include('0/2 replies correct, 2 missing');
  });
});
