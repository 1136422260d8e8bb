/**
 * The core stays free of OpenTelemetry: only lib/opentelemetry imports
 * `@opentelemetry/*` (an optional peer dependency), nothing else in lib/
 * imports lib/opentelemetry, and package.json keeps no runtime dependency.
 * (spec/package.spec.ts checks the same on the built package: `require('coney')`
 * loads no @opentelemetry module.)
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const lib = path.join(root, 'lib');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/(?:from\s+|require\(|import\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

describe('coney/opentelemetry: the core stays free of OpenTelemetry', () => {
  const outside = files(lib).filter((f) => !f.startsWith(path.join(lib, 'opentelemetry') + path.sep));

  it('imports @opentelemetry/* only in lib/opentelemetry', () => {
    const found = outside.flatMap((f) =>
      imports(f)
        .filter((s) => s.startsWith('@opentelemetry/'))
        .map((s) => `${path.relative(root, f)}: ${s}`),
    );
    expect(found).to.deep.equal([]);
    expect(outside.length, 'files checked').to.be.greaterThan(50);
  });

  it('imports lib/opentelemetry from nowhere else in lib/', () => {
    const found = outside.flatMap((f) =>
      imports(f)
        .filter((s) => s.startsWith('.') && path.resolve(path.dirname(f), s).startsWith(path.join(lib, 'opentelemetry')))
        .map((s) => `${path.relative(root, f)}: ${s}`),
    );
    expect(found).to.deep.equal([]);
  });

  it('has @opentelemetry/api as an optional peer dependency and no runtime dependency', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg['dependencies'], 'dependencies').to.equal(undefined);
    expect(pkg['peerDependencies']).to.have.property('@opentelemetry/api');
    expect(pkg['peerDependenciesMeta']).to.deep.include({ '@opentelemetry/api': { optional: true } });
    expect((pkg['exports'] as Record<string, unknown>)['./opentelemetry']).to.deep.equal({
      types: './dist/opentelemetry/index.d.ts',
      import: './dist/opentelemetry/index.mjs',
      require: './dist/opentelemetry/index.js',
    });
  });
});
