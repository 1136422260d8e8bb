/**
 * URLParameters: pika's amqp:// and amqps:// URLs (user, password, host,
 * port, vhost, query options, ssl_options) and their errors, which never
 * show the password.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { InvalidArgumentError } from '../../lib/errors';
import { ConnectionParameters } from '../../lib/engine/parameters';
import { URLParameters } from '../../lib/engine/url-parameters';
import { invalidMessage, plainCredentials, urlError } from '../support/assertions';

describe('URLParameters', () => {
  it('is a ConnectionParameters', () => {
    expect(new URLParameters('amqp://localhost')).to.be.instanceOf(ConnectionParameters);
  });

  it('reads user, password, host, port and vhost', () => {
    const p = new URLParameters('amqp://bob:secret@rabbit.example:5673/prod');
    expect(plainCredentials(p).username).to.equal('bob');
    expect(plainCredentials(p).password).to.equal('secret');
    expect(p.host).to.equal('rabbit.example');
    expect(p.port).to.equal(5673);
    expect(p.virtualHost).to.equal('prod');
    expect(p.ssl).to.equal(false);
  });

  it('keeps the defaults of everything the URL leaves out', () => {
    const p = new URLParameters('amqp://');
    const d = new ConnectionParameters();
    expect({ ...p, credentials: null }).to.deep.equal({ ...d, credentials: null });
    expect(plainCredentials(p).username).to.equal('guest');
    expect(plainCredentials(p).password).to.equal('guest');
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
        expect(plainCredentials(p).username).to.equal(user);
        expect(plainCredentials(p).password).to.equal(password);
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

    const withSsl = (opts: unknown, scheme = 'amqps') => new URLParameters(`${scheme}://h/?ssl_options=${encodeURIComponent(JSON.stringify(opts))}`);

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
      [
        'a non-number',
        'amqp://h?heartbeat=abc',
        /^invalid URL option 'heartbeat': expected an integer, got 'abc' \(URL: amqp:\/\/h\?heartbeat=abc\)$/,
      ],
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
      [
        'a bad port',
        'amqp://h:abc/',
        /^invalid port in AMQP URL: .*not a number from 1 to 65535.*is the '@host' missing\?\) \(URL: amqp:\/\/\*\*\*\)$/,
      ],
      ['port 0', 'amqp://h:0/', /^invalid port in AMQP URL: /],
      ['port 65536', 'amqp://h:65536/', /^invalid port in AMQP URL: /],
      // With user info the host part cannot hold the password: quoted.
      [
        'a bad port after user info',
        'amqp://u:p@h:abc/',
        /^invalid port 'abc' in AMQP URL: expected an integer from 1 to 65535 \(URL: amqp:\/\/\*\*\*@h:abc\/\)$/,
      ],
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
        String(err.stack)
          .split(root)
          .join('<root>')
          .replace(/:\d+:\d+/g, ''),
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
      expect(urlError(`amqp://user:${secret}@h/`)).to.equal('malformed percent-encoding in the password of the AMQP URL (URL: amqp://***@h/)');
    });

    it('never shows the password in toString()', () => {
      expect(String(new URLParameters('amqps://bob:s3cret@h/prod'))).to.equal('amqps://bob@h:5671/prod');
    });
  });
});

describe('URLParameters: how errors show the URL', () => {
  it('masks the value of a query option whose name it cannot decode (it may be ssl_options)', () => {
    const message = urlError('amqps://host/?ssl_options%ZZ=Pa55phrase&heartbeat=5');
    expect(message).to.match(/^malformed percent-encoding in a URL option name/);
    expect(message).to.include('(URL: amqps://host/?ssl_options%ZZ=***&heartbeat=5)');
    expect(message).not.to.include('Pa55phrase');
  });

  it('says null for a null URL', () => {
    expect(invalidMessage(() => new URLParameters(null as never))).to.equal('URLParameters: expected a URL string, got null');
  });

  it('quotes a malformed host after user info (it cannot be the password then)', () => {
    expect(urlError('amqp://user@::1/')).to.match(/^malformed host '::1' in AMQP URL: write IPv6 addresses in brackets/);
    expect(urlError('amqp://::1/')).to.match(/^malformed host in AMQP URL/);
  });

  it('cuts a long URL to 200 characters and a long bad value to 40', () => {
    const url = `amqp://h/?heartbeat=x&locale=${'a'.repeat(300)}`;
    const shownUrl = /\(URL: (.*)\)$/.exec(urlError(url))?.[1];
    expect(shownUrl).to.have.lengthOf(200);
    expect(shownUrl).to.equal(`${url.slice(0, 197)}...`);
    const value = 'x'.repeat(50);
    expect(urlError(`amqp://h?heartbeat=${value}`)).to.include(`got '${value.slice(0, 37)}...'`);
  });
});
