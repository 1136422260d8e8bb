/**
 * Interoperability with pika 1.2 (Debian's python3-pika, run by
 * /usr/bin/python3) through a real RabbitMQ, in both directions. No mocks.
 *
 * - coney → pika: coney publishes the 14 BasicProperties and a header table
 *   holding every field type; spec/interop/pika_consume.py consumes with
 *   pika's BlockingConnection and prints what pika decoded (typed JSON, see
 *   pika_common.py) plus the raw content header bytes pika received.
 * - pika → coney: spec/interop/pika_publish.py publishes with pika and prints
 *   what it sent (and pika's own encoding of each header); coney consumes.
 *
 * Raw bytes are checked on both sides with an independent decoder that keeps
 * the type tags (support.ts): coney's outbound bytes (a tapped socket),
 * pika's received bytes (pika_consume.py wraps BasicProperties.decode),
 * pika's sent bytes (pika_publish.py wraps BasicProperties.encode) and
 * coney's inbound bytes (tapped socket).
 *
 * pika 1.2.0's field-table code (pika/data.py) has bugs. Where pika decodes
 * or encodes a value wrongly the comparison is NOT loosened: the test names
 * the bug (PIKA_BUG in fixtures.ts, with data.py line numbers), asserts the exact
 * bytes on the wire (which are right), and asserts the exact wrong value
 * pika produces, so that a pika upgrade that fixes the bug shows up here.
 *
 *   data.py:216-218  'b' (int8) read with '>B' (unsigned): -1 → 255
 *   data.py:221-223  'B' (uint8) read with '>b' (signed): 200 → -56
 *   data.py:250-253  'l' (int64) read with '>Q' (unsigned): -5 → 2^64-5
 *   data.py:256-258  'f' (float32) read through long(): 1.5 → 1; NaN raises
 *   data.py:261-263  'd' (float64) read through long(): 3.14 → 3; NaN/±Inf raise
 *   data.py:98-172   encode_value has no float branch: floats cannot be sent
 *   data.py:144      Decimal.normalize() before encoding: Decimal('1.50') goes
 *                    out as (places 1, value 15), the scale is lost
 *   (not bugs, for the record: data.py:226 'U' and :246 'L' are tags of the
 *   0-9-1 spec's table that RabbitMQ never sends; pika reads 'U' signed and
 *   'L' signed, and has no encoder for b/B/s/u/i/f/d at all.)
 */
import { expect } from 'chai';
import {
  type BasicPropertiesInit,
  type Channel,
  ConnectionClosedByBroker,
  Decimal,
  type FieldTable,
  type GetMessage,
  InvalidArgumentError,
  Typed,
  spec,
} from '../../lib';
import { ALL_BYTES, CASES, fullProperties, PIKA_BUG } from './fixtures';
import { amqpUrl, uniqueName } from '../support/broker';
import { cbp, cleanUp, closeConnection, openChannel, within } from '../support/callbacks';
import { eventually } from '../support/polling';
import {
  brokerUser,
  coneyView,
  contentHeaders,
  declareQueue,
  decodeTagged,
  describeRun,
  type J,
  openTappedConnection,
  PYTHON,
  pikaView,
  rawProperties,
  requirePika,
  run,
  script,
  sig,
  type Tagged,
  publishConfirmed,
} from './support';
import { PROPERTY_NAMES } from '../support/property-names';

/** pika's property names, with the typed JSON a correct pika produces for fullProperties(). */
function expectedPikaProperties(user: string): Record<string, J> {
  return {
    content_type: 'application/x-interop; charset=utf-8',
    content_encoding: 'identity',
    delivery_mode: { $int: '2' },
    priority: { $int: '9' },
    correlation_id: 'corr-é-42',
    reply_to: 'reply.to.coney',
    expiration: '600000',
    message_id: 'msg-coney-0001',
    timestamp: { $int: '1700000000' },
    type: 'interop.coney-to-pika',
    user_id: user,
    app_id: 'coney-interop-spec',
    cluster_id: 'cluster-α',
  };
}

const NO_PIKA_PROPERTIES: Record<string, J> = Object.fromEntries(
  [
    'content_type',
    'content_encoding',
    'headers',
    'delivery_mode',
    'priority',
    'correlation_id',
    'reply_to',
    'expiration',
    'message_id',
    'timestamp',
    'type',
    'user_id',
    'app_id',
    'cluster_id',
  ].map((n) => [n, null]),
);

interface PikaMessage {
  exchange: string;
  routing_key: string;
  redelivered: boolean;
  body: string;
  properties: Record<string, J>;
  raw_properties: string;
}

interface PikaConsumeOutput {
  pika_version: string;
  messages: PikaMessage[];
  error: string | null;
}

async function pikaConsume(queue: string, count: number): Promise<{ code: number | null; doc: PikaConsumeOutput; describe: string }> {
  const r = await run(PYTHON, [script('pika_consume.py'), amqpUrl(), queue, String(count), '20'], { timeoutMs: 45000 });
  const describe = describeRun('pika_consume.py', r);
  let doc: PikaConsumeOutput;
  try {
    doc = JSON.parse(r.stdout.toString()) as PikaConsumeOutput;
  } catch (e) {
    throw new Error(`pika_consume.py printed no JSON (${(e as Error).message})\n${describe}`);
  }
  return { code: r.code, doc, describe };
}

function getAll(ch: Channel, queue: string, n: number): Promise<GetMessage[]> {
  return within(
    15000,
    (async () => {
      const out: GetMessage[] = [];
      while (out.length < n) {
        const m = await cbp<GetMessage | null>((cb) => ch.basicGet(queue, cb, { autoAck: true }));
        if (m === null) throw new Error(`queue ${queue} empty after ${out.length} of ${n} messages`);
        out.push(m);
      }
      return out;
    })(),
    'basicGet',
  );
}

describe('interop: coney ↔ pika 1.2 through RabbitMQ', function () {
  this.timeout(60000);
  const queues: string[] = [];
  const exchanges: string[] = [];

  afterEach(async function () {
    await cleanUp(queues.splice(0), exchanges.splice(0));
  });

  it('coney → pika: all 14 properties and every field-table type, value by value; pika 1.2 bugs named and checked against the raw bytes', async function () {
    const pikaVersion = await requirePika();
    const user = brokerUser();
    const exchange = uniqueName('interop-c2p');
    const qPika = uniqueName('interop-c2p-pika');
    const qConey = uniqueName('interop-c2p-coney');
    exchanges.push(exchange);
    queues.push(qPika, qConey);

    const bodies = [
      Buffer.concat([Buffer.from('coney → pika ✓ '), ALL_BYTES]),
      Buffer.from('bare'),
      Buffer.alloc(0),
      Buffer.from(Array.from({ length: 300000 }, (_, i) => (i * 7 + 3) & 0xff)), // several body frames
    ];
    const props: Array<BasicPropertiesInit | undefined> = [
      fullProperties(user),
      undefined,
      { contentType: 'text/plain', headers: {} },
      { messageId: 'big' },
    ];

    // publish through a tapped coney connection to a fanout exchange: one copy for pika, one for coney
    const { connection, tap } = await openTappedConnection();
    let coneyGot: GetMessage[];
    try {
      const ch = await openChannel(connection);
      await cbp((cb) => ch.exchangeDeclare(exchange, { type: 'fanout', autoDelete: false }, cb));
      for (const q of [qPika, qConey]) {
        await declareQueue(ch, q);
        await cbp((cb) => ch.queueBind(q, exchange, '', {}, cb));
      }
      await publishConfirmed(
        ch,
        bodies.map((body, i) => () => ch.basicPublish(exchange, 'c2p', body, props[i], true)),
      );
      coneyGot = await getAll(ch, qConey, bodies.length);
    } finally {
      await closeConnection(connection);
    }

    // what coney put on the wire
    const sentRaw = contentHeaders(tap.outbound);
    expect(sentRaw, 'content header frames coney wrote').to.have.length(bodies.length);
    const sentTable = decodeTagged(rawProperties(sentRaw[0]).headers!);
    expect(Object.keys(sentTable), 'header keys on the wire, in order').to.deep.equal(CASES.map((c) => c.key));
    for (const c of CASES) {
      expect(sig(sentTable[c.key]), `coney's encoding of header '${c.key}'`).to.equal(c.wire);
      if (c.hex) expect(sentTable[c.key].hex, `coney's bytes for header '${c.key}'`).to.equal(c.hex);
    }
    expect(sentRaw[1].toString('hex'), 'no properties: flags 0').to.equal('0000');
    expect(sentRaw[2].toString('hex'), 'content-type + empty headers').to.equal('a0000a746578742f706c61696e00000000');

    // pika's view
    const { code, doc, describe } = await pikaConsume(qPika, bodies.length);
    expect(code, describe).to.equal(0);
    expect(doc.error, describe).to.equal(null);
    expect(doc.messages, describe).to.have.length(bodies.length);
    doc.messages.forEach((m, i) => {
      expect(Buffer.from(m.body, 'base64').equals(bodies[i]), `message ${i}: body as pika received it`).to.equal(true);
      expect(m.exchange).to.equal(exchange);
      expect(m.routing_key).to.equal('c2p');
      // the content header reached pika byte for byte as coney wrote it (RabbitMQ passes it through)
      expect(Buffer.from(m.raw_properties, 'base64').toString('hex'), `message ${i}: content header bytes pika received`).to.equal(
        sentRaw[i].toString('hex'),
      );
    });

    const full = doc.messages[0];
    const { headers: pikaHeaders, ...pikaProps } = full.properties;
    expect(pikaProps, 'the 13 non-header properties as pika decoded them').to.deep.equal(expectedPikaProperties(user));
    const pikaTable = decodeTagged(rawProperties(Buffer.from(full.raw_properties, 'base64')).headers!);
    const ph = pikaHeaders as Record<string, J>;
    expect(Object.keys(ph), 'header keys as pika decoded them').to.deep.equal(CASES.map((c) => c.key));
    for (const c of CASES) {
      const raw: Tagged = pikaTable[c.key];
      expect(sig(raw), `header '${c.key}': the encoding that reached pika`).to.equal(c.wire);
      const correct = pikaView(c.value);
      if (c.bug) {
        // Not loosened: the bytes pika received are the correct encoding (checked just above);
        // pika turns them into exactly this wrong value.
        expect(
          ph[c.key],
          `header '${c.key}': ${c.bug.text} (pika ${doc.pika_version}). pika read ${raw.hex} as ${JSON.stringify(ph[c.key])}; correct: ${JSON.stringify(correct)}. If this fails, pika may have fixed the bug: check its decoded value against ${JSON.stringify(correct)}`,
        ).to.deep.equal(c.bug.pika);
        expect(c.bug.pika, `header '${c.key}': the bug changes the value`).not.to.deep.equal(correct);
      } else {
        expect(ph[c.key], `header '${c.key}' as pika decoded it (wire ${raw.hex})`).to.deep.equal(correct);
      }
    }
    expect(doc.messages[1].properties, 'message without properties').to.deep.equal(NO_PIKA_PROPERTIES);
    expect(doc.messages[2].properties, 'content-type + empty headers').to.deep.equal({
      ...NO_PIKA_PROPERTIES,
      content_type: 'text/plain',
      headers: {},
    });
    expect(doc.messages[3].properties).to.deep.equal({ ...NO_PIKA_PROPERTIES, message_id: 'big' });
    expect(pikaVersion).to.equal(doc.pika_version);

    // coney's own copy (basic.get on the second queue): the same bytes back, decoded losslessly
    const gotRaw = contentHeaders(tap.inbound);
    expect(
      gotRaw.map((b) => b.toString('hex')),
      'content headers coney read back',
    ).to.deep.equal(sentRaw.map((b) => b.toString('hex')));
    coneyGot.forEach((m, i) => expect(m.body.equals(bodies[i]), `coney's copy of body ${i}`).to.equal(true));
    const back = coneyGot[0].properties;
    const fp = fullProperties(user);
    for (const name of PROPERTY_NAMES) {
      if (name === 'headers') continue;
      expect(back[name], `coney read back property ${name}`).to.deep.equal(fp[name]);
    }
    for (const c of CASES) {
      expect(back.headers?.[c.key], `coney read back header '${c.key}'`).to.deep.equal(coneyView(pikaView(c.value)));
    }
  });

  it(`NaN and ±Infinity doubles: RabbitMQ 3.10 refuses to carry them (541), and pika 1.2 cannot decode them either (${PIKA_BUG.nan})`, async function () {
    await requirePika();
    const q = uniqueName('interop-c2p-nan');
    queues.push(q);
    const { connection, tap } = await openTappedConnection();
    let err: unknown = null;
    try {
      const ch = await openChannel(connection);
      await declareQueue(ch, q);
      // coney refuses them at the call; Typed.double forces them onto the wire
      expect(() => ch.basicPublish('', q, 'nan', { headers: { nan: NaN } })).to.throw(InvalidArgumentError, /NaN cannot be sent/);
      err = await publishConfirmed(ch, [
        () => ch.basicPublish('', q, 'nan', { headers: { nan: Typed.double(NaN), inf: Typed.double(Infinity), ninf: Typed.double(-Infinity) } }),
      ]).then(
        () => null,
        (e: unknown) => e,
      );
    } finally {
      await closeConnection(connection);
    }
    // RabbitMQ parses the headers of a publish (rabbit_binary_parser:parse_table has no clause for
    // NaN/Infinity, Erlang floats cannot hold them) and closes the connection with 541 INTERNAL_ERROR.
    expect(err, 'RabbitMQ closes the connection on a NaN header').to.be.instanceOf(ConnectionClosedByBroker);
    expect((err as ConnectionClosedByBroker).replyCode).to.equal(541);
    const raw = decodeTagged(rawProperties(contentHeaders(tap.outbound)[0]).headers!);
    expect(raw['nan'].hex, "coney encodes NaN as 'd' (the IEEE 754 quiet NaN)").to.equal('647ff8000000000000');
    expect(raw['inf'].hex).to.equal('647ff0000000000000');
    expect(raw['ninf'].hex).to.equal('64fff0000000000000');

    // pika's own decoder on those exact bytes (they cannot reach pika through RabbitMQ)
    const tables = ['nan', 'inf', 'ninf'].map((k) => {
      const entry = Buffer.concat([Buffer.from([k.length]), Buffer.from(k), Buffer.from(raw[k].hex, 'hex')]);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(entry.length);
      return Buffer.concat([len, entry]).toString('hex');
    });
    const r = await run(PYTHON, [script('pika_decode.py'), ...tables], { timeoutMs: 20000 });
    expect(r.code, describeRun('pika_decode.py', r)).to.equal(0);
    const results = (JSON.parse(r.stdout.toString()) as { results: Array<{ value: J; error: string | null }> }).results;
    expect(results[0].error, PIKA_BUG.nan).to.equal('ValueError: cannot convert float NaN to integer');
    expect(results[1].error, PIKA_BUG.nan).to.equal('OverflowError: cannot convert float infinity to integer');
    expect(results[2].error, PIKA_BUG.nan).to.equal('OverflowError: cannot convert float infinity to integer');
  });

  it("pika → coney: what pika says it sent, value by value; the bytes on the wire are pika's own encoding", async function () {
    await requirePika();
    const user = brokerUser();
    const q = uniqueName('interop-p2c');
    queues.push(q);
    const received: Array<{ method: spec.Basic.Deliver; properties: spec.BasicProperties; body: Buffer }> = [];

    const { connection, tap } = await openTappedConnection();
    let r;
    try {
      const ch = await openChannel(connection);
      await declareQueue(ch, q);
      await cbp((cb) =>
        ch.basicConsume(
          q,
          (c, method, properties, body) => {
            received.push({ method, properties, body });
            c.basicAck(method.deliveryTag);
          },
          {},
          cb,
        ),
      );
      r = await run(PYTHON, [script('pika_publish.py'), amqpUrl(), q], { timeoutMs: 45000 });
      expect(r.code, describeRun('pika_publish.py', r)).to.equal(0);
      await eventually(() => received.length >= 2, 15000, "coney receiving pika's messages");
    } finally {
      await closeConnection(connection);
    }
    const doc = JSON.parse(r.stdout.toString()) as {
      pika_version: string;
      messages: Array<{ body: string; properties: Record<string, J>; raw_properties: string; header_encodings: Record<string, string> }>;
      unsupported: Array<{ what: string; value: string; error: string | null; encoded: string | null }>;
    };
    expect(received).to.have.length(doc.messages.length);

    const inboundRaw = contentHeaders(tap.inbound);
    expect(inboundRaw, 'content headers coney read').to.have.length(doc.messages.length);
    doc.messages.forEach((sent, i) => {
      expect(received[i].body.equals(Buffer.from(sent.body, 'base64')), `message ${i}: body`).to.equal(true);
      expect(inboundRaw[i].toString('hex'), `message ${i}: the content header coney read is the one pika encoded`).to.equal(
        Buffer.from(sent.raw_properties, 'base64').toString('hex'),
      );
    });

    // the 13 plain properties
    const sp = doc.messages[0].properties;
    const p = received[0].properties;
    expect(sp['user_id']).to.equal(user);
    expect(p.contentType).to.equal(sp['content_type']);
    expect(p.contentEncoding).to.equal(sp['content_encoding']);
    expect(p.deliveryMode).to.equal(coneyView(sp['delivery_mode']));
    expect(p.priority).to.equal(coneyView(sp['priority']));
    expect(p.correlationId).to.equal(sp['correlation_id']);
    expect(p.replyTo).to.equal(sp['reply_to']);
    expect(p.expiration).to.equal(sp['expiration']);
    expect(p.messageId).to.equal(sp['message_id']);
    expect(p.timestamp, 'timestamp (pika sends seconds)').to.be.instanceOf(Date);
    expect(p.timestamp!.getTime()).to.equal(Number(coneyView(sp['timestamp'])) * 1000);
    expect(p.type).to.equal(sp['type']);
    expect(p.userId).to.equal(sp['user_id']);
    expect(p.appId).to.equal(sp['app_id']);
    expect(p.clusterId).to.equal(sp['cluster_id']);

    // the headers
    const sentHeaders = sp['headers'] as Record<string, J>;
    const encodings = doc.messages[0].header_encodings;
    const wire = decodeTagged(rawProperties(inboundRaw[0]).headers!);
    const got = p.headers as FieldTable;
    expect(Object.keys(got), 'header keys').to.deep.equal(Object.keys(sentHeaders));
    expect(Object.keys(wire)).to.deep.equal(Object.keys(sentHeaders));
    for (const key of Object.keys(sentHeaders)) {
      expect(wire[key].hex, `header '${key}': bytes coney read = pika.data.encode_value()`).to.equal(encodings[key]);
      if (key === 'decimal_trailing_zero') {
        // PIKA_BUG.decimalScale: the value is numerically right but its scale is gone
        expect(wire[key].hex, `header '${key}': ${PIKA_BUG.decimalScale}`).to.equal('44010000000f');
        expect(sentHeaders[key]).to.deep.equal({ $decimal: '1.50' });
        expect(got[key], `header '${key}': ${PIKA_BUG.decimalScale}; coney decodes what is on the wire`).to.deep.equal(new Decimal(15, 1));
        continue;
      }
      expect(got[key], `header '${key}' (sent ${JSON.stringify(sentHeaders[key])}, wire ${wire[key].hex})`).to.deep.equal(
        coneyView(sentHeaders[key]),
      );
    }
    // pika's integer encoding (data.py:131-142): 'I' when it fits int32, else 'l'; pika.compat.long forces 'l'
    expect(sig(wire['int32_max'])).to.equal('I:2147483647');
    expect(sig(wire['int32_min'])).to.equal('I:-2147483648');
    expect(sig(wire['int_beyond_int32'])).to.equal('l:2147483648');
    expect(sig(wire['int64_min'])).to.equal('l:-9223372036854775808');
    expect(sig(wire['long_marker'])).to.equal('l:7');
    expect(got['int_2_53_plus_1'], 'beyond 2^53: bigint').to.equal(9007199254740993n);
    expect(got['int64_min']).to.equal(-9223372036854775808n);
    expect(got['int64_max']).to.equal(9223372036854775807n);
    expect(sig(wire['timestamp_aware']), 'an aware datetime goes out in UTC').to.equal('T:1700000000');
    expect(sig(wire['array'])).to.equal('A[I:1,S:"two",t:1,V,x:0001,D:1,25,T:946684800,l:1099511627776,A[A[],F{}]]');

    // the message without properties
    for (const name of PROPERTY_NAMES) {
      expect(received[1].properties[name], `bare message: ${name}`).to.equal(undefined);
    }
    expect(inboundRaw[1].toString('hex')).to.equal('0000');

    // what pika cannot send at all
    const unsupported = Object.fromEntries(doc.unsupported.map((u) => [u.what, u]));
    expect(unsupported['float'].error, PIKA_BUG.floatEncode).to.match(/^UnsupportedAMQPFieldException/);
    expect(unsupported['float_integral'].error, PIKA_BUG.floatEncode).to.match(/^UnsupportedAMQPFieldException/);
    expect(unsupported['int_2_64'].error, "beyond int64: struct.error (no uint64 in RabbitMQ's table)").to.match(/^error: /);
    expect(unsupported['int_below_int64'].error).to.match(/^error: /);
  });
});
