import { expect } from 'chai';
import * as sinon from 'sinon';
import { inspect } from 'util';
import { InvalidArgumentError } from '../../lib/errors';
import { ExternalCredentials, PlainCredentials } from '../../lib/engine/credentials';
import { clientProperties } from '../../lib/engine/client-properties';
import { ConnectionParameters, ConnectionParametersOptions, negotiateHeartbeat, negotiateLimit } from '../../lib/engine/parameters';
import { URLParameters } from '../../lib/engine/url-parameters';
import { invalidMessage, plainCredentials, urlError } from '../support/assertions';

describe('ConnectionParameters', () => {
  it("has pika's defaults", () => {
    const p = new ConnectionParameters();
    expect(p.host).to.equal('localhost');
    expect(p.port).to.equal(5672);
    expect(p.virtualHost).to.equal('/');
    expect(plainCredentials(p).username).to.equal('guest');
    expect(plainCredentials(p).password).to.equal('guest');
    expect(plainCredentials(p).eraseOnConnect).to.equal(false);
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

  it('accepts a frameMax from 4096, the AMQP minimum, though RabbitMQ 4.1 and later refuse less than 8192 when connecting', () => {
    // Older brokers take it; a broker that refuses it fails the connection with an error naming frameMax (see handshake.spec.ts).
    expect(new ConnectionParameters({ frameMax: 4096 }).frameMax).to.equal(4096);
    expect(new ConnectionParameters({ frameMax: 8191 }).frameMax).to.equal(8191);
    expect(new ConnectionParameters().frameMax, 'the default suits every broker').to.be.at.least(8192);
  });

  describe('maxMessageSize', () => {
    it('defaults to 128 MiB and is exposed read-only like frameMax', () => {
      const p = new ConnectionParameters();
      expect(p.maxMessageSize).to.equal(134217728);
      expect(new ConnectionParameters({ maxMessageSize: undefined }).maxMessageSize).to.equal(134217728);
      expect(Object.getOwnPropertyDescriptor(p, 'maxMessageSize')?.enumerable).to.equal(true);
    });

    it("accepts 1 .. 512 MiB, RabbitMQ's hard cap", () => {
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
      expect((p.ssl as Record<string, unknown>)['passphrase']).to.equal('Pa55phrase');
      const tls = p.transportTarget().tls as Record<string | symbol, unknown>;
      expect(tls).to.deep.equal(ssl);
      expect(tls['passphrase']).to.equal('Pa55phrase');
      expect(tls['key']).to.equal(KEY);
      expect(tls['pfx']).to.equal(ssl.pfx);
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
    clientProperties['a'] = 2;
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
      (t.tls as Record<string, unknown>)['servername'] = 'y';
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
        const message = invalidMessage(() => new ConnectionParameters({ [option]: value }));
        expect(message).to.include(`invalid option '${option}'`);
        expect(message).to.include(`got ${shown}`);
      });
    }

    it('rejects a plain { username, password } object without printing it', () => {
      const message = invalidMessage(() => new ConnectionParameters({ credentials: { username: 'u', password: 'hunter2' } } as never));
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
      expect(invalidMessage(() => new ConnectionParameters({ tcpOptions: { keepAliveInitialDelay: -1 } }))).to.match(
        /'tcpOptions' \(keepAliveInitialDelay\).*got -1/,
      );
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
        expect(invalidMessage(() => new ConnectionParameters({ [key]: 1 }))).to.equal(message);
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

  describe('connectionName and clientProperties checked at construction', () => {
    it('connectionName is an option and a URL option, sent as the connection_name client property', () => {
      expect(new ConnectionParameters({ connectionName: 'orders-worker-1' }).connectionName).to.equal('orders-worker-1');
      expect(new URLParameters('amqp://h/?connection_name=orders%20api').connectionName).to.equal('orders api');
      expect(new ConnectionParameters().connectionName).to.equal(undefined);
      expect(() => new ConnectionParameters({ connectionName: '' })).to.throw(InvalidArgumentError, /connectionName/);
      expect(() => new ConnectionParameters({ connectionName: 'x'.repeat(256) })).to.throw(InvalidArgumentError, /at most 255 bytes/);
      expect(() => new ConnectionParameters({ connection_name: 'x' } as never)).to.throw(InvalidArgumentError, /did you mean 'connectionName'/);
      const props = clientProperties({ product: 'mine' }, 'named');
      expect([props['product'], props['connection_name']]).to.deep.equal(['mine', 'named']);
    });

    it('a cyclic, NaN-bearing or unencodable clientProperties throws at construction, not at connect', () => {
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic['self'] = cyclic;
      expect(() => new ConnectionParameters({ clientProperties: cyclic })).to.throw(InvalidArgumentError, /clientProperties.*cyclic/);
      expect(() => new ConnectionParameters({ clientProperties: { n: NaN } })).to.throw(InvalidArgumentError, /clientProperties.*NaN/);
      expect(() => new ConnectionParameters({ clientProperties: { f: () => 1 } })).to.throw(InvalidArgumentError, /clientProperties/);
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

describe('ConnectionParameters: less common values', () => {
  it('shows a function, a bigint and an object by their kind in errors, never their contents', () => {
    const secret = { password: 'hunter2' };
    expect(invalidMessage(() => new ConnectionParameters({ port: (() => 5672) as never }))).to.match(/'port'.*got a function$/);
    expect(invalidMessage(() => new ConnectionParameters({ port: 5672n as never }))).to.match(/'port'.*got 5672n$/);
    const message = invalidMessage(() => new ConnectionParameters({ port: secret as never }));
    expect(message).to.match(/'port'.*got an object$/);
    expect(message).not.to.include('hunter2');
  });

  it('accepts objects without a prototype for clientProperties and tcpOptions', () => {
    const props = Object.assign(Object.create(null) as Record<string, unknown>, { team: 'payments' });
    const tcp = Object.assign(Object.create(null) as Record<string, unknown>, { keepAlive: true });
    const params = new ConnectionParameters({ clientProperties: props, tcpOptions: tcp });
    expect(params.clientProperties).to.deep.equal({ team: 'payments' });
    expect(params.tcpOptions).to.deep.equal({ noDelay: true, keepAlive: true });
  });

  it('takes an explicit blockedConnectionTimeout of null (no timeout) over a number', () => {
    expect(new ConnectionParameters({ blockedConnectionTimeout: 30 }).blockedConnectionTimeout).to.equal(30);
    expect(new ConnectionParameters({ blockedConnectionTimeout: null }).blockedConnectionTimeout).to.equal(null);
  });

  it('names an unknown TCP option without a suggestion when no known one is close', () => {
    expect(invalidMessage(() => new ConnectionParameters({ tcpOptions: { banana: true } as never }))).to.equal(
      "invalid option 'tcpOptions': unknown TCP option 'banana'",
    );
  });

  it('lets an error that is not about the value (a throwing getter) through unchanged', () => {
    const boom = new RangeError('boom');
    const props = {
      get broken(): string {
        throw boom;
      },
    };
    let caught: unknown;
    try {
      new ConnectionParameters({ clientProperties: props });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.equal(boom);
  });
});
