/**
 * The prerequisite checker `npm test` runs first (tools/check-prereqs.js),
 * with a fake environment: no broker, nothing installed or probed.
 */
import { expect } from 'chai';
import * as path from 'node:path';

interface PrereqProbe {
  exists: (p: string) => boolean;
  onPath: (cmd: string) => boolean;
  pythonHasPika: () => boolean;
  env: Record<string, string | undefined>;
  root: string;
}
interface PrereqsModule {
  findMissing(probe: PrereqProbe): { missing: string[]; fix: string[] };
  formatReport(result: { missing: string[]; fix: string[] }): string;
  APT_COMMAND: string;
  NPM_COMMAND: string;
}
// Plain CommonJS on purpose (it runs before anything is compiled).
const prereqs = require(path.join(__dirname, '..', '..', 'tools', 'check-prereqs.js')) as PrereqsModule;

describe('test tooling: tools/check-prereqs.js', () => {
  const everything = (): PrereqProbe => ({
    exists: () => true,
    onPath: () => true,
    pythonHasPika: () => true,
    env: {},
    root: '/project',
  });

  it('reports nothing on a complete machine', () => {
    expect(prereqs.findMissing(everything())).to.deep.equal({ missing: [], fix: [] });
  });

  it('on an empty machine lists every missing piece and one command that fixes all', () => {
    const result = prereqs.findMissing({ ...everything(), exists: () => false, onPath: () => false, pythonHasPika: () => false });
    const text = result.missing.join('\n');
    for (const what of ['node_modules', 'rabbitmq-server', 'openssl', 'python3', 'amqp-publish', 'amqp-consume', 'amqp-get']) {
      expect(text).to.include(what);
    }
    expect(result.fix).to.deep.equal([`${prereqs.APT_COMMAND} && ${prereqs.NPM_COMMAND}`]);
    expect(prereqs.APT_COMMAND).to.equal('sudo apt-get install -y rabbitmq-server openssl python3-pika amqp-tools');
    expect(text, 'the spec XML is vendored (tools/spec)').not.to.include('amqp-specs');
    expect(prereqs.formatReport(result)).to.include(result.fix[0]);
  });

  it('asks only for npm ci when only node_modules is missing', () => {
    const result = prereqs.findMissing({ ...everything(), exists: (p) => !p.endsWith('node_modules') });
    expect(result.missing).to.have.length(1);
    expect(result.fix).to.deep.equal(['npm ci']);
  });

  it('does not need a local rabbitmq-server when AMQP_URL is set', () => {
    const noServer = (p: string): boolean => !p.endsWith('rabbitmq-server');
    expect(prereqs.findMissing({ ...everything(), exists: noServer }).missing).to.have.length(1);
    expect(prereqs.findMissing({ ...everything(), exists: noServer, env: { AMQP_URL: 'amqp://x' } }).missing).to.deep.equal([]);
  });

  it('notices a python3 without pika', () => {
    const result = prereqs.findMissing({ ...everything(), pythonHasPika: () => false });
    expect(result.missing.join()).to.include('pika');
    expect(result.fix).to.deep.equal([prereqs.APT_COMMAND]);
  });
});
