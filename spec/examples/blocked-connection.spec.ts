/**
 * examples/blocked-connection.ts, provoked with
 * `rabbitmqctl set_vm_memory_high_watermark 0` (restored to 0.4 afterwards).
 */
import { expect } from 'chai';
import { rabbitmqctl } from '../support/broker';
import { startExample, stopExample, type RunningExample } from './helpers';
import { eventually } from '../support/polling';

describe('examples/blocked-connection.ts', function () {
  this.timeout(60000);
  let example: RunningExample | undefined;

  afterEach(async () => {
    await rabbitmqctl(['set_vm_memory_high_watermark', '0.4']); // the default: alarm off
    await stopExample(example);
    example = undefined;
  });

  it('pauses while blocked and resumes when unblocked', async () => {
    example = startExample('blocked-connection', ['--interval', '0.1', '--blocked-timeout', '30'], 50000);
    await example.waitFor(/published 10$/m);
    await rabbitmqctl(['set_vm_memory_high_watermark', '0']);
    await example.waitFor(/blocked by the broker: low on memory/);
    await rabbitmqctl(['set_vm_memory_high_watermark', '0.4']);
    await example.waitFor(/unblocked: publishing again/);
    // Publishing goes on after the unblock: another "published N" line (one per ten messages).
    const linesBefore = example.count(/^published \d+$/);
    await eventually(() => example!.count(/^published \d+$/) > linesBefore, 15000, 'publishing after the unblock');
    example.kill('SIGINT');
    const r = await example.done;
    expect(r.code, example.output).to.equal(0);
    expect(r.stdout).to.match(/connection closed: \(200\) Normal shutdown; published \d+/);
  });

  it('closes the connection with ConnectionBlockedTimeout when blocked longer than blockedConnectionTimeout', async () => {
    example = startExample('blocked-connection', ['--interval', '0.1', '--blocked-timeout', '2'], 50000);
    await example.waitFor(/publishing every/);
    await rabbitmqctl(['set_vm_memory_high_watermark', '0']);
    await example.waitFor(/blocked by the broker/);
    const r = await example.done;
    expect(r.code, example.output).to.equal(3);
    expect(r.stdout).to.match(/connection closed: blocked for too long \(ConnectionBlockedTimeout: .*2 s\)/);
  });
});
