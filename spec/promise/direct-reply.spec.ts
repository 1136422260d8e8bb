import { expect } from 'chai';
import {
  type AsyncChannel,
  ChannelClosedByBroker,
  DIRECT_REPLY_TO,
  InvalidArgumentError,
  Message,
  RpcTimeoutError,
  UnroutableError,
} from '../../lib';
import * as spec from '../../lib/wire/spec';
import { type FakeAsync, openFake, rejects, sentOn, turns } from './fake';

describe('promise API: rpc over direct reply-to', () => {
  let s: FakeAsync;
  let channel: AsyncChannel;
  /** Answers each request on the broker side with its body upper-cased (tests that answer themselves unset it). */
  let echo: boolean;
  beforeEach(async () => {
    s = await openFake();
    channel = await s.connection.channel();
    echo = true;
    const ch = channel.channelNumber;
    s.session.peer.onData(() => {
      // the fake session records publishes as they arrive: answer the new ones on the loop
      s.loop.addCallback(() => {
        if (!echo) return;
        for (const p of s.session.published.splice(0)) {
          const tag = sentOn(s, channel, spec.Basic.Consume)[0].consumerTag;
          s.session.sendContent(
            ch,
            new spec.Basic.Deliver({ consumerTag: tag, deliveryTag: 1, exchange: '', routingKey: p.properties.replyTo! }),
            Buffer.from(p.body.toString().toUpperCase()),
            {
              correlationId: p.properties.correlationId,
            },
          );
        }
      });
    });
  });
  afterEach(() => s.stop());

  it('consumes amq.rabbitmq.reply-to once, with auto-ack, before the first request', async () => {
    const [a, b] = await Promise.all([channel.rpc('', 'svc', 'a'), channel.rpc('', 'svc', 'b')]);
    expect([a.body.toString(), b.body.toString()]).to.deep.equal(['A', 'B']);
    const consumes = sentOn(s, channel, spec.Basic.Consume);
    expect(consumes.map((c) => [c.queue, c.noAck])).to.deep.equal([[DIRECT_REPLY_TO, true]]);
    const methods = s.session.methods.filter((m) => m.channel === channel.channelNumber).map((m) => m.method.name);
    expect(methods.indexOf('basic.consume')).to.be.lessThan(methods.indexOf('basic.publish'));
    const publish = sentOn(s, channel, spec.Basic.Publish)[0];
    expect(publish.mandatory).to.equal(true);
  });

  it('matches many concurrent calls by correlation id', async () => {
    const bodies = Array.from({ length: 50 }, (_, i) => `call ${i}`);
    const replies = await Promise.all(bodies.map((b) => channel.rpc('', 'svc', b, { properties: { contentType: 'text/plain' } })));
    expect(replies.map((r) => r.body.toString())).to.deep.equal(bodies.map((b) => b.toUpperCase()));
  });

  it('times out with RpcTimeoutError, and drops and counts a late reply', async () => {
    echo = false;
    const call = channel.rpc('', 'svc', 'slow', { timeout: 2 });
    const err = await rejects(call, RpcTimeoutError, /no reply within 2 s/);
    expect(err.message).to.contain('"svc"');
    const request = s.session.published[0];
    const tag = sentOn(s, channel, spec.Basic.Consume)[0].consumerTag;
    s.session.sendContent(
      channel.channelNumber,
      new spec.Basic.Deliver({ consumerTag: tag, deliveryTag: 1, exchange: '', routingKey: 'x' }),
      Buffer.from('late'),
      {
        correlationId: request.properties.correlationId,
      },
    );
    await turns();
    expect(channel.lateReplies).to.equal(1);
  });

  it('an aborted signal rejects with its reason', async () => {
    echo = false;
    const controller = new AbortController();
    const call = channel.rpc('', 'svc', 'x', { signal: controller.signal });
    await turns();
    controller.abort(new Error('user gave up'));
    await rejects(call, Error, /user gave up/);
    const already = channel.rpc('', 'svc', 'x', { signal: controller.signal });
    await rejects(already, Error, /user gave up/);
  });

  it('a returned request (no responder queue) rejects with UnroutableError at once', async () => {
    echo = false;
    const call = channel.rpc('', 'nobody', 'x');
    await turns();
    const request = s.session.published[0];
    s.session.sendContent(
      channel.channelNumber,
      new spec.Basic.Return({ replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: 'nobody' }),
      request.body,
      request.properties,
    );
    await rejects(call, UnroutableError, /NO_ROUTE/);
  });

  it('the channel closing rejects the calls in flight with its reason', async () => {
    echo = false;
    const call = channel.rpc('', 'svc', 'x');
    await turns();
    s.session.send(channel.channelNumber, new spec.Channel.Close({ replyCode: 406, replyText: 'PRECONDITION_FAILED' }));
    await rejects(call, ChannelClosedByBroker);
  });

  it('reply() publishes to replyTo with the correlation id; a request without replyTo rejects', async () => {
    echo = false;
    let request: Message | undefined;
    const tag = await channel.basicConsume('svc', (m) => void (request = m));
    s.session.sendContent(
      channel.channelNumber,
      new spec.Basic.Deliver({ consumerTag: tag, deliveryTag: 1, exchange: '', routingKey: 'svc' }),
      Buffer.from('q'),
      {
        replyTo: 'amq.rabbitmq.reply-to.abc',
        correlationId: 'c-1',
      },
    );
    await turns();
    await channel.reply(request!, 'answer', { contentType: 'text/plain' });
    await turns();
    const sent = s.session.published.at(-1)!;
    expect([sent.method.routingKey, sent.properties.correlationId, sent.properties.contentType, sent.body.toString()]).to.deep.equal([
      'amq.rabbitmq.reply-to.abc',
      'c-1',
      'text/plain',
      'answer',
    ]);
    const noReplyTo = new Message(request!.channel, request!.method, new spec.BasicProperties(), request!.body);
    await rejects(channel.reply(noReplyTo, 'x'), InvalidArgumentError);
  });
});
