/**
 * A newcomer's first hour against the real RabbitMQ (issue 11): mistakes
 * that used to pass in silence now throw or are reported, and per-publish
 * confirms report each message's fate.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import * as sinon from 'sinon';
import { type Channel, type Connection, InvalidArgumentError, NackError, UnroutableError, spec } from '../../lib';
import { amqpUrl, rabbitmqctl, uniqueName } from '../support/broker';
import { brokerParameters, cbp, closeConnection, openChannel, openConnection, within } from '../support/callbacks';

const WAIT = 10000;
const connections: Connection[] = [];
const callbackErrors: unknown[] = [];

async function connect(): Promise<Connection> {
  const connection = await openConnection({ parameters: brokerParameters(), onCallbackError: (err) => callbackErrors.push(err) });
  connections.push(connection);
  return connection;
}

/** Runs a TypeScript snippet in a child Node process; resolves with its exit code and output. */
function runScript(source: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coney-script-'));
  const file = path.join(dir, 'script.ts');
  fs.writeFileSync(file, source);
  return new Promise((resolve) => {
    execFile(process.execPath, ['-r', 'tsx/cjs', file], { timeout: 30000, cwd: path.resolve(__dirname, '../..') }, (err, stdout, stderr) => {
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ code: err === null ? 0 : Number((err as unknown as { code: unknown }).code ?? -1), stdout, stderr });
    });
  });
}

const LIB = path.resolve(__dirname, '../../lib');

describe('A first hour with coney against RabbitMQ', function () {
  this.timeout(60000);

  afterEach(async () => {
    sinon.restore();
    for (const c of connections.splice(0)) await closeConnection(c);
    expect(callbackErrors.splice(0), 'exceptions thrown by callbacks').to.deep.equal([]);
  });

  it("amqplib-style exchangeDeclare('x', 'fanout') throws and creates nothing (no silent direct exchange)", async () => {
    const connection = await connect();
    const ch = await openChannel(connection);
    const name = uniqueName('wrong-shape');
    const loose = ch as unknown as { exchangeDeclare: (...args: unknown[]) => void; basicQos: (...args: unknown[]) => void };
    expect(() => loose.exchangeDeclare(name, 'fanout')).to.throw(InvalidArgumentError, /did you mean \{ type: "fanout" \}/);
    expect(() => loose.basicQos(50)).to.throw(InvalidArgumentError, /prefetchCount: 50/);
    // a round trip on the channel, then ask the broker what exists
    await within(
      WAIT,
      cbp((cb) => ch.queueDeclare(uniqueName('probe'), { exclusive: true }, cb)),
      'a declare after the refused calls',
    );
    const exchanges = await rabbitmqctl(['list_exchanges', 'name']);
    expect(exchanges).to.not.include(name);
    expect(ch.isOpen).to.equal(true);
  });

  it('a wrong password with no onOpenError makes a script exit non-zero with the error on stderr', async () => {
    const url = new URL(amqpUrl());
    url.password = 'definitely-wrong';
    const { code, stderr } = await runScript(`
      import { SelectConnection } from ${JSON.stringify(LIB)};
      const connection = new SelectConnection({ parameters: ${JSON.stringify(url.toString())} });
      void connection.ioloop.start();
    `);
    expect(code, stderr).to.not.equal(0);
    expect(stderr).to.match(/could not open and no onOpenError or onClose callback handles it: ProbableAuthenticationError/);
    expect(stderr, 'the password never appears').to.not.include('definitely-wrong');
  });

  it('basicAck(999) closes the channel (406) and, with no close callback, a warning names channel, code and text', async () => {
    const connection = await connect();
    const ch = await openChannel(connection);
    const warnings: string[] = [];
    sinon.stub(process, 'emitWarning').callsFake((w: string | Error) => void warnings.push(String(w)));
    ch.basicAck(999);
    const deadline = Date.now() + WAIT;
    while (!ch.isClosed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(ch.isClosed).to.equal(true);
    expect(warnings.join('\n')).to.match(
      new RegExp(`channel ${ch.channelNumber} was closed: \\(406\\) PRECONDITION_FAILED - unknown delivery tag 999`),
    );
    expect(connection.isOpen).to.equal(true);
  });

  it('onConfirm reports each publish: acked, nacked (x-overflow reject-publish), unroutable (mandatory); waitForConfirms sees the nack', async () => {
    const connection = await connect();
    const ch: Channel = await openChannel(connection);
    const queue = uniqueName('confirm-each');
    await within(
      WAIT,
      cbp((cb) => ch.queueDeclare(queue, { exclusive: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } }, cb)),
      'declare',
    );
    await within(
      WAIT,
      cbp((cb) => ch.confirmDelivery(null, cb)),
      'confirm.select',
    );
    const outcome = (send: (onConfirm: (err: Error | null) => void) => void): Promise<Error | null> =>
      within(WAIT, new Promise<Error | null>((resolve) => send(resolve)), 'an onConfirm');
    const first = outcome((onConfirm) => ch.basicPublish('', queue, 'fits', {}, { onConfirm }));
    const second = outcome((onConfirm) => ch.basicPublish('', queue, 'queue full', {}, { onConfirm }));
    const third = outcome((onConfirm) => ch.basicPublish('', uniqueName('nowhere'), 'no route', {}, { mandatory: true, onConfirm }));
    ch.addOnReturnCallback(() => undefined);
    const waited = within(WAIT, new Promise<Error | null>((resolve) => ch.waitForConfirms(resolve)), 'waitForConfirms');
    expect(await first).to.equal(null);
    expect(await second).to.be.instanceOf(NackError);
    expect(await third).to.be.instanceOf(UnroutableError);
    expect(await waited).to.be.instanceOf(NackError);
    expect(ch.unconfirmedDeliveryTags()).to.deep.equal([]);
    const ok = await within(
      WAIT,
      cbp<spec.Queue.DeclareOk>((cb) => ch.queueDeclare(queue, { passive: true }, cb)),
      'count',
    );
    expect(ok.messageCount).to.equal(1);
  });

  it('connectionName is shown by rabbitmqctl list_connections client_properties', async () => {
    const name = uniqueName('named-connection');
    const connection = await openConnection({ parameters: brokerParameters({ connectionName: name }) });
    connections.push(connection);
    const listed = await rabbitmqctl(['list_connections', 'client_properties']);
    expect(listed).to.include(`"connection_name","${name}"`);
  });
});
