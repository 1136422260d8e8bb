/** examples/tls.ts and failover.ts. */
import { expect } from 'chai';
import { amqpsInfo } from '../support/broker';
import { runExample } from './helpers';

describe('examples/tls.ts', function () {
  this.timeout(30000);

  it('connects over TLS, verifying the broker with the CA', async () => {
    amqpsInfo(); // fails loudly without the TLS listener
    const r = await runExample('tls');
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/connected over TLS to amqps:\/\/guest@/);
    expect(r.stdout).to.include('round trip: hello over TLS');
  });

  it('logs in with a client certificate (SASL EXTERNAL) with --external', async () => {
    const r = await runExample('tls', ['--external']);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.include('logged in with SASL EXTERNAL');
  });

  it('refuses a broker certificate it cannot verify (no CA given)', async () => {
    const r = await runExample('tls', [], 30000, { CONEY_TLS_CA: '' });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/could not connect .*SocketConnectError: TLS .*certificate/i);
  });
});

describe('examples/failover.ts', function () {
  this.timeout(30000);

  it('skips the dead address and connects to the broker', async () => {
    const r = await runExample('failover');
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/connected after \d+ ms/);
    expect(r.stdout).to.include('connection closed: (200) Normal shutdown');
  });

  it('with every address dead, reports each attempt of every round (ConnectionWorkflowFailed)', async () => {
    const r = await runExample('failover', ['--all-dead', '--attempts', '2', '--retry-delay', '0.2']);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.include('ConnectionWorkflowFailed');
    expect(r.stdout.match(/^ {2}attempt \d: SocketConnectError: /gm)).to.have.length(4);
  });
});
