/**
 * The package as users load it: `require('coney')` and `import ... from
 * 'coney'` from the built dist/, the docs/API.md names at the root, the
 * version reported to the broker, and what `npm pack` publishes: declarations
 * without the @internal plumbing, no source map pointing at an unshipped
 * file, docs/API.md and the licence.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { VERSION } from '../lib';

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');

/**
 * Members the engine marks `@internal` (the channel/connection plumbing):
 * not one of these names may appear in the published declarations of the
 * root or the engine.
 */
const INTERNAL_NAMES = [
  'sendMethod',
  'sendPublish',
  'onMethodFrame',
  'onHeaderFrame',
  'onBodyFrame',
  'onBadHeaderFrame',
  'channelClosed',
  'protocolError',
  'addEndHook',
  'closeForConnection',
  'onConnectionClosed',
  'ChannelHost',
  'sendFrame',
  'installRecovery',
  'openRecoveryChannel',
  'restoreChannels',
  'completeRecovery',
  'abandonRecovery',
  'onConnectionLost',
  'openAfterRecovery',
];

/** Every file under `dir`, as paths relative to `base`, with `/` separators. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? walk(full, base) : [path.relative(base, full).split(path.sep).join('/')];
  });
}

/** The name of a declaration as `Container.member` (or `name` at the top level, `Class.constructor`). */
function declarationKey(node: ts.Node): string | undefined {
  const own = ts.isConstructorDeclaration(node)
    ? 'constructor'
    : (node as ts.NamedDeclaration).name !== undefined && ts.isIdentifier((node as ts.NamedDeclaration).name!)
      ? ((node as ts.NamedDeclaration).name as ts.Identifier).text
      : undefined;
  if (own === undefined) return undefined;
  const parent = node.parent;
  if ((ts.isClassLike(parent) || ts.isInterfaceDeclaration(parent)) && parent.name !== undefined) return `${parent.name.text}.${own}`;
  return own;
}

/** The keys of the declarations of a source or declaration file, each with whether it is tagged `@internal`. */
function declarations(file: string): Array<{ key: string; internal: boolean }> {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const out: Array<{ key: string; internal: boolean }> = [];
  const visit = (node: ts.Node): void => {
    if (ts.isVariableStatement(node)) {
      const internal = ts.getJSDocTags(node).some((t) => t.tagName.text === 'internal');
      for (const d of node.declarationList.declarations) if (ts.isIdentifier(d.name)) out.push({ key: d.name.text, internal });
    } else if (
      ts.isClassDeclaration(node) ||
      ts.isInterfaceDeclaration(node) ||
      ts.isTypeAliasDeclaration(node) ||
      ts.isFunctionDeclaration(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isMethodSignature(node) ||
      ts.isPropertyDeclaration(node) ||
      ts.isPropertySignature(node) ||
      ts.isGetAccessorDeclaration(node) ||
      ts.isSetAccessorDeclaration(node) ||
      ts.isConstructorDeclaration(node)
    ) {
      const key = declarationKey(node);
      if (key !== undefined) out.push({ key, internal: ts.getJSDocTags(node).some((t) => t.tagName.text === 'internal') });
    }
    // Members of classes and interfaces, not the insides of function bodies.
    if (ts.isSourceFile(node) || ts.isClassLike(node) || ts.isInterfaceDeclaration(node) || ts.isModuleDeclaration(node) || ts.isModuleBlock(node)) {
      ts.forEachChild(node, visit);
    }
  };
  visit(source);
  return out;
}

/** What `npm pack` would put in the package, as paths relative to the package root. */
function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', timeout: 60000 });
  const [pack] = JSON.parse(out) as Array<{ files: Array<{ path: string }> }>;
  return pack.files.map((f) => f.path);
}

/** Every runtime name docs/API.md promises at the package root. */
const API_NAMES = [
  'SelectConnection',
  'ConnectionParameters',
  'URLParameters',
  'PlainCredentials',
  'ExternalCredentials',
  'NodeIOLoop',
  'VirtualIOLoop',
  'StreamIOLoop',
  'BasicProperties',
  'Decimal',
  'spec',
  'AMQPError',
  'AMQPConnectionError',
  'ConnectionOpenAborted',
  'StreamLostError',
  'IncompatibleProtocolError',
  'AuthenticationError',
  'ProbableAuthenticationError',
  'ProbableAccessDeniedError',
  'AMQPHeartbeatTimeout',
  'ConnectionBlockedTimeout',
  'ConnectionClosed',
  'ConnectionClosedByBroker',
  'ConnectionClosedByClient',
  'ConnectionWrongStateError',
  'AMQPChannelError',
  'ChannelClosed',
  'ChannelClosedByBroker',
  'ChannelClosedByClient',
  'ChannelWrongStateError',
  'DuplicateConsumerTag',
  'UnroutableError',
  'NackError',
  'FrameError',
  'UndecodableMessageError',
  'InvalidArgumentError',
  'SocketConnectError',
  'StackTimeoutError',
  'ConnectionWorkflowFailed',
  'NoFreeChannelsError',
  'Connection',
  'Channel',
  'DuplexTransport',
  'VirtualPeer',
  'Typed',
  'TypedValue',
  'Reader',
  'Writer',
  'FrameParser',
  'FrameWriter',
  'PROTOCOL_HEADER',
  'VERSION',
  'connect',
  'AsyncConnection',
  'AsyncChannel',
  'Message',
  'RpcTimeoutError',
  'RecoveryFailedError',
  'TokenCredentials',
  'TokenProviderError',
  'ConnectionStats',
  'STAT_NAMES',
  'CHANNEL_NAMES',
  'channelFromPort',
  'PortChannel',
  'PortMessage',
  'IOThreadConnection',
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

  it('loads with require("coney") and exposes every docs/API.md name', () => {
    const out = runNode(['-e', `const c = require('coney'); console.log(JSON.stringify(Object.keys(c)))`]);
    const keys = JSON.parse(out) as string[];
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

  it('loads coney/opentelemetry with require and import (the same class), while coney alone loads no @opentelemetry module', () => {
    const cjs = runNode([
      '-e',
      `const core = require('coney');
       const loaded = () => Object.keys(require.cache).filter((f) => f.includes('@opentelemetry'));
       const before = loaded().length;
       const otel = require('coney/opentelemetry');
       console.log(JSON.stringify({ before, after: loaded().length > 0, keys: Object.keys(otel).sort(), core: typeof core.SelectConnection }));`,
    ]);
    expect(JSON.parse(cjs)).to.deep.equal({
      before: 0,
      after: true,
      keys: ['ATTR', 'ConeyInstrumentation', 'INSTRUMENTATION_NAME', 'instrumentConey'],
      core: 'function',
    });
    const script = `
      import { instrumentConey, ConeyInstrumentation } from 'coney/opentelemetry';
      import { createRequire } from 'node:module';
      const cjs = createRequire(import.meta.url)('coney/opentelemetry');
      const instrumentation = instrumentConey();
      const ok = ConeyInstrumentation === cjs.ConeyInstrumentation && instrumentation instanceof cjs.ConeyInstrumentation && instrumentation.isEnabled;
      instrumentation.disable();
      console.log(ok ? 'same' : 'different');`;
    expect(runNode(['--input-type=module', '-e', script]).trim()).to.equal('same');
  });

  it('says what to install when coney/opentelemetry is loaded without @opentelemetry/api', () => {
    // dist/ copied where no node_modules is above it: the optional peer cannot be found
    const dir = mkdtempSync(path.join(tmpdir(), 'coney-no-otel-'));
    try {
      cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
      const out = runNode([
        '-e',
        `try { require(${JSON.stringify(path.join(dir, 'dist', 'opentelemetry', 'index.js'))}); console.log('loaded'); }
         catch (err) { console.log(JSON.stringify({ code: err.code, message: err.message })); }`,
      ]);
      const { code, message } = JSON.parse(out) as { code: string; message: string };
      expect(code).to.equal('MODULE_NOT_FOUND');
      expect(message).to.match(/coney\/opentelemetry needs the package @opentelemetry\/api .*npm install @opentelemetry\/api/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports the package.json version to the broker', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).to.equal(pkg.version);
  });

  it('ships type declarations', () => {
    expect(existsSync(path.join(root, 'dist', 'index.d.ts'))).to.equal(true);
  });

  it('leaves the @internal plumbing out of the published declarations', () => {
    const files = [
      'index.d.ts',
      ...readdirSync(path.join(dist, 'engine'))
        .filter((f) => f.endsWith('.d.ts'))
        .map((f) => `engine/${f}`),
    ];
    for (const file of files) {
      const text = readFileSync(path.join(dist, file), 'utf8');
      for (const name of INTERNAL_NAMES) expect(new RegExp(`\\b${name}\\b`).test(text), `${name} in dist/${file}`).to.equal(false);
    }
    // Every declaration tagged @internal anywhere in lib/ is missing from its .d.ts (stripInternal).
    let checked = 0;
    for (const rel of walk(path.join(root, 'lib')).filter((f) => f.endsWith('.ts'))) {
      const internal = declarations(path.join(root, 'lib', rel))
        .filter((d) => d.internal)
        .map((d) => d.key);
      if (internal.length === 0) continue;
      const published = new Set(declarations(path.join(dist, rel.replace(/\.ts$/, '.d.ts'))).map((d) => d.key));
      for (const key of internal) expect(published.has(key), `@internal ${key} of lib/${rel} in dist`).to.equal(false);
      checked += internal.length;
    }
    expect(checked, '@internal declarations found in lib/').to.be.greaterThan(10);
  });

  it('has declarations that type-check in a strict project without skipLibCheck', function () {
    this.timeout(60000);
    const dir = mkdtempSync(path.join(tmpdir(), 'coney-dts-'));
    try {
      const file = path.join(dir, 'user.ts');
      writeFileSync(
        file,
        [
          `import { SelectConnection, type Channel, type Callback, spec } from ${JSON.stringify(path.join(dist, 'index'))};`,
          'export function use(connection: SelectConnection, cb: Callback<spec.Queue.DeclareOk>): Channel {',
          "  return connection.channel((err, channel) => { if (err) return; channel.queueDeclare('', {}, cb); });",
          '}',
          `import { instrumentConey, type ConeyInstrumentationConfig } from ${JSON.stringify(path.join(dist, 'opentelemetry', 'index'))};`,
          "const config: ConeyInstrumentationConfig = { parentFromMessage: true, publishHook: (span, context) => span.setAttribute('x', context.exchange) };",
          'export const instrumentation = instrumentConey(config);',
          '',
        ].join('\n'),
      );
      const program = ts.createProgram([file], {
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.CommonJS,
        moduleResolution: ts.ModuleResolutionKind.Node10,
        types: ['node'],
        typeRoots: [path.join(root, 'node_modules', '@types')],
      });
      const messages = ts.getPreEmitDiagnostics(program).map((d) => {
        const where = d.file ? `${path.relative(root, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
        return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
      expect(messages).to.deep.equal([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ships every file a source map in dist/ points at (or no source maps)', function () {
    this.timeout(60000);
    const packed = new Set(packedFiles());
    const problems: string[] = [];
    for (const rel of walk(dist)) {
      const file = `dist/${rel}`;
      if (rel.endsWith('.map')) {
        if (!packed.has(file)) continue; // not published: nobody follows it
        const map = JSON.parse(readFileSync(path.join(root, file), 'utf8')) as { sourceRoot?: string; sources?: string[] };
        for (const source of map.sources ?? []) {
          const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), map.sourceRoot ?? '', source));
          if (!packed.has(target)) problems.push(`${file} maps to ${target}, which is not in the package`);
        }
        continue;
      }
      if (!/\.(c|m)?js$|\.d\.(c|m)?ts$/.test(rel) || !packed.has(file)) continue;
      for (const m of readFileSync(path.join(root, file), 'utf8').matchAll(/[#@] sourceMappingURL=(\S+)/g)) {
        if (m[1].startsWith('data:')) continue; // inline: nothing to ship
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]));
        if (!packed.has(target)) problems.push(`${file} points at ${target}, which is not in the package`);
      }
    }
    expect(problems).to.deep.equal([]);
  });

  it('ships the reference the README and the TSDoc cite, and the licence', function () {
    this.timeout(60000);
    const packed = packedFiles();
    for (const file of [
      'docs/API.md',
      'LICENSE',
      'README.md',
      'dist/index.js',
      'dist/index.mjs',
      'dist/index.d.ts',
      'dist/opentelemetry/index.js',
      'dist/opentelemetry/index.mjs',
      'dist/opentelemetry/index.d.ts',
    ]) {
      expect(packed, file).to.include(file);
    }
  });
});
