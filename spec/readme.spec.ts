/**
 * Keeps the README true: every TypeScript block of it must type-check under
 * strict against the library as it is. A block that imports from 'coney' is
 * a complete program and is checked as it stands; any other block is a
 * fragment, checked on its own behind PRELUDE, the few names fragments use
 * without declaring (`connection`, `channel`, ...).
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';

const root = path.resolve(__dirname, '..');

/** What a README fragment may use without declaring it. Keep it small: a fragment needing more should say so itself. */
const PRELUDE = `
import { ConnectionParameters, ExternalCredentials, PlainCredentials, SelectConnection, StreamIOLoop, URLParameters } from 'coney';
import type { BasicProperties, Channel, spec } from 'coney';
declare const connection: SelectConnection;
declare const channel: Channel;
declare const queue: string;
declare const body: Buffer;
declare const deliveryTag: number;
declare const token: string;
declare const worker: import('node:worker_threads').Worker;
declare function resume(): void;
declare function onMessage(channel: Channel, method: spec.Basic.Deliver, properties: BasicProperties, body: Buffer): void;
declare function openMyTunnel(host: string, port: number): import('node:stream').Duplex;
`;
const PRELUDE_LINES = PRELUDE.split('\n').length - 1;

interface Block {
  /** Line of the README where the code starts (1-based). */
  line: number;
  code: string;
  /** Imports from 'coney' itself: checked without the prelude. */
  complete: boolean;
}

function tsBlocks(): Block[] {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => ({
    line: readme.slice(0, m.index).split('\n').length + 1,
    code: m[1],
    complete: /^import .* from 'coney';/m.test(m[1]),
  }));
}

/** Type-checks each block as a module of its own; returns the diagnostics as `README.md:line message`. */
function check(blocks: Block[]): string[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'coney-readme-'));
  try {
    const files = new Map<string, Block>();
    blocks.forEach((block, i) => {
      const file = path.join(dir, `block${i}.ts`);
      writeFileSync(file, `${block.complete ? '' : PRELUDE}${block.code}\nexport {};\n`);
      files.set(file, block);
    });
    const program = ts.createProgram([...files.keys()], {
      strict: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ES2022,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      types: ['node'],
      typeRoots: [path.join(root, 'node_modules', '@types')],
      baseUrl: root,
      // coney/opentelemetry and the OpenTelemetry packages its README block sets up with (the blocks are written in a temporary directory).
      paths: {
        coney: ['lib/index.ts'],
        'coney/opentelemetry': ['lib/opentelemetry/index.ts'],
        '@opentelemetry/*': ['node_modules/@opentelemetry/*'],
      },
      noEmit: true,
      skipLibCheck: true,
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file === undefined || files.has(d.file.fileName));
    return diagnostics.map((d) => {
      const block = d.file === undefined ? undefined : files.get(d.file.fileName);
      let where = '';
      if (block !== undefined && d.file !== undefined) {
        const line = d.file.getLineAndCharacterOfPosition(d.start ?? 0).line - (block.complete ? 0 : PRELUDE_LINES);
        where = line < 0 ? `README.md:${block.line} (prelude)` : `README.md:${block.line + line}`;
      }
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('README.md', () => {
  it('has complete examples that type-check against the library', function () {
    this.timeout(60000);
    const blocks = tsBlocks().filter((b) => b.complete);
    expect(blocks.length, 'README blocks that import coney').to.be.greaterThan(0);
    expect(check(blocks)).to.deep.equal([]);
  });

  it('has fragments that type-check under strict, each on its own behind a small prelude', function () {
    this.timeout(60000);
    const blocks = tsBlocks().filter((b) => !b.complete);
    expect(blocks.length, 'README fragments').to.be.greaterThan(0);
    expect(check(blocks)).to.deep.equal([]);
  });
});
