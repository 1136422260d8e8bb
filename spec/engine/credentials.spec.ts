/**
 * SASL credentials (PlainCredentials, ExternalCredentials) and the choice
 * of mechanism against what the broker offers in connection.start.
 */
import { expect } from 'chai';
import { inspect } from 'util';
import { AMQPConnectionError, AuthenticationError } from '../../lib/errors';
import { ExternalCredentials, PlainCredentials, selectMechanism } from '../../lib/engine/credentials';
import { ConnectionParameters } from '../../lib/engine/parameters';
import { invalidMessage } from '../support/assertions';

describe('credentials', () => {
  describe('PlainCredentials', () => {
    it('answers SASL PLAIN with NUL user NUL password, exactly', () => {
      const c = new PlainCredentials('guest', 'guest');
      expect(c.mechanism).to.equal('PLAIN');
      expect(c.response()).to.deep.equal(Buffer.from([0, 0x67, 0x75, 0x65, 0x73, 0x74, 0, 0x67, 0x75, 0x65, 0x73, 0x74]));
    });

    it('builds the response in a Buffer of its own (not a slice of the shared pool), so it can be zeroed', () => {
      const response = new PlainCredentials('user', 'S3cr3tPw').response();
      expect(response.byteOffset).to.equal(0);
      expect(response.buffer.byteLength).to.equal(response.length);
      expect(new PlainCredentials('ü', '€').response()).to.deep.equal(Buffer.from('\0ü\0€', 'utf8'));
    });

    it('encodes the response as UTF-8', () => {
      const c = new PlainCredentials('ü', '€');
      expect(c.response()).to.deep.equal(Buffer.from([0, 0xc3, 0xbc, 0, 0xe2, 0x82, 0xac]));
    });

    it('allows empty user names and passwords', () => {
      expect(new PlainCredentials('', '').response()).to.deep.equal(Buffer.from([0, 0]));
    });

    it('defaults eraseOnConnect to false and keeps the given value', () => {
      expect(new PlainCredentials('a', 'b').eraseOnConnect).to.equal(false);
      expect(new PlainCredentials('a', 'b', true).eraseOnConnect).to.equal(true);
    });

    it('erase() forgets user and password; the response then fails', () => {
      const c = new PlainCredentials('bob', 'hunter2', true);
      expect(c.erased).to.equal(false);
      expect(c.username).to.equal('bob');
      expect(c.password).to.equal('hunter2');
      c.erase();
      expect(c.erased).to.equal(true);
      expect(c.username).to.equal(null);
      expect(c.password).to.equal(null);
      expect(() => c.response()).to.throw(AuthenticationError, /erased/);
      expect(String(c)).to.equal('PlainCredentials(<erased>)');
    });

    const badArgs: Array<[string, unknown[], RegExp]> = [
      ['username not a string', [42, 'p'], /username must be a string, got number/],
      ['username undefined', [undefined, 'p'], /username must be a string, got undefined/],
      ['password not a string', ['u', null], /password must be a string, got null/],
      ['password an object', ['u', {}], /password must be a string, got object/],
      ['NUL in the username', ['a\0b', 'p'], /username must not contain a NUL/],
      ['NUL in the password', ['u', 'p\0'], /password must not contain a NUL/],
      ['eraseOnConnect not a boolean', ['u', 'p', 'yes'], /eraseOnConnect must be a boolean/],
    ];
    for (const [what, args, message] of badArgs) {
      it(`rejects ${what}`, () => {
        const ctor = PlainCredentials as unknown as new (...a: unknown[]) => PlainCredentials;
        expect(invalidMessage(() => new ctor(...args))).to.match(message);
      });
    }

    it('never shows the password in toString, inspect or JSON', () => {
      const c = new PlainCredentials('bob', 'hunter2');
      for (const text of [String(c), inspect(c), inspect({ nested: c }, { depth: 5 }), JSON.stringify(c)]) {
        expect(text).to.include('bob');
        expect(text).not.to.include('hunter2');
      }
      expect(inspect(new ConnectionParameters({ credentials: c }))).not.to.include('hunter2');
      expect(JSON.stringify(new ConnectionParameters({ credentials: c }))).not.to.include('hunter2');
    });

    it('does not show the password in type errors either', () => {
      expect(invalidMessage(() => new PlainCredentials(7 as unknown as string, 'hunter2'))).not.to.include('hunter2');
    });
  });

  describe('ExternalCredentials', () => {
    it('is SASL EXTERNAL with an empty response', () => {
      const c = new ExternalCredentials();
      expect(c.mechanism).to.equal('EXTERNAL');
      expect(c.response()).to.deep.equal(Buffer.alloc(0));
      expect(String(c)).to.equal('ExternalCredentials');
    });

    it('erase() is harmless', () => {
      const c = new ExternalCredentials();
      c.erase();
      expect(c.erased).to.equal(false);
      expect(c.response().length).to.equal(0);
    });
  });

  describe('selectMechanism', () => {
    it('accepts credentials whose mechanism the broker offers', () => {
      expect(() => selectMechanism(new PlainCredentials('a', 'b'), 'AMQPLAIN PLAIN')).not.to.throw();
      expect(() => selectMechanism(new ExternalCredentials(), 'PLAIN EXTERNAL')).not.to.throw();
    });

    it('accepts a Buffer, extra whitespace and lower case', () => {
      expect(() => selectMechanism(new PlainCredentials('a', 'b'), Buffer.from(' amqplain  plain '))).not.to.throw();
    });

    it('names the offered and the needed mechanism when the broker lacks it', () => {
      let caught: unknown;
      try {
        selectMechanism(new ExternalCredentials(), 'AMQPLAIN PLAIN');
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(AuthenticationError);
      expect(caught).to.be.instanceOf(AMQPConnectionError);
      expect((caught as Error).message).to.equal('broker offers AMQPLAIN PLAIN; ExternalCredentials need EXTERNAL');
    });

    it('names custom credentials by their mechanism', () => {
      const custom = { mechanism: 'AMQPLAIN', response: () => Buffer.alloc(0), erase: () => undefined };
      expect(() => selectMechanism(custom, 'PLAIN')).to.throw(AuthenticationError, 'broker offers PLAIN; AMQPLAIN credentials need AMQPLAIN');
    });

    it('says so when the broker offers nothing', () => {
      expect(() => selectMechanism(new PlainCredentials('a', 'b'), '')).to.throw(
        AuthenticationError,
        'broker offers no mechanisms; PlainCredentials need PLAIN',
      );
    });

    it('rejects erased credentials (a reconnect after eraseOnConnect)', () => {
      const c = new PlainCredentials('a', 'b', true);
      c.erase();
      expect(() => selectMechanism(c, 'PLAIN')).to.throw(AuthenticationError, /erased.*eraseOnConnect/);
    });
  });
});

describe('credentials: arguments of the wrong type', () => {
  it('names an array or null by its kind, never its contents (it may hold the secret)', () => {
    const ctor = PlainCredentials as unknown as new (...a: unknown[]) => PlainCredentials;
    const message = invalidMessage(() => new ctor('u', ['hunter2']));
    expect(message).to.equal('PlainCredentials: password must be a string, got an array');
    expect(invalidMessage(() => new ctor(null, 'p'))).to.equal('PlainCredentials: username must be a string, got null');
  });
});
