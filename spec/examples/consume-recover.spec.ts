/**
 * examples/consume-recover.ts: pika's retry loop. Recovers from a lost
 * stream (a proxy in front of the broker resets the socket), does not
 * recover when the broker closes the connection or on a channel error, and
 * gives up after --retries when nothing listens.
 */
import { expect } from 'chai';
import { amqpUrl, rabbitmqctl, uniqueName } from '../support/broker';
import { cbp, cleanUp } from '../support/callbacks';
import { runExample, startExample, stopExample, type RunningExample, urlVia, withChannel } from './helpers';
import { freePort } from '../support/net-tools';
import { TcpProxy } from '../support/tcp-proxy';
import { eventually } from '../support/polling';

async function publish(exchange: string, bodies: string[]): Promise<void> {
  await withChannel(async (ch) => {
    for (const body of bodies) ch.basicPublish(exchange, 'standard_key', body);
    await cbp((cb) => ch.exchangeDeclare(exchange, { type: 'direct', durable: true, passive: true }, cb));
  });
}

describe('examples/consume-recover.ts', function () {
  this.timeout(60000);
  const queue = uniqueName('ex-recover-q');
  const exchange = uniqueName('ex-recover-x');
  let proxy: TcpProxy;
  let example: RunningExample | undefined;

  before(async () => {
    const broker = new URL(amqpUrl());
    proxy = await TcpProxy.start(broker.hostname, Number(broker.port || 5672));
  });

  afterEach(async () => {
    await stopExample(example);
    example = undefined;
  });

  after(async () => {
    await proxy.close();
    await cleanUp([queue], [exchange]);
  });

  function start(args: string[]): RunningExample {
    const env = { AMQP_URL: urlVia(amqpUrl(), '127.0.0.1', proxy.port) };
    return startExample('consume-recover', ['--queue', queue, '--exchange', exchange, ...args], 40000, env);
  }

  it('recovers when the stream is lost and consumes what is published afterwards', async () => {
    example = start(['--count', '2', '--retry-delay', '0.2']);
    await example.waitFor(/consuming on queue/);
    await publish(exchange, ['first']);
    await example.waitFor(/received #1: first/);

    proxy.cut();
    await example.waitFor(/connection error, recovering \(#1\) in 0.2 s: StreamLostError/);
    await eventually(() => example!.count(/consuming on queue/) === 2, 10000, 'consuming again');
    await publish(exchange, ['second']);
    const r = await example.done;
    expect(r.code, example.output).to.equal(0);
    expect(r.stdout).to.include('received #2: second');
    expect(r.stdout).to.include('stopped cleanly after 2 messages');
  });

  it('does not recover when the broker closes the connection', async () => {
    example = start([]);
    await example.waitFor(/consuming on queue/);
    // The broker sees the proxy's side of the connection: find it by its peer port.
    const out = await rabbitmqctl(['list_connections', 'pid', 'peer_port', '-q', '--no-table-headers']);
    const line = out.split('\n').find((l) => proxy.upstreamPorts.includes(Number(l.split('\t')[1])));
    expect(line, `our connection in:\n${out}`).to.be.a('string');
    await rabbitmqctl(['close_connection', line!.split('\t')[0].trim(), 'go away']);
    const r = await example.done;
    expect(r.code, example.output).to.equal(0);
    expect(r.stdout).to.match(/connection closed by broker, not recovering: \(320\) CONNECTION_FORCED - go away/);
    expect(r.stdout).not.to.include('recovering (#');
  });

  it('does not recover from a channel error (a passive declare of a missing queue)', async () => {
    const r = await runExample('consume-recover', ['--queue', uniqueName('missing'), '--exchange', exchange, '--passive'], 30000);
    expect(r.code, r.stdout + r.stderr).to.equal(1);
    expect(r.stdout).to.match(/channel error, not recovering: \(404\) NOT_FOUND/);
  });

  it('retries other connection errors, then gives up after --retries', async () => {
    const port = await freePort(); // nothing listens there now
    const r = await runExample('consume-recover', ['--retries', '2', '--retry-delay', '0.1'], 30000, {
      AMQP_URL: urlVia(amqpUrl(), '127.0.0.1', port),
    });
    expect(r.code, r.stdout + r.stderr).to.equal(1);
    expect(r.stdout.match(/connection error, recovering \(#\d\) in 0.1 s: SocketConnectError/g)).to.have.length(2);
    expect(r.stdout).to.include('giving up after 2 recoveries');
  });
});
