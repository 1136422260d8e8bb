/**
 * Run-time checks of option objects and callbacks for plain JavaScript
 * callers: a bare value where options go, an unknown or foreign option name,
 * a callback that is not a function. Each throws an InvalidArgumentError
 * that says what was passed and what was meant.
 */
import { expect } from 'chai';
import { checkCallback, checkOptions, describeValue } from '../../lib/engine/option-checks';
import { InvalidArgumentError } from '../../lib/errors';

const CONSUME = ['autoAck', 'exclusive', 'consumerTag', 'noLocal', 'arguments'] as const;

describe('option checks', () => {
  describe('describeValue', () => {
    const cases: Array<[unknown, string]> = [
      [null, 'null'],
      [undefined, 'undefined'],
      [[1, 2], 'an array'],
      ['fanout', 'the string "fanout"'],
      ['', 'the string ""'],
      [50, 'the number 50'],
      [NaN, 'the number NaN'],
      [true, 'the boolean true'],
      [5n, 'the bigint 5'],
      [() => 1, 'a function'],
      [{ a: 1 }, 'an object'],
      [new Date(0), 'an object'],
      [Symbol('s'), 'symbol'],
    ];
    for (const [value, text] of cases) {
      it(`${text}`, () => {
        expect(describeValue(value)).to.equal(text);
      });
    }

    it('cuts a long string to its first 40 characters', () => {
      expect(describeValue('x'.repeat(41))).to.equal(`the string "${'x'.repeat(40)}..."`);
      expect(describeValue('y'.repeat(40))).to.equal(`the string "${'y'.repeat(40)}"`);
    });
  });

  describe('checkOptions', () => {
    it('accepts undefined, an empty object and known names', () => {
      expect(() => checkOptions('basicConsume', undefined, CONSUME)).not.to.throw();
      expect(() => checkOptions('basicConsume', {}, CONSUME)).not.to.throw();
      expect(() => checkOptions('basicConsume', { autoAck: true, consumerTag: 't', arguments: {} }, CONSUME)).not.to.throw();
    });

    it('accepts known names whatever their values (the values are checked elsewhere)', () => {
      expect(() => checkOptions('basicConsume', { autoAck: 'yes', exclusive: undefined }, CONSUME)).not.to.throw();
    });

    for (const [value, got] of [
      [null, 'null'],
      [[], 'an array'],
      [50, 'the number 50'],
      ['fanout', 'the string "fanout"'],
      [true, 'the boolean true'],
    ] as const) {
      it(`rejects ${got} in place of the options object`, () => {
        expect(() => checkOptions('exchangeDeclare', value, ['type'])).to.throw(
          InvalidArgumentError,
          `exchangeDeclare: options must be an object, got ${got}`,
        );
      });
    }

    it('suggests the object meant when the caller can tell', () => {
      const positional = (v: unknown) => (typeof v === 'string' ? `{ type: ${JSON.stringify(v)} }` : undefined);
      expect(() => checkOptions('exchangeDeclare', 'fanout', ['type'], positional)).to.throw(
        InvalidArgumentError,
        'exchangeDeclare: options must be an object, got the string "fanout"; did you mean { type: "fanout" }?',
      );
      let message = '';
      try {
        checkOptions('exchangeDeclare', 5, ['type'], positional);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).to.equal('exchangeDeclare: options must be an object, got the number 5');
    });

    it('rejects a mistyped name, suggesting the closest known one', () => {
      expect(() => checkOptions('basicConsume', { exclusiv: true }, CONSUME)).to.throw(
        InvalidArgumentError,
        "basicConsume: unknown option 'exclusiv'; did you mean 'exclusive'?",
      );
    });

    it("maps other clients' names to coney's (amqplib's noAck, pika's auto_ack)", () => {
      for (const foreign of ['noAck', 'no_ack', 'auto_ack']) {
        expect(() => checkOptions('basicConsume', { [foreign]: true }, CONSUME), foreign).to.throw(
          InvalidArgumentError,
          `basicConsume: unknown option '${foreign}'; did you mean 'autoAck'?`,
        );
      }
      expect(() => checkOptions('basicQos', { prefetch: 5 }, ['prefetchSize', 'prefetchCount', 'global'])).to.throw(/did you mean 'prefetchCount'\?/);
    });

    it("ignores a foreign name's mapping when this call has no such option", () => {
      // noAck maps to autoAck, which queueDeclare does not take: no misleading suggestion
      expect(() => checkOptions('queueDeclare', { noAck: true }, ['passive', 'durable'])).to.throw(
        InvalidArgumentError,
        "queueDeclare: unknown option 'noAck'; known options: passive, durable",
      );
    });

    it('lists the known names when nothing is close', () => {
      expect(() => checkOptions('basicConsume', { zzzzzzzz: 1 }, CONSUME)).to.throw(
        InvalidArgumentError,
        "basicConsume: unknown option 'zzzzzzzz'; known options: autoAck, exclusive, consumerTag, noLocal, arguments",
      );
    });

    it('names the first unknown option', () => {
      expect(() => checkOptions('basicConsume', { autoAck: true, bogus1: 1, bogus2: 2 }, CONSUME)).to.throw(/unknown option 'bogus1'/);
    });
  });

  describe('checkCallback', () => {
    it('accepts a function or undefined', () => {
      expect(() => checkCallback('queueDeclare', () => undefined)).not.to.throw();
      expect(() => checkCallback('queueDeclare', async () => undefined)).not.to.throw();
      expect(() => checkCallback('queueDeclare', undefined)).not.to.throw();
    });

    it('rejects anything else, saying what it got', () => {
      expect(() => checkCallback('queueDeclare', 'not a function')).to.throw(
        InvalidArgumentError,
        'queueDeclare: the callback must be a function, got the string "not a function"',
      );
      expect(() => checkCallback('queueDeclare', null)).to.throw(InvalidArgumentError, 'got null');
      expect(() => checkCallback('queueDeclare', {})).to.throw(InvalidArgumentError, 'got an object');
    });

    it('names the argument as asked', () => {
      expect(() => checkCallback('connection options', 5, 'onOpen')).to.throw(
        InvalidArgumentError,
        'connection options: onOpen must be a function, got the number 5',
      );
    });
  });
});
