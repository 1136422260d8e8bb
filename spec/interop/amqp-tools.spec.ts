/**
 * Interoperability with librabbitmq (rabbitmq-c) through its command-line
 * tools (Debian's amqp-tools: amqp-publish, amqp-consume, amqp-get) and a
 * real RabbitMQ, in both directions. No mocks.
 *
 * - coney → amqp-consume / amqp-get: the tools print only the body, so the
 *   body is compared byte for byte; the properties are checked indirectly
 *   but strictly: the message carries all 14 properties and a header table
 *   holding every field type, and librabbitmq decodes the whole content
 *   header (amqp_decode_properties, every table tag) before it hands out the
 *   body. A header it could not parse would fail the tool. The ack the tool
 *   sends is checked too (the queue is empty afterwards).
 * - amqp-publish → coney: body and the properties the tool can set
 *   (-C content-type, -E content-encoding, -p persistent, -t reply-to,
 *   -H "key: value" headers, which librabbitmq sends as long strings 'S'),
 *   checked on coney's decoded message and on the raw bytes coney read.
 */
import { expect } from 'chai';
import { type Channel, type GetMessage, spec } from '../../lib';
import { uniqueName } from '../support/broker';
import { cbp, cleanUp, closeConnection, openChannel, openConnection, within } from '../support/callbacks';
import { eventually } from '../support/polling';
import { ALL_BYTES, fullProperties } from './fixtures';
import {
  amqpToolsConnectionArgs,
  brokerUser,
  contentHeaders,
  declareQueue,
  decodeTagged,
  describeRun,
  openTappedConnection,
  rawProperties,
  requireAmqpTools,
  run,
  sig,
  publishConfirmed,
} from './support';
import { PROPERTY_NAMES } from '../support/property-names';

function messageCount(ch: Channel, queue: string): Promise<number> {
  return cbp<spec.Queue.DeclareOk>((cb) => ch.queueDeclare(queue, { passive: true }, cb)).then((ok) => ok.messageCount);
}

describe('interop: coney ↔ librabbitmq (amqp-tools) through RabbitMQ', function () {
  this.timeout(60000);
  const queues: string[] = [];

  afterEach(async function () {
    await cleanUp(queues.splice(0));
  });

  it('coney → amqp-consume: bodies byte for byte; librabbitmq parses all 14 properties and every header type; the tool acks', async function () {
    await requireAmqpTools();
    const q = uniqueName('interop-c2consume');
    queues.push(q);
    const bodies = [Buffer.concat([Buffer.from('coney → amqp-consume ✓\n'), ALL_BYTES]), Buffer.from('second, bare\n')];
    const c = await openConnection();
    try {
      const ch = await openChannel(c);
      await declareQueue(ch, q);
      await publishConfirmed(ch, [() => ch.basicPublish('', q, bodies[0], fullProperties(brokerUser())), () => ch.basicPublish('', q, bodies[1])]);
      expect(await messageCount(ch, q)).to.equal(2);

      // -c 2: stop after two messages; `cat` gets each body on stdin, in order
      const r = await run('amqp-consume', [...amqpToolsConnectionArgs(), '-q', q, '-c', '2', 'cat'], { timeoutMs: 30000 });
      expect(r.code, describeRun('amqp-consume', r)).to.equal(0);
      expect(r.stdout.toString('hex'), `bodies through amqp-consume | cat\n${describeRun('amqp-consume', r)}`).to.equal(
        Buffer.concat(bodies).toString('hex'),
      );
      // amqp-consume acks each message after its command exits
      expect(await messageCount(ch, q), 'amqp-consume acked both messages').to.equal(0);
    } finally {
      await closeConnection(c);
    }
  });

  it('coney → amqp-get: the body byte for byte (with all 14 properties and every header type set); an empty queue is reported', async function () {
    await requireAmqpTools();
    const q = uniqueName('interop-c2get');
    queues.push(q);
    const body = Buffer.concat([Buffer.from('coney → amqp-get ✓ '), ALL_BYTES, Buffer.from(' end')]);
    const c = await openConnection();
    try {
      const ch = await openChannel(c);
      await declareQueue(ch, q);
      await publishConfirmed(ch, [() => ch.basicPublish('', q, body, fullProperties(brokerUser()))]);

      const r = await run('amqp-get', [...amqpToolsConnectionArgs(), '-q', q], { timeoutMs: 20000 });
      expect(r.code, describeRun('amqp-get', r)).to.equal(0);
      expect(r.stdout.toString('hex'), 'body printed by amqp-get').to.equal(body.toString('hex'));
      expect(await messageCount(ch, q), 'amqp-get took the message (basic.get no-ack)').to.equal(0);

      const empty = await run('amqp-get', [...amqpToolsConnectionArgs(), '-q', q], { timeoutMs: 20000 });
      expect(empty.code, `amqp-get on an empty queue exits 2\n${describeRun('amqp-get', empty)}`).to.equal(2);
      expect(empty.stdout.length).to.equal(0);
    } finally {
      await closeConnection(c);
    }
  });

  it('amqp-publish → coney: body, content type and encoding, persistent delivery mode, reply-to and -H headers', async function () {
    await requireAmqpTools();
    const q = uniqueName('interop-publish2c');
    queues.push(q);
    const body = '{"from":"amqp-publish","check":"✓ ünïcødé"}';
    const { connection, tap } = await openTappedConnection();
    try {
      const ch = await openChannel(connection);
      await declareQueue(ch, q);
      const r = await run(
        'amqp-publish',
        [
          ...amqpToolsConnectionArgs(),
          '-e',
          '',
          '-r',
          q,
          '-C',
          'application/json; charset=utf-8',
          '-E',
          'identity',
          '-p',
          '-t',
          'reply.to.amqp-tools',
          '-H',
          'x-interop: hello',
          '-H',
          'x-colon: a: b',
          '-H',
          'x-unicode: héllo ✓',
          '-H',
          'x-nospace:tight',
          '-b',
          body,
        ],
        { timeoutMs: 20000 },
      );
      expect(r.code, describeRun('amqp-publish', r)).to.equal(0);
      const m = await within(
        10000,
        (async () => {
          for (;;) {
            const got = await cbp<GetMessage | null>((cb) => ch.basicGet(q, cb, { autoAck: true }));
            if (got) return got;
            await new Promise((res) => setTimeout(res, 50));
          }
        })(),
        'the message from amqp-publish',
      );
      expect(m.body.toString('utf8')).to.equal(body);
      const p = m.properties;
      expect(p.contentType).to.equal('application/json; charset=utf-8');
      expect(p.contentEncoding).to.equal('identity');
      expect(p.deliveryMode, '-p: persistent').to.equal(2);
      expect(p.replyTo).to.equal('reply.to.amqp-tools');
      expect(p.headers).to.deep.equal({ 'x-interop': 'hello', 'x-colon': 'a: b', 'x-unicode': 'héllo ✓', 'x-nospace': 'tight' });
      for (const name of ['priority', 'correlationId', 'expiration', 'messageId', 'timestamp', 'type', 'userId', 'appId', 'clusterId'] as const) {
        expect(p[name], `${name} is not set by amqp-publish`).to.equal(undefined);
      }
      // librabbitmq sends -H values as long strings
      const raw = contentHeaders(tap.inbound);
      expect(raw).to.have.length(1);
      const wire = decodeTagged(rawProperties(raw[0]).headers!);
      expect(Object.values(wire).map(sig)).to.deep.equal(['S:"hello"', 'S:"a: b"', 'S:"héllo ✓"', 'S:"tight"']);
    } finally {
      await closeConnection(connection);
    }
  });

  it('amqp-publish → coney: a binary body from stdin, and -l (one message per line) in order, with no properties but delivery-mode 1', async function () {
    await requireAmqpTools();
    const q = uniqueName('interop-publish2c-lines');
    queues.push(q);
    const received: Array<{ properties: spec.BasicProperties; body: Buffer }> = [];
    const c = await openConnection();
    try {
      const ch = await openChannel(c);
      await declareQueue(ch, q);
      await cbp((cb) =>
        ch.basicConsume(
          q,
          (chan, method, properties, b) => {
            received.push({ properties, body: b });
            chan.basicAck(method.deliveryTag);
          },
          {},
          cb,
        ),
      );
      const binary = Buffer.concat([ALL_BYTES, Buffer.from(ALL_BYTES).reverse()]);
      const r1 = await run('amqp-publish', [...amqpToolsConnectionArgs(), '-r', q], { timeoutMs: 20000, input: binary });
      expect(r1.code, describeRun('amqp-publish < binary', r1)).to.equal(0);
      await eventually(() => received.length === 1, 10000, 'the binary message');
      const r2 = await run('amqp-publish', [...amqpToolsConnectionArgs(), '-r', q, '-l'], {
        timeoutMs: 20000,
        input: 'line one\nline two\nünïcødé ✓\n',
      });
      expect(r2.code, describeRun('amqp-publish -l', r2)).to.equal(0);
      await eventually(() => received.length === 4, 10000, 'the three line messages');

      expect(received[0].body.toString('hex'), 'binary body from stdin').to.equal(binary.toString('hex'));
      // librabbitmq's -l reads with fgets(): each message keeps its newline
      expect(received.slice(1).map((m) => m.body.toString('utf8'))).to.deep.equal(['line one\n', 'line two\n', 'ünïcødé ✓\n']);
      for (const m of received) {
        // amqp-publish always sets delivery-mode: 1 (transient) without -p
        expect(m.properties.deliveryMode, 'delivery mode without -p').to.equal(1);
        for (const name of PROPERTY_NAMES) {
          if (name !== 'deliveryMode') expect(m.properties[name], `${name} (none given)`).to.equal(undefined);
        }
      }
    } finally {
      await closeConnection(c);
    }
  });
});
