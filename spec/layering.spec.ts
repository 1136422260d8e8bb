/**
 * The layers, lowest first: errors -> wire (no I/O) -> engine (no sockets)
 * -> recovery (automatic recovery: policy over the engine's mechanics, no
 * sockets) -> adapters -> promise (the promise API: wraps channels, never
 * imported by the layers below) -> index. Nothing lower imports anything higher, and only
 * adapters touch net or tls.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const lib = path.resolve(__dirname, '..', 'lib');
const RANK: Record<string, number> = {
  'errors.ts': 0,
  'version.ts': 0,
  wire: 1,
  engine: 2,
  recovery: 3,
  adapters: 4,
  promise: 5,
  opentelemetry: 5,
  threads: 6,
  'index.ts': 7,
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

function layerOf(file: string): number {
  const top = path.relative(lib, file).split(path.sep)[0];
  const rank = RANK[top];
  if (rank === undefined) throw new Error(`lib/${top} belongs to no layer: add it to RANK in this test`);
  return rank;
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from\s+|require\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

describe('layering of lib/', () => {
  for (const file of files(lib)) {
    const rel = path.relative(lib, file);
    it(`${rel} imports nothing from a higher layer`, () => {
      for (const spec of imports(file)) {
        if (!spec.startsWith('.')) continue;
        const target = path.resolve(path.dirname(file), spec);
        const targetFile = target.endsWith('.ts') ? target : `${target}.ts`;
        expect(layerOf(targetFile), `${rel} imports ${spec}`).to.be.at.most(layerOf(file));
      }
    });
    if (layerOf(file) < RANK['adapters']) {
      it(`${rel} does not import net, tls or dgram`, () => {
        const bad = imports(file).filter((s) => /^(node:)?(net|tls|dgram)$/.test(s));
        expect(bad, rel).to.deep.equal([]);
      });
    }
  }
});
