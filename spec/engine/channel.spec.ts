/**
 * Channel unit tests on the deterministic virtual loop with the scripted
 * fake broker: RPC ordering, close races, content reassembly and the
 * protocol errors RabbitMQ will not produce on demand.
 */
import { expect } from 'chai';
import {
  Channel,
  ChannelClosedByBroker,
  ChannelClosedByClient,
  ChannelWrongStateError,
  Connection,
  ConnectionClosedByClient,
  ConnectionParameters,
  DuplicateConsumerTag,
  FrameError,
  type GetMessage,
  InvalidArgumentError,
  UndecodableMessageError,
  StreamLostError,
  VirtualIOLoop,
  spec,
} from '../../lib';
import { FrameWriter } from '../../lib/wire/frame-writer';
import type { FakeBroker, FakeSession } from '../support/fake-broker';
import { type OpenFakeBrokerConnection, openChannel, openOnFakeBroker } from '../support/virtual-broker';
import * as sinon from 'sinon';
import { nestedArrayTable } from '../support/nested-table';

/** Names of the methods the client sent on `channel`, in order. */
function sentOn(session: FakeSession, channel: number): string[] {
  return session.methods.filter((m) => m.channel === channel).map((m) => m.method.name);
}

/** Holds the broker's answers to methods of `type`; `release()` sends them in order. */
function holdReplies(broker: FakeBroker, type: new (...args: never[]) => spec.AMQPMethod, reply: (m: spec.AMQPMethod) => spec.AMQPMethod) {
  const held: Array<() => void> = [];
  const previous = broker.onMethod;
  broker.onMethod = (session, channel, method) => {
    if (method instanceof type) {
      held.push(() => session.send(channel, reply(method)));
      return true;
    }
    return previous?.(session, channel, method);
  };
  return {
    get count(): number {
      return held.length;
    },
    release(n = held.length): void {
      for (const send of held.splice(0, n)) send();
    },
  };
}

const declareOk = (m: spec.AMQPMethod): spec.AMQPMethod =>
  new spec.Queue.DeclareOk({ queue: (m as spec.Queue.Declare).queue, messageCount: 0, consumerCount: 0 });

/** The bytes of a content-carrying method with its header and body frames. */
function contentBytes(channel: number, method: spec.AMQPMethod, body: Buffer, frameMax: number, properties: spec.BasicPropertiesInit = {}): Buffer {
  const w = new FrameWriter(1024);
  w.writeMethod(channel, method);
  w.writeContent(channel, properties, body, frameMax);
  return Buffer.concat(w.take());
}

function deliver(consumerTag: string, deliveryTag: number): spec.Basic.Deliver {
  return new spec.Basic.Deliver({ consumerTag, deliveryTag, redelivered: false, exchange: '', routingKey: 'q' });
}

describe('Channel (virtual loop, fake broker)', () => {
  describe('RPC ordering', () => {
    it('does not send a second synchronous method before the first one is answered', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const replies = holdReplies(s.broker, spec.Queue.Declare, declareOk);
      const done: string[] = [];
      ch.queueDeclare('a', {}, (err, ok) => done.push(err ? err.message : ok.queue));
      ch.queueDeclare('b', {}, (err, ok) => done.push(err ? err.message : ok.queue));
      s.loop.runUntilIdle();
      expect(s.session.sent(spec.Queue.Declare).map((m) => m.queue)).to.deep.equal(['a']);
      replies.release();
      s.loop.runUntilIdle();
      expect(s.session.sent(spec.Queue.Declare).map((m) => m.queue)).to.deep.equal(['a', 'b']);
      expect(done).to.deep.equal(['a']);
      replies.release();
      s.loop.runUntilIdle();
      expect(done).to.deep.equal(['a', 'b']);
    });

    it('keeps an asynchronous method issued after a queued synchronous one behind it', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const replies = holdReplies(s.broker, spec.Queue.Declare, declareOk);
      ch.queueDeclare('a');
      ch.queueDeclare('b');
      ch.basicPublish('', 'b', 'after b');
      ch.basicAck(7);
      s.loop.runUntilIdle();
      expect(sentOn(s.session, ch.channelNumber).slice(1)).to.deep.equal(['queue.declare']);
      expect(s.session.published).to.have.length(0);
      replies.release();
      s.loop.runUntilIdle();
      expect(sentOn(s.session, ch.channelNumber).slice(1)).to.deep.equal(['queue.declare', 'queue.declare', 'basic.publish', 'basic.ack']);
      expect(s.session.published.map((p) => p.body.toString())).to.deep.equal(['after b']);
    });

    it('sends an asynchronous method after an in-flight synchronous one at once', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      holdReplies(s.broker, spec.Queue.Declare, declareOk);
      ch.queueDeclare('a');
      s.loop.runUntilIdle();
      ch.basicPublish('', 'a', 'now');
      ch.basicAck(3, true);
      ch.queueDeclare('b', { noWait: true });
      s.loop.runUntilIdle();
      expect(sentOn(s.session, ch.channelNumber).slice(1)).to.deep.equal(['queue.declare', 'basic.publish', 'basic.ack', 'queue.declare']);
    });

    it("runs a reply's callback first, then those of the calls its reply let go out", () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const replies = holdReplies(s.broker, spec.Queue.Declare, declareOk);
      const order: string[] = [];
      ch.queueDeclare('a', {}, (err) => order.push(`a ${err === null ? 'ok' : err.name}`));
      ch.queueDeclare('c', {}, (err) => order.push(`c ${err === null ? 'ok' : err.name}`));
      // Queued behind 'c'; written right after 'c' (no reply to wait for) and called back then.
      ch.queueDeclare('b', { noWait: true }, (err) => order.push(`b ${err === null ? 'ok' : err.name}`));
      s.loop.runUntilIdle();
      expect(order).to.deep.equal([]);
      replies.release();
      s.loop.runUntilIdle();
      replies.release(1); // 'c' only: a no-wait declare gets no declare-ok
      s.loop.runUntilIdle();
      expect(order).to.deep.equal(['a ok', 'b ok', 'c ok']);
      expect(ch.isOpen).to.equal(true);
    });

    it('encodes a call once, when it is made, and sends those bytes when its turn comes', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const replies = holdReplies(s.broker, spec.Queue.Declare, declareOk);
      const encode = sinon.spy(spec.Queue.Declare.prototype, 'encode');
      try {
        ch.queueDeclare('a');
        ch.queueDeclare('b', { arguments: { 'x-max-length': 5 } });
        expect(encode.callCount, 'both encoded in the calls').to.equal(2);
        // A bad argument still throws in the call, even behind a call in flight.
        expect(() => ch.queueDeclare('c'.repeat(300))).to.throw(InvalidArgumentError, /queue is 300 bytes/);
        expect(() => ch.queueDeclare('c', { arguments: { n: NaN } })).to.throw(InvalidArgumentError, /NaN/);
        const encoded = encode.callCount;
        s.loop.runUntilIdle();
        replies.release();
        s.loop.runUntilIdle();
        expect(encode.callCount, 'nothing encoded again when sent').to.equal(encoded);
      } finally {
        encode.restore();
      }
      expect(s.session.sent(spec.Queue.Declare).map((m) => [m.queue, m.arguments])).to.deep.equal([
        ['a', {}],
        ['b', { 'x-max-length': 5 }],
      ]);
    });

    it('calls a noWait callback once the frame is written, not synchronously, with no result', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const results: unknown[][] = [];
      ch.queueDeclare('q', { noWait: true }, (...args) => results.push(args));
      expect(results).to.deep.equal([]);
      s.loop.runUntilIdle();
      expect(results).to.deep.equal([[null]]);
      expect(s.session.sent(spec.Queue.Declare)[0].noWait).to.equal(true);
    });
  });

  describe('closing', () => {
    it('ignores frames for a closing channel until close-ok, including a message cut by the close', () => {
      const s = openOnFakeBroker({ broker: { frameMax: 4096 }, parameters: { frameMax: 4096 } });
      const ch = openChannel(s);
      const got: string[] = [];
      const flows: boolean[] = [];
      ch.addOnFlowCallback((_c, active) => flows.push(active));
      const closes: Error[] = [];
      ch.addOnCloseCallback((_c, reason) => closes.push(reason));
      const getResult: Array<Error | null> = [];
      holdReplies(s.broker, spec.Basic.Get, () => new spec.Basic.GetEmpty());
      ch.basicGet('q', (err, m) => {
        getResult.push(err);
        if (m) got.push(m.body.toString());
      });
      s.loop.runUntilIdle();
      // get-ok, its header and the first half of its body...
      const whole = contentBytes(
        ch.channelNumber,
        new spec.Basic.GetOk({ deliveryTag: 1, exchange: '', routingKey: 'q', messageCount: 0 }),
        Buffer.alloc(6000, 1),
        4096,
      );
      const cut = whole.length - 2000;
      s.session.sendRaw(whole.subarray(0, cut));
      s.loop.runUntilIdle();
      // ...then the client closes the channel (nothing else in flight: close goes out at once).
      const closeOk = holdReplies(s.broker, spec.Channel.Close, () => new spec.Channel.CloseOk());
      ch.close();
      s.loop.runUntilIdle();
      expect(sentOn(s.session, ch.channelNumber).pop()).to.equal('channel.close');
      s.session.sendRaw(whole.subarray(cut));
      s.session.sendRaw(contentBytes(ch.channelNumber, deliver('nobody', 2), Buffer.from('late'), 4096));
      s.session.send(ch.channelNumber, new spec.Channel.Flow({ active: false }));
      s.session.send(ch.channelNumber, new spec.Queue.DeclareOk({ queue: 'stray' }));
      s.loop.runUntilIdle();
      expect(ch.isClosing).to.equal(true);
      expect(got).to.deep.equal([]);
      expect(flows).to.deep.equal([]);
      expect(s.session.sent(spec.Channel.FlowOk)).to.have.length(0);
      closeOk.release();
      s.loop.runUntilIdle();
      expect(ch.isClosed).to.equal(true);
      expect(closes).to.have.length(1);
      expect(closes[0]).to.be.instanceOf(ChannelClosedByClient);
      expect(getResult).to.deep.equal([closes[0]]);
      expect(s.events.closes).to.deep.equal([]);
      expect(s.connection.isOpen).to.equal(true);
      expect(s.callbackErrors).to.deep.equal([]);
    });

    it('waits for close-ok when the broker closes the channel while our close is in flight', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const closes: Error[] = [];
      ch.addOnCloseCallback((_c, reason) => closes.push(reason));
      const closeOk = holdReplies(s.broker, spec.Channel.Close, () => new spec.Channel.CloseOk());
      const closeResult: Array<Error | null> = [];
      ch.close(200, 'bye', (err) => closeResult.push(err));
      s.loop.runUntilIdle();
      s.session.send(ch.channelNumber, new spec.Channel.Close({ replyCode: 404, replyText: 'NOT_FOUND - no exchange' }));
      s.loop.runUntilIdle();
      expect(s.session.sent(spec.Channel.CloseOk)).to.have.length(1);
      expect(ch.isClosing, 'still waiting for our close-ok').to.equal(true);
      const other = openChannel(s);
      expect(other.channelNumber, 'the number is not reused before close-ok').to.not.equal(ch.channelNumber);
      closeOk.release();
      s.loop.runUntilIdle();
      expect(ch.isClosed).to.equal(true);
      expect(closes).to.have.length(1);
      expect(closes[0]).to.be.instanceOf(ChannelClosedByBroker);
      expect((closes[0] as ChannelClosedByBroker).replyCode).to.equal(404);
      expect(closeResult).to.deep.equal([null]);
      expect(s.connection.isOpen).to.equal(true);
      expect(s.events.closes).to.deep.equal([]);
    });

    it('drops a queued close when the broker closes the channel first, and tells everyone once', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      holdReplies(s.broker, spec.Queue.Declare, declareOk);
      const results: Array<[string, Error | null]> = [];
      const closes: Error[] = [];
      ch.addOnCloseCallback((_c, reason) => closes.push(reason));
      ch.queueDeclare('a', { passive: true }, (err) => results.push(['declare', err]));
      ch.queueDeclare('b', {}, (err) => results.push(['declare b', err]));
      ch.basicPublish('', 'q', 'queued publish');
      ch.close(200, 'bye', (err) => results.push(['close', err]));
      s.loop.runUntilIdle();
      s.session.send(ch.channelNumber, new spec.Channel.Close({ replyCode: 404, replyText: 'NOT_FOUND - no queue' }));
      s.loop.runUntilIdle();
      expect(closes).to.have.length(1);
      const reason = closes[0];
      expect(reason).to.be.instanceOf(ChannelClosedByBroker);
      expect(results).to.deep.equal([
        ['declare', reason],
        ['declare b', reason],
        ['close', reason],
      ]);
      expect(s.session.sent(spec.Channel.Close)).to.have.length(0);
      expect(s.session.published).to.have.length(0);
      expect(s.callbackErrors, 'the dropped publish is not reported as a callback error').to.deep.equal([]);
      expect(s.connection.isOpen).to.equal(true);
    });

    it('close() while opening: the open callback gets the close error, then the channel closes', () => {
      const s = openOnFakeBroker();
      const openOk = holdReplies(s.broker, spec.Channel.Open, () => new spec.Channel.OpenOk());
      const opened: Array<[Error | null, Channel | undefined]> = [];
      const ch = s.connection.channel((err, c) => opened.push([err, c]));
      s.loop.runUntilIdle();
      ch.close(200, 'never mind');
      expect(ch.isClosing).to.equal(true);
      openOk.release();
      s.loop.runUntilIdle();
      expect(opened).to.have.length(1);
      expect(opened[0][0]).to.be.instanceOf(ChannelClosedByClient);
      expect(ch.isClosed).to.equal(true);
      expect(sentOn(s.session, ch.channelNumber)).to.deep.equal(['channel.open', 'channel.close']);
    });

    it('connection.close() while a channel opens: the open fails, the channel and the connection close', () => {
      const s = openOnFakeBroker();
      const openOk = holdReplies(s.broker, spec.Channel.Open, () => new spec.Channel.OpenOk());
      const opened: Array<Error | null> = [];
      const chCloses: Error[] = [];
      const ch = s.connection.channel((err) => opened.push(err));
      ch.addOnCloseCallback((_c, r) => chCloses.push(r));
      s.loop.runUntilIdle();
      s.connection.close();
      openOk.release();
      s.loop.runUntilIdle();
      expect(opened).to.have.length(1);
      expect(opened[0]).to.be.instanceOf(ChannelClosedByClient);
      expect(chCloses).to.have.length(1);
      expect(s.events.closes).to.have.length(1);
      expect(s.events.closes[0]).to.be.instanceOf(ConnectionClosedByClient);
      expect(sentOn(s.session, ch.channelNumber)).to.deep.equal(['channel.open', 'channel.close']);
    });

    it('close() cancels consumers before channel.close; close twice and calls afterwards throw', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      ch.basicConsume('q', () => undefined, { consumerTag: 'c1' });
      ch.basicConsume('q', () => undefined, { consumerTag: 'c2' });
      s.loop.runUntilIdle();
      const closes: Error[] = [];
      ch.addOnCloseCallback((_c, r) => closes.push(r));
      ch.close();
      expect(() => ch.close()).to.throw(ChannelWrongStateError);
      expect(() => ch.basicPublish('', 'q', 'x')).to.throw(ChannelWrongStateError);
      s.loop.runUntilIdle();
      expect(sentOn(s.session, ch.channelNumber).slice(3)).to.deep.equal(['basic.cancel', 'basic.cancel', 'channel.close']);
      expect(closes).to.have.length(1);
      expect(() => ch.close()).to.throw(ChannelWrongStateError);
    });
  });

  describe('consumers', () => {
    it('rejects with requeue a delivery that crosses our basic.cancel (not lost, not delivered)', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const got: number[] = [];
      ch.basicConsume('q', (_c, m) => got.push(m.deliveryTag), { consumerTag: 'manual' });
      ch.basicConsume('q', (_c, m) => got.push(m.deliveryTag), { consumerTag: 'auto', autoAck: true });
      s.loop.runUntilIdle();
      s.broker.onMethod = (session, channel, m) => {
        if (!(m instanceof spec.Basic.Cancel)) return;
        const tag = m.consumerTag;
        session.sendContent(channel, deliver(tag, tag === 'manual' ? 41 : 42), Buffer.from('in flight'));
        session.send(channel, new spec.Basic.CancelOk({ consumerTag: tag }));
        return true;
      };
      const cancelled: string[] = [];
      ch.basicCancel('manual', (err, ok) => cancelled.push(err ? err.message : ok.consumerTag));
      ch.basicCancel('auto', (err, ok) => cancelled.push(err ? err.message : ok.consumerTag));
      expect(ch.consumerTags).to.deep.equal([]);
      s.loop.runUntilIdle();
      expect(cancelled).to.deep.equal(['manual', 'auto']);
      expect(got).to.deep.equal([]);
      const rejects = s.session.sent(spec.Basic.Reject);
      expect(rejects.map((r) => [r.deliveryTag, r.requeue])).to.deep.equal([[41, true]]);
    });

    it('throws DuplicateConsumerTag synchronously and keeps the first consumer', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const tag = ch.basicConsume('q', () => undefined, { consumerTag: 'same' });
      expect(tag).to.equal('same');
      expect(() => ch.basicConsume('q', () => undefined, { consumerTag: 'same' })).to.throw(DuplicateConsumerTag);
      s.loop.runUntilIdle();
      expect(s.session.sent(spec.Basic.Consume)).to.have.length(1);
      expect(ch.consumerTags).to.deep.equal(['same']);
    });

    it('handles a broker basic.cancel: onCancel, tag dropped, cancel-ok only when asked', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      ch.basicConsume('q', () => undefined, { consumerTag: 'c1' });
      ch.basicConsume('q', () => undefined, { consumerTag: 'c2' });
      s.loop.runUntilIdle();
      const cancels: string[] = [];
      ch.addOnCancelCallback((_c, m) => cancels.push(m.consumerTag));
      s.session.send(ch.channelNumber, new spec.Basic.Cancel({ consumerTag: 'c1', noWait: true }));
      s.session.send(ch.channelNumber, new spec.Basic.Cancel({ consumerTag: 'c2', noWait: false }));
      s.loop.runUntilIdle();
      expect(cancels).to.deep.equal(['c1', 'c2']);
      expect(ch.consumerTags).to.deep.equal([]);
      expect(s.session.sent(spec.Basic.CancelOk).map((m) => m.consumerTag)).to.deep.equal(['c2']);
    });
  });

  describe('content', () => {
    it('reassembles a body from many frames delivered in small chunks', () => {
      const s = openOnFakeBroker({ broker: { frameMax: 4096 }, parameters: { frameMax: 4096 } });
      const ch = openChannel(s);
      const got: Array<{ p: spec.BasicProperties; body: Buffer }> = [];
      ch.basicConsume('q', (_c, _m, p, body) => got.push({ p, body }), { consumerTag: 'big' });
      s.loop.runUntilIdle();
      const body = Buffer.alloc(100 * 1024);
      for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
      const bytes = contentBytes(ch.channelNumber, deliver('big', 1), body, 4096, { messageId: 'm1' });
      s.session.peer.write(bytes, 777);
      s.session.sendRaw(contentBytes(ch.channelNumber, deliver('big', 2), Buffer.from('small'), 4096));
      s.loop.runUntilIdle();
      expect(got).to.have.length(2);
      expect(got[0].body.equals(body)).to.equal(true);
      expect(got[0].p.messageId).to.equal('m1');
      expect(got[1].body.toString()).to.equal('small');
    });

    it('passes an empty body as an empty Buffer (header only, no body frame)', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const got: Buffer[] = [];
      ch.basicConsume('q', (_c, _m, _p, body) => got.push(body), { consumerTag: 'e' });
      s.loop.runUntilIdle();
      s.session.sendContent(ch.channelNumber, deliver('e', 1), Buffer.alloc(0));
      s.loop.runUntilIdle();
      expect(got).to.have.length(1);
      expect(Buffer.isBuffer(got[0]) && got[0].length === 0).to.equal(true);
    });

    for (const [what, frame] of [
      [
        'a content header with no method before it',
        (ch: number) => Buffer.from([2, 0, ch, 0, 0, 0, 14, 0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xce]),
      ],
      ['a body frame with no header before it', (ch: number) => Buffer.from([3, 0, ch, 0, 0, 0, 2, 0x61, 0x62, 0xce])],
    ] as const) {
      it(`closes the connection with 505 UNEXPECTED_FRAME on ${what}`, () => {
        const s = openOnFakeBroker();
        const ch = openChannel(s);
        const results: Array<Error | null> = [];
        holdReplies(s.broker, spec.Queue.Declare, declareOk);
        ch.queueDeclare('pending', {}, (err) => results.push(err));
        s.loop.runUntilIdle();
        s.session.sendRaw(frame(ch.channelNumber));
        s.loop.runUntilIdle();
        expect(s.events.closes).to.have.length(1);
        expect(s.events.closes[0]).to.be.instanceOf(FrameError);
        expect(s.session.sent(spec.Connection.Close)[0].replyCode).to.equal(505);
        expect(results).to.deep.equal([s.events.closes[0]]);
        expect(ch.isClosed).to.equal(true);
      });
    }

    it('closes the connection with 505 on a method in the middle of a message', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      ch.basicConsume('q', () => undefined, { consumerTag: 'c' });
      s.loop.runUntilIdle();
      s.session.send(ch.channelNumber, deliver('c', 1));
      s.session.send(ch.channelNumber, deliver('c', 2));
      s.loop.runUntilIdle();
      expect(s.events.closes).to.have.length(1);
      expect(s.session.sent(spec.Connection.Close)[0].replyCode).to.equal(505);
    });

    it('closes the connection with 505 on a body size no Buffer can hold', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      ch.basicConsume('q', () => undefined, { consumerTag: 'c' });
      s.loop.runUntilIdle();
      const bytes = contentBytes(ch.channelNumber, deliver('c', 1), Buffer.from('abc'), 131072);
      const at = bytes.indexOf(Buffer.from([0, 60, 0, 0])) + 4; // body size (longlong)
      bytes.writeUInt32BE(0x100000, at); // 2^52 bytes
      s.session.sendRaw(bytes);
      s.loop.runUntilIdle();
      expect(s.events.closes).to.have.length(1);
      expect(s.events.closes[0]).to.be.instanceOf(FrameError);
      expect(s.session.sent(spec.Connection.Close)[0].replyCode).to.equal(505);
    });

    it('closes the connection with 505 on body frames longer than the announced size', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      ch.basicConsume('q', () => undefined, { consumerTag: 'c' });
      s.loop.runUntilIdle();
      const bytes = contentBytes(ch.channelNumber, deliver('c', 1), Buffer.from('abc'), 131072);
      bytes.writeUInt32BE(2, bytes.indexOf(Buffer.from([0, 60, 0, 0])) + 8); // body size 3 -> 2
      s.session.sendRaw(bytes);
      s.loop.runUntilIdle();
      expect(s.events.closes).to.have.length(1);
      expect(s.session.sent(spec.Connection.Close)[0].replyCode).to.equal(505);
    });
  });

  describe('basicGet', () => {
    function getSetup() {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      return { s, ch };
    }

    it('gives the message once its content is complete, or null on get-empty', () => {
      const { s, ch } = getSetup();
      let n = 0;
      s.broker.onMethod = (session, channel, m) => {
        if (!(m instanceof spec.Basic.Get)) return;
        n += 1;
        if (n === 1)
          session.sendContent(
            channel,
            new spec.Basic.GetOk({ deliveryTag: 1, redelivered: true, exchange: 'x', routingKey: 'k', messageCount: 5 }),
            Buffer.from('hi'),
            { appId: 'a' },
          );
        else session.send(channel, new spec.Basic.GetEmpty());
        return true;
      };
      const results: Array<GetMessage | null | Error> = [];
      ch.basicGet('q', (err, m) => results.push(err ?? m!));
      ch.basicGet('q', (err, m) => results.push(err ?? m!));
      s.loop.runUntilIdle();
      const m = results[0] as GetMessage;
      expect([m.method.deliveryTag, m.method.redelivered, m.method.messageCount, m.properties.appId, m.body.toString()]).to.deep.equal([
        1,
        true,
        5,
        'a',
        'hi',
      ]);
      expect(results[1]).to.equal(null);
    });

    it('fails a pending basicGet with the channel close error', () => {
      const { s, ch } = getSetup();
      s.broker.onMethod = (session, channel, m) => {
        if (!(m instanceof spec.Basic.Get)) return;
        session.send(channel, new spec.Channel.Close({ replyCode: 404, replyText: 'NOT_FOUND - no queue' }));
        return true;
      };
      const results: Array<Error | null> = [];
      ch.basicGet('missing', (err) => results.push(err));
      s.loop.runUntilIdle();
      expect(results).to.have.length(1);
      expect(results[0]).to.be.instanceOf(ChannelClosedByBroker);
      expect((results[0] as ChannelClosedByBroker).replyCode).to.equal(404);
    });

    it('fails a basicGet whose content is cut off by a lost connection', () => {
      const { s, ch } = getSetup();
      s.broker.onMethod = (session, channel, m) => {
        if (!(m instanceof spec.Basic.Get)) return;
        const bytes = contentBytes(channel, new spec.Basic.GetOk({ deliveryTag: 1, exchange: '', routingKey: 'q' }), Buffer.alloc(1000), 131072);
        session.sendRaw(bytes.subarray(0, bytes.length - 100));
        return true;
      };
      const results: Array<Error | null> = [];
      ch.basicGet('q', (err) => results.push(err));
      s.loop.runUntilIdle();
      expect(results).to.deep.equal([]);
      s.session.peer.destroy();
      s.loop.runUntilIdle();
      expect(results).to.have.length(1);
      expect(results[0]).to.be.instanceOf(StreamLostError);
      expect(results[0]).to.equal(s.events.closes[0]);
    });
  });

  describe('broker events', () => {
    it('answers a broker channel.flow with flow-ok and tells the flow callbacks', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const flows: boolean[] = [];
      ch.addOnFlowCallback((_c, active) => flows.push(active));
      s.session.send(ch.channelNumber, new spec.Channel.Flow({ active: false }));
      s.session.send(ch.channelNumber, new spec.Channel.Flow({ active: true }));
      s.loop.runUntilIdle();
      expect(flows).to.deep.equal([false, true]);
      expect(s.session.sent(spec.Channel.FlowOk).map((m) => m.active)).to.deep.equal([false, true]);
    });

    it('numbers confirms from 1 and passes acks and nacks on', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const events: string[] = [];
      ch.confirmDelivery((_c, m) => events.push(`${m.name} ${m.deliveryTag} ${m.multiple}`));
      s.loop.runUntilIdle();
      expect(ch.nextPublishSeqNo).to.equal(1);
      ch.basicPublish('', 'q', 'a');
      ch.basicPublish('', 'q', 'b');
      expect(ch.nextPublishSeqNo).to.equal(3);
      s.session.send(ch.channelNumber, new spec.Basic.Ack({ deliveryTag: 1, multiple: false }));
      s.session.send(ch.channelNumber, new spec.Basic.Nack({ deliveryTag: 2, multiple: true }));
      s.loop.runUntilIdle();
      expect(events).to.deep.equal(['basic.ack 1 false', 'basic.nack 2 true']);
    });

    it('a publish that throws for bad properties takes no confirm number, sent at once or queued', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      ch.confirmDelivery(() => undefined);
      s.loop.runUntilIdle();
      expect(() => ch.basicPublish('', 'q', 'x', { priority: 300 })).to.throw(/priority|range/);
      expect(ch.nextPublishSeqNo).to.equal(1);
      holdReplies(s.broker, spec.Queue.Declare, declareOk);
      ch.queueDeclare('a');
      ch.queueDeclare('b');
      expect(() => ch.basicPublish('', 'q', 'x', { messageId: 'm'.repeat(300) })).to.throw(/255|long/);
      expect(() => ch.basicPublish('', 'q', 'x', { headers: { big: 'h'.repeat(140000) } })).to.throw(/frame-max/);
      expect(ch.nextPublishSeqNo).to.equal(1);
      ch.basicPublish('', 'q', 'queued', { messageId: 'fine' });
      expect(ch.nextPublishSeqNo).to.equal(2);
    });
  });

  describe('hardening: nothing a publisher or the broker sends takes the connection down', () => {
    /** Method, header and body frames of a message whose headers table nests `levels` arrays (built by hand: the encoder refuses it). */
    function poisonBytes(channel: number, method: spec.AMQPMethod, body: Buffer, levels: number): Buffer {
      const table = nestedArrayTable(levels);
      const payload = Buffer.alloc(14 + table.length);
      payload.writeUInt16BE(60, 0);
      payload.writeUInt32BE(body.length, 8); // low half of the 64-bit body size
      payload.writeUInt16BE(0x2000, 12); // headers present
      table.copy(payload, 14);
      const header = Buffer.alloc(7 + payload.length + 1);
      header[0] = 2;
      header.writeUInt16BE(channel, 1);
      header.writeUInt32BE(payload.length, 3);
      payload.copy(header, 7);
      header[header.length - 1] = 0xce;
      const w = new FrameWriter(1024);
      w.writeMethod(channel, method);
      const methodFrame = Buffer.concat(w.take());
      const bodyFrame = Buffer.alloc(8 + body.length);
      bodyFrame[0] = 3;
      bodyFrame.writeUInt16BE(channel, 1);
      bodyFrame.writeUInt32BE(body.length, 3);
      body.copy(bodyFrame, 7);
      bodyFrame[bodyFrame.length - 1] = 0xce;
      return Buffer.concat(body.length === 0 ? [methodFrame, header] : [methodFrame, header, bodyFrame]);
    }

    afterEach(() => sinon.restore());

    it('a delivery whose headers nest 3,000 levels is rejected without requeue and reported; the consumer carries on', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const warnings: string[] = [];
      sinon.stub(process, 'emitWarning').callsFake((w: string | Error) => void warnings.push(String(w)));
      const errors: Error[] = [];
      ch.addOnErrorCallback((_c, err) => errors.push(err));
      const got: number[] = [];
      ch.basicConsume('jobs', (_c, m) => got.push(m.deliveryTag), { consumerTag: 'c1' });
      s.loop.runUntilIdle();
      s.session.sendRaw(poisonBytes(ch.channelNumber, deliver('c1', 1), Buffer.from('poison body'), 3000));
      s.session.sendContent(ch.channelNumber, deliver('c1', 2), Buffer.from('fine'));
      s.loop.runUntilIdle();
      expect(got, 'the next message still arrives').to.deep.equal([2]);
      const rejects = s.session.sent(spec.Basic.Reject);
      expect(rejects.map((r) => [r.deliveryTag, r.requeue])).to.deep.equal([[1, false]]);
      expect(errors).to.have.length(1);
      expect(errors[0]).to.be.instanceOf(UndecodableMessageError);
      const err = errors[0] as UndecodableMessageError;
      expect([err.channelNumber, err.queue, err.deliveryTag]).to.deep.equal([ch.channelNumber, 'jobs', 1]);
      expect(err.cause).to.be.instanceOf(FrameError);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(
        new RegExp(`delivery 1 \\(consumer "c1", queue "jobs"\\) on channel ${ch.channelNumber}.*nested more than 128.*rejected without requeue`),
      );
      expect(s.connection.isOpen && ch.isOpen).to.equal(true);
      expect(s.events.closes).to.deep.equal([]);
    });

    it('an auto-ack delivery with undecodable properties is reported, not rejected (the broker already let it go)', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      sinon.stub(process, 'emitWarning');
      const errors: Error[] = [];
      ch.addOnErrorCallback((_c, err) => errors.push(err));
      ch.basicConsume('q', () => undefined, { consumerTag: 'auto', autoAck: true });
      s.loop.runUntilIdle();
      s.session.sendRaw(poisonBytes(ch.channelNumber, deliver('auto', 1), Buffer.alloc(0), 200));
      s.loop.runUntilIdle();
      expect(s.session.sent(spec.Basic.Reject)).to.deep.equal([]);
      expect(errors.map((e) => e.message)).to.satisfy((m: string[]) => m.length === 1 && /dropped/.test(m[0]));
      expect(ch.isOpen).to.equal(true);
    });

    it('basicGet of an undecodable message calls back with the error and rejects it', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      sinon.stub(process, 'emitWarning');
      s.broker.onMethod = (session, channel, m) => {
        if (!(m instanceof spec.Basic.Get)) return false;
        session.sendRaw(
          poisonBytes(channel, new spec.Basic.GetOk({ deliveryTag: 9, exchange: '', routingKey: 'q', messageCount: 0 }), Buffer.from('x'), 500),
        );
        return true;
      };
      const results: Array<Error | null> = [];
      ch.basicGet('q', (err) => results.push(err));
      s.loop.runUntilIdle();
      expect(results).to.have.length(1);
      expect(results[0]).to.be.instanceOf(UndecodableMessageError);
      expect(s.session.sent(spec.Basic.Reject).map((r) => [r.deliveryTag, r.requeue])).to.deep.equal([[9, false]]);
      expect(ch.isOpen).to.equal(true);
    });

    it('a malicious server nesting connection.start 3,000 levels deep gets onOpenError, not a crash', () => {
      const loop = new VirtualIOLoop();
      loop.listen('evil', 5672, (peer) => {
        peer.onData(() => {
          // connection.start whose server-properties nest 3000 arrays
          const levels = 3000;
          const table = nestedArrayTable(levels);
          const tail = Buffer.from('\x00\x00\x00\x05PLAIN\x00\x00\x00\x05en_US', 'latin1');
          const payload = Buffer.concat([Buffer.from([0, 10, 0, 10, 0, 9]), table, tail]);
          const frame = Buffer.alloc(8 + payload.length);
          frame[0] = 1;
          frame.writeUInt32BE(payload.length, 3);
          payload.copy(frame, 7);
          frame[frame.length - 1] = 0xce;
          peer.write(frame);
        });
      });
      const errors: Error[] = [];
      new Connection({ ioloop: loop, parameters: new ConnectionParameters({ host: 'evil' }), onOpenError: (_c, err) => errors.push(err) });
      loop.runUntilIdle();
      expect(errors).to.have.length(1);
      expect(errors[0]).to.be.instanceOf(FrameError);
      expect(errors[0].message).to.match(/nested more than 128/);
    });

    it('a delivery above maxMessageSize: its body is skipped unbuffered, it is rejected, the channel closes with 406, the connection carries on', () => {
      const s = openOnFakeBroker({ broker: { frameMax: 4096 }, parameters: { frameMax: 4096, maxMessageSize: 10000 } });
      const ch = openChannel(s);
      const other = openChannel(s);
      const reasons: Error[] = [];
      ch.addOnCloseCallback((_c, r) => reasons.push(r));
      const got: number[] = [];
      ch.basicConsume('big', (_c, m) => got.push(m.deliveryTag), { consumerTag: 'c' });
      s.loop.runUntilIdle();
      const bytes = contentBytes(ch.channelNumber, deliver('c', 1), Buffer.alloc(50000, 1), 4096);
      const allocUnsafe = sinon.spy(Buffer, 'allocUnsafe');
      s.session.peer.write(bytes, 1000);
      s.loop.runUntilIdle();
      const big = allocUnsafe.getCalls().filter((c) => c.args[0] > 10008);
      allocUnsafe.restore();
      expect(big, 'nothing of the announced size is allocated').to.deep.equal([]);
      expect(got).to.deep.equal([]);
      expect(s.session.sent(spec.Basic.Reject).map((r) => [r.deliveryTag, r.requeue])).to.deep.equal([[1, false]]);
      expect(ch.isClosed).to.equal(true);
      expect(reasons).to.have.length(1);
      expect(reasons[0]).to.be.instanceOf(ChannelClosedByClient);
      expect(reasons[0].message).to.match(
        /delivery 1 \(consumer "c", queue "big"\) on channel \d+ has a body of 50000 bytes, more than maxMessageSize 10000; it was rejected without requeue/,
      );
      expect(s.session.sent(spec.Channel.Close).map((c) => c.replyCode)).to.deep.equal([406]);
      expect(s.connection.isOpen && other.isOpen).to.equal(true);
    });

    it('drops frames that arrive for a channel after the broker closed it (the connection and other channels carry on)', () => {
      const s = openOnFakeBroker();
      const a = openChannel(s);
      const b = openChannel(s);
      a.basicConsume('q', () => undefined, { consumerTag: 'ca' });
      const gotB: number[] = [];
      b.basicConsume('q', (_c, m) => gotB.push(m.deliveryTag), { consumerTag: 'cb' });
      s.loop.runUntilIdle();
      // RabbitMQ may write a closing channel's queued deliveries after its channel.close
      s.session.send(a.channelNumber, new spec.Channel.Close({ replyCode: 404, replyText: 'NOT_FOUND - no queue' }));
      for (let tag = 1; tag <= 5; tag++) s.session.sendContent(a.channelNumber, deliver('ca', tag), Buffer.from('late'));
      s.session.send(a.channelNumber, new spec.Basic.Ack({ deliveryTag: 3, multiple: false }));
      s.session.sendContent(b.channelNumber, deliver('cb', 1), Buffer.from('b'));
      s.loop.runUntilIdle();
      expect(a.isClosed).to.equal(true);
      expect(s.connection.isOpen, 'no 504 for the late frames').to.equal(true);
      expect(s.events.closes).to.deep.equal([]);
      expect(gotB).to.deep.equal([1]);
      const c = openChannel(s);
      expect(c.channelNumber, 'a broker-closed number is reused last').to.not.equal(a.channelNumber);
    });

    it('a reused number drops the late frames of its previous channel until open-ok', () => {
      const s = openOnFakeBroker({ broker: { channelMax: 1 } });
      const a = openChannel(s);
      a.basicConsume('q', () => undefined, { consumerTag: 'ca' });
      s.loop.runUntilIdle();
      s.session.send(a.channelNumber, new spec.Channel.Close({ replyCode: 404, replyText: 'NOT_FOUND' }));
      s.loop.runUntilIdle();
      const openOk = holdReplies(s.broker, spec.Channel.Open, () => new spec.Channel.OpenOk());
      let reopened: Channel | undefined;
      s.connection.channel((err, ch) => {
        if (err) throw err;
        reopened = ch;
      });
      s.loop.runUntilIdle();
      s.session.sendContent(1, deliver('ca', 7), Buffer.from('late'));
      s.session.send(1, new spec.Basic.Ack({ deliveryTag: 1, multiple: false }));
      openOk.release();
      s.loop.runUntilIdle();
      expect(reopened?.channelNumber).to.equal(1);
      expect(reopened?.isOpen).to.equal(true);
      expect(s.connection.isOpen).to.equal(true);
    });

    it('an ack for a publish tag never sent closes that channel (406) and leaves the unconfirmed tags true', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const acks: number[] = [];
      ch.confirmDelivery((_c, m) => acks.push(m.deliveryTag));
      s.loop.runUntilIdle();
      ch.basicPublish('', 'q', 'one');
      ch.basicPublish('', 'q', 'two');
      s.loop.runUntilIdle();
      const reasons: Error[] = [];
      ch.addOnCloseCallback((_c, r) => reasons.push(r));
      s.session.send(ch.channelNumber, new spec.Basic.Ack({ deliveryTag: 5, multiple: true }));
      s.loop.runUntilIdle();
      expect(acks, 'the bogus ack is not passed on').to.deep.equal([]);
      expect(ch.unconfirmedDeliveryTags()).to.deep.equal([1, 2]);
      expect(ch.isClosed).to.equal(true);
      expect(reasons).to.have.length(1);
      expect(reasons[0]).to.be.instanceOf(ChannelClosedByClient);
      expect((reasons[0] as ChannelClosedByClient).replyCode).to.equal(406);
      expect(reasons[0].message).to.match(/delivery tag 5, but only 2 publish\(es\) were sent/);
      expect(s.session.sent(spec.Channel.Close)[0].replyCode).to.equal(406);
      expect(s.connection.isOpen).to.equal(true);
    });

    it('refuses a method frame larger than frame-max at the call (the broker would close the connection with 501)', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const big = { blob: 'x'.repeat(200 * 1024) };
      expect(() => ch.queueDeclare('q', { arguments: big })).to.throw(
        InvalidArgumentError,
        /queue\.declare: the method frame would be \d+ bytes, more than frame-max 131072/,
      );
      expect(() => ch.exchangeBind('a', 'b', 'k', { arguments: big })).to.throw(InvalidArgumentError, /frame-max/);
      expect(() => s.connection.updateSecret('t'.repeat(1024 * 1024), 'refresh')).to.throw(
        InvalidArgumentError,
        /connection\.update-secret.*frame-max/,
      );
      s.loop.runUntilIdle();
      expect(s.session.sent(spec.Queue.Declare)).to.deep.equal([]);
      expect(s.connection.isOpen && ch.isOpen).to.equal(true);
    });

    it('refuses an unknown property name, suggesting the right one', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      expect(() => ch.basicPublish('', 'q', 'x', { contentTyp: 'text/plain' } as never)).to.throw(
        InvalidArgumentError,
        /unknown property 'contentTyp'; did you mean 'contentType'\?/,
      );
      expect(() => ch.basicPublish('', 'q', 'x', { zzzzzz: 1 } as never)).to.throw(InvalidArgumentError, /the properties are: contentType, /);
      expect(() => ch.basicPublish('', 'q', 'x', new spec.BasicProperties({ messageId: 'ok' }))).to.not.throw();
      expect(() => ch.basicPublish('', 'q', 'x', { headers: { n: NaN } })).to.throw(InvalidArgumentError, /NaN cannot be sent/);
    });
  });

  describe('plain-JavaScript mistakes throw instead of being misread (issue 11)', () => {
    it('a bare value where options go throws, suggesting the object meant', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const loose = ch as unknown as Record<string, (...args: unknown[]) => unknown>;
      expect(() => loose['exchangeDeclare']('x', 'fanout')).to.throw(
        InvalidArgumentError,
        /exchangeDeclare: options must be an object, got the string "fanout"; did you mean \{ type: "fanout" \}\?/,
      );
      expect(() => loose['basicQos'](50)).to.throw(
        InvalidArgumentError,
        /basicQos: options must be an object, got the number 50; did you mean \{ prefetchCount: 50 \}\?/,
      );
      expect(() => loose['queueDeclare']('q', true)).to.throw(InvalidArgumentError, /queueDeclare: options must be an object, got the boolean true/);
      expect(() => loose['queueDeclare']('q', {}, 'not a function')).to.throw(InvalidArgumentError, /queueDeclare: the callback must be a function/);
      s.loop.runUntilIdle();
      expect(s.session.sent(spec.Exchange.Declare)).to.deep.equal([]);
      expect(s.session.sent(spec.Basic.Qos)).to.deep.equal([]);
    });

    it("an unknown option name throws, suggesting coney's name (typos and other clients' names)", () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const loose = ch as unknown as Record<string, (...args: unknown[]) => unknown>;
      expect(() => loose['queueDeclare']('q', { durabel: true })).to.throw(
        InvalidArgumentError,
        /queueDeclare: unknown option 'durabel'; did you mean 'durable'\?/,
      );
      expect(() => loose['basicConsume']('q', () => undefined, { noAck: true })).to.throw(
        InvalidArgumentError,
        /basicConsume: unknown option 'noAck'; did you mean 'autoAck'\?/,
      );
      expect(() => loose['exchangeDeclare']('x', { type: 'fanout', auto_delete: true })).to.throw(InvalidArgumentError, /did you mean 'autoDelete'/);
      expect(() => loose['basicQos']({ prefetch: 10 })).to.throw(InvalidArgumentError, /did you mean 'prefetchCount'/);
      expect(() => loose['queueDelete']('q', { zzzzzzz: 1 })).to.throw(InvalidArgumentError, /known options: ifUnused, ifEmpty, noWait/);
      expect(() => loose['basicPublish']('', 'q', 'x', {}, { mandatory: true, onConfrim: () => 1 })).to.throw(
        InvalidArgumentError,
        /did you mean 'onConfirm'/,
      );
      expect(ch.consumerTags).to.deep.equal([]);
    });

    it('basicGet, queuePurge and confirmDelivery take options before or after the callback', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const order: string[] = [];
      ch.queuePurge('a', (err) => order.push(`purge-after ${err}`), { noWait: false });
      ch.queuePurge('b', { noWait: false }, (err) => order.push(`purge-before ${err}`));
      s.broker.onMethod = (session, channel, m) => {
        if (m instanceof spec.Queue.Purge) session.send(channel, new spec.Queue.PurgeOk({ messageCount: 0 }));
        else if (m instanceof spec.Basic.Get) session.send(channel, new spec.Basic.GetEmpty());
        else return false;
        return true;
      };
      ch.basicGet('a', (err, msg) => order.push(`get-after ${err} ${msg ? 'a message' : msg}`), { autoAck: true });
      ch.basicGet('b', { autoAck: true }, (err, msg) => order.push(`get-before ${err} ${msg ? 'a message' : msg}`));
      ch.confirmDelivery(null, { noWait: false }, (err) => order.push(`confirm ${err}`));
      s.loop.runUntilIdle();
      expect(order).to.deep.equal(['purge-after null', 'purge-before null', 'get-after null null', 'get-before null null', 'confirm null']);
      expect(s.session.sent(spec.Basic.Get).map((g) => g.noAck)).to.deep.equal([true, true]);
      const other = openChannel(s);
      other.confirmDelivery(null, (err) => order.push(`confirm2 ${err}`), { noWait: true });
      s.loop.runUntilIdle();
      expect(s.session.sent(spec.Confirm.Select).map((c) => c.noWait)).to.deep.equal([false, true]);
    });
  });

  describe('per-publish confirms and waitForConfirms (issue 11)', () => {
    function confirming(s: OpenFakeBrokerConnection): Channel {
      const ch = openChannel(s);
      ch.confirmDelivery(null);
      s.loop.runUntilIdle();
      return ch;
    }

    it('onConfirm gets null on ack, NackError on nack, UnroutableError when returned, each exactly once', () => {
      const s = openOnFakeBroker();
      const ch = confirming(s);
      const outcomes: Record<number, Array<string | null>> = {};
      const record =
        (n: number) =>
        (err: Error | null): void =>
          void (outcomes[n] ??= []).push(err === null ? null : err.constructor.name);
      for (let n = 1; n <= 5; n++) ch.basicPublish('ex', `k${n}`, `body ${n}`, {}, { mandatory: n === 4, onConfirm: record(n) });
      ch.basicPublish('ex', 'plain', 'no callback');
      s.loop.runUntilIdle();
      const send = (m: spec.AMQPMethod): void => s.session.send(ch.channelNumber, m);
      send(new spec.Basic.Ack({ deliveryTag: 2, multiple: true }));
      send(new spec.Basic.Nack({ deliveryTag: 3, multiple: false, requeue: false }));
      s.session.sendContent(
        ch.channelNumber,
        new spec.Basic.Return({ replyCode: 312, replyText: 'NO_ROUTE', exchange: 'ex', routingKey: 'k4' }),
        Buffer.from('body 4'),
      );
      send(new spec.Basic.Ack({ deliveryTag: 6, multiple: true }));
      s.loop.runUntilIdle();
      expect(outcomes).to.deep.equal({ 1: [null], 2: [null], 3: ['NackError'], 4: ['UnroutableError'], 5: [null] });
    });

    it('onConfirm gets the close reason when the channel closes first; onConfirm outside confirm mode throws', () => {
      const s = openOnFakeBroker();
      const plain = openChannel(s);
      expect(() => plain.basicPublish('', 'q', 'x', {}, { onConfirm: () => undefined })).to.throw(ChannelWrongStateError, /confirm mode/);
      const ch = confirming(s);
      const outcomes: Error[] = [];
      ch.basicPublish('', 'q', 'x', {}, { onConfirm: (err) => err && outcomes.push(err) });
      s.loop.runUntilIdle();
      s.session.send(ch.channelNumber, new spec.Channel.Close({ replyCode: 404, replyText: 'NOT_FOUND' }));
      s.loop.runUntilIdle();
      expect(outcomes).to.have.length(1);
      expect(outcomes[0]).to.be.instanceOf(ChannelClosedByBroker);
    });

    it('waitForConfirms calls back once everything published so far is answered, with the first nack', () => {
      const s = openOnFakeBroker();
      const ch = confirming(s);
      const results: Array<string | null> = [];
      ch.waitForConfirms((err) => results.push(`none ${err}`));
      s.loop.runUntilIdle();
      expect(results, 'nothing outstanding: called back soon').to.deep.equal(['none null']);
      for (let i = 0; i < 4; i++) ch.basicPublish('', 'q', 'x');
      ch.waitForConfirms((err) => results.push(err === null ? 'all acked' : err.message));
      ch.basicPublish('', 'q', 'later');
      ch.waitForConfirms((err) => results.push(err === null ? 'five acked' : `five: ${err.message}`));
      s.loop.runUntilIdle();
      s.session.send(ch.channelNumber, new spec.Basic.Ack({ deliveryTag: 1 }));
      s.session.send(ch.channelNumber, new spec.Basic.Nack({ deliveryTag: 3, multiple: true, requeue: false }));
      s.loop.runUntilIdle();
      expect(results).to.have.length(1, 'tag 4 is still unanswered');
      s.session.send(ch.channelNumber, new spec.Basic.Ack({ deliveryTag: 5, multiple: true }));
      s.loop.runUntilIdle();
      expect(results).to.deep.equal(['none null', 'the broker nacked publish 2 on channel 1', 'five: the broker nacked publish 2 on channel 1']);
      const plain = openChannel(s);
      expect(() => plain.waitForConfirms(() => undefined)).to.throw(ChannelWrongStateError, /not in confirm mode/);
    });
  });
});
