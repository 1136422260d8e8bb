import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

describe('wire: layering', () => {
  it('nothing in lib/wire imports from lib/engine or lib/adapters (or any I/O module)', () => {
    const dir = join(__dirname, '..', '..', 'lib', 'wire');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files).to.include.members(['codec.ts', 'field-table.ts', 'spec.ts', 'frame.ts', 'frame-parser.ts', 'frame-writer.ts']);
    for (const f of files) {
      const src = readFileSync(join(dir, f), 'utf8');
      const specifiers = [
        ...src.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]/gm),
        ...src.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g),
        ...src.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
      ].map((m) => m[1]);
      for (const s of specifiers) {
        expect(s, `${f} imports ${s}`).to.not.match(/engine|adapters/);
        expect(s, `${f} imports ${s}`).to.not.match(/^(node:)?(net|tls|dgram|fs|child_process|http|https|timers)$/);
        expect(['../errors'].includes(s) || s.startsWith('./'), `${f} imports ${s}: only ./ and ../errors`).to.equal(true);
      }
    }
  });
});
