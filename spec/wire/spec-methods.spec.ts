import { PROPERTY_NAMES } from '../support/property-names';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FrameError, InvalidArgumentError } from '../../lib/errors';
import { Reader, Writer } from '../../lib/wire/codec';
import * as spec from '../../lib/wire/spec';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { inspect } from 'node:util';
import { EXTENSIONS_XML, SPEC_XML, generateSpecSource, parseXml } from '../../tools/generate-spec';

type Fields = Record<string, unknown>;

/** A non-default value for a field of the given type (varied by `salt`). */
function sample(f: spec.FieldInfo, salt: number): unknown {
  switch (f.type) {
    case 'bit':
      return true;
    case 'octet':
      return 0xab ^ salt;
    case 'short':
      return 0xbeef ^ salt;
    case 'long':
      return 0xdeadbeef - salt;
    case 'longlong':
      return Number.MAX_SAFE_INTEGER - salt; // 2^53 - 1: all 8 bytes in use
    case 'shortstr':
      return `${f.name}-\u00e9\u4e2d-${salt}`;
    case 'longstr':
      return f.binary ? Buffer.from([0, 1, 2, 0xff, salt & 0xff]) : `${f.name} \u2713 long ${salt}`;
    case 'timestamp':
      return new Date(1700000000000 + salt * 1000);
    case 'table':
      return { a: 1, s: 'x', nested: { deep: [1, 'two', null, true] }, big: 2n ** 60n, salt };
  }
}

function roundTrip(m: spec.AMQPMethod): spec.AMQPMethod {
  const w = new Writer(16);
  m.encode(w);
  return spec.decodeMethod(w.buf, 0, w.pos);
}

describe('wire/spec: generated methods', () => {
  it('has all classes and the RabbitMQ extension methods', () => {
    const names = spec.METHOD_CLASSES.map((m) => m.methodName);
    for (const n of [
      'connection.blocked',
      'connection.unblocked',
      'connection.update-secret',
      'connection.update-secret-ok',
      'confirm.select',
      'exchange.bind',
      'basic.nack',
      'tx.rollback-ok',
    ]) {
      expect(names).to.include(n);
    }
    expect(new Set(names).size).to.equal(names.length, 'no duplicates after the merge');
    expect(spec.Connection.Blocked.index).to.equal(0x000a003c);
    expect(spec.Connection.Unblocked.methodId).to.equal(61);
    expect(spec.Connection.UpdateSecret.fields.map((f) => [f.name, f.type])).to.deep.equal([
      ['newSecret', 'longstr'],
      ['reason', 'shortstr'],
    ]);
    expect(spec.Connection.UpdateSecret.synchronous).to.equal(true);
    expect(spec.Connection.UpdateSecret.replies).to.deep.equal([spec.Connection.UpdateSecretOk]);
    expect(spec.Connection.Blocked.fields.map((f) => f.name)).to.deep.equal(['reason']);
  });

  it('exposes identity as statics and instance getters', () => {
    const d = new spec.Queue.Declare();
    expect(spec.Queue.Declare.classId).to.equal(50);
    expect(spec.Queue.Declare.methodId).to.equal(10);
    expect(spec.Queue.Declare.index).to.equal(0x0032000a);
    expect(spec.Queue.Declare.methodName).to.equal('queue.declare');
    expect(spec.Queue.Declare.synchronous).to.equal(true);
    expect(spec.Queue.Declare.replies).to.deep.equal([spec.Queue.DeclareOk]);
    expect([d.classId, d.methodId, d.index, d.name, d.synchronous]).to.deep.equal([50, 10, 0x0032000a, 'queue.declare', true]);
    expect(d.replies).to.equal(spec.Queue.Declare.replies);
    expect(spec.Basic.Get.replies).to.deep.equal([spec.Basic.GetOk, spec.Basic.GetEmpty]);
    expect(spec.Basic.Publish.replies).to.deep.equal([]);
    expect(spec.Basic.Publish.synchronous).to.equal(false);
    expect(spec.Basic.Publish.hasContent).to.equal(true);
    expect(spec.Basic.Deliver.hasContent).to.equal(true);
    expect(spec.Basic.Recover.synchronous).to.equal(true, 'errata from tools/spec-rabbitmq-extensions.xml');
    expect(spec.Basic.Recover.replies).to.deep.equal([spec.Basic.RecoverOk]);
    expect(spec.Channel.Close.replies).to.deep.equal([spec.Channel.CloseOk]);
    expect(spec.Confirm.Select.replies).to.deep.equal([spec.Confirm.SelectOk]);
    // identity getters are not own properties: deep equality compares fields only
    expect(Object.keys(d)).to.not.include('classId');
  });

  it('uses camelCase field names and the spec defaults', () => {
    const d = new spec.Queue.Declare();
    expect(d).to.deep.include({ ticket: 0, queue: '', passive: false, durable: false, exclusive: false, autoDelete: false, noWait: false });
    expect(d.arguments).to.deep.equal({});
    expect(new spec.Queue.Declare().arguments).to.not.equal(d.arguments, 'fresh default table per instance');
    expect(new spec.Exchange.Declare().type).to.equal('direct');
    expect(new spec.Connection.Open().virtualHost).to.equal('/');
    expect(new spec.Basic.Nack().requeue).to.equal(true);
    expect(new spec.Basic.Deliver({ deliveryTag: 7 })).to.deep.include({ deliveryTag: 7, consumerTag: '', redelivered: false });
    expect(new spec.Connection.Close({ replyCode: 320 })).to.deep.include({ replyCode: 320, failingClassId: 0, failingMethodId: 0 });
    expect(new spec.Confirm.Select({ noWait: true }).noWait).to.equal(true);
    expect(spec.Connection.StartOk.fields.map((f) => f.name)).to.deep.equal(['clientProperties', 'mechanism', 'response', 'locale']);
    expect(spec.Connection.Start.fields.map((f) => f.name)).to.include('serverProperties');
  });

  it('every method of every class round-trips with non-default values', () => {
    let count = 0;
    for (const M of spec.METHOD_CLASSES) {
      for (const salt of [0, 1]) {
        const init: Fields = {};
        for (const f of M.fields) init[f.name] = sample(f, salt);
        const m = new M(init);
        for (const f of M.fields) expect((m as unknown as Fields)[f.name], `${M.methodName}.${f.name}`).to.deep.equal(init[f.name]);
        const back = roundTrip(m);
        expect(back, M.methodName).to.be.instanceOf(M);
        expect(back, M.methodName).to.deep.equal(m);
        count++;
      }
      // default values round-trip too
      expect(roundTrip(new M()), M.methodName).to.deep.equal(new M());
    }
    expect(count).to.equal(2 * spec.METHOD_CLASSES.length);
  });

  it('packs consecutive bits LSB first into one octet; each bit on its own round-trips', () => {
    for (const M of spec.METHOD_CLASSES) {
      const bits = M.fields.filter((f) => f.type === 'bit');
      bits.forEach((bit, i) => {
        const init: Fields = {};
        for (const other of bits) init[other.name] = other === bit;
        const m = new M(init);
        const w = new Writer(16);
        m.encode(w);
        const back = spec.decodeMethod(w.buf, 0, w.pos) as unknown as Fields;
        for (const other of bits) expect(back[other.name], `${M.methodName}.${other.name}`).to.equal(other === bit);
        // the bit octet is the byte holding 1 << i
        expect(Array.from(w.buf.subarray(4, w.pos))).to.include(1 << i);
      });
    }
    // queue.declare: five bits in one octet, then the table
    const w = new Writer(16);
    new spec.Queue.Declare({ queue: 'q', passive: true, durable: false, exclusive: true, autoDelete: false, noWait: true }).encode(w);
    expect(w.buf.subarray(0, w.pos).toString('hex')).to.equal('0032000a' + '0000' + '0171' + '15' + '00000000');
  });

  it('decodes longlong fields as numbers', () => {
    const m = roundTrip(new spec.Basic.Ack({ deliveryTag: 2 ** 40 + 3, multiple: true })) as spec.Basic.Ack;
    expect(m.deliveryTag)
      .to.be.a('number')
      .and.equal(2 ** 40 + 3);
  });

  it('rejects out-of-range integers and over-long shortstrs on encode, naming the field', () => {
    const enc = (m: spec.AMQPMethod) => () => m.encode(new Writer(16));
    expect(enc(new spec.Basic.Qos({ prefetchCount: 70000 }))).to.throw(InvalidArgumentError, /prefetchCount/);
    expect(enc(new spec.Basic.Qos({ prefetchCount: -1 }))).to.throw(InvalidArgumentError, /prefetchCount/);
    expect(enc(new spec.Basic.Qos({ prefetchSize: 2 ** 32 }))).to.throw(InvalidArgumentError, /prefetchSize/);
    expect(enc(new spec.Basic.Qos({ prefetchCount: 1.5 }))).to.throw(InvalidArgumentError, /prefetchCount/);
    expect(enc(new spec.Basic.Ack({ deliveryTag: -1 }))).to.throw(InvalidArgumentError, /deliveryTag/);
    expect(enc(new spec.Queue.Declare({ queue: 'q'.repeat(256) }))).to.throw(InvalidArgumentError, /queue\.declare field queue.*256 bytes/);
    // 100 three-byte characters: 300 bytes although only 100 UTF-16 units
    expect(enc(new spec.Queue.Declare({ queue: '\u4e2d'.repeat(100) }))).to.throw(InvalidArgumentError, /300 bytes/);
    expect(enc(new spec.Queue.Declare({ queue: 'q'.repeat(255) }))).to.not.throw();
    expect(enc(new spec.Queue.Declare({ queue: 42 as unknown as string }))).to.throw(InvalidArgumentError, /queue.*must be a string/);
  });

  it('decodeMethod rejects unknown ids and truncated payloads with FrameError', () => {
    const buf = Buffer.from('003c0063', 'hex');
    expect(() => spec.decodeMethod(buf, 0, 4)).to.throw(FrameError, /method id 99 of class 60 \(basic\)/);
    expect(() => spec.decodeMethod(Buffer.from('0063000a', 'hex'), 0, 4)).to.throw(FrameError, /class id 99/);
    expect(() => spec.decodeMethod(Buffer.from('003c', 'hex'), 0, 2)).to.throw(FrameError, /truncated method frame/);
    const w = new Writer(16);
    new spec.Basic.Deliver({ consumerTag: 'abc', exchange: 'ex' }).encode(w);
    for (let cut = 4; cut < w.pos; cut++) {
      expect(() => spec.decodeMethod(w.buf, 0, cut), `cut at ${cut}`).to.throw(FrameError, /truncated/);
    }
  });

  it('REPLY_CODES and the reply-code constants come from the XML', () => {
    expect(spec.REPLY_SUCCESS).to.equal(200);
    expect(spec.NOT_FOUND).to.equal(404);
    expect(spec.NO_ROUTE).to.equal(312);
    expect(spec.PRECONDITION_FAILED).to.equal(406);
    expect(spec.INTERNAL_ERROR).to.equal(541);
    expect(spec.REPLY_CODES[404]).to.deep.equal({ name: 'NOT_FOUND', hardError: false });
    expect(spec.REPLY_CODES[320]).to.deep.equal({ name: 'CONNECTION_FORCED', hardError: true });
    expect(spec.REPLY_CODES[312]).to.deep.equal({ name: 'NO_ROUTE', hardError: false });
    expect(spec.REPLY_CODES[501].hardError).to.equal(true);
    expect(Object.keys(spec.REPLY_CODES)).to.have.length(19);
    expect([spec.FRAME_METHOD, spec.FRAME_HEADER, spec.FRAME_BODY, spec.FRAME_HEARTBEAT, spec.FRAME_END, spec.FRAME_MIN_SIZE]).to.deep.equal([
      1, 2, 3, 8, 206, 4096,
    ]);
  });
});

describe('wire/spec: BasicProperties', () => {
  const full: spec.BasicPropertiesInit = {
    contentType: 'application/json',
    contentEncoding: 'gzip',
    headers: { 'x-retry': 3, 'x-\u00fcml': '\u00e9t\u00e9', nested: { list: [1, 2n ** 62n, 'x'] } },
    deliveryMode: 2,
    priority: 9,
    correlationId: 'corr-\u4e2d',
    replyTo: 'amq.rabbitmq.reply-to',
    expiration: '60000',
    messageId: 'msg-1',
    timestamp: new Date(1700000123000),
    type: 'order.created',
    userId: 'guest',
    appId: 'coney-tests',
    clusterId: 'c1',
  };
  const names = spec.BasicProperties.fields.map((f) => f.name) as (keyof spec.BasicPropertiesInit)[];

  function rt(p: spec.BasicPropertiesInit | undefined): spec.BasicProperties {
    const w = new Writer(16);
    spec.BasicProperties.encode(w, p);
    const r = new Reader(w.buf, 0, w.pos);
    const back = spec.BasicProperties.decode(r);
    expect(r.pos).to.equal(w.pos, 'decode consumes exactly what encode wrote');
    return back;
  }

  it('has the 14 properties in flag order', () => {
    expect(names).to.deep.equal(PROPERTY_NAMES);
  });

  it('round-trips every one of the 2^14 subsets of properties', () => {
    for (let mask = 0; mask < 1 << 14; mask++) {
      const p: Record<string, unknown> = {};
      for (let i = 0; i < 14; i++) if (mask & (1 << i)) p[names[i]] = full[names[i]];
      const back = rt(p);
      expect(back).to.be.instanceOf(spec.BasicProperties);
      for (let i = 0; i < 14; i++) {
        const k = names[i];
        const want = mask & (1 << i) ? full[k] : undefined;
        // chai's deep equality only where needed: 16384 subsets must stay fast
        if (typeof want === 'object') expect(back[k], `mask ${mask} ${k}`).to.deep.equal(want);
        else if (back[k] !== want) expect.fail(`mask ${mask}: ${k} is ${inspect(back[k])}, expected ${inspect(want)}`);
      }
      if (mask === (1 << 14) - 1 || mask === 0) expect(back.toJSON()).to.deep.equal(p);
    }
  });

  it('writes the flag bits from bit 15 down, without a continuation word', () => {
    for (let i = 0; i < 14; i++) {
      const w = new Writer(16);
      spec.BasicProperties.encode(w, { [names[i]]: full[names[i]] });
      expect(w.buf.readUInt16BE(0), names[i]).to.equal(1 << (15 - i));
    }
    const w = new Writer(16);
    spec.BasicProperties.encode(w, full);
    expect(w.buf.readUInt16BE(0)).to.equal(0xfffc);
    const none = new Writer(16);
    spec.BasicProperties.encode(none, undefined);
    expect(none.buf.subarray(0, none.pos).toString('hex')).to.equal('0000');
    expect(rt(undefined).toJSON()).to.deep.equal({});
    // null / undefined values mean "absent"
    expect(rt({ contentType: undefined, priority: null as unknown as number }).toJSON()).to.deep.equal({});
  });

  it('accepts a BasicProperties instance as input', () => {
    expect(rt(new spec.BasicProperties(full)).toJSON()).to.deep.equal(full);
  });

  it('reads continuation flag words and rejects unknown property flags', () => {
    // flags: contentType + continuation; continuation word 0 (no more)
    const ok = Buffer.from('8001' + '0000' + '01' + '61', 'hex');
    expect(spec.BasicProperties.decode(new Reader(ok, 0, ok.length)).contentType).to.equal('a');
    const unknown = Buffer.from('0002', 'hex');
    expect(() => spec.BasicProperties.decode(new Reader(unknown, 0, 2))).to.throw(FrameError, /unknown basic property flag/);
    const unknownCont = Buffer.from('00018000', 'hex');
    expect(() => spec.BasicProperties.decode(new Reader(unknownCont, 0, 4))).to.throw(FrameError, /continuation/);
    const truncated = Buffer.from('8000' + '05' + '6162', 'hex');
    expect(() => spec.BasicProperties.decode(new Reader(truncated, 0, truncated.length))).to.throw(FrameError, /truncated shortstr/);
  });

  it('rejects bad property values on encode, naming the property', () => {
    const enc = (p: spec.BasicPropertiesInit) => () => spec.BasicProperties.encode(new Writer(16), p);
    expect(enc({ deliveryMode: 256 })).to.throw(InvalidArgumentError, /deliveryMode/);
    expect(enc({ messageId: 'x'.repeat(300) })).to.throw(InvalidArgumentError, /messageId/);
    expect(enc({ timestamp: new Date(NaN) })).to.throw(InvalidArgumentError, /timestamp/);
    expect(enc({ headers: { k: Symbol('s') as unknown as string } })).to.throw(InvalidArgumentError, /'k'/);
  });

  it('util.inspect and JSON show the present properties only', () => {
    const p = new spec.BasicProperties({ contentType: 'x', priority: 1 });
    expect(inspect(p)).to.equal("BasicProperties { contentType: 'x', priority: 1 }");
    expect(JSON.stringify(p)).to.equal('{"contentType":"x","priority":1}');
  });

  it('timestamps carry whole seconds', () => {
    expect(rt({ timestamp: new Date(1700000123999) }).timestamp).to.deep.equal(new Date(1700000123000));
  });
});

describe('wire/spec: generator', () => {
  it('lib/wire/spec.ts is up to date with tools/generate-spec.ts (run `npm run generate`)', () => {
    const committed = readFileSync(join(__dirname, '..', '..', 'lib', 'wire', 'spec.ts'), 'utf8');
    const fresh = generateSpecSource();
    expect(fresh === committed, 'lib/wire/spec.ts is stale: run `npm run generate`').to.equal(true);
  });

  it('starts with the do-not-edit comment', () => {
    const first = readFileSync(join(__dirname, '..', '..', 'lib', 'wire', 'spec.ts'), 'utf8').split('\n')[0];
    expect(first).to.match(/^\/\/ GENERATED by tools\/generate-spec\.ts .*Do not edit/);
  });

  it('merges extensions without duplicates and rejects conflicting ones', () => {
    const count = (src: string, name: string) => src.split(`static readonly methodName = '${name}';`).length - 1;
    // the spec merged with itself: every method exactly once
    const self = generateSpecSource(SPEC_XML, SPEC_XML);
    for (const n of ['queue.declare', 'exchange.bind', 'basic.nack', 'confirm.select']) expect(count(self, n), n).to.equal(1);
    expect(count(self, 'connection.blocked')).to.equal(0);
    // our extensions merged twice (the XML "already has" them): still once
    const dir = mkdtempSync(join(tmpdir(), 'coney-gen-'));
    try {
      // a spec XML that already has connection.blocked (as newer XML files do)
      const newer = join(dir, 'newer.xml');
      const blocked = '<method name="blocked" index="60"><field name="reason" domain="shortstr"/></method>';
      writeFileSync(newer, readFileSync(SPEC_XML, 'utf8').replace('</class>', `${blocked}</class>`));
      const merged = generateSpecSource(newer, EXTENSIONS_XML);
      expect(count(merged, 'connection.blocked')).to.equal(1);
      const dropFirstLine = (src: string) => src.slice(src.indexOf('\n'));
      expect(dropFirstLine(merged) === dropFirstLine(generateSpecSource()), 'same output as the vendored XML + extensions').to.equal(true);
      const conflict = join(dir, 'conflict.xml');
      writeFileSync(conflict, '<amqp major="0" minor="9" revision="1"><class name="basic" index="60"><method name="ack" index="81"/></class></amqp>');
      expect(() => generateSpecSource(SPEC_XML, conflict)).to.throw(/basic\.ack has index 81, spec says 80/);
      const fields = join(dir, 'fields.xml');
      writeFileSync(
        fields,
        '<amqp major="0" minor="9" revision="1"><class name="basic" index="60"><method name="ack" index="80"><field name="x" domain="long"/></method></class></amqp>',
      );
      expect(() => generateSpecSource(SPEC_XML, fields)).to.throw(/fields differ/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('its XML reader handles comments, entities, CDATA and reports bad nesting', () => {
    const root = parseXml('<?xml version="1.0"?><!-- c --><amqp a="1 &amp; 2"><x b=\'q\'/><doc>a &lt;b&gt; <![CDATA[<raw>]]></doc></amqp>');
    expect(root.name).to.equal('amqp');
    expect(root.attrs['a']).to.equal('1 & 2');
    expect(root.children.map((c) => c.name)).to.deep.equal(['x', 'doc']);
    expect(root.children[0].attrs['b']).to.equal('q');
    expect(root.children[1].text).to.equal('a <b> <raw>');
    expect(() => parseXml('<a><b></a>')).to.throw(/closes <b>/);
    expect(() => parseXml('<a>')).to.throw(/not closed/);
  });
});
