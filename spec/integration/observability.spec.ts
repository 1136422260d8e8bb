/**
 * Observability against RabbitMQ: the connection's name as the broker shows
 * it, `connection.stats` after real traffic, the diagnostics_channel traces
 * carrying a header through the broker, and NODE_DEBUG=coney never printing
 * the password of a real login.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as dc from 'node:diagnostics_channel';
import * as path from 'node:path';
import { connect, type DeliverContext, type PublishContext } from '../../lib';
import { amqpUrl, brokerConnectionInfo, rabbitmqctl, uniqueName } from '../support/broker';
import { within } from '../support/callbacks';
import { eventually } from '../support/polling';

describe('observability against RabbitMQ', function () {
  this.timeout(60_000);

  it('shows the connection name in rabbitmqctl, and counts the traffic in connection.stats', async () => {
    const name = uniqueName('observed');
    const url = new URL(amqpUrl());
    url.searchParams.set('connection_name', name);
    url.searchParams.set('heartbeat', '1');
    await using connection = await connect(url.toString());
    expect(await brokerConnectionInfo(name, 'name'))
      .to.be.a('string')
      .and.not.equal('');
    await using channel = await connection.channel();
    const { queue } = await channel.queueDeclare('', { exclusive: true });
    await channel.confirmDelivery();
    await Promise.all(Array.from({ length: 100 }, (_, i) => channel.basicPublish('', queue, `m${i}`)));
    await channel.basicPublish('', uniqueName('nowhere'), 'lost', {}, true).catch((err: Error) => err.name);
    await channel.basicQos({ prefetchCount: 100 });
    let n = 0;
    for await (const message of channel.consume(queue, { inactivityTimeout: 10 })) {
      if (message === null) throw new Error(`only ${n} of 100 delivered`);
      n += 1;
      if (n % 10 === 0) await message.ack(true);
      if (n === 100) break;
    }
    await eventually(() => connection.stats.heartbeatsReceived > 0 && connection.stats.heartbeatsSent > 0, 10_000, 'heartbeats both ways');
    const stats = connection.stats.snapshot();
    expect(stats).to.include({ published: 101, confirmed: 101, nacked: 0, returned: 1, delivered: 100, acked: 100, rejected: 0, recoveries: 0 });
    expect(stats.framesOut).to.be.at.least(3 * 101);
    expect(stats.framesIn).to.be.at.least(3 * 100);
    expect(stats.bytesOut).to.be.above(0);
    expect(stats.bytesIn).to.be.above(stats.framesIn * 8);
  });

  it('coney:publish adds a header that reaches the consumer through the broker, where coney:deliver sees it', async () => {
    const publishes = dc.tracingChannel<unknown, PublishContext>('coney:publish');
    const deliveries = dc.tracingChannel<unknown, DeliverContext>('coney:deliver');
    const seen: string[] = [];
    const onPublish = { start: (c: PublishContext) => void (c.properties.headers['x-trace'] = `t-${c.routingKey}`) };
    const onDeliver = {
      start: (c: DeliverContext) => void seen.push(`${c.queue} ${c.properties.headers?.['x-trace'] as string} ${c.body.toString()}`),
    };
    publishes.subscribe(onPublish as never);
    deliveries.subscribe(onDeliver as never);
    try {
      await using connection = await connect(amqpUrl());
      await using channel = await connection.channel();
      const { queue } = await channel.queueDeclare('', { exclusive: true });
      const got = new Promise<string>(
        (resolve) => void channel.basicConsume(queue, (m) => resolve(m.properties.headers?.['x-trace'] as string), { autoAck: true }),
      );
      await channel.basicPublish('', queue, 'hello');
      expect(await within(10_000, got, 'the delivery')).to.equal(`t-${queue}`);
      expect(seen).to.deep.equal([`${queue} t-${queue} hello`]);
    } finally {
      publishes.unsubscribe(onPublish as never);
      deliveries.unsubscribe(onDeliver as never);
    }
  });

  for (const mode of ['password', 'token'] as const) {
    it(`NODE_DEBUG=coney logs a real login (${mode}), its tune values and close, and never the ${mode}`, async () => {
      const user = uniqueName('debuglog');
      const password = `pw-${uniqueName('secret')}`;
      await rabbitmqctl(['add_user', user, password]);
      try {
        await rabbitmqctl(['set_permissions', '-p', '/', user, '.*', '.*', '.*']);
        const url = new URL(amqpUrl());
        url.username = user;
        url.password = password;
        const args = ['--import', 'tsx', path.join(__dirname, 'fixtures', 'debug-log-broker.ts'), url.toString(), mode];
        const child = spawn(process.execPath, args, { env: { ...process.env, NODE_DEBUG: 'coney' }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        let stdout = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        const code = await within(40_000, new Promise<number | null>((resolve) => child.on('exit', resolve)), 'the child');
        expect(code, stderr).to.equal(0);
        expect(stdout).to.include(`done with ${mode === 'token' ? 'TokenCredentials' : 'PlainCredentials'}`);
        expect(stderr).to.include(`connecting to amqp://${mode === 'token' ? '' : `${user}@`}`);
        expect(stderr).to.match(/CONEY \d+: tune: channelMax 2047, frameMax 131072, heartbeat \d+ s/);
        expect(stderr).to.match(/CONEY \d+: channel 1 open/);
        expect(stderr).to.match(/CONEY \d+: closed: ConnectionClosedByClient/);
        expect(stderr).not.to.include(password);
      } finally {
        await rabbitmqctl(['delete_user', user]);
      }
    });
  }
});
