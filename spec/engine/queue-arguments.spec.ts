/**
 * The typed `arguments` of queue.declare and basic.consume, and the rule
 * for stream consumers.
 *
 * The first part is checked by the type-checker (`npm run typecheck`): the
 * `@ts-expect-error` lines must fail to compile, so this file stops
 * type-checking when a documented key accepts a wrong type, and the others
 * when a documented value or a key of any other name is refused. The rest
 * runs: how the values are encoded (a Date as an AMQP timestamp), and
 * `checkStreamConsume`, alone and through basicConsume on the fake broker
 * (nothing is sent when it throws).
 */
import { expect } from 'chai';
import { inspect } from 'node:util';
import {
  type ConsumeArguments,
  type ConsumeOptions,
  type FieldTable,
  InvalidArgumentError,
  type QueueArguments,
  type QueueDeclareOptions,
  spec,
  Typed,
} from '../../lib';
import { checkStreamConsume, declaresStream, type StreamConsumeContext } from '../../lib/engine/queue-arguments';
import { Writer } from '../../lib/wire/codec';
import { FrameWriter } from '../../lib/wire/frame-writer';
import * as sinon from 'sinon';
import { nestedArrayTable } from '../support/nested-table';
import { openChannel, openOnFakeBroker } from '../support/virtual-broker';

/** The bytes of a one-entry table `{ [key]: value }` after the key: the type tag and the value, in hex. */
function encodedValue(key: string, args: FieldTable): string {
  const w = new Writer(16);
  w.table({ [key]: args[key] });
  return w.buf.subarray(4 + 1 + Buffer.byteLength(key), w.pos).toString('hex');
}

const hex = (s: string): string => Buffer.from(s).toString('hex');

describe('queue and consumer arguments', () => {
  describe('types (compile-time: npm run typecheck)', () => {
    it('take the documented keys with their types, and any other key with any field value', () => {
      const quorum: QueueArguments = {
        'x-queue-type': 'quorum',
        'x-delivery-limit': 5,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': 'dead',
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
        'x-single-active-consumer': true,
        'x-queue-leader-locator': 'balanced',
        'x-quorum-initial-group-size': 3,
        'x-max-length': Typed.int64(10),
        'x-max-length-bytes': 10n ** 12n,
        'x-message-ttl': 60_000,
        'x-expires': 1_800_000,
        'x-consumer-timeout': 900_000,
        'x-some-plugin-setting': { nested: ['any', 1, true, null] },
      };
      const stream: QueueArguments = {
        'x-queue-type': 'stream',
        'x-max-age': '7D',
        'x-max-length-bytes': 20_000_000_000,
        'x-stream-max-segment-size-bytes': 100_000_000,
        'x-initial-cluster-size': 3,
        'x-stream-filter-size-bytes': 32,
      };
      const classic: QueueArguments = { 'x-queue-type': 'classic', 'x-max-priority': 10, 'x-queue-mode': 'lazy', 'x-queue-version': 2 };
      const consumers: ConsumeArguments[] = [
        { 'x-priority': 10, 'x-consumer-timeout': 60_000 },
        { 'x-stream-offset': 'first' },
        { 'x-stream-offset': 'last' },
        { 'x-stream-offset': 'next' },
        { 'x-stream-offset': 5000 },
        { 'x-stream-offset': 5000n },
        { 'x-stream-offset': new Date() },
        { 'x-stream-offset': '1h' },
        { 'x-stream-offset': '30m' },
        { 'x-stream-offset': Typed.int64(5000) },
        { 'x-stream-offset': Typed.timestamp(new Date()) },
        { 'x-stream-filter': ['emea', 'apac'], 'x-stream-match-unfiltered': true },
        { 'x-stream-filter': 'emea' },
        { 'x-anything-else': Buffer.from('bytes') },
      ];
      // A plain FieldTable is still accepted (recorded entities, tables built elsewhere),
      // and the typed tables are field tables.
      const table: FieldTable = { 'x-queue-type': 'quorum' };
      const declare: QueueDeclareOptions = { durable: true, arguments: table };
      const consume: ConsumeOptions = { arguments: table };
      const back: FieldTable[] = [quorum, stream, classic, ...consumers];
      expect(back).to.have.length(17);
      expect([declare.arguments, consume.arguments]).to.deep.equal([table, table]);
    });

    it('refuse a documented key with a value of the wrong type', () => {
      const queues: QueueArguments[] = [
        // @ts-expect-error: not a queue type
        { 'x-queue-type': 'qorum' },
        // @ts-expect-error: a number, not a numeric string
        { 'x-max-length': '100' },
        // @ts-expect-error: not an overflow behaviour
        { 'x-overflow': 'reject' },
        // @ts-expect-error: a boolean
        { 'x-single-active-consumer': 'true' },
        // @ts-expect-error: a string (an exchange name)
        { 'x-dead-letter-exchange': 42 },
        // @ts-expect-error: not a strategy
        { 'x-dead-letter-strategy': 'exactly-once' },
        // @ts-expect-error: units are Y, M, D, h, m, s (case matters: m is minutes, M months)
        { 'x-max-age': '7d' },
        // @ts-expect-error: a whole number and a unit
        { 'x-max-age': 604800 },
        // @ts-expect-error: not a locator
        { 'x-queue-leader-locator': 'random' },
        // @ts-expect-error: a string forced to a wire type is still a string
        { 'x-delivery-limit': Typed.string('5') },
      ];
      const consumers: ConsumeArguments[] = [
        // @ts-expect-error: not an offset specification
        { 'x-stream-offset': 'beginning' },
        // @ts-expect-error: an interval is a whole number and a unit
        { 'x-stream-offset': '1.5h' },
        // @ts-expect-error: a number
        { 'x-priority': 'high' },
        // @ts-expect-error: strings
        { 'x-stream-filter': [1, 2] },
      ];
      expect(queues.length + consumers.length).to.equal(14);
    });
  });

  describe('encoding', () => {
    it('sends a Date x-stream-offset as an AMQP timestamp (T, whole seconds since 1970)', () => {
      const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
      const seconds = Math.floor(at.getTime() / 1000)
        .toString(16)
        .padStart(16, '0');
      expect(encodedValue('x-stream-offset', { 'x-stream-offset': at } satisfies ConsumeArguments)).to.equal(`54${seconds}`);
    });

    it('sends numbers as int32 (I) or int64 (l), bigints as int64, strings as S, booleans as t, filters as an array', () => {
      const args = {
        'x-stream-offset': 5000,
        'x-max-length-bytes': 20_000_000_000,
        'x-delivery-limit': 10n,
        'x-max-age': '7D',
        'x-single-active-consumer': true,
        'x-stream-filter': ['a', 'b'],
      } satisfies QueueArguments & ConsumeArguments;
      expect(encodedValue('x-stream-offset', args)).to.equal('4900001388');
      expect(encodedValue('x-max-length-bytes', args)).to.equal('6c00000004a817c800');
      expect(encodedValue('x-delivery-limit', args)).to.equal('6c000000000000000a');
      expect(encodedValue('x-max-age', args)).to.equal(`5300000002${hex('7D')}`);
      expect(encodedValue('x-single-active-consumer', args)).to.equal('7401');
      expect(encodedValue('x-stream-filter', args)).to.equal(`410000000c5300000001${hex('a')}5300000001${hex('b')}`);
    });

    it('reaches the broker as given: the Date as the timestamp of its second', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const at = new Date(Date.UTC(2026, 5, 1, 12, 0, 0, 999));
      ch.basicQos({ prefetchCount: 10 });
      ch.basicConsume('events', () => undefined, { arguments: { 'x-stream-offset': at, 'x-priority': 5 } });
      s.loop.runUntilIdle();
      const [consume] = s.session.sent(spec.Basic.Consume);
      expect(consume.arguments).to.deep.equal({ 'x-stream-offset': new Date(Date.UTC(2026, 5, 1, 12, 0, 0)), 'x-priority': 5 });
    });
  });

  describe('declaresStream', () => {
    it('is true for x-queue-type stream only', () => {
      expect(declaresStream({ 'x-queue-type': 'stream' })).to.equal(true);
      expect(declaresStream({ 'x-queue-type': 'quorum' })).to.equal(false);
      expect(declaresStream({})).to.equal(false);
      expect(declaresStream(undefined)).to.equal(false);
    });
  });

  describe('checkStreamConsume', () => {
    const ready: StreamConsumeContext = { declaredStream: false, consumerPrefetch: 100, globalPrefetch: 0 };
    const check = (args: ConsumeArguments | undefined, context: Partial<StreamConsumeContext> = {}, autoAck = false): boolean =>
      checkStreamConsume('events', autoAck, args, { ...ready, ...context });

    it('leaves a consume alone that is not a stream consume (false)', () => {
      expect(check(undefined, { consumerPrefetch: 0 }, true)).to.equal(false);
      expect(check({ 'x-priority': 1 }, { consumerPrefetch: 0, globalPrefetch: 5 }, true)).to.equal(false);
    });

    it('answers true for a stream consume that has what RabbitMQ requires', () => {
      expect(check({ 'x-stream-offset': 'first' })).to.equal(true);
      expect(check({ 'x-stream-filter': ['emea'] })).to.equal(true);
      expect(check(undefined, { declaredStream: true })).to.equal(true);
    });

    it('takes an x-stream-offset or x-stream-filter argument, or a queue declared as a stream, for a stream consume', () => {
      expect(() => check({ 'x-stream-offset': 'first' }, { consumerPrefetch: 0 })).to.throw(
        InvalidArgumentError,
        `basicConsume("events"): its 'x-stream-offset' argument makes it a stream consumer, and a stream consumer needs a prefetch: ` +
          'call channel.basicQos({ prefetchCount: n }) (n > 0, global false) before consuming',
      );
      expect(() => check({ 'x-stream-filter': 'emea' }, { consumerPrefetch: 0 })).to.throw(InvalidArgumentError, /'x-stream-filter' argument/);
      expect(() => check(undefined, { declaredStream: true, consumerPrefetch: 0 })).to.throw(
        InvalidArgumentError,
        /this channel declared it as a stream, and a stream consumer needs a prefetch/,
      );
    });

    it('refuses automatic acks', () => {
      expect(() => check({ 'x-stream-offset': 'first' }, {}, true)).to.throw(
        InvalidArgumentError,
        `basicConsume("events"): its 'x-stream-offset' argument makes it a stream consumer, and streams need manual acknowledgements: ` +
          "autoAck must be false (acks move the consumer's credit on)",
      );
    });

    it('refuses a channel-wide prefetch, which streams do not support', () => {
      expect(() => check({ 'x-stream-offset': 'first' }, { globalPrefetch: 50 })).to.throw(InvalidArgumentError, /global: true, here 50/);
    });

    it('takes every offset RabbitMQ parses', () => {
      const offsets: ConsumeArguments['x-stream-offset'][] = [
        'first',
        'last',
        'next',
        '1h',
        '7D',
        '10Y',
        0,
        5000,
        2 ** 40,
        5000n,
        new Date(),
        Typed.int64(5),
      ];
      for (const offset of offsets) expect(() => check({ 'x-stream-offset': offset }), inspect(offset)).not.to.throw();
    });

    it('refuses an offset RabbitMQ cannot parse (3.10 closes the connection with 541 on a bad string)', () => {
      const bad: unknown[] = ['bogus', 'First', '0h', '1.5h', '7d', '-1h', '', -1, 1.5, Number.NaN, -1n, true, null, ['first']];
      for (const offset of bad) {
        expect(() => check({ 'x-stream-offset': offset as ConsumeArguments['x-stream-offset'] }), String(offset)).to.throw(
          InvalidArgumentError,
          /^basicConsume\("events"\): 'x-stream-offset' must be /,
        );
      }
    });
  });

  describe('basicConsume on a stream (fake broker)', () => {
    it('throws before sending anything without a prefetch, and consumes once basicQos set one', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      expect(() => ch.basicConsume('events', () => undefined, { consumerTag: 'c1', arguments: { 'x-stream-offset': 'first' } })).to.throw(
        InvalidArgumentError,
        /needs a prefetch/,
      );
      expect(ch.consumerTags).to.deep.equal([]);
      ch.basicQos({ prefetchCount: 100 });
      expect(ch.basicConsume('events', () => undefined, { consumerTag: 'c1', arguments: { 'x-stream-offset': 'first' } })).to.equal('c1');
      s.loop.runUntilIdle();
      expect(s.session.sent(spec.Basic.Consume).map((m) => m.consumerTag)).to.deep.equal(['c1']);
      expect(ch.isOpen).to.equal(true);
    });

    it('checks a queue this channel declared as a stream, until it declares it as another type', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      ch.queueDeclare('events', { durable: true, arguments: { 'x-queue-type': 'stream' } });
      expect(() => ch.basicConsume('events', () => undefined)).to.throw(InvalidArgumentError, /this channel declared it as a stream/);
      ch.queueDeclare('events', { passive: true });
      expect(() => ch.basicConsume('events', () => undefined), 'a passive declare says nothing').to.throw(InvalidArgumentError);
      ch.queueDeclare('events', { durable: true });
      expect(() => ch.basicConsume('events', () => undefined), 'nor does one without x-queue-type').to.throw(InvalidArgumentError);
      expect(() => ch.basicConsume('other', () => undefined), 'another queue is not a stream').not.to.throw();
      ch.queueDeclare('events', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      expect(() => ch.basicConsume('events', () => undefined)).not.to.throw();
      s.loop.runUntilIdle();
      expect(s.session.sent(spec.Basic.Consume).map((m) => m.queue)).to.deep.equal(['other', 'events']);
    });

    it('remembers the last basicQos of each kind: prefetchCount 0 unsets it, a global one is refused', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const consume = (): string => ch.basicConsume('events', () => undefined, { arguments: { 'x-stream-offset': 'next' } });
      ch.basicQos({ prefetchCount: 10 });
      ch.basicQos({ prefetchCount: 0 });
      expect(consume).to.throw(InvalidArgumentError, /needs a prefetch/);
      ch.basicQos({ prefetchCount: 10, global: true });
      expect(consume, 'a global prefetch is not a consumer prefetch').to.throw(InvalidArgumentError, /needs a prefetch/);
      ch.basicQos({ prefetchCount: 10 });
      expect(consume).to.throw(InvalidArgumentError, /streams refuse a channel-wide prefetch/);
      ch.basicQos({ prefetchCount: 0, global: true });
      expect(consume).not.to.throw();
      expect(() => ch.basicConsume('events', () => undefined, { autoAck: true, arguments: { 'x-stream-offset': 'next' } })).to.throw(
        InvalidArgumentError,
        /autoAck must be false/,
      );
      s.loop.runUntilIdle();
      expect(s.session.sent(spec.Basic.Consume)).to.have.length(1);
    });

    it('never sends basic.reject for a stream consumer (RabbitMQ closes the connection with 540): nothing on cancel, an ack for a poison message', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const got: number[] = [];
      const errors: Error[] = [];
      ch.addOnErrorCallback((_c, err) => errors.push(err));
      ch.basicQos({ prefetchCount: 10 });
      ch.basicConsume('events', (_c, m) => got.push(m.deliveryTag), { consumerTag: 's', arguments: { 'x-stream-offset': 'first' } });
      ch.basicConsume('jobs', (_c, m) => got.push(m.deliveryTag), { consumerTag: 'q' });
      s.loop.runUntilIdle();
      // A delivery whose properties cannot be decoded (a header table nested too deep): skipped.
      const poison = (tag: string, deliveryTag: number): void => {
        const w = new FrameWriter(1024);
        w.writeMethod(ch.channelNumber, new spec.Basic.Deliver({ consumerTag: tag, deliveryTag, redelivered: false, exchange: '', routingKey: 'r' }));
        // The header frame by hand (the encoder refuses such a table): class 60, weight 0, body size 0, headers flag.
        const table = nestedArrayTable(200);
        const header = Buffer.alloc(7 + 14 + table.length + 1);
        header.writeUInt8(spec.FRAME_HEADER, 0);
        header.writeUInt16BE(ch.channelNumber, 1);
        header.writeUInt32BE(14 + table.length, 3);
        header.writeUInt16BE(60, 7);
        header.writeUInt16BE(0x2000, 19);
        table.copy(header, 21);
        header[header.length - 1] = spec.FRAME_END;
        s.session.sendRaw(Buffer.concat([...w.take(), header]));
      };
      const silence = sinon.stub(process, 'emitWarning');
      try {
        poison('s', 1);
        poison('q', 2);
        s.loop.runUntilIdle();
      } finally {
        silence.restore();
      }
      expect(errors).to.have.length(2);
      expect(
        s.session.sent(spec.Basic.Ack).map((m) => m.deliveryTag),
        'the stream consumer moves on',
      ).to.deep.equal([1]);
      expect(
        s.session.sent(spec.Basic.Reject).map((m) => [m.deliveryTag, m.requeue]),
        'the queue consumer rejects',
      ).to.deep.equal([[2, false]]);
      // Deliveries that cross our cancel: handed back from the queue only.
      s.broker.onMethod = (session, channel, m) => {
        if (!(m instanceof spec.Basic.Cancel)) return;
        const deliveryTag = m.consumerTag === 's' ? 3 : 4;
        session.sendContent(
          channel,
          new spec.Basic.Deliver({ consumerTag: m.consumerTag, deliveryTag, redelivered: false, exchange: '', routingKey: 'r' }),
          Buffer.from('late'),
        );
        session.send(channel, new spec.Basic.CancelOk({ consumerTag: m.consumerTag }));
        return true;
      };
      ch.basicCancel('s');
      ch.basicCancel('q');
      s.loop.runUntilIdle();
      expect(got).to.deep.equal([]);
      expect(s.session.sent(spec.Basic.Reject).map((m) => [m.deliveryTag, m.requeue])).to.deep.equal([
        [2, false],
        [4, true],
      ]);
    });

    it('leaves the tag free when the consume cannot be sent (arguments beyond frame-max)', () => {
      const s = openOnFakeBroker();
      const ch = openChannel(s);
      const huge = { 'x-note': 'x'.repeat(200_000) };
      expect(() => ch.basicConsume('q', () => undefined, { consumerTag: 'c1', arguments: huge })).to.throw(InvalidArgumentError);
      expect(ch.consumerTags).to.deep.equal([]);
      expect(ch.basicConsume('q', () => undefined, { consumerTag: 'c1' })).to.equal('c1');
      s.loop.runUntilIdle();
      expect(s.session.sent(spec.Basic.Consume).map((m) => m.consumerTag)).to.deep.equal(['c1']);
    });
  });
});
