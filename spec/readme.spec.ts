/**
 * Keeps the README true: every TypeScript block of it that starts with an
 * import from 'coney' must type-check against the library as it is.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';

const root = path.resolve(__dirname, '..');

function completeBlocks(): string[] {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).filter((code) => /^import .* from 'coney';/m.test(code));
}

describe('README.md', () => {
  it('has complete examples that type-check against the library', function () {
    this.timeout(60000);
    const blocks = completeBlocks();
    expect(blocks.length, 'README blocks that import coney').to.be.greaterThan(0);
    const dir = mkdtempSync(path.join(tmpdir(), 'coney-readme-'));
    try {
      const files = blocks.map((code, i) => {
        const file = path.join(dir, `block${i}.ts`);
        writeFileSync(file, `${code}\nexport {};\n`);
        return file;
      });
      const program = ts.createProgram(files, {
        strict: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ES2022,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        types: ['node'],
        typeRoots: [path.join(root, 'node_modules', '@types')],
        baseUrl: root,
        paths: { coney: ['lib/index.ts'] },
        noEmit: true,
        skipLibCheck: true,
      });
      const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file === undefined || files.includes(d.file.fileName));
      const messages = diagnostics.map((d) => {
        const where = d.file ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
        return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
      expect(messages).to.deep.equal([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
