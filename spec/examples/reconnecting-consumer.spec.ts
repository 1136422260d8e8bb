/**
 * examples/reconnecting-consumer.ts, the README's recovery recipe: it
 * survives a broker restart (rabbitmqctl stop_app closes every connection
 * with 320 CONNECTION_FORCED, then refuses connections until start_app) and
 * goes on consuming afterwards.
 */
import { expect } from 'chai';
import { rabbitmqctl, uniqueName } from '../support/broker';
import { type RunningExample, startExample, stopExample, withChannel } from './helpers';
import { cleanUp } from '../support/callbacks';
import { eventually } from '../support/polling';

async function publish(queue: string, body: string): Promise<void> {
  await withChannel(async (ch) => {
    ch.basicPublish('', queue, body, { deliveryMode: 2 });
  });
}

describe('examples/reconnecting-consumer.ts (the README recipe)', function () {
  this.timeout(90000);
  const queue = uniqueName('ex-reconnect-q');
  let example: RunningExample | undefined;

  afterEach(async () => {
    await stopExample(example);
    example = undefined;
  });

  after(async () => {
    await cleanUp([queue]);
  });

  it('reconnects after a broker restart (320 CONNECTION_FORCED) and consumes what is published afterwards', async () => {
    example = startExample('reconnecting-consumer', ['--queue', queue, '--count', '2', '--retry-delay', '0.5'], 80000);
    await example.waitFor(/consuming on queue/);
    await publish(queue, 'before the restart');
    await example.waitFor(/received #1: before the restart/);
    await rabbitmqctl(['stop_app']);
    try {
      await example.waitFor(/connection closed \(ConnectionClosedByBroker: \(320\) CONNECTION_FORCED/);
    } finally {
      await rabbitmqctl(['start_app']);
    }
    await eventually(() => example!.count(/consuming on queue/) === 2, 30000, 'consuming again after the restart');
    await publish(queue, 'after the restart');
    const result = await example.done;
    expect(result.code, example.output).to.equal(0);
    expect(result.stdout).to.include('received #2: after the restart');
    expect(result.stdout).to.include('stopped after 2 messages');
  });
});
