/**
 * tools/with-broker.ts's command line: which commands get the throwaway
 * cluster next to the single broker. No broker here.
 */
import { expect } from 'chai';
import { parseArgs } from '../../tools/with-broker';

describe('test tooling: tools/with-broker.ts arguments', () => {
  it('starts the cluster for mocha, however it is run', () => {
    for (const command of [
      ['mocha'],
      ['mocha', '--no-config', 'spec/integration/cluster.spec.ts'],
      ['c8', 'mocha'],
      ['npx', 'mocha', 'spec/x.spec.ts'],
      ['/work/main/node_modules/.bin/mocha', '--exit'],
      ['c8', '--reporter', 'lcov', 'mocha'],
    ]) {
      expect(parseArgs(command), command.join(' ')).to.deep.equal({ command, cluster: true });
    }
  });

  it('leaves it out for the demo, the examples and other commands', () => {
    for (const command of [['tsx', 'examples/demo.ts'], ['tsx'], ['node', 'x.js', 'mocha'], ['c8', 'tsx', 'bench/run.ts'], []]) {
      expect(parseArgs(command), command.join(' ')).to.deep.equal({ command, cluster: false });
    }
  });

  it('--cluster and --no-cluster before the command decide, and are not passed on', () => {
    expect(parseArgs(['--cluster', 'tsx', 'examples/demo.ts'])).to.deep.equal({ command: ['tsx', 'examples/demo.ts'], cluster: true });
    expect(parseArgs(['--no-cluster', 'mocha', 'spec/examples'])).to.deep.equal({ command: ['mocha', 'spec/examples'], cluster: false });
    expect(parseArgs(['--cluster', '--no-cluster', 'mocha'])).to.deep.equal({ command: ['mocha'], cluster: false });
    expect(parseArgs(['mocha', '--no-cluster'])).to.deep.equal({ command: ['mocha', '--no-cluster'], cluster: true });
  });
});
