/**
 * examples/asynchronous-consumer-recovery.ts and
 * examples/asynchronous-publisher-recovery.ts: automatic recovery as a user
 * would run it, through a broker-side close and a proxy cut.
 */
import { expect } from 'chai';
import { amqpUrl, brokerConnectionInfo, rabbitmqctl, uniqueName } from '../support/broker';
import { cbp, cleanUp } from '../support/callbacks';
import { TcpProxy } from '../support/tcp-proxy';
import { queueMessageCount, startExample, stopExample, type RunningExample, urlVia, withChannel } from './helpers';

async function publish(exchange: string, routingKey: string, bodies: string[]): Promise<void> {
  await withChannel(async (ch) => {
    await cbp((cb) => ch.confirmDelivery(null, cb));
    for (const body of bodies) ch.basicPublish(exchange, routingKey, body);
    await cbp((cb) => ch.waitForConfirms(cb));
  });
}

describe('examples with automatic recovery', function () {
  this.timeout(60000);
  const queue = uniqueName('ex-recovery-q');
  const exchange = uniqueName('ex-recovery-x');
  let example: RunningExample | undefined;
  let proxy: TcpProxy | undefined;

  after(async () => {
    await stopExample(example);
    await proxy?.close();
    await cleanUp([queue], [exchange]);
  });

  it('asynchronous-consumer-recovery goes on consuming after close_connection, on its own', async () => {
    const name = uniqueName('ex-recovery-conn');
    example = startExample('asynchronous-consumer-recovery', ['--queue', queue, '--exchange', exchange, '--name', name], 50000);
    await example.waitFor(/consuming on queue/);
    await publish(exchange, 'example.text', ['before']);
    await example.waitFor(/received message #1: before/);
    await rabbitmqctl(['close_connection', await brokerConnectionInfo(name, 'pid'), 'closed by the spec']);
    await example.waitFor(/connection lost \(ConnectionClosedByBroker: \(320\) CONNECTION_FORCED - closed by the spec\); reconnecting, round 1/);
    await example.waitFor(/recovered: consuming again/);
    await publish(exchange, 'example.text', ['after']);
    // the delivery tags the application sees go on from the last connection's
    await example.waitFor(/received message #2: after/);
    example.kill('SIGINT');
    const r = await example.done;
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('connection closed: (200) Normal shutdown');
  });

  it('asynchronous-publisher-recovery has every message acked through a cut, none lost', async () => {
    const { hostname, port } = new URL(amqpUrl());
    proxy = await TcpProxy.start(hostname, Number(port || 5672));
    const pubQueue = `${queue}-pub`;
    const env = { ...process.env, AMQP_URL: urlVia(amqpUrl(), '127.0.0.1', proxy.port) };
    example = startExample(
      'asynchronous-publisher-recovery',
      ['--count', '3000', '--window', '200', '--queue', pubQueue, '--exchange', exchange],
      50000,
      env,
    );
    await example.waitFor(/acked 500/);
    proxy.cut();
    const r = await example.done;
    const inQueue = await queueMessageCount(pubQueue);
    await cleanUp([pubQueue]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(inQueue, 'messages in the queue (duplicates possible, none lost)').to.be.at.least(3000);
    expect(r.stdout).to.match(/connection lost \(StreamLostError\); reconnecting, round 1/);
    expect(r.stdout).to.match(/recovered: \d+ unanswered publish\(es\) republished/);
    expect(r.stdout).to.include('final: published 3000, acked 3000, failed 0');
  });
});
