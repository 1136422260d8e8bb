/**
 * Golden frames: the hex below was worked out by hand from the AMQP 0-9-1
 * specification (frame layout, method field order, bit packing, property
 * flags) and RabbitMQ's field-table errata. It is not produced by our
 * encoder or by amqplib. Spaces separate the parts; each frame is
 * type(1) channel(2) size(4) payload(size) 0xCE.
 */
import { expect } from 'chai';
import { Reader, Writer } from '../../lib/wire/codec';
import { Decimal, Typed } from '../../lib/wire/field-table';
import type { Frame } from '../../lib/wire/frame';
import { FrameParser } from '../../lib/wire/frame-parser';
import { FrameWriter, HEARTBEAT_BYTES, encodeContentFrames, encodeMethodFrame } from '../../lib/wire/frame-writer';
import { PROTOCOL_HEADER } from '../../lib/wire/frame';
import * as spec from '../../lib/wire/spec';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string) => Buffer.from(s, 'latin1').toString('hex');

function parseAll(buf: Buffer): Frame[] {
  const p = new FrameParser();
  const out: Frame[] = [];
  p.push(buf, (f) => out.push(f));
  return out;
}

interface MethodCase {
  name: string;
  channel: number;
  method: spec.AMQPMethod;
  bytes: string;
}

const methodCases: MethodCase[] = [
  {
    name: 'connection.start (broker to client)',
    channel: 0,
    method: new spec.Connection.Start({ versionMajor: 0, versionMinor: 9, serverProperties: {}, mechanisms: 'PLAIN', locales: 'en_US' }),
    // 000a 000a | 00 09 | table len 0 | longstr 5 'PLAIN' | longstr 5 'en_US'   = 4+2+4+9+9 = 28 = 0x1c
    bytes: '01 0000 0000001c  000a 000a  00 09  00000000  00000005 504c41494e  00000005 656e5f5553  ce',
  },
  {
    name: 'connection.start-ok with a client-properties table and a SASL PLAIN response',
    channel: 0,
    method: new spec.Connection.StartOk({
      clientProperties: { product: 'coney' },
      mechanism: 'PLAIN',
      response: Buffer.from('\0guest\0guest', 'latin1'),
      locale: 'en_US',
    }),
    // table: 07 'product' 'S' 00000005 'coney' = 1+7+1+4+5 = 18 = 0x12
    // payload: 4 + (4+18) + (1+5) + (4+12) + (1+5) = 54 = 0x36
    bytes:
      '01 0000 00000036  000a 000b' +
      '  00000012 07 70726f64756374 53 00000005 636f6e6579' +
      '  05 504c41494e' +
      '  0000000c 00 6775657374 00 6775657374' +
      '  05 656e5f5553  ce',
  },
  {
    name: 'connection.tune',
    channel: 0,
    method: new spec.Connection.Tune({ channelMax: 2047, frameMax: 131072, heartbeat: 60 }),
    // channel-max short 07ff | frame-max long 00020000 | heartbeat short 003c = 4+2+4+2 = 12
    bytes: '01 0000 0000000c  000a 001e  07ff 00020000 003c  ce',
  },
  {
    name: 'connection.open',
    channel: 0,
    method: new spec.Connection.Open({ virtualHost: '/' }),
    // vhost 01 2f | reserved shortstr 00 | reserved bit 00 = 4+2+1+1 = 8
    bytes: '01 0000 00000008  000a 0028  01 2f  00  00  ce',
  },
  {
    name: 'channel.close with a reply code and the failing method',
    channel: 1,
    method: new spec.Channel.Close({ replyCode: 404, replyText: 'NOT_FOUND - no queue', failingClassId: 50, failingMethodId: 10 }),
    // 0194 | 14 + 20 bytes | 0032 | 000a = 4+2+21+2+2 = 31 = 0x1f
    bytes: `01 0001 0000001f  0014 0028  0194  14 ${ascii('NOT_FOUND - no queue')}  0032 000a  ce`,
  },
  {
    name: 'exchange.declare with packed bits (durable, internal, no-wait)',
    channel: 1,
    method: new spec.Exchange.Declare({ exchange: 'ex', type: 'topic', durable: true, internal: true, noWait: true }),
    // bits LSB first: passive 0, durable 1 (0x02), auto-delete 0, internal 1 (0x08), no-wait 1 (0x10) = 0x1a
    // 4 + ticket 2 + 3 + 6 + 1 + table 4 = 20 = 0x14
    bytes: '01 0001 00000014  0028 000a  0000  02 6578  05 746f706963  1a  00000000  ce',
  },
  {
    name: 'queue.declare with an arguments table',
    channel: 1,
    method: new spec.Queue.Declare({
      queue: 'q1',
      durable: true,
      autoDelete: true,
      arguments: { 'x-max-length': 1000, 'x-queue-type': 'quorum' },
    }),
    // bits: passive 0, durable 0x02, exclusive 0, auto-delete 0x08, no-wait 0 = 0x0a
    // table: 0c 'x-max-length' 'I' 000003e8 (18) + 0c 'x-queue-type' 'S' 00000006 'quorum' (24) = 42 = 0x2a
    // 4 + 2 + 3 + 1 + 4 + 42 = 56 = 0x38
    bytes:
      '01 0001 00000038  0032 000a  0000  02 7131  0a  0000002a' +
      `  0c ${ascii('x-max-length')} 49 000003e8` +
      `  0c ${ascii('x-queue-type')} 53 00000006 ${ascii('quorum')}  ce`,
  },
  {
    name: 'basic.qos',
    channel: 1,
    method: new spec.Basic.Qos({ prefetchCount: 10 }),
    // prefetch-size long 0 | prefetch-count short 10 | global bit 0 = 4+4+2+1 = 11
    bytes: '01 0001 0000000b  003c 000a  00000000 000a 00  ce',
  },
  {
    name: 'basic.publish (mandatory)',
    channel: 1,
    method: new spec.Basic.Publish({ exchange: '', routingKey: 'task_queue', mandatory: true }),
    // ticket 0000 | exchange 00 | routing key 0a 'task_queue' | bits: mandatory 0x01 = 4+2+1+11+1 = 19 = 0x13
    bytes: `01 0001 00000013  003c 0028  0000  00  0a ${ascii('task_queue')}  01  ce`,
  },
  {
    name: 'basic.deliver (redelivered, delivery tag above 2^32)',
    channel: 1,
    method: new spec.Basic.Deliver({ consumerTag: 'ctag1', deliveryTag: 2 ** 32 + 7, redelivered: true, exchange: 'ex', routingKey: 'rk' }),
    // 05 'ctag1' | longlong 00000001 00000007 | bits 01 | 02 'ex' | 02 'rk' = 4+6+8+1+3+3 = 25 = 0x19
    bytes: `01 0001 00000019  003c 003c  05 ${ascii('ctag1')}  0000000100000007  01  02 6578  02 726b  ce`,
  },
  {
    name: 'basic.ack multiple',
    channel: 2,
    method: new spec.Basic.Ack({ deliveryTag: 42, multiple: true }),
    // longlong 2a | bits 01 = 4+8+1 = 13
    bytes: '01 0002 0000000d  003c 0050  000000000000002a  01  ce',
  },
  {
    name: 'basic.nack multiple without requeue',
    channel: 2,
    method: new spec.Basic.Nack({ deliveryTag: 7, multiple: true, requeue: false }),
    // bits: multiple 0x01, requeue 0 = 0x01
    bytes: '01 0002 0000000d  003c 0078  0000000000000007  01  ce',
  },
  {
    name: 'confirm.select',
    channel: 3,
    method: new spec.Confirm.Select({ noWait: false }),
    bytes: '01 0003 00000005  0055 000a  00  ce',
  },
  {
    name: 'connection.blocked (RabbitMQ extension)',
    channel: 0,
    method: new spec.Connection.Blocked({ reason: 'low on memory' }),
    // 0d 'low on memory' = 4 + 14 = 18 = 0x12
    bytes: `01 0000 00000012  000a 003c  0d ${ascii('low on memory')}  ce`,
  },
];

// content header, class basic, body size 5, all 14 properties (flags 0xfffc)
const allProps: spec.BasicPropertiesInit = {
  contentType: 'text/plain',
  contentEncoding: 'gzip',
  headers: { 'x-a': true },
  deliveryMode: 2,
  priority: 5,
  correlationId: 'c1',
  replyTo: 'rq',
  expiration: '60000',
  messageId: 'm1',
  timestamp: new Date(1700000000 * 1000), // 0x6553f100 seconds
  type: 't1',
  userId: 'guest',
  appId: 'app',
  clusterId: 'c',
};
// 003c 0000 | body size 0000000000000005 | flags fffc | properties (66 bytes) = 14 + 66 = 80 = 0x50
const allPropsHeader =
  '02 0001 00000050  003c 0000 0000000000000005 fffc' +
  `  0a ${ascii('text/plain')}` +
  `  04 ${ascii('gzip')}` +
  `  00000006 03 ${ascii('x-a')} 74 01` +
  '  02  05' +
  `  02 ${ascii('c1')}  02 ${ascii('rq')}  05 ${ascii('60000')}  02 ${ascii('m1')}` +
  '  00000000 6553f100' +
  `  02 ${ascii('t1')}  05 ${ascii('guest')}  03 ${ascii('app')}  01 ${ascii('c')}  ce`;
const helloBody = `03 0001 00000005 ${ascii('hello')} ce`;

describe('wire: golden frames (hand-encoded from the spec)', () => {
  for (const c of methodCases) {
    it(`${c.name}: encodes and decodes`, () => {
      const want = hex(c.bytes);
      expect(encodeMethodFrame(c.channel, c.method).toString('hex')).to.equal(want.toString('hex'));
      const frames = parseAll(want);
      expect(frames).to.have.length(1);
      const f = frames[0];
      if (f.type !== 1) throw new Error('not a method frame');
      expect(f.channel).to.equal(c.channel);
      expect(f.method).to.be.instanceOf(c.method.constructor);
      expect(f.method).to.deep.equal(c.method);
    });
  }

  it('basic.publish + content header with all 14 properties + body: writePublish', () => {
    const want = hex(`01 0001 00000013  003c 0028  0000  00  0a ${ascii('task_queue')}  01  ce` + allPropsHeader + helloBody);
    const fw = new FrameWriter();
    fw.writePublish(1, '', 'task_queue', true, allProps, Buffer.from('hello'), 131072);
    expect(fw.length).to.equal(want.length);
    expect(Buffer.concat(fw.take()).toString('hex')).to.equal(want.toString('hex'));
  });

  it('content header with all 14 properties and a body frame: decode', () => {
    const frames = parseAll(hex(allPropsHeader + helloBody));
    expect(frames).to.have.length(2);
    const [h, b] = frames;
    if (h.type !== 2 || b.type !== 3) throw new Error('wrong frame types');
    expect(h).to.include({ channel: 1, classId: 60, bodySize: 5 });
    expect(h.properties).to.be.instanceOf(spec.BasicProperties);
    expect(h.properties.toJSON()).to.deep.equal(allProps);
    expect(b.channel).to.equal(1);
    expect(b.payload.toString()).to.equal('hello');
    expect(encodeContentFrames(1, allProps, Buffer.from('hello')).toString('hex')).to.equal(hex(allPropsHeader + helloBody).toString('hex'));
  });

  it('content header without properties and an empty body: no body frame', () => {
    // 003c 0000 | size 0 | flags 0000 = 14 = 0x0e
    const want = '02 0005 0000000e  003c 0000 0000000000000000 0000  ce';
    expect(encodeContentFrames(5, undefined, Buffer.alloc(0)).toString('hex')).to.equal(hex(want).toString('hex'));
    const [h] = parseAll(hex(want));
    if (h.type !== 2) throw new Error('not a header');
    expect(h.bodySize).to.equal(0);
    expect(h.properties.toJSON()).to.deep.equal({});
  });

  it('a body frame', () => {
    const [b] = parseAll(hex(helloBody));
    expect(b).to.deep.equal({ type: 3, channel: 1, payload: Buffer.from('hello') });
  });

  it('a heartbeat', () => {
    const want = hex('08 0000 00000000 ce');
    expect(HEARTBEAT_BYTES.toString('hex')).to.equal(want.toString('hex'));
    const fw = new FrameWriter();
    fw.writeHeartbeat();
    expect(Buffer.concat(fw.take()).toString('hex')).to.equal(want.toString('hex'));
    expect(parseAll(want)).to.deep.equal([{ type: 8, channel: 0 }]);
  });

  it('the protocol header', () => {
    const want = hex(`${ascii('AMQP')} 00 00 09 01`);
    expect(PROTOCOL_HEADER.toString('hex')).to.equal(want.toString('hex'));
    const fw = new FrameWriter();
    fw.writeProtocolHeader();
    expect(Buffer.concat(fw.take()).toString('hex')).to.equal(want.toString('hex'));
  });

  it('a field table with one value of every type', () => {
    // hand-encoded: key (shortstr) + tag + value for each entry
    const entries = [
      `01 ${ascii('t')} 74 01`, // bool true
      `01 ${ascii('b')} 62 fe`, // int8 -2
      `01 ${ascii('B')} 42 ff`, // uint8 255
      `01 ${ascii('s')} 73 8000`, // int16 -32768
      `01 ${ascii('u')} 75 ffff`, // uint16 65535
      `01 ${ascii('I')} 49 ffffffff`, // int32 -1
      `01 ${ascii('i')} 69 ffffffff`, // uint32 4294967295
      `01 ${ascii('l')} 6c 8000000000000000`, // int64 -2^63
      `01 ${ascii('f')} 66 3fc00000`, // float 1.5
      `01 ${ascii('d')} 64 400921fb54442d18`, // double pi
      `01 ${ascii('D')} 44 02 fffffb2e`, // decimal -1234 / 10^2
      `01 ${ascii('S')} 53 00000003 e282ac`, // longstr '€'
      `01 ${ascii('A')} 41 0000000b 49 00000001 53 00000001 78`, // array [1, 'x']
      `01 ${ascii('T')} 54 000000006553f100`, // timestamp 1700000000 s
      `01 ${ascii('F')} 46 00000003 01 ${ascii('k')} 56`, // nested table { k: void }
      `01 ${ascii('V')} 56`, // void
      `01 ${ascii('x')} 78 00000002 00ff`, // byte array
    ];
    const body = entries.join(' ');
    const len = hex(body).length;
    const table = hex(len.toString(16).padStart(8, '0') + body);
    const w = new Writer(16);
    w.table({
      t: true,
      b: Typed.int8(-2),
      B: Typed.uint8(255),
      s: Typed.int16(-32768),
      u: Typed.uint16(65535),
      I: -1,
      i: Typed.uint32(4294967295),
      l: -(2n ** 63n),
      f: Typed.float(1.5),
      d: Math.PI,
      D: new Decimal(-1234, 2),
      S: '\u20ac',
      A: [1, 'x'],
      T: new Date(1700000000 * 1000),
      F: { k: null },
      V: null,
      x: Buffer.from([0, 0xff]),
    });
    expect(w.buf.subarray(0, w.pos).toString('hex')).to.equal(table.toString('hex'));
    const back = new Reader(table, 0, table.length).table();
    expect(back).to.deep.equal({
      t: true,
      b: -2,
      B: 255,
      s: -32768,
      u: 65535,
      I: -1,
      i: 4294967295,
      l: -(2n ** 63n),
      f: 1.5,
      d: Math.PI,
      D: new Decimal(-1234, 2),
      S: '\u20ac',
      A: [1, 'x'],
      T: new Date(1700000000 * 1000),
      F: { k: null },
      V: null,
      x: Buffer.from([0, 0xff]),
    });
  });
});
