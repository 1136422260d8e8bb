/**
 * The rules of the opening handshake, without a connection: the answers to
 * connection.start and connection.tune, which error a broker close or a
 * dropped socket at each step most probably means, and what the first bytes
 * of a peer that is no AMQP broker say about it.
 */
import { expect } from 'chai';
import { ExternalCredentials, PlainCredentials } from '../../lib/engine/credentials';
import { brokerCloseError, foreignProtocol, handshakeLostError, startOk, tuneLimits } from '../../lib/engine/handshake';
import { ConnectionParameters } from '../../lib/engine/parameters';
import {
  AuthenticationError,
  ConnectionClosedByBroker,
  IncompatibleProtocolError,
  InvalidArgumentError,
  ProbableAccessDeniedError,
  ProbableAuthenticationError,
  StreamLostError,
} from '../../lib/errors';
import * as spec from '../../lib/wire/spec';
import { connectToFakeBroker } from '../support/virtual-broker';

function start(mechanisms = 'PLAIN AMQPLAIN'): spec.Connection.Start {
  return new spec.Connection.Start({ versionMajor: 0, versionMinor: 9, serverProperties: {}, mechanisms, locales: 'en_US' });
}

function tune(channelMax: number, frameMax: number, heartbeat: number): spec.Connection.Tune {
  return new spec.Connection.Tune({ channelMax, frameMax, heartbeat });
}

function close(replyCode: number, replyText: string): spec.Connection.Close {
  return new spec.Connection.Close({ replyCode, replyText, failingClassId: 0, failingMethodId: 0 });
}

describe('handshake', () => {
  describe('startOk', () => {
    it('answers with the mechanism and response of the credentials, our client properties and the locale', () => {
      const params = new ConnectionParameters({
        credentials: new PlainCredentials('user', 'pw'),
        locale: 'de_DE',
        connectionName: 'worker-1',
        clientProperties: { product: 'my-app' },
      });
      const reply = startOk(params, start());
      expect(reply).to.be.instanceOf(spec.Connection.StartOk);
      expect(reply.mechanism).to.equal('PLAIN');
      expect(Buffer.from(reply.response as Buffer).toString()).to.equal('\0user\0pw');
      expect(reply.locale).to.equal('de_DE');
      expect(reply.clientProperties['product']).to.equal('my-app');
      expect(reply.clientProperties['connection_name']).to.equal('worker-1');
      expect(reply.clientProperties['capabilities']).to.have.property('publisher_confirms', true);
    });

    it('answers EXTERNAL with an empty response for ExternalCredentials', () => {
      const reply = startOk(new ConnectionParameters({ credentials: new ExternalCredentials() }), start('PLAIN EXTERNAL'));
      expect(reply.mechanism).to.equal('EXTERNAL');
      expect(Buffer.from(reply.response as Buffer).length).to.equal(0);
    });

    it('throws an AuthenticationError when the broker offers no mechanism of the credentials', () => {
      const params = new ConnectionParameters({ credentials: new ExternalCredentials() });
      expect(() => startOk(params, start('PLAIN AMQPLAIN'))).to.throw(
        AuthenticationError,
        'broker offers PLAIN AMQPLAIN; ExternalCredentials need EXTERNAL',
      );
    });

    it('erases credentials with eraseOnConnect once the answer is built, and keeps the others', () => {
      const erasing = new PlainCredentials('u', 'secret', true);
      const reply = startOk(new ConnectionParameters({ credentials: erasing }), start());
      expect(erasing.erased).to.equal(true);
      expect(Buffer.from(reply.response as Buffer).toString(), 'the answer still carries the response').to.equal('\0u\0secret');
      const keeping = new PlainCredentials('u', 'secret');
      startOk(new ConnectionParameters({ credentials: keeping }), start());
      expect(keeping.erased).to.equal(false);
      expect(keeping.password).to.equal('secret');
    });

    it('refuses erased credentials (a second login after eraseOnConnect)', () => {
      const params = new ConnectionParameters({ credentials: new PlainCredentials('u', 'p', true) });
      startOk(params, start());
      expect(() => startOk(params, start())).to.throw(AuthenticationError, /erased/);
    });
  });

  describe('tuneLimits', () => {
    it('takes the smaller limit, or the one side that sets a limit (0 = none)', () => {
      const params = new ConnectionParameters({ channelMax: 100, frameMax: 65536 });
      expect(tuneLimits(params, tune(2047, 131072, 0), null)).to.deep.equal({ channelMax: 100, frameMax: 65536, heartbeat: 0 });
      expect(tuneLimits(params, tune(10, 4096, 0), null)).to.deep.equal({ channelMax: 10, frameMax: 4096, heartbeat: 0 });
      expect(tuneLimits(params, tune(0, 0, 0), null)).to.deep.equal({ channelMax: 100, frameMax: 65536, heartbeat: 0 });
    });

    it('with default parameters, a broker without limits gets 65535 channels and 131072-byte frames', () => {
      expect(tuneLimits(new ConnectionParameters(), tune(0, 0, 60), null)).to.deep.equal({ channelMax: 65535, frameMax: 131072, heartbeat: 60 });
    });

    it("takes the client's heartbeat when it sets one, the broker's otherwise (pika's rule)", () => {
      expect(tuneLimits(new ConnectionParameters({ heartbeat: 600 }), tune(0, 0, 60), null).heartbeat).to.equal(600);
      expect(tuneLimits(new ConnectionParameters({ heartbeat: 0 }), tune(0, 0, 60), null).heartbeat).to.equal(0);
      expect(tuneLimits(new ConnectionParameters(), tune(0, 0, 30), null).heartbeat).to.equal(30);
    });

    it('asks a heartbeat callable, passing the connection and the broker value', () => {
      const seen: unknown[] = [];
      const connection = { id: 'c' };
      const params = new ConnectionParameters({ heartbeat: (c, v) => (seen.push(c, v), v / 2) });
      expect(tuneLimits(params, tune(0, 0, 60), connection).heartbeat).to.equal(30);
      expect(seen).to.deep.equal([connection, 60]);
    });

    it('throws when the heartbeat callable returns an invalid value', () => {
      const params = new ConnectionParameters({ heartbeat: () => -1 });
      expect(() => tuneLimits(params, tune(0, 0, 60), null)).to.throw(InvalidArgumentError, /heartbeat callback returned/);
    });
  });

  describe('brokerCloseError', () => {
    const params = new ConnectionParameters({ virtualHost: 'prod' });

    it('ACCESS_REFUSED after start-ok is a refused login', () => {
      const err = brokerCloseError('awaiting-tune', close(403, 'ACCESS_REFUSED - Login was refused'), params);
      expect(err).to.be.instanceOf(ProbableAuthenticationError);
      expect(err.message).to.equal('the broker refused the login (403 ACCESS_REFUSED - Login was refused)');
    });

    it('another close after start-ok is just a broker close', () => {
      const err = brokerCloseError('awaiting-tune', close(530, 'NOT_ALLOWED'), params);
      expect(err).to.be.instanceOf(ConnectionClosedByBroker);
      expect(err).not.to.be.instanceOf(AuthenticationError);
      expect([(err as ConnectionClosedByBroker).replyCode, (err as ConnectionClosedByBroker).replyText]).to.deep.equal([530, 'NOT_ALLOWED']);
    });

    it('any close after connection.open is a refused virtual host, named', () => {
      const err = brokerCloseError('awaiting-open-ok', close(530, 'NOT_ALLOWED - access to vhost denied'), params);
      expect(err).to.be.instanceOf(ProbableAccessDeniedError);
      expect(err.message).to.equal('the broker refused virtual host "prod" (530 NOT_ALLOWED - access to vhost denied)');
    });

    for (const step of [null, 'awaiting-start', 'connecting'] as const) {
      it(`a close at step ${step} is a ConnectionClosedByBroker with its code and text`, () => {
        const err = brokerCloseError(step, close(320, 'CONNECTION_FORCED - shutdown'), params);
        expect(err).to.be.instanceOf(ConnectionClosedByBroker);
        expect((err as ConnectionClosedByBroker).replyCode).to.equal(320);
        expect((err as ConnectionClosedByBroker).replyText).to.equal('CONNECTION_FORCED - shutdown');
      });
    }

    it('an ACCESS_REFUSED once open is not taken for a login failure', () => {
      expect(brokerCloseError(null, close(403, 'ACCESS_REFUSED'), params)).not.to.be.instanceOf(AuthenticationError);
    });

    describe('a refused frame_max (RabbitMQ 4.1+ refuses less than 8192)', () => {
      const text = 'NOT_ALLOWED - negotiated frame_max = 4096 is lower than the minimum allowed value (8192)';

      it('after connection.open (RabbitMQ checks tune-ok then): an InvalidArgumentError naming frameMax, not a refused vhost', () => {
        const err = brokerCloseError('awaiting-open-ok', close(530, text), new ConnectionParameters({ frameMax: 4096 }));
        expect(err).to.be.instanceOf(InvalidArgumentError);
        expect(err.message).to.equal(
          `the broker refused frameMax 4096 (530 ${text}); RabbitMQ 4.1 and later require frameMax >= 8192 (the default, 131072, suits every broker)`,
        );
        expect(err.cause).to.be.instanceOf(ConnectionClosedByBroker);
        expect([(err.cause as ConnectionClosedByBroker).replyCode, (err.cause as ConnectionClosedByBroker).replyText]).to.deep.equal([530, text]);
      });

      it('whatever the code and the spelling, at any step of the handshake; without advice when frameMax was not small', () => {
        for (const [step, code, reply] of [
          ['awaiting-tune', 503, 'COMMAND_INVALID - frame-max too small'],
          ['awaiting-open-ok', 530, 'NOT_ALLOWED - FrameMax refused'],
        ] as const) {
          const err = brokerCloseError(step, close(code, reply), new ConnectionParameters({ frameMax: 65536 }));
          expect(err, reply).to.be.instanceOf(InvalidArgumentError);
          expect(err.message).to.equal(`the broker refused frameMax 65536 (${code} ${reply})`);
        }
      });

      it('names channelMax for a refused channel_max', () => {
        const err = brokerCloseError(
          'awaiting-open-ok',
          close(530, 'NOT_ALLOWED - negotiated channel_max = 0 is higher than the maximum allowed value (2047)'),
          params,
        );
        expect(err).to.be.instanceOf(InvalidArgumentError);
        expect(err.message).to.match(/^the broker refused channelMax 65535 \(530 NOT_ALLOWED - negotiated channel_max/);
      });

      it('is only a handshake rule: once open, such a close is a broker close', () => {
        expect(brokerCloseError(null, close(530, text), params)).to.be.instanceOf(ConnectionClosedByBroker);
      });
    });
  });

  describe('a broker that refuses the tuned frame_max (fake broker, as RabbitMQ 4.1 does)', () => {
    it('fails the connection once with an InvalidArgumentError naming frameMax, without retrying', () => {
      const text = 'NOT_ALLOWED - negotiated frame_max = 4096 is lower than the minimum allowed value (8192)';
      const s = connectToFakeBroker({ parameters: { frameMax: 4096, connectionAttempts: 3, retryDelay: 1 } });
      const tuneOks: spec.Connection.TuneOk[] = [];
      // RabbitMQ checks tune-ok, then closes; connection.open, sent in the same write, is ignored.
      s.broker.onMethod = (session, _channel, m) => {
        if (m instanceof spec.Connection.TuneOk) {
          tuneOks.push(m);
          session.send(0, new spec.Connection.Close({ replyCode: 530, replyText: text, failingClassId: 10, failingMethodId: 31 }));
          return true;
        }
        return m instanceof spec.Connection.Open;
      };
      s.loop.runUntilIdle();
      s.loop.advance(10);
      expect(tuneOks.map((m) => m.frameMax)).to.deep.equal([4096]);
      expect(s.broker.sessions, 'not retried: the same frameMax would be refused again').to.have.length(1);
      expect(s.events.opened).to.equal(0);
      expect(s.events.openErrors).to.have.length(1);
      const err = s.events.openErrors[0];
      expect(err).to.be.instanceOf(InvalidArgumentError);
      expect(err.message).to.match(/^the broker refused frameMax 4096 \(530 NOT_ALLOWED - negotiated frame_max = 4096 .*require frameMax >= 8192/);
      expect(s.broker.session.sent(spec.Connection.CloseOk), "the broker's close is answered").to.have.length(1);
    });

    it('opens with frameMax 4096 on a broker that takes it', () => {
      const s = connectToFakeBroker({ parameters: { frameMax: 4096 } });
      s.loop.runUntilIdle();
      expect(s.events.opened).to.equal(1);
      expect(s.connection.frameMax).to.equal(4096);
    });
  });

  describe('handshakeLostError (a dropped socket at each step)', () => {
    it('after start-ok: probably a wrong user name or password', () => {
      const err = handshakeLostError('awaiting-tune', null);
      expect(err).to.be.instanceOf(ProbableAuthenticationError);
      expect(err.message).to.equal('the broker closed the socket after connection.start-ok: probably a wrong user name or password');
    });

    it('after connection.open: probably no access to the virtual host', () => {
      const err = handshakeLostError('awaiting-open-ok', new Error('read ECONNRESET'));
      expect(err).to.be.instanceOf(ProbableAccessDeniedError);
      expect(err.message).to.equal('read ECONNRESET after connection.open: probably no access to the virtual host');
    });

    it('after the protocol header: probably another protocol, with the cause kept', () => {
      const cause = new Error('read ECONNRESET');
      const err = handshakeLostError('awaiting-start', cause);
      expect(err).to.be.instanceOf(IncompatibleProtocolError);
      expect(err.message).to.match(/^read ECONNRESET after the protocol header, before connection\.start/);
      expect(err.cause).to.equal(cause);
      expect(handshakeLostError('awaiting-start', null).cause).to.equal(undefined);
    });

    it('while connecting: a lost stream, with the cause kept', () => {
      const cause = new Error('EPIPE');
      const err = handshakeLostError('connecting', cause);
      expect(err).to.be.instanceOf(StreamLostError);
      expect(err.message).to.equal('EPIPE during the handshake');
      expect(err.cause).to.equal(cause);
      expect(handshakeLostError('connecting', null).message).to.equal('the broker closed the socket during the handshake');
    });
  });

  describe('foreignProtocol', () => {
    it('recognises a TLS record (handshake or alert): the port expects TLS', () => {
      for (const bytes of [[0x16, 0x03, 0x01], [0x15, 0x03, 0x03], [0x16]]) {
        const said = foreignProtocol(Buffer.from(bytes), 'rabbit:5671');
        expect(said, bytes.join(' ')).to.match(/^rabbit:5671 answered with a TLS record: it expects TLS\. Use amqps:\/\//);
      }
    });

    it('recognises an HTTP answer: a web server, not an AMQP listener', () => {
      expect(foreignProtocol(Buffer.from('HTTP/1.1 400 Bad Request\r\n'), 'rabbit:15672')).to.match(
        /^rabbit:15672 answered with HTTP: it is a web server \(the management UI\?\), not an AMQP listener/,
      );
    });

    it('says nothing about other bytes', () => {
      for (const bytes of [
        Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'),
        Buffer.from([0x16, 0x01]),
        Buffer.from('HTTP'),
        Buffer.from('http/1.1'),
        Buffer.alloc(0),
      ]) {
        expect(foreignProtocol(bytes, 't'), bytes.toString('hex')).to.equal(null);
      }
    });
  });
});
