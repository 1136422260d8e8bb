/**
 * Frame checks run in the call itself: a method or a content header that
 * cannot be encoded, or whose frame would exceed frame-max, throws there;
 * a property name that is not one of the 14 throws with a hint. Frame sizes
 * are measured here with the wire layer's own encoders.
 */
import { expect } from 'chai';
import { checkMethodFrame, checkProperties, checkPropertyNames } from '../../lib/engine/frame-checks';
import { InvalidArgumentError } from '../../lib/errors';
import { encodeContentFrames, encodeMethodFrame } from '../../lib/wire/frame-writer';
import * as spec from '../../lib/wire/spec';

/** A queue.declare whose method frame is exactly `size` bytes (an argument padded). */
function declareOfFrameSize(size: number): spec.Queue.Declare {
  const make = (pad: number) => new spec.Queue.Declare({ queue: 'q', arguments: { pad: 'x'.repeat(pad) } });
  const base = encodeMethodFrame(1, make(0)).length;
  const method = make(size - base);
  expect(encodeMethodFrame(1, method).length, 'test setup').to.equal(size);
  return method;
}

/** Properties whose content header frame is exactly `size` bytes. */
function propertiesOfFrameSize(size: number): spec.BasicPropertiesInit {
  const make = (pad: number): spec.BasicPropertiesInit => ({ contentType: 'text/plain', headers: { pad: 'x'.repeat(pad) } });
  const headerFrame = (p: spec.BasicPropertiesInit) => encodeContentFrames(1, p, Buffer.alloc(0), 1 << 20).length;
  const properties = make(size - headerFrame(make(0)));
  expect(headerFrame(properties), 'test setup').to.equal(size);
  return properties;
}

describe('frame checks', () => {
  describe('checkMethodFrame', () => {
    it('accepts a method frame of exactly frame-max bytes and rejects one byte more', () => {
      expect(() => checkMethodFrame(declareOfFrameSize(4096), 4096)).not.to.throw();
      expect(() => checkMethodFrame(declareOfFrameSize(4097), 4096)).to.throw(
        InvalidArgumentError,
        'queue.declare: the method frame would be 4097 bytes, more than frame-max 4096 (arguments or strings too large); the broker would close the connection',
      );
    });

    it('takes frame-max 0 (not negotiated yet) as 131072', () => {
      expect(() => checkMethodFrame(declareOfFrameSize(131072), 0)).not.to.throw();
      expect(() => checkMethodFrame(declareOfFrameSize(131073), 0)).to.throw(InvalidArgumentError, /131073 bytes, more than frame-max 131072/);
    });

    it('puts the caller\'s hint in the message', () => {
      expect(() => checkMethodFrame(declareOfFrameSize(5000), 4096, 'a client property too large')).to.throw(
        InvalidArgumentError,
        /\(a client property too large\)/,
      );
    });

    it('throws what encoding would throw', () => {
      expect(() => checkMethodFrame(new spec.Queue.Declare({ queue: 'q'.repeat(256) }), 0)).to.throw(InvalidArgumentError, /at most 255/);
      expect(() => checkMethodFrame(new spec.Basic.Qos({ prefetchCount: 70000 }), 0)).to.throw(InvalidArgumentError, 'basic.qos: field prefetchCount must be an integer in 0..65535 (short), got 70000');
      expect(() => checkMethodFrame(new spec.Queue.Declare({ queue: 'q', arguments: { n: NaN } }), 0)).to.throw(InvalidArgumentError, /NaN/);
    });

    it('measures a start-ok without wiping its secret', () => {
      const response = Buffer.from('\0user\0pa55word');
      const startOk = new spec.Connection.StartOk({ clientProperties: {}, mechanism: 'PLAIN', response, locale: 'en_US' });
      checkMethodFrame(startOk, 4096);
      expect(response.toString(), 'the response is still there to be sent').to.equal('\0user\0pa55word');
      expect(startOk.response).to.equal(response);
    });

    it('rejects an oversized start-ok and update-secret, with the same sizes as other methods', () => {
      const startOk = new spec.Connection.StartOk({ clientProperties: {}, mechanism: 'PLAIN', response: Buffer.alloc(5000, 1), locale: 'en_US' });
      const size = encodeMethodFrame(0, startOk).length;
      expect(() => checkMethodFrame(startOk, 4096)).to.throw(InvalidArgumentError, `connection.start-ok: the method frame would be ${size} bytes, more than frame-max 4096`);
      const update = new spec.Connection.UpdateSecret({ newSecret: 't'.repeat(5000), reason: 'refresh' });
      expect(() => checkMethodFrame(update, 4096)).to.throw(InvalidArgumentError, /^connection\.update-secret: the method frame would be \d+ bytes/);
    });
  });

  describe('checkProperties', () => {
    it('accepts no properties and small ones', () => {
      expect(() => checkProperties(undefined, 4096)).not.to.throw();
      expect(() => checkProperties({ contentType: 'text/plain', priority: 9 }, 4096)).not.to.throw();
    });

    it('accepts a content header frame of exactly frame-max bytes and rejects one byte more', () => {
      expect(() => checkProperties(propertiesOfFrameSize(4096), 4096)).not.to.throw();
      expect(() => checkProperties(propertiesOfFrameSize(4097), 4096)).to.throw(
        InvalidArgumentError,
        'the content header frame (4097 bytes: properties and headers) exceeds frame-max 4096',
      );
    });

    it('takes frame-max 0 as 131072', () => {
      expect(() => checkProperties(propertiesOfFrameSize(131072), 0)).not.to.throw();
      expect(() => checkProperties(propertiesOfFrameSize(131073), 0)).to.throw(InvalidArgumentError, /131073 bytes.*frame-max 131072/);
    });

    it('throws what encoding would throw', () => {
      expect(() => checkProperties({ priority: 300 }, 0)).to.throw(InvalidArgumentError, /priority/);
      expect(() => checkProperties({ messageId: 'm'.repeat(300) }, 0)).to.throw(InvalidArgumentError, /255/);
      expect(() => checkProperties({ headers: { n: NaN } }, 0)).to.throw(InvalidArgumentError, /NaN/);
    });
  });

  describe('checkPropertyNames', () => {
    it('accepts no properties, the 14 names, and a BasicProperties instance', () => {
      expect(() => checkPropertyNames(undefined)).not.to.throw();
      expect(() => checkPropertyNames(null as never)).not.to.throw();
      const all: Required<spec.BasicPropertiesInit> = {
        contentType: 'a',
        contentEncoding: 'b',
        headers: {},
        deliveryMode: 2,
        priority: 1,
        correlationId: 'c',
        replyTo: 'd',
        expiration: '1',
        messageId: 'e',
        timestamp: new Date(0),
        type: 'f',
        userId: 'g',
        appId: 'h',
        clusterId: 'i',
      };
      expect(() => checkPropertyNames(all)).not.to.throw();
      expect(() => checkPropertyNames(new spec.BasicProperties({ messageId: 'x' }))).not.to.throw();
    });

    it('rejects a mistyped name, suggesting the right one', () => {
      expect(() => checkPropertyNames({ contentTyp: 'text/plain' } as never)).to.throw(
        InvalidArgumentError,
        "basicPublish: unknown property 'contentTyp'; did you mean 'contentType'?",
      );
      expect(() => checkPropertyNames({ reply_to: 'q' } as never)).to.throw(InvalidArgumentError, /did you mean 'replyTo'\?/);
    });

    it('lists the 14 names when nothing is close', () => {
      expect(() => checkPropertyNames({ zzzzzz: 1 } as never)).to.throw(
        InvalidArgumentError,
        "basicPublish: unknown property 'zzzzzz'; the properties are: contentType, contentEncoding, headers, deliveryMode, priority, correlationId, replyTo, expiration, messageId, timestamp, type, userId, appId, clusterId",
      );
    });

    it('rejects properties that are not an object', () => {
      expect(() => checkPropertyNames('text/plain' as never)).to.throw(InvalidArgumentError, 'basicPublish: properties must be an object, got string');
      expect(() => checkPropertyNames(5 as never)).to.throw(InvalidArgumentError, /got number/);
    });
  });
});
