/**
 * The channel's option objects: the lists of names the run-time check
 * accepts, which must be exactly the keys of each options interface, and
 * `optionsAndCallback`, which takes `(options, cb)` in either order.
 */
import { expect } from 'chai';
import {
  BIND_OPTIONS,
  type BindOptions,
  CONSUME_OPTIONS,
  type ConsumeOptions,
  EXCHANGE_DECLARE_OPTIONS,
  type ExchangeDeclareOptions,
  optionsAndCallback,
  QUEUE_DECLARE_OPTIONS,
  type NoWaitOptions,
  type QueueDeclareOptions,
} from '../../lib/engine/channel-options';

/** Every key of `T`, listed once: the compiler rejects a missing or an extra key. */
type AllKeys<T> = { [K in keyof Required<T>]: true };

const exchangeDeclareKeys: AllKeys<ExchangeDeclareOptions> = {
  type: true,
  passive: true,
  durable: true,
  autoDelete: true,
  internal: true,
  noWait: true,
  arguments: true,
};
const queueDeclareKeys: AllKeys<QueueDeclareOptions> = {
  passive: true,
  durable: true,
  exclusive: true,
  autoDelete: true,
  noWait: true,
  arguments: true,
};
const bindKeys: AllKeys<BindOptions> = { noWait: true, arguments: true };
const consumeKeys: AllKeys<ConsumeOptions> = { autoAck: true, exclusive: true, consumerTag: true, noLocal: true, arguments: true };

describe('channel options', () => {
  describe('the accepted names are exactly the keys of the options interfaces', () => {
    const cases: Array<[string, readonly string[], object]> = [
      ['EXCHANGE_DECLARE_OPTIONS', EXCHANGE_DECLARE_OPTIONS, exchangeDeclareKeys],
      ['QUEUE_DECLARE_OPTIONS', QUEUE_DECLARE_OPTIONS, queueDeclareKeys],
      ['BIND_OPTIONS', BIND_OPTIONS, bindKeys],
      ['CONSUME_OPTIONS', CONSUME_OPTIONS, consumeKeys],
    ];
    for (const [name, list, keys] of cases) {
      it(name, () => {
        expect([...list].sort()).to.deep.equal(Object.keys(keys).sort());
        expect(new Set(list).size, 'no name twice').to.equal(list.length);
      });
    }
  });

  describe('optionsAndCallback', () => {
    const cb = (): void => undefined;
    const options: NoWaitOptions = { noWait: true };
    const sortArgs = optionsAndCallback<NoWaitOptions, void>;

    it('takes options first, callback second', () => {
      const [o, c] = sortArgs(options, cb);
      expect(o).to.equal(options);
      expect(c).to.equal(cb);
    });

    it('takes the callback first, options second (the documented order of basicGet, queuePurge, confirmDelivery)', () => {
      const [o, c] = sortArgs(cb, options);
      expect(o).to.equal(options);
      expect(c).to.equal(cb);
    });

    it('takes a callback alone', () => {
      const [o, c] = sortArgs(cb, undefined);
      expect(o).to.equal(undefined);
      expect(c).to.equal(cb);
    });

    it('takes options alone', () => {
      const [o, c] = sortArgs(options, undefined);
      expect(o).to.equal(options);
      expect(c).to.equal(undefined);
    });

    it('takes nothing', () => {
      expect(sortArgs(undefined, undefined)).to.deep.equal([undefined, undefined]);
    });

    it('leaves a non-function second argument where it is, for the callback check to reject', () => {
      const notACallback = 'oops' as unknown as () => void;
      const [o, c] = sortArgs(options, notACallback);
      expect(o).to.equal(options);
      expect(c).to.equal(notACallback);
    });
  });
});
