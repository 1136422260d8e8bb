import { expect } from 'chai';
import * as sinon from 'sinon';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { inspect } from 'util';
import { AMQPConnectionError, AuthenticationError, InvalidArgumentError } from '../../lib/errors';
import { ExternalCredentials, PlainCredentials, selectMechanism } from '../../lib/engine/credentials';
import { clientProperties } from '../../lib/engine/client-properties';
import {
  ConnectionParameters,
  ConnectionParametersOptions,
  negotiateHeartbeat,
  negotiateLimit,
} from '../../lib/engine/parameters';
import { URLParameters } from '../../lib/engine/url-parameters';

/** Runs `fn`, expects an InvalidArgumentError, returns its message. */
function invalidMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(InvalidArgumentError);
    return (err as Error).message;
  }
  throw new Error('expected an InvalidArgumentError');
}

function urlError(url: string): string {
  return invalidMessage(() => new URLParameters(url));
}

function plain(params: ConnectionParameters): PlainCredentials {
  expect(params.credentials).to.be.instanceOf(PlainCredentials);
  return params.credentials as PlainCredentials;
}

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
      expect(() => selectMechanism(custom, 'PLAIN')).to.throw(
        AuthenticationError,
        'broker offers PLAIN; AMQPLAIN credentials need AMQPLAIN',
      );
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

describe('ConnectionParameters', () => {
  it('has pika\'s defaults', () => {
    const p = new ConnectionParameters();
    expect(p.host).to.equal('localhost');
    expect(p.port).to.equal(5672);
    expect(p.virtualHost).to.equal('/');
    expect(plain(p).username).to.equal('guest');
    expect(plain(p).password).to.equal('guest');
    expect(plain(p).eraseOnConnect).to.equal(false);
    expect(p.channelMax).to.equal(65535);
    expect(p.frameMax).to.equal(131072);
    expect(p.heartbeat).to.equal(undefined);
    expect(p.ssl).to.equal(false);
    expect(p.connectionAttempts).to.equal(1);
    expect(p.retryDelay).to.equal(2.0);
    expect(p.socketTimeout).to.equal(10);
    expect(p.stackTimeout).to.equal(15);
    expect(p.blockedConnectionTimeout).to.equal(null);
    expect(p.locale).to.equal('en_US');
    expect(p.clientProperties).to.deep.equal({});
    expect(p.tcpOptions).to.deep.equal({ noDelay: true });
    expect(p.socketPath).to.equal(undefined);
    expect(ConnectionParameters.DEFAULT_PORT).to.equal(5672);
    expect(ConnectionParameters.DEFAULT_SSL_PORT).to.equal(5671);
  });

  describe('maxMessageSize', () => {
    it('defaults to 128 MiB and is exposed read-only like frameMax', () => {
      const p = new ConnectionParameters();
      expect(p.maxMessageSize).to.equal(134217728);
      expect(new ConnectionParameters({ maxMessageSize: undefined }).maxMessageSize).to.equal(134217728);
      expect(Object.getOwnPropertyDescriptor(p, 'maxMessageSize')?.enumerable).to.equal(true);
    });

    it('accepts 1 .. 512 MiB, RabbitMQ\'s hard cap', () => {
      expect(new ConnectionParameters({ maxMessageSize: 1 }).maxMessageSize).to.equal(1);
      expect(new ConnectionParameters({ maxMessageSize: 536870912 }).maxMessageSize).to.equal(536870912);
      expect(new ConnectionParameters({ maxMessageSize: 1048576 }).maxMessageSize).to.equal(1048576);
    });

    it('does not change the range of frameMax (4096 .. 2^32-1)', () => {
      expect(new ConnectionParameters({ frameMax: 2 ** 32 - 1, maxMessageSize: 4096 }).frameMax).to.equal(2 ** 32 - 1);
    });

    it('names the option and the range in its errors', () => {
      expect(invalidMessage(() => new ConnectionParameters({ maxMessageSize: 536870913 }))).to.equal(
        "invalid option 'maxMessageSize': expected an integer from 1 to 536870912, got 536870913",
      );
    });

    it('reads the URL option max_message_size', () => {
      expect(new URLParameters('amqp://h/?max_message_size=1048576').maxMessageSize).to.equal(1048576);
      expect(new URLParameters('amqp://h/').maxMessageSize).to.equal(134217728);
      expect(urlError('amqp://h/?max_message_size=0')).to.match(
        /^invalid URL option 'max_message_size': expected an integer from 1 to 536870912, got 0/,
      );
      expect(urlError('amqp://h/?max_message_size=536870913')).to.match(/URL option 'max_message_size'.*536870912/);
      expect(urlError('amqp://h/?max_message_size=1MB')).to.match(/URL option 'max_message_size': expected an integer, got '1MB'/);
    });
  });

  describe('TLS secrets (passphrase, key, pfx)', () => {
    const KEY = '-----BEGIN ENCRYPTED PRIVATE KEY-----\nK3yMaterial\n-----END ENCRYPTED PRIVATE KEY-----\n';
    const ssl = { passphrase: 'Pa55phrase', key: KEY, pfx: Buffer.from('Pfx5ecret'), servername: 'rabbit', ca: 'CA-PEM' };
    const secrets = ['Pa55phrase', 'K3yMaterial', 'Pfx5ecret', Buffer.from('Pfx5ecret').toString('hex').slice(0, 12)];

    it('are masked by util.inspect, at any depth', () => {
      const p = new ConnectionParameters({ ssl });
      for (const text of [inspect(p), inspect(p.ssl), inspect({ nested: { p } }, { depth: 10 }), `${inspect(p, { depth: null })}`]) {
        for (const secret of secrets) expect(text).not.to.include(secret);
        expect(text).to.include("passphrase: '***'");
        expect(text).to.include("servername: 'rabbit'");
      }
    });

    it('are masked by JSON.stringify', () => {
      const p = new ConnectionParameters({ ssl });
      const json = JSON.stringify(p);
      for (const secret of secrets) expect(json).not.to.include(secret);
      const parsed = JSON.parse(json) as { ssl: Record<string, unknown> };
      expect(parsed.ssl).to.deep.equal({ passphrase: '***', key: '***', pfx: '***', servername: 'rabbit', ca: 'CA-PEM' });
    });

    it('are masked for URL ssl_options too', () => {
      const p = new URLParameters(`amqps://h/?ssl_options=${encodeURIComponent(JSON.stringify({ password: 'Pa55phrase' }))}`);
      expect(inspect(p)).not.to.include('Pa55phrase');
      expect(JSON.stringify(p)).not.to.include('Pa55phrase');
    });

    it('still reach the TLS connect unmasked, and only as data', () => {
      const p = new ConnectionParameters({ ssl });
      expect((p.ssl as Record<string, unknown>).passphrase).to.equal('Pa55phrase');
      const tls = p.transportTarget().tls as Record<string | symbol, unknown>;
      expect(tls).to.deep.equal(ssl);
      expect(tls.passphrase).to.equal('Pa55phrase');
      expect(tls.key).to.equal(KEY);
      expect(tls.pfx).to.equal(ssl.pfx);
      expect(Object.keys(tls)).to.deep.equal(Object.keys(ssl));
      expect(tls).not.to.have.property('toJSON');
    });
  });

  it('gives each instance its own default credentials', () => {
    const a = new ConnectionParameters();
    const b = new ConnectionParameters();
    expect(a.credentials).not.to.equal(b.credentials);
  });

  it('treats explicit undefined as the default', () => {
    const p = new ConnectionParameters({ host: undefined, port: undefined, heartbeat: undefined });
    expect(p.host).to.equal('localhost');
    expect(p.port).to.equal(5672);
  });

  it('keeps every option given', () => {
    const credentials = new ExternalCredentials();
    const heartbeat = (_c: unknown, v: number) => v;
    const options: ConnectionParametersOptions = {
      host: 'rabbit.example',
      port: 5999,
      virtualHost: 'prod',
      credentials,
      channelMax: 100,
      frameMax: 8192,
      heartbeat,
      ssl: { servername: 'rabbit', rejectUnauthorized: false },
      connectionAttempts: 3,
      retryDelay: 0.5,
      socketTimeout: 2.5,
      stackTimeout: 20,
      blockedConnectionTimeout: 60,
      locale: 'de_DE',
      clientProperties: { connection_name: 'worker-1' },
      tcpOptions: { keepAlive: true, keepAliveInitialDelay: 1000 },
      socketPath: '/var/run/rabbitmq.sock',
    };
    const p = new ConnectionParameters(options);
    expect(p.host).to.equal('rabbit.example');
    expect(p.port).to.equal(5999);
    expect(p.virtualHost).to.equal('prod');
    expect(p.credentials).to.equal(credentials);
    expect(p.channelMax).to.equal(100);
    expect(p.frameMax).to.equal(8192);
    expect(p.heartbeat).to.equal(heartbeat);
    expect(p.ssl).to.deep.equal({ servername: 'rabbit', rejectUnauthorized: false });
    expect(p.connectionAttempts).to.equal(3);
    expect(p.retryDelay).to.equal(0.5);
    expect(p.socketTimeout).to.equal(2.5);
    expect(p.stackTimeout).to.equal(20);
    expect(p.blockedConnectionTimeout).to.equal(60);
    expect(p.locale).to.equal('de_DE');
    expect(p.clientProperties).to.deep.equal({ connection_name: 'worker-1' });
    expect(p.tcpOptions).to.deep.equal({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 1000 });
    expect(p.socketPath).to.equal('/var/run/rabbitmq.sock');
  });

  it('copies objects it is given, so later changes by the caller do not leak in', () => {
    const ssl = { servername: 'a' };
    const clientProperties: Record<string, unknown> = { a: 1 };
    const p = new ConnectionParameters({ ssl, clientProperties });
    ssl.servername = 'b';
    clientProperties.a = 2;
    expect(p.ssl).to.deep.equal({ servername: 'a' });
    expect(p.clientProperties).to.deep.equal({ a: 1 });
  });

  it('accepts heartbeat 0 (disabled) and tcpOptions that turn noDelay off', () => {
    expect(new ConnectionParameters({ heartbeat: 0 }).heartbeat).to.equal(0);
    expect(new ConnectionParameters({ tcpOptions: { noDelay: false } }).tcpOptions).to.deep.equal({ noDelay: false });
  });

  describe('ssl and port', () => {
    const cases: Array<[ConnectionParametersOptions, number, unknown]> = [
      [{}, 5672, false],
      [{ ssl: false }, 5672, false],
      [{ ssl: true }, 5671, {}],
      [{ ssl: { ca: 'PEM' } }, 5671, { ca: 'PEM' }],
      [{ ssl: true, port: 443 }, 443, {}],
      [{ port: 5673 }, 5673, false],
    ];
    for (const [options, port, ssl] of cases) {
      it(`${JSON.stringify(options)} -> port ${port}, ssl ${JSON.stringify(ssl)}`, () => {
        const p = new ConnectionParameters(options);
        expect(p.port).to.equal(port);
        expect(p.ssl).to.deep.equal(ssl);
      });
    }
  });

  it('strips the brackets of an IPv6 host', () => {
    expect(new ConnectionParameters({ host: '[::1]' }).host).to.equal('::1');
    expect(new ConnectionParameters({ host: '::1' }).host).to.equal('::1');
  });

  describe('transportTarget()', () => {
    it('describes a plain TCP connection', () => {
      expect(new ConnectionParameters().transportTarget()).to.deep.equal({
        host: 'localhost',
        port: 5672,
        tls: false,
        socketTimeout: 10,
        tcpOptions: { noDelay: true },
      });
    });

    it('turns ssl: true into empty TLS options and keeps given ones', () => {
      expect(new ConnectionParameters({ ssl: true }).transportTarget().tls).to.deep.equal({});
      const t = new ConnectionParameters({ ssl: { servername: 'x' }, socketTimeout: 3 }).transportTarget();
      expect(t.tls).to.deep.equal({ servername: 'x' });
      expect(t.port).to.equal(5671);
      expect(t.socketTimeout).to.equal(3);
    });

    it('passes a Unix socket path', () => {
      const t = new ConnectionParameters({ socketPath: '/tmp/r.sock' }).transportTarget();
      expect(t.path).to.equal('/tmp/r.sock');
    });

    it('returns fresh objects, so an adapter cannot change the parameters', () => {
      const p = new ConnectionParameters({ ssl: { servername: 'x' } });
      const t = p.transportTarget();
      (t.tls as Record<string, unknown>).servername = 'y';
      t.tcpOptions.noDelay = false;
      expect(p.ssl).to.deep.equal({ servername: 'x' });
      expect(p.tcpOptions.noDelay).to.equal(true);
    });
  });

  describe('toString()', () => {
    const cases: Array<[ConnectionParametersOptions, string]> = [
      [{}, 'amqp://guest@localhost:5672/%2F'],
      [{ ssl: true, virtualHost: 'prod' }, 'amqps://guest@localhost:5671/prod'],
      [{ host: '::1', credentials: new PlainCredentials('a@b', 'secret') }, 'amqp://a%40b@[::1]:5672/%2F'],
      [{ credentials: new ExternalCredentials(), ssl: true }, 'amqps://localhost:5671/%2F'],
      [{ socketPath: '/var/run/r.sock' }, 'amqp://guest@unix(/var/run/r.sock)/%2F'],
    ];
    for (const [options, text] of cases) {
      it(text, () => {
        expect(String(new ConnectionParameters(options))).to.equal(text);
      });
    }

    it('never contains the password', () => {
      const p = new ConnectionParameters({ credentials: new PlainCredentials('bob', 'hunter2') });
      expect(p.toString()).to.equal('amqp://bob@localhost:5672/%2F');
    });
  });

  describe('validation', () => {
    const bad: Array<[string, unknown, string]> = [
      ['host', '', '""'],
      ['host', '   ', '"   "'],
      ['host', 42, '42'],
      ['port', 0, '0'],
      ['port', 65536, '65536'],
      ['port', 5672.5, '5672.5'],
      ['port', '5672', '"5672"'],
      ['port', NaN, 'NaN'],
      ['virtualHost', 7, '7'],
      ['virtualHost', 'v'.repeat(256), '"vvv'],
      ['credentials', 'guest', '"guest"'],
      ['credentials', null, 'null'],
      ['channelMax', 0, '0'],
      ['channelMax', 65536, '65536'],
      ['channelMax', 1.5, '1.5'],
      ['frameMax', 4095, '4095'],
      ['frameMax', 2 ** 32, '4294967296'],
      ['frameMax', '131072', '"131072"'],
      ['maxMessageSize', 0, '0'],
      ['maxMessageSize', 536870913, '536870913'],
      ['maxMessageSize', 1.5, '1.5'],
      ['maxMessageSize', '1024', '"1024"'],
      ['maxMessageSize', null, 'null'],
      ['heartbeat', -1, '-1'],
      ['heartbeat', 1.5, '1.5'],
      ['heartbeat', 65536, '65536'],
      ['heartbeat', '30', '"30"'],
      ['heartbeat', null, 'null'],
      ['ssl', 'yes', '"yes"'],
      ['ssl', [], 'an array'],
      ['connectionAttempts', 0, '0'],
      ['connectionAttempts', 1.5, '1.5'],
      ['connectionAttempts', Infinity, 'Infinity'],
      ['retryDelay', -0.1, '-0.1'],
      ['retryDelay', Infinity, 'Infinity'],
      ['socketTimeout', 0, '0'],
      ['socketTimeout', -1, '-1'],
      ['stackTimeout', 0, '0'],
      ['stackTimeout', '15', '"15"'],
      ['blockedConnectionTimeout', 0, '0'],
      ['blockedConnectionTimeout', -5, '-5'],
      ['blockedConnectionTimeout', NaN, 'NaN'],
      ['locale', '', '""'],
      ['locale', 5, '5'],
      ['clientProperties', [], 'an array'],
      ['clientProperties', 'x', '"x"'],
      ['tcpOptions', true, 'true'],
      ['socketPath', '', '""'],
      ['socketPath', 1, '1'],
    ];
    for (const [option, value, shown] of bad) {
      const label = typeof value === 'string' && value.length > 20 ? `a ${value.length}-char string` : String(value);
      it(`rejects ${option}: ${label}, naming the option and the value`, () => {
        const message = invalidMessage(() => new ConnectionParameters({ [option]: value } as ConnectionParametersOptions));
        expect(message).to.include(`invalid option '${option}'`);
        expect(message).to.include(`got ${shown}`);
      });
    }

    it('rejects a plain { username, password } object without printing it', () => {
      const message = invalidMessage(
        () => new ConnectionParameters({ credentials: { username: 'u', password: 'hunter2' } } as never),
      );
      expect(message).to.include("invalid option 'credentials'");
      expect(message).to.include('PlainCredentials');
      expect(message).not.to.include('hunter2');
    });

    it('accepts any object implementing Credentials', () => {
      const custom = { mechanism: 'AMQPLAIN', response: () => Buffer.alloc(0), erase: () => undefined };
      expect(new ConnectionParameters({ credentials: custom }).credentials).to.equal(custom);
    });

    it('checks the fields of tcpOptions', () => {
      expect(invalidMessage(() => new ConnectionParameters({ tcpOptions: { noDelay: 'yes' } as never }))).to.match(
        /invalid option 'tcpOptions' \(noDelay\): expected a boolean, got "yes"/,
      );
      expect(
        invalidMessage(() => new ConnectionParameters({ tcpOptions: { keepAliveInitialDelay: -1 } })),
      ).to.match(/'tcpOptions' \(keepAliveInitialDelay\).*got -1/);
      expect(invalidMessage(() => new ConnectionParameters({ tcpOptions: { nodelay: true } as never }))).to.equal(
        "invalid option 'tcpOptions': unknown TCP option 'nodelay'; did you mean 'noDelay'?",
      );
    });

    const typos: Array<[string, string]> = [
      ['heartbat', "unknown option 'heartbat'; did you mean 'heartbeat'?"],
      ['virtual_host', "unknown option 'virtual_host'; did you mean 'virtualHost'?"],
      ['channel_max', "unknown option 'channel_max'; did you mean 'channelMax'?"],
      ['retrydelay', "unknown option 'retrydelay'; did you mean 'retryDelay'?"],
      ['hots', "unknown option 'hots'; did you mean 'host'?"],
      ['socketTimout', "unknown option 'socketTimout'; did you mean 'socketTimeout'?"],
      ['vhost', "unknown option 'vhost'; did you mean 'virtualHost'?"],
      ['max_message_size', "unknown option 'max_message_size'; did you mean 'maxMessageSize'?"],
    ];
    for (const [key, message] of typos) {
      it(`suggests a fix for the unknown option '${key}'`, () => {
        expect(invalidMessage(() => new ConnectionParameters({ [key]: 1 } as never))).to.equal(message);
      });
    }

    it('lists the known options when nothing is close', () => {
      expect(invalidMessage(() => new ConnectionParameters({ banana: 1 } as never))).to.match(
        /^unknown option 'banana'; known options: host, port, .*socketPath$/,
      );
    });

    it('rejects options that are not an object', () => {
      expect(invalidMessage(() => new ConnectionParameters('amqp://x' as never))).to.match(/options must be an object/);
      expect(invalidMessage(() => new ConnectionParameters(null as never))).to.match(/options must be an object/);
    });
  });
});

describe('negotiation', () => {
  describe('negotiateHeartbeat (pika 1.x: a client value always wins)', () => {
    // [client wish, broker proposal, result]
    const table: Array<[number | undefined, number, number]> = [
      [undefined, 60, 60],
      [undefined, 0, 0],
      [0, 60, 0],
      [0, 0, 0],
      [30, 60, 30],
      [600, 60, 600],
      [30, 0, 30],
    ];
    for (const [client, broker, result] of table) {
      it(`client ${client}, broker ${broker} -> ${result}`, () => {
        expect(negotiateHeartbeat({ heartbeat: client }, {}, broker)).to.equal(result);
      });
    }

    it('calls a callback with the connection and the broker value and uses its result', () => {
      const connection = { name: 'conn' };
      const cb = sinon.stub().returns(15);
      const params = new ConnectionParameters({ heartbeat: cb });
      expect(negotiateHeartbeat(params, connection, 60)).to.equal(15);
      sinon.assert.calledOnceWithExactly(cb, connection, 60);
    });

    it('lets a callback disable heartbeats or take the broker value', () => {
      expect(negotiateHeartbeat({ heartbeat: () => 0 }, {}, 60)).to.equal(0);
      expect(negotiateHeartbeat({ heartbeat: (_c, v) => v }, {}, 45)).to.equal(45);
    });

    for (const bad of [-1, 1.5, NaN, 65536, '30', null, undefined]) {
      it(`rejects a callback result of ${String(bad)}`, () => {
        const message = invalidMessage(() => negotiateHeartbeat({ heartbeat: () => bad as number }, {}, 60));
        expect(message).to.match(/heartbeat callback returned .*expected an integer from 0 to 65535/);
      });
    }
  });

  describe('negotiateLimit (0 = no limit; otherwise the smaller)', () => {
    const table: Array<[number, number, number]> = [
      [65535, 2047, 2047],
      [100, 2047, 100],
      [0, 2047, 2047],
      [2047, 0, 2047],
      [0, 0, 0],
      [131072, 131072, 131072],
      [4096, 131072, 4096],
    ];
    for (const [client, server, result] of table) {
      it(`client ${client}, server ${server} -> ${result}`, () => {
        expect(negotiateLimit(client, server)).to.equal(result);
      });
    }
  });
});

describe('URLParameters', () => {
  it('is a ConnectionParameters', () => {
    expect(new URLParameters('amqp://localhost')).to.be.instanceOf(ConnectionParameters);
  });

  it('reads user, password, host, port and vhost', () => {
    const p = new URLParameters('amqp://bob:secret@rabbit.example:5673/prod');
    expect(plain(p).username).to.equal('bob');
    expect(plain(p).password).to.equal('secret');
    expect(p.host).to.equal('rabbit.example');
    expect(p.port).to.equal(5673);
    expect(p.virtualHost).to.equal('prod');
    expect(p.ssl).to.equal(false);
  });

  it('keeps the defaults of everything the URL leaves out', () => {
    const p = new URLParameters('amqp://');
    const d = new ConnectionParameters();
    expect({ ...p, credentials: null }).to.deep.equal({ ...d, credentials: null });
    expect(plain(p).username).to.equal('guest');
    expect(plain(p).password).to.equal('guest');
  });

  describe('percent-decoding', () => {
    const cases: Array<[string, string, string, string]> = [
      ['amqp://us%40er:p%40ss%3Aw%2Fo%3Frd@h/%2F', 'us@er', 'p@ss:w/o?rd', '/'],
      ['amqp://user:pa:ss@h/', 'user', 'pa:ss', '/'],
      ['amqp://user:p@ss@h/', 'user', 'p@ss', '/'],
      ['amqp://%C3%BC:%E2%82%AC@h/v%2Fh', 'ü', '€', 'v/h'],
      ['amqp://user:@h', 'user', '', '/'],
      ['amqp://user@h', 'user', 'guest', '/'],
      ['amqp://h/%2Fprod', 'guest', 'guest', '/prod'],
      ['amqp://h/a%20b', 'guest', 'guest', 'a b'],
    ];
    for (const [url, user, password, vhost] of cases) {
      it(`${url} -> ${JSON.stringify([user, password, vhost])}`, () => {
        const p = new URLParameters(url);
        expect(plain(p).username).to.equal(user);
        expect(plain(p).password).to.equal(password);
        expect(p.virtualHost).to.equal(vhost);
      });
    }
  });

  describe('vhost from the path', () => {
    const cases: Array<[string, string]> = [
      ['amqp://h', '/'],
      ['amqp://h/', '/'],
      ['amqp://h?heartbeat=5', '/'],
      ['amqp://h/?heartbeat=5', '/'],
      ['amqp://h/%2F', '/'],
      ['amqp://h/%2f', '/'],
      ['amqp://h/prod', 'prod'],
    ];
    for (const [url, vhost] of cases) {
      it(`${url} -> ${JSON.stringify(vhost)}`, () => {
        expect(new URLParameters(url).virtualHost).to.equal(vhost);
      });
    }
  });

  describe('hosts and ports', () => {
    const cases: Array<[string, string, number, boolean]> = [
      ['amqp://h', 'h', 5672, false],
      ['amqps://h', 'h', 5671, true],
      ['AMQPS://h', 'h', 5671, true],
      ['amqps://h:5000', 'h', 5000, true],
      ['amqp://h:', 'h', 5672, false],
      ['amqp://[::1]', '::1', 5672, false],
      ['amqp://[::1]:5673/', '::1', 5673, false],
      ['amqps://u:p@[fe80::1%25eth0]:5671/', 'fe80::1%eth0', 5671, true],
      ['  amqp://h:5000/\r\n', 'h', 5000, false],
      ['amqp://127.0.0.1:1', '127.0.0.1', 1, false],
      ['amqp://:5000', 'localhost', 5000, false],
      ['amqp:///vh', 'localhost', 5672, false],
    ];
    for (const [url, host, port, tls] of cases) {
      it(`${url} -> ${host}:${port}${tls ? ' TLS' : ''}`, () => {
        const p = new URLParameters(url);
        expect(p.host).to.equal(host);
        expect(p.port).to.equal(port);
        expect(p.ssl).to.deep.equal(tls ? {} : false);
      });
    }
  });

  it('reads every numeric and string query option', () => {
    const p = new URLParameters(
      'amqp://user:pass@host:5672/%2F?heartbeat=30&connection_attempts=3&retry_delay=1.5&socket_timeout=5' +
        '&stack_timeout=10&blocked_connection_timeout=60&channel_max=100&frame_max=131072&locale=de_DE',
    );
    expect(p.heartbeat).to.equal(30);
    expect(p.connectionAttempts).to.equal(3);
    expect(p.retryDelay).to.equal(1.5);
    expect(p.socketTimeout).to.equal(5);
    expect(p.stackTimeout).to.equal(10);
    expect(p.blockedConnectionTimeout).to.equal(60);
    expect(p.channelMax).to.equal(100);
    expect(p.frameMax).to.equal(131072);
    expect(p.locale).to.equal('de_DE');
  });

  it('accepts heartbeat=0, fractions, exponents and a trailing &', () => {
    const p = new URLParameters('amqp://h?heartbeat=0&retry_delay=.25&socket_timeout=1e1&');
    expect(p.heartbeat).to.equal(0);
    expect(p.retryDelay).to.equal(0.25);
    expect(p.socketTimeout).to.equal(10);
  });

  it('reads client_properties and tcp_options as JSON, tcp_options also in snake_case', () => {
    const props = encodeURIComponent(JSON.stringify({ connection_name: 'w1' }));
    const tcp = encodeURIComponent(JSON.stringify({ keep_alive: true, keepAliveInitialDelay: 500, no_delay: false }));
    const p = new URLParameters(`amqp://h?client_properties=${props}&tcp_options=${tcp}`);
    expect(p.clientProperties).to.deep.equal({ connection_name: 'w1' });
    expect(p.tcpOptions).to.deep.equal({ noDelay: false, keepAlive: true, keepAliveInitialDelay: 500 });
  });

  it('form-decodes query values (+ is a space)', () => {
    expect(new URLParameters('amqp://h?locale=en+US').locale).to.equal('en US');
  });

  describe('ssl_options', () => {
    let dir: string;
    let ca: string;
    let cert: string;
    let key: string;
    let combined: string;
    const CA = '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n';
    const CERT = '-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n';
    const KEY = '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n';

    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'coney-params-'));
      ca = join(dir, 'ca.pem');
      cert = join(dir, 'cert.pem');
      key = join(dir, 'key.pem');
      combined = join(dir, 'combined.pem');
      writeFileSync(ca, CA);
      writeFileSync(cert, CERT);
      writeFileSync(key, KEY);
      writeFileSync(combined, CERT + KEY);
    });

    after(() => rmSync(dir, { recursive: true, force: true }));

    const withSsl = (opts: unknown, scheme = 'amqps') =>
      new URLParameters(`${scheme}://h/?ssl_options=${encodeURIComponent(JSON.stringify(opts))}`);

    it('reads the CA, certificate and key files', () => {
      const p = withSsl({ ca_certs: ca, certfile: cert, keyfile: key, server_hostname: 'rabbit', password: 'pw' });
      expect(p.ssl).to.deep.equal({
        ca: Buffer.from(CA),
        cert: Buffer.from(CERT),
        key: Buffer.from(KEY),
        servername: 'rabbit',
        passphrase: 'pw',
      });
      expect(p.port).to.equal(5671);
    });

    it('accepts cafile and ca_data / cadata', () => {
      expect((withSsl({ cafile: ca }).ssl as { ca: Buffer }).ca).to.deep.equal(Buffer.from(CA));
      expect((withSsl({ ca_data: CA }).ssl as { ca: string }).ca).to.equal(CA);
      expect((withSsl({ cadata: CA }).ssl as { ca: string }).ca).to.equal(CA);
    });

    it('takes the key from the certfile when it holds one and keyfile is absent', () => {
      const tls = withSsl({ certfile: combined }).ssl as { cert: Buffer; key: Buffer };
      expect(tls.cert).to.deep.equal(Buffer.from(CERT + KEY));
      expect(tls.key).to.deep.equal(Buffer.from(CERT + KEY));
      expect(withSsl({ certfile: cert }).ssl).not.to.have.property('key');
    });

    const verify: Array<[unknown, boolean]> = [
      ['none', false],
      ['required', true],
      [false, false],
      [true, true],
    ];
    for (const [value, flag] of verify) {
      it(`verify ${JSON.stringify(value)} -> rejectUnauthorized ${flag}`, () => {
        expect(withSsl({ verify: value }).ssl).to.deep.equal({ rejectUnauthorized: flag });
      });
    }

    it('accepts cert_reqs CERT_NONE / CERT_REQUIRED and ciphers', () => {
      expect(withSsl({ cert_reqs: 'CERT_NONE' }).ssl).to.deep.equal({ rejectUnauthorized: false });
      expect(withSsl({ cert_reqs: 'CERT_REQUIRED' }).ssl).to.deep.equal({ rejectUnauthorized: true });
      expect(withSsl({ ciphers: 'HIGH' }).ssl).to.deep.equal({ ciphers: 'HIGH' });
    });

    it('turns TLS on with amqp:// too (pika), defaulting to port 5671', () => {
      const p = withSsl({ ca_certs: ca }, 'amqp');
      expect(p.ssl).to.deep.equal({ ca: Buffer.from(CA) });
      expect(p.port).to.equal(5671);
    });

    it('ssl_options=null means plain TCP, and conflicts with amqps://', () => {
      expect(new URLParameters('amqp://h?ssl_options=null').ssl).to.equal(false);
      expect(urlError('amqps://h?ssl_options=null')).to.match(/'ssl_options' is null.*amqps/);
    });

    it('names the option, key and path of a missing file', () => {
      const missing = join(dir, 'nope.pem');
      for (const k of ['ca_certs', 'certfile']) {
        const message = invalidMessage(() => withSsl({ [k]: missing }));
        expect(message).to.include("URL option 'ssl_options'");
        expect(message).to.include(k);
        expect(message).to.include(missing);
        expect(message).to.include('ENOENT');
      }
      expect(invalidMessage(() => withSsl({ certfile: cert, keyfile: missing }))).to.include(`keyfile file '${missing}'`);
    });

    const badSsl: Array<[string, unknown, RegExp]> = [
      ['an unknown key', { cafle: 'x' }, /unknown key 'cafle'; accepted keys: ca_certs, cafile/],
      ['a non-object', [1], /expected a JSON object or null/],
      ['a non-string path', { certfile: 5 }, /'certfile' must be a non-empty string/],
      ['keyfile without certfile', { keyfile: '/k' }, /'keyfile' needs 'certfile'/],
      ['a bad verify', { verify: 'maybe' }, /'verify' must be 'none' or 'required', got "maybe"/],
      ['a bad cert_reqs', { cert_reqs: 'CERT_OPTIONAL' }, /'cert_reqs' must be 'CERT_NONE' or 'CERT_REQUIRED'/],
    ];
    for (const [what, opts, message] of badSsl) {
      it(`rejects ${what}`, () => {
        const text = invalidMessage(() => withSsl(opts));
        expect(text).to.include("invalid URL option 'ssl_options'");
        expect(text).to.match(message);
      });
    }

    it('rejects JSON it cannot parse without echoing it (it may hold a passphrase)', () => {
      const message = urlError(`amqps://h?ssl_options=${encodeURIComponent("{'password': 'hunter2'}")}`);
      expect(message).to.include("invalid URL option 'ssl_options'");
      expect(message).to.include('JSON');
      expect(message).not.to.include('hunter2');
    });
  });

  describe('errors', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['a non-number', 'amqp://h?heartbeat=abc', /^invalid URL option 'heartbeat': expected an integer, got 'abc' \(URL: amqp:\/\/h\?heartbeat=abc\)$/],
      ['a fraction for an integer', 'amqp://h?channel_max=1.5', /URL option 'channel_max': expected an integer, got '1.5'/],
      ['an empty number', 'amqp://h?retry_delay=', /URL option 'retry_delay': expected a number, got ''/],
      ['a negative heartbeat', 'amqp://h?heartbeat=-1', /URL option 'heartbeat': expected an integer from 0 .*got -1/],
      ['connection_attempts=0', 'amqp://h?connection_attempts=0', /URL option 'connection_attempts': expected an integer >= 1, got 0/],
      ['a small frame_max', 'amqp://h?frame_max=1024', /URL option 'frame_max': expected an integer from 4096/],
      ['channel_max=0', 'amqp://h?channel_max=0', /URL option 'channel_max'.*got 0/],
      ['a zero socket_timeout', 'amqp://h?socket_timeout=0', /URL option 'socket_timeout': expected a number of seconds > 0/],
      ['a zero stack_timeout', 'amqp://h?stack_timeout=0', /URL option 'stack_timeout'/],
      ['a zero blocked_connection_timeout', 'amqp://h?blocked_connection_timeout=0', /URL option 'blocked_connection_timeout'/],
      ['a negative retry_delay', 'amqp://h?retry_delay=-1', /URL option 'retry_delay': expected a number of seconds >= 0/],
      ['an empty locale', 'amqp://h?locale=', /URL option 'locale'/],
      ['bad tcp_options', 'amqp://h?tcp_options=%7B%22nodelay%22%3Atrue%7D', /URL option 'tcp_options': unknown TCP option 'nodelay'/],
      ['a JSON array for client_properties', 'amqp://h?client_properties=%5B%5D', /URL option 'client_properties': expected a JSON object/],
      ['a typo', 'amqp://h?heartbat=30', /^unknown URL option 'heartbat'; did you mean 'heartbeat'\? \(URL: amqp:\/\/h\?heartbat=30\)$/],
      ['camelCase', 'amqp://h?channelMax=3', /^unknown URL option 'channelMax'; did you mean 'channel_max'\? \(URL: amqp:\/\/h\?channelMax=3\)$/],
      ['maxMessageSize in camelCase', 'amqp://h?maxMessageSize=3', /^unknown URL option 'maxMessageSize'; did you mean 'max_message_size'\?/],
      ['an unknown option', 'amqp://h?banana=1', /^unknown URL option 'banana'; known options: heartbeat, /],
      ['heartbeat_interval', 'amqp://h?heartbeat_interval=5', /'heartbeat_interval' .*use 'heartbeat'/],
      ['a repeated option', 'amqp://h?heartbeat=5&heartbeat=10', /URL option 'heartbeat' is given more than once/],
      ['an option without a value', 'amqp://h?heartbeat', /URL option 'heartbeat' has no value/],
      ['another scheme', 'http://h/', /^unsupported URL scheme 'http': use amqp:\/\/ or amqps:\/\/ \(URL: http:\/\/h\/\)$/],
      ['no scheme', 'localhost:5672', /^malformed AMQP URL: expected amqp:\/\//],
      ['an empty string', '', /^malformed AMQP URL/],
      // Without '@', 'h:abc' may be 'user:password': nothing of it is quoted or shown.
      ['a bad port', 'amqp://h:abc/', /^invalid port in AMQP URL: .*not a number from 1 to 65535.*is the '@host' missing\?\) \(URL: amqp:\/\/\*\*\*\)$/],
      ['port 0', 'amqp://h:0/', /^invalid port in AMQP URL: /],
      ['port 65536', 'amqp://h:65536/', /^invalid port in AMQP URL: /],
      // With user info the host part cannot hold the password: quoted.
      ['a bad port after user info', 'amqp://u:p@h:abc/', /^invalid port 'abc' in AMQP URL: expected an integer from 1 to 65535 \(URL: amqp:\/\/\*\*\*@h:abc\/\)$/],
      ['port 0 after user info', 'amqp://u@h:0/', /invalid port '0'/],
      ['port 65536 after user info', 'amqp://u@h:65536/', /invalid port '65536'/],
      ['a bare IPv6 address', 'amqp://::1/', /write IPv6 addresses in brackets/],
      ['a malformed IPv6 address', 'amqp://[zz]/', /^malformed IPv6 address in AMQP URL \(URL: amqp:\/\/\*\*\*\)$/],
      ['a malformed IPv6 address after user info', 'amqp://u@[zz]/', /malformed IPv6 address '\[zz\]'/],
      ['a two-segment path', 'amqp://h/a/b', /vhost is a single path segment; encode '\/' as %2F/],
      ['a bad escape in the vhost', 'amqp://h/%ZZ', /malformed percent-encoding in the vhost/],
      ['a bad escape in a query value', 'amqp://h?locale=%E0%A4%A', /malformed percent-encoding in URL option 'locale'/],
    ];
    for (const [what, url, message] of cases) {
      it(`rejects ${what}: ${url}`, () => {
        expect(urlError(url)).to.match(message);
      });
    }

    it('rejects a URL that is not a string', () => {
      expect(invalidMessage(() => new URLParameters(42 as never))).to.match(/expected a URL string, got number/);
    });

    const secret = 's3cr%t';
    const leaky: Array<[string, string]> = [
      ['a bad escape in the password', `amqp://user:${secret}@h/`],
      ['an unencoded / in the password', 'amqp://user:s3cr/t@h/'],
      ['an unencoded ? in the password', 'amqp://user:s3cr?t@h/'],
      ['an unencoded # in the password', 'amqp://user:s3cr#t@h/'],
      ['a bad option after a password', 'amqp://user:s3cret@h/?heartbeat=x'],
      ['a bad port after a password', 'amqp://user:s3cret@h:x/'],
      ['another scheme with a password', 'http://user:s3cret@h/'],
    ];
    for (const [what, url] of leaky) {
      it(`does not show the password for ${what}`, () => {
        const message = urlError(url);
        expect(message).not.to.include('s3cr');
      });
    }

    describe('never shows any piece of the password (3 characters or more)', () => {
      const root = join(__dirname, '..', '..');
      /** Message, String(err) and stack, without what is not from the URL: file paths and line numbers. */
      const texts = (err: Error): string[] => [
        err.message,
        String(err),
        String(err.stack).split(root).join('<root>').replace(/:\d+:\d+/g, ''),
      ];
      const pieces = (password: string): string[] => {
        const out: string[] = [];
        for (let i = 0; i + 3 <= password.length; i++) out.push(password.slice(i, i + 3));
        return out;
      };
      const ssl = (o: unknown) => encodeURIComponent(JSON.stringify(o));
      const cases: Array<[string, string, string]> = [
        ['the host missing: user:password/vhost', 'amqp://user:S3cr3tPw/vhost', 'S3cr3tPw'],
        ['unencoded @ and / in the password', 'amqp://user:p@ss/word@host/', 'p@ss/word'],
        ['the host missing, no path', 'amqp://user:S3cr3tPw', 'S3cr3tPw'],
        ['the host missing, a query', 'amqp://user:S3cr3tPw?heartbeat=5', 'S3cr3tPw'],
        ['the host missing, stray whitespace', ' amqp://user:S3cr3tPw/ \n', 'S3cr3tPw'],
        ['the host missing, no user', 'amqp://:S3cr3tPw/', 'S3cr3tPw'],
        ['the host missing, a colon in the password', 'amqp://user:S3cr:3tPw/', 'S3cr:3tPw'],
        ['the host missing, a numeric password', 'amqp://user:987650/', '987650'],
        ['an unencoded / in the password', 'amqp://user:S3cr/3tPw@host/', 'S3cr/3tPw'],
        ['an unencoded ? in the password', 'amqp://user:S3cr?3tPw@host/', 'S3cr?3tPw'],
        ['an unencoded # in the password', 'amqp://user:S3cr#3tPw@host/', 'S3cr#3tPw'],
        ['an unencoded # and no host', 'amqp://user:S3cr#3tPw/', 'S3cr#3tPw'],
        ['an unencoded ?, @ and / in the password', 'amqp://user:S3/cr?3t@Pw@host/', 'S3/cr?3t@Pw'],
        ['a bad escape in the password', 'amqp://user:S3cr%3tPw@host/', 'S3cr%3tPw'],
        ['an @ in the vhost after a password', 'amqp://user:S3cr3tPw@host/vh@x', 'S3cr3tPw'],
        ['a bad port after a password', 'amqp://user:S3cr3tPw@host:port/', 'S3cr3tPw'],
        ['a port out of range after a password', 'amqp://user:S3cr3tPw@host:99999/', 'S3cr3tPw'],
        ['a bad IPv6 host after a password', 'amqp://user:S3cr3tPw@[zz]/', 'S3cr3tPw'],
        ['a two-segment vhost after a password', 'amqp://user:S3cr3tPw@host/a/b', 'S3cr3tPw'],
        ['a bad option value after a password', 'amqp://user:S3cr3tPw@host/?heartbeat=x', 'S3cr3tPw'],
        ['an unknown option after a password', 'amqp://user:S3cr3tPw@host/?bogus=1', 'S3cr3tPw'],
        ['ssl_options=null with amqps', 'amqps://user:S3cr3tPw@host/?ssl_options=null', 'S3cr3tPw'],
        ['another scheme', 'http://user:S3cr3tPw@host/', 'S3cr3tPw'],
        ['no scheme', 'user:S3cr3tPw@host/', 'S3cr3tPw'],
        ['no scheme and no @', 'user:S3cr3tPw', 'S3cr3tPw'],
        ['a key passphrase in bad ssl_options', `amqps://host/?ssl_options=${ssl({ password: 'Pa55phrase', verify: 'maybe' })}`, 'Pa55phrase'],
        ['a key passphrase next to an unknown key', `amqps://host/?ssl_options=${ssl({ password: 'Pa55phrase', bogus: 1 })}`, 'Pa55phrase'],
        ['a key passphrase and another bad option', `amqps://host/?ssl_options=${ssl({ password: 'Pa55phrase' })}&heartbeat=x`, 'Pa55phrase'],
      ];
      for (const [what, url, password] of cases) {
        it(`${what}: ${JSON.stringify(url.slice(0, 50))}`, () => {
          let caught: unknown;
          try {
            new URLParameters(url);
          } catch (err) {
            caught = err;
          }
          expect(caught, 'an error').to.be.instanceOf(InvalidArgumentError);
          for (const text of texts(caught as Error)) {
            for (const piece of pieces(password)) expect(text, `piece '${piece}'`).not.to.include(piece);
          }
          // Every message shows the URL, masked.
          expect((caught as Error).message).to.match(/\(URL: [^)]*\*\*\*/);
        });
      }
    });

    it('masks the whole user info and points to percent-encoding for p@ss/word', () => {
      expect(urlError('amqp://user:p@ss/word@host/')).to.equal(
        "malformed AMQP URL: the user-info part of the URL contains an unencoded '/' or '@': " +
          'percent-encode them as %2F and %40 (URL: amqp://***@host/)',
      );
    });

    it('says what is wrong with user:password/vhost without quoting it', () => {
      const message = urlError('amqp://user:S3cr3tPw/vhost');
      expect(message).to.match(/^invalid port in AMQP URL: .*is the '@host' missing\?/);
      expect(message).to.match(/\(URL: amqp:\/\/\*\*\*\)$/);
    });

    it('explains how to encode delimiters in passwords', () => {
      expect(urlError('amqp://user:s3cr/t@h/')).to.equal(
        "malformed AMQP URL: the user-info part of the URL contains an unencoded '/' or '@': " +
          'percent-encode them as %2F and %40 (URL: amqp://***@h/)',
      );
      expect(urlError('amqp://user:s3cr?t@h/')).to.match(/percent-encode '\/', '\?', '#' and '@'/);
      expect(urlError('amqp://user:s3cr#t@h/')).to.match(/%23/);
      expect(urlError(`amqp://user:${secret}@h/`)).to.equal(
        'malformed percent-encoding in the password of the AMQP URL (URL: amqp://***@h/)',
      );
    });

    it('never shows the password in toString()', () => {
      expect(String(new URLParameters('amqps://bob:s3cret@h/prod'))).to.equal('amqps://bob@h:5671/prod');
    });
  });

  describe('connectionName and clientProperties checked at construction', () => {
    it('connectionName is an option and a URL option, sent as the connection_name client property', () => {
      expect(new ConnectionParameters({ connectionName: 'orders-worker-1' }).connectionName).to.equal('orders-worker-1');
      expect(new URLParameters('amqp://h/?connection_name=orders%20api').connectionName).to.equal('orders api');
      expect(new ConnectionParameters().connectionName).to.equal(undefined);
      expect(() => new ConnectionParameters({ connectionName: '' })).to.throw(InvalidArgumentError, /connectionName/);
      expect(() => new ConnectionParameters({ connectionName: 'x'.repeat(256) })).to.throw(InvalidArgumentError, /at most 255 bytes/);
      expect(() => new ConnectionParameters({ connection_name: 'x' } as never)).to.throw(InvalidArgumentError, /did you mean 'connectionName'/);
      const props = clientProperties({ product: 'mine' }, 'named');
      expect([props.product, props.connection_name]).to.deep.equal(['mine', 'named']);
    });

    it('a cyclic, NaN-bearing or unencodable clientProperties throws at construction, not at connect', () => {
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      expect(() => new ConnectionParameters({ clientProperties: cyclic })).to.throw(InvalidArgumentError, /clientProperties.*cyclic/);
      expect(() => new ConnectionParameters({ clientProperties: { n: NaN } })).to.throw(InvalidArgumentError, /clientProperties.*NaN/);
      expect(() => new ConnectionParameters({ clientProperties: { f: () => 1 } })).to.throw(InvalidArgumentError, /clientProperties/);
    });
  });
});
