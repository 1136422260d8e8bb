/**
 * Frame checks run in the call itself: a method or a content header that
 * cannot be encoded, or whose frame would exceed frame-max, throws there;
 * a property name that is not one of the 14 throws with a hint. Frame sizes
 * are measured here with the wire layer's own encoders.
 */
import { expect } from 'chai';
import * as sinon from 'sinon';
import { checkedMethodFrame, checkProperties, checkPropertyNames } from '../../lib/engine/frame-checks';
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
  describe('checkedMethodFrame', () => {
    it('accepts a method frame of exactly frame-max bytes and rejects one byte more', () => {
      expect(() => checkedMethodFrame(1, declareOfFrameSize(4096), 4096)).not.to.throw();
      expect(() => checkedMethodFrame(1, declareOfFrameSize(4097), 4096)).to.throw(
        InvalidArgumentError,
        'queue.declare: the method frame would be 4097 bytes, more than frame-max 4096 (arguments or strings too large); the broker would close the connection',
      );
    });

    it('takes frame-max 0 (not negotiated yet) as 131072', () => {
      expect(() => checkedMethodFrame(1, declareOfFrameSize(131072), 0)).not.to.throw();
      expect(() => checkedMethodFrame(1, declareOfFrameSize(131073), 0)).to.throw(InvalidArgumentError, /131073 bytes, more than frame-max 131072/);
    });

    it("puts the caller's hint in the message", () => {
      expect(() => checkedMethodFrame(1, declareOfFrameSize(5000), 4096, 'a client property too large')).to.throw(
        InvalidArgumentError,
        /\(a client property too large\)/,
      );
    });

    it('throws what encoding would throw', () => {
      expect(() => checkedMethodFrame(1, new spec.Queue.Declare({ queue: 'q'.repeat(256) }), 0)).to.throw(InvalidArgumentError, /at most 255/);
      expect(() => checkedMethodFrame(1, new spec.Basic.Qos({ prefetchCount: 70000 }), 0)).to.throw(
        InvalidArgumentError,
        'basic.qos: field prefetchCount must be an integer in 0..65535 (short), got 70000',
      );
      expect(() => checkedMethodFrame(1, new spec.Queue.Declare({ queue: 'q', arguments: { n: NaN } }), 0)).to.throw(InvalidArgumentError, /NaN/);
    });

    it('measures a start-ok without wiping its secret', () => {
      const response = Buffer.from('\0user\0pa55word');
      const startOk = new spec.Connection.StartOk({ clientProperties: {}, mechanism: 'PLAIN', response, locale: 'en_US' });
      checkedMethodFrame(0, startOk, 4096);
      expect(response.toString(), 'the response is still there to be sent').to.equal('\0user\0pa55word');
      expect(startOk.response).to.equal(response);
    });

    it('rejects an oversized start-ok and update-secret, with the same sizes as other methods', () => {
      const startOk = new spec.Connection.StartOk({ clientProperties: {}, mechanism: 'PLAIN', response: Buffer.alloc(5000, 1), locale: 'en_US' });
      const size = encodeMethodFrame(0, startOk).length;
      expect(() => checkedMethodFrame(0, startOk, 4096)).to.throw(
        InvalidArgumentError,
        `connection.start-ok: the method frame would be ${size} bytes, more than frame-max 4096`,
      );
      const update = new spec.Connection.UpdateSecret({ newSecret: 't'.repeat(5000), reason: 'refresh' });
      expect(() => checkedMethodFrame(0, update, 4096)).to.throw(
        InvalidArgumentError,
        /^connection\.update-secret: the method frame would be \d+ bytes/,
      );
    });

    it('returns the frame it encoded: the bytes that are sent, for the given channel', () => {
      const declare = new spec.Queue.Declare({ queue: 'q', durable: true, arguments: { 'x-max-length': 10 } });
      expect(checkedMethodFrame(7, declare, 4096)).to.deep.equal(encodeMethodFrame(7, declare));
      const startOk = new spec.Connection.StartOk({ clientProperties: {}, mechanism: 'PLAIN', response: Buffer.from('\0u\0p'), locale: 'en_US' });
      expect(checkedMethodFrame(0, startOk, 4096)).to.deep.equal(encodeMethodFrame(0, startOk));
    });

    it('encodes a method once', () => {
      const declare = new spec.Queue.Declare({ queue: 'q' });
      const encode = sinon.spy(declare, 'encode');
      checkedMethodFrame(1, declare, 4096);
      expect(encode.callCount).to.equal(1);
    });

    it('leaves no copy of the secret of an oversized start-ok', () => {
      const secret = Buffer.from('S3cr3tPw-Zq9');
      const response = Buffer.concat([Buffer.from('\0user\0'), secret]);
      const startOk = new spec.Connection.StartOk({ clientProperties: { pad: 'x'.repeat(5000) }, mechanism: 'PLAIN', response, locale: 'en_US' });
      const allocated: Buffer[] = [];
      const allocUnsafe = Buffer.allocUnsafe;
      sinon.stub(Buffer, 'allocUnsafe').callsFake((n: number) => {
        const b = allocUnsafe(n);
        allocated.push(b);
        return b;
      });
      try {
        expect(() => checkedMethodFrame(0, startOk, 4096)).to.throw(InvalidArgumentError, /frame-max 4096/);
      } finally {
        sinon.restore();
      }
      const holds = (b: Buffer) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).includes(secret);
      expect(allocated.length).to.be.greaterThan(0);
      expect(allocated.filter(holds)).to.deep.equal([]);
      expect(holds(response), 'the method itself is left as is').to.equal(true);
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
      expect(() => checkPropertyNames('text/plain' as never)).to.throw(
        InvalidArgumentError,
        'basicPublish: properties must be an object, got string',
      );
      expect(() => checkPropertyNames(5 as never)).to.throw(InvalidArgumentError, /got number/);
    });
  });
});
