/**
 * The connection's counters (`connection.stats`) and its diagnostics_channel
 * events, on the virtual loop against the scripted broker; NODE_DEBUG=coney
 * in a child process (util.debuglog reads the variable once, at start).
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as dc from 'node:diagnostics_channel';
import * as path from 'node:path';
import { spec } from '../../lib';
import type { DeliverContext, LifeCycleEvent, PublishContext } from '../../lib/engine/diagnostics';
import { openChannel, openOnFakeBroker } from '../support/virtual-broker';

/** Subscribes `handlers` to a tracing channel for the duration of `body`. */
function withTrace<C extends object>(name: string, some: Partial<dc.TracingChannelSubscribers<C>>, body: () => void): void {
  const trace = dc.tracingChannel<unknown, C>(name);
  // Node subscribes only the handlers given; its types ask for all five.
  const handlers = some as dc.TracingChannelSubscribers<C>;
  trace.subscribe(handlers);
  try {
    body();
  } finally {
    trace.unsubscribe(handlers);
  }
}

/** Records what a plain channel publishes for the duration of `body`. */
function recordEvents(name: string, body: () => void): LifeCycleEvent[] {
  const seen: LifeCycleEvent[] = [];
  const listener = (message: unknown): void => void seen.push(message as LifeCycleEvent);
  dc.subscribe(name, listener);
  try {
    body();
  } finally {
    dc.unsubscribe(name, listener);
  }
  return seen;
}

describe('observability: connection.stats', () => {
  it('counts publishes, confirms per message, returns, deliveries and acks per message, frames and bytes', () => {
    const s = openOnFakeBroker();
    const ch = openChannel(s);
    const stats = s.connection.stats;
    expect(stats.framesIn, 'handshake frames read').to.be.above(0);
    expect(stats.bytesIn).to.be.above(0);
    ch.confirmDelivery(null);
    s.loop.runUntilIdle();
    const framesOutBefore = stats.framesOut;
    for (let i = 0; i < 5; i++) ch.basicPublish('', 'q', Buffer.alloc(10), {}, i === 4);
    s.loop.runUntilIdle();
    expect(stats.published).to.equal(5);
    expect(stats.framesOut - framesOutBefore, 'method, header and one body frame each').to.equal(15);
    expect(stats.bytesOut).to.be.above(5 * 10);
    s.session.send(ch.channelNumber, new spec.Basic.Ack({ deliveryTag: 3, multiple: true }));
    s.session.send(ch.channelNumber, new spec.Basic.Nack({ deliveryTag: 4, multiple: false }));
    s.session.sendContent(
      ch.channelNumber,
      new spec.Basic.Return({ replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: 'q' }),
      Buffer.alloc(10),
    );
    s.session.send(ch.channelNumber, new spec.Basic.Ack({ deliveryTag: 5, multiple: true }));
    s.loop.runUntilIdle();
    expect([stats.confirmed, stats.nacked, stats.returned]).to.deep.equal([4, 1, 1]);

    const consumer = openChannel(s);
    consumer.addOnReturnCallback(() => undefined);
    consumer.basicConsume('q', () => undefined, { consumerTag: 'c1' });
    s.loop.runUntilIdle(); // the scripted broker answers consume-ok
    for (let tag = 1; tag <= 6; tag++) {
      s.session.sendContent(
        consumer.channelNumber,
        new spec.Basic.Deliver({ consumerTag: 'c1', deliveryTag: tag, exchange: '', routingKey: 'q' }),
        Buffer.from('x'),
      );
    }
    s.loop.runUntilIdle();
    expect(stats.delivered).to.equal(6);
    consumer.basicAck(2); // one
    consumer.basicReject(4); // one
    consumer.basicAck(5, true); // 1, 3 and 5
    consumer.basicAck(5, true); // nothing new
    consumer.basicNack(0, true); // everything left: 6
    expect([stats.acked, stats.rejected]).to.deep.equal([4, 2]);
  });

  it('counts heartbeats both ways', () => {
    const s = openOnFakeBroker({ parameters: { heartbeat: 1 }, broker: { heartbeat: 1 } });
    const stats = s.connection.stats;
    s.loop.advance(1.6);
    expect(stats.heartbeatsSent).to.be.at.least(1);
    s.session.sendRaw(Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce]));
    s.loop.runUntilIdle();
    expect(stats.heartbeatsReceived).to.equal(1);
    expect(stats.snapshot()).to.include({ heartbeatsReceived: 1 });
  });
});

describe('observability: diagnostics_channel', () => {
  it('coney:publish: start sees the message and its headers reach the wire; the caller’s properties are not changed', () => {
    const s = openOnFakeBroker();
    const ch = openChannel(s);
    const mine = { contentType: 'text/plain', headers: { a: 1 } };
    const seen: PublishContext[] = [];
    let ended = 0;
    withTrace<PublishContext>(
      'coney:publish',
      {
        start: (context) => {
          seen.push(context);
          context.properties.headers['traceparent'] = '00-abc-def-01';
        },
        end: () => void (ended += 1),
      },
      () => {
        ch.basicPublish('ex', 'rk', 'hello', mine);
        ch.basicPublish('ex', 'rk2', Buffer.from('bye'));
      },
    );
    ch.basicPublish('ex', 'untraced', 'x');
    s.loop.runUntilIdle();
    expect(seen.map((c) => [c.exchange, c.routingKey, c.body.toString(), c.channel === ch])).to.deep.equal([
      ['ex', 'rk', 'hello', true],
      ['ex', 'rk2', 'bye', true],
    ]);
    expect(ended).to.equal(2);
    expect(mine).to.deep.equal({ contentType: 'text/plain', headers: { a: 1 } });
    const headers = s.session.published.map((p) => p.properties.headers);
    expect(headers[0]).to.deep.equal({ a: 1, traceparent: '00-abc-def-01' });
    expect(s.session.published[0].properties.contentType).to.equal('text/plain');
    expect(headers[1]).to.deep.equal({ traceparent: '00-abc-def-01' });
    expect(headers[2], 'nobody subscribed: nothing added').to.equal(undefined);
  });

  it('coney:publish: a publish that throws publishes error, and the error still reaches the caller', () => {
    const s = openOnFakeBroker();
    const ch = openChannel(s);
    const errors: unknown[] = [];
    withTrace<PublishContext>('coney:publish', { error: (context) => void errors.push(context.error) }, () => {
      expect(() => ch.basicPublish('x'.repeat(300), 'rk', 'body')).to.throw(/exchange/);
    });
    expect(errors).to.have.length(1);
  });

  it('coney:deliver wraps the consumer callback: start before, end after, error when it throws', () => {
    const s = openOnFakeBroker({ onCallbackError: () => undefined });
    const ch = openChannel(s);
    const order: string[] = [];
    ch.basicConsume(
      'q',
      (_ch, method) => {
        order.push(`callback ${method.deliveryTag}`);
        if (method.deliveryTag === 2) throw new Error('boom');
      },
      { consumerTag: 'c1' },
    );
    s.loop.runUntilIdle();
    withTrace<DeliverContext>(
      'coney:deliver',
      {
        start: (c) => void order.push(`start ${c.method.deliveryTag} ${c.body.toString()} ${String(c.properties.messageId)}`),
        end: (c) => void order.push(`end ${c.method.deliveryTag}`),
        error: (c) => void order.push(`error ${(c.error as Error).message}`),
      },
      () => {
        for (const tag of [1, 2]) {
          s.session.sendContent(
            ch.channelNumber,
            new spec.Basic.Deliver({ consumerTag: 'c1', deliveryTag: tag, exchange: '', routingKey: 'q' }),
            Buffer.from('m'),
            {
              messageId: `id${tag}`,
            },
          );
        }
        s.loop.runUntilIdle();
      },
    );
    expect(order).to.deep.equal(['start 1 m id1', 'callback 1', 'end 1', 'start 2 m id2', 'callback 2', 'error boom', 'end 2']);
    expect(s.callbackErrors.map((e) => (e as Error).message)).to.deep.equal(['boom']);
  });

  it('coney:connection and coney:channel publish open, blocked, unblocked and close', () => {
    let s!: ReturnType<typeof openOnFakeBroker>;
    const channelEvents = recordEvents('coney:channel', () => {
      const connectionEvents = recordEvents('coney:connection', () => {
        s = openOnFakeBroker();
        const ch = openChannel(s);
        s.session.send(0, new spec.Connection.Blocked({ reason: 'low on memory' }));
        s.session.send(0, new spec.Connection.Unblocked());
        s.loop.runUntilIdle();
        ch.close();
        s.loop.runUntilIdle();
        s.connection.close();
        s.loop.runUntilIdle();
      });
      expect(
        connectionEvents.map((e) => [e.event, e.connection === s.connection, e.reason instanceof Error ? e.reason.name : e.reason]),
      ).to.deep.equal([
        ['open', true, undefined],
        ['blocked', true, 'low on memory'],
        ['unblocked', true, undefined],
        ['close', true, 'ConnectionClosedByClient'],
      ]);
    });
    expect(channelEvents.map((e) => [e.event, e.channel?.channelNumber, e.connection === s.connection])).to.deep.equal([
      ['open', 1, true],
      ['close', 1, true],
    ]);
  });
});

describe('observability: NODE_DEBUG=coney', () => {
  it('logs the connection’s life, and never the password', function () {
    this.timeout(60_000);
    const script = path.join(__dirname, 'fixtures', 'debug-log-child.ts');
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, NODE_DEBUG: 'coney' },
      encoding: 'utf8',
      timeout: 50_000,
    });
    expect(run.status, run.stderr).to.equal(0);
    const log = run.stderr;
    expect(log).to.match(/CONEY \d+: connecting to amqp:\/\/alice@fake-broker:5672\/%2F/);
    expect(log).to.match(/CONEY \d+: tune: channelMax \d+, frameMax \d+, heartbeat \d+ s/);
    expect(log).to.match(/CONEY \d+: open: /);
    expect(log).to.match(/CONEY \d+: channel 1 open/);
    expect(log).to.match(/CONEY \d+: blocked by the broker: low on memory/);
    expect(log).to.match(/CONEY \d+: closed: ConnectionClosedByClient/);
    expect(log).not.to.include('s3cret-Pa55');
    expect(run.stdout).to.include('done');
  });

  it('prints nothing without NODE_DEBUG', function () {
    this.timeout(60_000);
    const script = path.join(__dirname, 'fixtures', 'debug-log-child.ts');
    const env = { ...process.env };
    delete env['NODE_DEBUG'];
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { env, encoding: 'utf8', timeout: 50_000 });
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stderr).not.to.include('CONEY');
  });
});
