/**
 * SelectConnection's options: URL strings wherever parameters go, names and
 * callbacks checked at construction, and a failure nobody handles that makes
 * a script exit non-zero instead of ending in silence (issue 11).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { ConnectionParameters, InvalidArgumentError, SelectConnection, SocketConnectError, URLParameters, VirtualIOLoop } from '../../lib';
import { FakeBroker } from '../support/fake-broker';
import { freePort } from '../support/net-tools';

/** Runs a TypeScript snippet in a child Node process (with tsx); resolves with its exit code and output. */
function runScript(source: string, timeoutMs = 20000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coney-script-'));
  const file = path.join(dir, 'script.ts');
  fs.writeFileSync(file, source);
  return new Promise((resolve) => {
    execFile(process.execPath, ['-r', 'tsx/cjs', file], { timeout: timeoutMs, cwd: path.resolve(__dirname, '../..') }, (err, stdout, stderr) => {
      fs.rmSync(dir, { recursive: true, force: true });
      const code = err === null ? 0 : typeof (err as NodeJS.ErrnoException).code === 'number' ? (err as unknown as { code: number }).code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

const LIB = path.resolve(__dirname, '../../lib');

describe('adapters/select-connection', () => {
  it('takes a URL string as parameters, alone or in a list with parameter objects', () => {
    const loop = new VirtualIOLoop();
    new FakeBroker(loop, { host: 'fake-broker' });
    const opened: string[] = [];
    const single = new SelectConnection({ ioloop: loop, parameters: 'amqp://guest:guest@fake-broker/', onOpen: () => opened.push('single') });
    const listed = new SelectConnection({
      ioloop: loop,
      parameters: ['amqp://guest:guest@nowhere/', new ConnectionParameters({ host: 'fake-broker' })],
      onOpen: () => opened.push('listed'),
    });
    loop.runUntilIdle();
    expect(opened.sort()).to.deep.equal(['listed', 'single']);
    expect(single.parameters).to.be.instanceOf(URLParameters);
    expect(listed.parameters?.host).to.equal('fake-broker');
  });

  it('refuses unknown option names with a suggestion, and callbacks that are not functions', () => {
    const make = (options: unknown) => () => new SelectConnection(options as never);
    expect(make({ paramters: 'amqp://localhost/' })).to.throw(InvalidArgumentError, /unknown option 'paramters'; did you mean 'parameters'\?/);
    expect(make({ onopen: () => undefined })).to.throw(InvalidArgumentError, /did you mean 'onOpen'/);
    expect(make({ onOpen: 'yes' })).to.throw(InvalidArgumentError, /onOpen must be a function, got the string "yes"/);
    expect(make({ parameters: [] })).to.throw(InvalidArgumentError, /list of connection parameters is empty/);
    expect(make({ parameters: [{ host: 'x' }] })).to.throw(
      InvalidArgumentError,
      /parameters\[0\]: expected ConnectionParameters, URLParameters or an amqp:\/\/ URL string, got an object/,
    );
    expect(make({ parameters: 'http://localhost/' })).to.throw(InvalidArgumentError, /scheme/);
    expect(make({ ioloop: {} })).to.throw(InvalidArgumentError, /ioloop must be an IOLoop/);
    expect(make('amqp://localhost/')).to.throw(InvalidArgumentError, /connection options must be an object|options must be an object/);
  });

  it('a refused connection with no onOpenError and no onClose makes the script exit non-zero, naming the error', async function () {
    this.timeout(30000);
    const port = await freePort();
    const { code, stderr } = await runScript(`
      import { SelectConnection } from ${JSON.stringify(LIB)};
      const connection = new SelectConnection({ parameters: 'amqp://guest:guest@127.0.0.1:${port}/' });
      void connection.ioloop.start();
    `);
    expect(code, stderr).to.not.equal(0);
    expect(stderr).to.match(/could not open and no onOpenError or onClose callback handles it/);
    expect(stderr).to.match(/ECONNREFUSED|refused/);
  });

  it('the same script with onOpenError exits 0 (the failure was handled)', async function () {
    this.timeout(30000);
    const port = await freePort();
    const { code, stdout, stderr } = await runScript(`
      import { SelectConnection } from ${JSON.stringify(LIB)};
      const connection = new SelectConnection({
        parameters: 'amqp://guest:guest@127.0.0.1:${port}/',
        onOpenError: (_c, err) => console.log('handled:', err.name),
      });
      void connection.ioloop.start();
    `);
    expect(code, stderr).to.equal(0);
    expect(stdout).to.match(/handled: /);
  });
});

describe('adapters/select-connection: socketTimeout below the timer granularity', () => {
  it('a loopback connect that completes after a 1e-19 s socketTimeout still times out', async function () {
    this.timeout(10000);
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      const err = await new Promise<Error>((resolve, reject) => {
        new SelectConnection({
          parameters: new ConnectionParameters({ host: '127.0.0.1', port, socketTimeout: 1e-19 }),
          onOpen: () => reject(new Error('opened')),
          onOpenError: (_c, e) => resolve(e),
        });
      });
      expect(err).to.be.instanceOf(SocketConnectError);
      expect(err.message).to.match(/timed out after/);
    } finally {
      server.close();
    }
  });
});
