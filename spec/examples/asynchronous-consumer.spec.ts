/**
 * examples/asynchronous-consumer.ts: survives `rabbitmqctl close_connection`
 * by reconnecting on the same loop, and consumes messages published after
 * the reconnect; stops cleanly on SIGINT.
 */
import { expect } from 'chai';
import { rabbitmqctl, uniqueName } from '../support/broker';
import { startExample, stopExample, type RunningExample, withChannel } from './helpers';
import { cbp, cleanUp } from '../support/callbacks';

/** The broker's connection pid of the connection named `name` (client property connection_name). */
async function connectionPid(name: string): Promise<string | null> {
  const out = await rabbitmqctl(['list_connections', 'pid', 'client_properties', '-q', '--no-table-headers']);
  const line = out.split('\n').find((l) => l.includes(`"${name}"`));
  return line ? line.split('\t')[0].trim() : null;
}

async function publish(exchange: string, routingKey: string, bodies: string[]): Promise<void> {
  await withChannel(async (ch) => {
    await cbp((cb) => ch.confirmDelivery(() => undefined, cb));
    for (const body of bodies) ch.basicPublish(exchange, routingKey, body, { appId: 'spec' });
    // A round trip after the publishes: they have reached the broker.
    await cbp((cb) => ch.exchangeDeclare(exchange, { passive: true }, cb));
  });
}

describe('examples/asynchronous-consumer.ts', function () {
  this.timeout(60000);
  const queue = uniqueName('ex-async-q');
  const exchange = uniqueName('ex-async-x');
  const name = uniqueName('ex-async-conn');
  let example: RunningExample | undefined;

  after(async () => {
    await stopExample(example);
    await cleanUp([queue], [exchange]);
  });

  it('reconnects after the broker closes its connection and goes on consuming; SIGINT stops it', async () => {
    example = startExample(
      'asynchronous-consumer',
      ['--queue', queue, '--exchange', exchange, '--routing-key', 'example.text', '--name', name],
      50000,
    );
    await example.waitFor(/consuming on queue .* \(connection #1\)/);
    await publish(exchange, 'example.text', ['before 1', 'before 2', 'before 3']);
    await example.waitFor(/received message .*: before 3/);

    const pid = await connectionPid(name);
    expect(pid, 'the example connection in list_connections').to.be.a('string');
    await rabbitmqctl(['close_connection', pid!, 'closed by the example spec']);
    await example.waitFor(/connection closed, reconnecting: ConnectionClosedByBroker: \(320\) CONNECTION_FORCED - closed by the example spec/);
    await example.waitFor(/consuming on queue .* \(connection #2\)/);
    expect(await connectionPid(name), 'a new connection')
      .to.be.a('string')
      .and.not.equal(pid);

    await publish(exchange, 'example.text', ['after 1', 'after 2']);
    await example.waitFor(/received message .*: after 2/);

    example.kill('SIGINT');
    const r = await example.done;
    expect(r.code, example.output).to.equal(0);
    expect(r.stdout).to.include('consumer cancelled; closing the channel');
    expect(r.stdout).to.include('connection closed: (200) Normal shutdown');
    expect(r.stdout).to.include('stopped; received 5 messages');
  });

  it('stops by itself after --count messages', async () => {
    example = startExample('asynchronous-consumer', ['--queue', queue, '--exchange', exchange, '--count', '2', '--name', name], 30000);
    await example.waitFor(/consuming on queue/);
    await publish(exchange, 'example.text', ['one', 'two']);
    const r = await example.done;
    expect(r.code, example.output).to.equal(0);
    expect(r.stdout).to.include('stopped; received 2 messages');
  });
});
