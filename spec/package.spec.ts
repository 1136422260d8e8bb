/**
 * The package as users load it: `require('coney')` and `import ... from
 * 'coney'` from the built dist/, the API.md names at the root, and the
 * version reported to the broker.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { VERSION } from '../lib';

const root = path.resolve(__dirname, '..');

/** Every runtime name API.md promises at the package root. */
const API_NAMES = [
  'SelectConnection', 'ConnectionParameters', 'URLParameters', 'PlainCredentials', 'ExternalCredentials',
  'NodeIOLoop', 'VirtualIOLoop', 'StreamIOLoop', 'BasicProperties', 'Decimal', 'spec',
  'AMQPError', 'AMQPConnectionError', 'ConnectionOpenAborted', 'StreamLostError', 'IncompatibleProtocolError',
  'AuthenticationError', 'ProbableAuthenticationError', 'ProbableAccessDeniedError', 'AMQPHeartbeatTimeout',
  'ConnectionBlockedTimeout', 'ConnectionClosed', 'ConnectionClosedByBroker', 'ConnectionClosedByClient',
  'ConnectionWrongStateError', 'AMQPChannelError', 'ChannelClosed', 'ChannelClosedByBroker', 'ChannelClosedByClient',
  'ChannelWrongStateError', 'DuplicateConsumerTag', 'UnroutableError', 'NackError', 'FrameError',
];

function runNode(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 20000 });
}

describe('the package', () => {
  before(function () {
    if (!existsSync(path.join(root, 'dist', 'index.js')) || !existsSync(path.join(root, 'dist', 'index.mjs'))) {
      throw new Error('dist/ is not built: npm test builds it first (npm run build)');
    }
  });

  it('loads with require("coney") and exposes every API.md name', () => {
    const out = runNode(['-e', `const c = require('coney'); console.log(JSON.stringify(Object.keys(c)))`]);
    const keys: string[] = JSON.parse(out);
    for (const name of API_NAMES) expect(keys, name).to.include(name);
  });

  it('loads with import and gives the same classes as require', () => {
    const script = `
      import { SelectConnection, spec, ChannelClosedByBroker, AMQPChannelError } from 'coney';
      import { createRequire } from 'node:module';
      const cjs = createRequire(import.meta.url)('coney');
      const ok = SelectConnection === cjs.SelectConnection && typeof spec.Queue.Declare === 'function'
        && new ChannelClosedByBroker(404, 'x') instanceof AMQPChannelError;
      console.log(ok ? 'same' : 'different');`;
    expect(runNode(['--input-type=module', '-e', script]).trim()).to.equal('same');
  });

  it('reports the package.json version to the broker', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(VERSION).to.equal(pkg.version);
  });

  it('ships type declarations', () => {
    expect(existsSync(path.join(root, 'dist', 'index.d.ts'))).to.equal(true);
  });
});
