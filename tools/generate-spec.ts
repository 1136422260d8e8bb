/**
 * Generates `lib/wire/spec.ts` from the AMQP 0-9-1 specification XML
 * (RabbitMQ's extended edition, installed under /usr/share/amqp/specs) merged
 * with `tools/spec-rabbitmq-extensions.xml` (RabbitMQ methods newer than that
 * XML, plus errata).
 *
 *   npm run generate          # writes lib/wire/spec.ts
 *   tsx tools/generate-spec.ts --check   # exits 1 when lib/wire/spec.ts is stale
 *
 * `generateSpecSource()` returns the same text in memory (the staleness test
 * compares it with the committed file). The XML reader below is a small
 * dependency-free parser, sufficient for these files: elements, attributes,
 * comments, processing instructions, CDATA, character data and the standard
 * entities.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** The installed specification XML. */
export const SPEC_XML = '/usr/share/amqp/specs/0-9-1-rabbit/amqp0-9-1.stripped.extended.xml';
/** Our additions, same format. */
export const EXTENSIONS_XML = join(__dirname, 'spec-rabbitmq-extensions.xml');
/** The generated module. */
export const OUTPUT = join(__dirname, '..', 'lib', 'wire', 'spec.ts');

// ---------------------------------------------------------------------------
// A tiny XML parser

/** One XML element. */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated character data directly inside this element. */
  text: string;
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_m, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e];
  });
}

/** Parses an XML document and returns its root element. Throws on malformed input. */
export function parseXml(src: string, file = '<xml>'): XmlElement {
  const token =
    /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<!\[CDATA\[([\s\S]*?)\]\]>|<\/([A-Za-z_][\w.:-]*)\s*>|<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)|(<)/g;
  const attr = /([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
  const root: XmlElement = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  const line = (i: number) => src.slice(0, i).split('\n').length;
  let m: RegExpExecArray | null;
  while ((m = token.exec(src)) !== null) {
    const top = stack[stack.length - 1];
    if (m[1] !== undefined) top.text += m[1];
    else if (m[2] !== undefined) {
      if (top.name !== m[2]) throw new Error(`${file}:${line(m.index)}: </${m[2]}> closes <${top.name}>`);
      stack.pop();
    } else if (m[3] !== undefined) {
      const el: XmlElement = { name: m[3], attrs: {}, children: [], text: '' };
      let a: RegExpExecArray | null;
      attr.lastIndex = 0;
      while ((a = attr.exec(m[4])) !== null) el.attrs[a[1]] = decodeEntities(a[2] ?? a[3] ?? '');
      top.children.push(el);
      if (m[5] !== '/') stack.push(el);
    } else if (m[6] !== undefined) {
      top.text += decodeEntities(m[6]);
    } else if (m[7] !== undefined) {
      throw new Error(`${file}:${line(m.index)}: malformed markup`);
    }
  }
  if (stack.length !== 1) throw new Error(`${file}: <${stack[stack.length - 1].name}> is not closed`);
  const els = root.children;
  if (els.length !== 1) throw new Error(`${file}: expected one root element, found ${els.length}`);
  return els[0];
}

// ---------------------------------------------------------------------------
// The model

type WireType = 'bit' | 'octet' | 'short' | 'long' | 'longlong' | 'shortstr' | 'longstr' | 'timestamp' | 'table';
const WIRE_TYPES: readonly string[] = ['bit', 'octet', 'short', 'long', 'longlong', 'shortstr', 'longstr', 'timestamp', 'table'];

interface FieldDef {
  /** The XML name, e.g. `no-wait`. */
  name: string;
  type: WireType;
  reserved: boolean;
  doc: string;
}

interface MethodDef {
  name: string;
  index: number;
  synchronous: boolean;
  content: boolean;
  responses: string[];
  fields: FieldDef[];
  /** Who sends it: the chassis elements say who implements (receives) it. */
  receivers: string[];
  deprecated: boolean;
  doc: string;
}

interface ClassDef {
  name: string;
  index: number;
  methods: MethodDef[];
  properties: FieldDef[];
  doc: string;
}

interface ConstantDef {
  name: string;
  value: number;
  cls: string;
  doc: string;
}

interface SpecModel {
  major: number;
  minor: number;
  revision: number;
  port: number;
  constants: ConstantDef[];
  domains: Map<string, string>;
  classes: ClassDef[];
}

function docOf(el: XmlElement): string {
  const d = el.children.find((c) => c.name === 'doc' && !c.attrs.type);
  if (!d) return '';
  const text = d.text.replace(/\s+/g, ' ').trim();
  // first sentence only: the generated file stays small
  const m = /^(.*?[.!?])(\s|$)/.exec(text);
  return m ? m[1] : text;
}

function int(el: XmlElement, attr: string, where: string): number {
  const v = el.attrs[attr];
  if (v === undefined || !/^\d+$/.test(v)) throw new Error(`${where}: attribute ${attr}="${v}" is not an integer`);
  return Number(v);
}

function readModel(root: XmlElement, file: string, baseDomains?: Map<string, string>): SpecModel {
  if (root.name !== 'amqp') throw new Error(`${file}: root element is <${root.name}>, expected <amqp>`);
  const domains = new Map<string, string>(baseDomains);
  for (const d of root.children.filter((c) => c.name === 'domain')) domains.set(d.attrs.name, d.attrs.type);
  const resolve = (f: XmlElement, where: string): WireType => {
    let t: string | undefined = f.attrs.type ?? f.attrs.domain;
    const seen = new Set<string>();
    while (t !== undefined && !WIRE_TYPES.includes(t)) {
      if (seen.has(t)) throw new Error(`${where}: domain cycle at ${t}`);
      seen.add(t);
      t = domains.get(t);
    }
    if (t === undefined) throw new Error(`${where}: unknown type/domain ${f.attrs.type ?? f.attrs.domain}`);
    return t as WireType;
  };
  const fieldsOf = (el: XmlElement, where: string): FieldDef[] =>
    el.children
      .filter((c) => c.name === 'field')
      .map((f) => ({
        name: f.attrs.name,
        type: resolve(f, `${where}.${f.attrs.name}`),
        reserved: f.attrs.reserved === '1',
        doc: docOf(f),
      }));
  const classes: ClassDef[] = root.children
    .filter((c) => c.name === 'class')
    .map((c) => {
      const where = `${file}: class ${c.attrs.name}`;
      return {
        name: c.attrs.name,
        index: int(c, 'index', where),
        doc: docOf(c),
        properties: fieldsOf(c, `${c.attrs.name}`),
        methods: c.children
          .filter((m) => m.name === 'method')
          .map((m) => ({
            name: m.attrs.name,
            index: int(m, 'index', `${where}.${m.attrs.name}`),
            synchronous: m.attrs.synchronous === '1',
            content: m.attrs.content === '1',
            deprecated: m.attrs.deprecated === '1',
            responses: m.children.filter((r) => r.name === 'response').map((r) => r.attrs.name),
            receivers: m.children.filter((r) => r.name === 'chassis').map((r) => r.attrs.name),
            fields: fieldsOf(m, `${c.attrs.name}.${m.attrs.name}`),
            doc: docOf(m),
          })),
      };
    });
  const constants: ConstantDef[] = root.children
    .filter((c) => c.name === 'constant')
    .map((c) => ({ name: c.attrs.name, value: int(c, 'value', `${file}: constant ${c.attrs.name}`), cls: c.attrs.class ?? '', doc: docOf(c) }));
  return {
    major: Number(root.attrs.major),
    minor: Number(root.attrs.minor),
    revision: Number(root.attrs.revision),
    port: Number(root.attrs.port ?? 5672),
    constants,
    domains,
    classes,
  };
}

/** Merges `ext` into `base` (in place): new constants, classes and methods are added, existing methods gain attributes and responses. */
function merge(base: SpecModel, ext: SpecModel): void {
  for (const c of ext.constants) {
    const old = base.constants.find((o) => o.name === c.name);
    if (!old) base.constants.push(c);
    else if (old.value !== c.value) throw new Error(`extension constant ${c.name}=${c.value} conflicts with ${old.value}`);
  }
  for (const [k, v] of ext.domains) if (!base.domains.has(k)) base.domains.set(k, v);
  for (const xc of ext.classes) {
    const bc = base.classes.find((c) => c.name === xc.name);
    if (!bc) {
      base.classes.push(xc);
      continue;
    }
    if (bc.index !== xc.index) throw new Error(`extension class ${xc.name} has index ${xc.index}, spec says ${bc.index}`);
    for (const xm of xc.methods) {
      const bm = bc.methods.find((m) => m.name === xm.name);
      if (!bm) {
        if (bc.methods.some((m) => m.index === xm.index)) throw new Error(`extension method ${xc.name}.${xm.name}: index ${xm.index} taken`);
        bc.methods.push(xm);
        continue;
      }
      if (bm.index !== xm.index) throw new Error(`extension method ${xc.name}.${xm.name} has index ${xm.index}, spec says ${bm.index}`);
      if (xm.fields.length > 0) {
        const same =
          xm.fields.length === bm.fields.length && xm.fields.every((f, i) => f.name === bm.fields[i].name && f.type === bm.fields[i].type);
        if (!same) throw new Error(`extension method ${xc.name}.${xm.name}: fields differ from the spec's`);
      }
      bm.synchronous ||= xm.synchronous;
      bm.content ||= xm.content;
      for (const r of xm.responses) if (!bm.responses.includes(r)) bm.responses.push(r);
      for (const r of xm.receivers) if (!bm.receivers.includes(r)) bm.receivers.push(r);
      if (!bm.doc) bm.doc = xm.doc;
    }
  }
  base.classes.sort((a, b) => a.index - b.index);
  for (const c of base.classes) c.methods.sort((a, b) => a.index - b.index);
}

/** Reads and merges both XML files. */
export function loadSpec(specXml = SPEC_XML, extensionsXml = EXTENSIONS_XML): SpecModel {
  const base = readModel(parseXml(readFileSync(specXml, 'utf8'), specXml), specXml);
  const ext = readModel(parseXml(readFileSync(extensionsXml, 'utf8'), extensionsXml), extensionsXml, base.domains);
  merge(base, ext);
  return base;
}

// ---------------------------------------------------------------------------
// Naming

const pascal = (s: string) => s.replace(/(^|-)([a-z0-9])/g, (_m, _d, c: string) => c.toUpperCase());
const camel = (s: string) => s.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
const upper = (s: string) => s.replace(/-/g, '_').toUpperCase();
const hex8 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

/**
 * Property names that differ from camelCase(xml name): reserved fields get
 * their historical (0-8 / pika) names; `nowait` follows `no-wait`; the
 * `class-id`/`method-id` fields of the close methods would collide with the
 * method's own identity getters.
 */
const FIELD_NAMES: Record<string, string> = {
  'connection.open.reserved-1': 'capabilities',
  'connection.open.reserved-2': 'insist',
  'connection.open-ok.reserved-1': 'knownHosts',
  'connection.close.class-id': 'failingClassId',
  'connection.close.method-id': 'failingMethodId',
  'channel.open.reserved-1': 'outOfBand',
  'channel.open-ok.reserved-1': 'channelId',
  'channel.close.class-id': 'failingClassId',
  'channel.close.method-id': 'failingMethodId',
  'basic.get-empty.reserved-1': 'clusterId',
  'confirm.select.nowait': 'noWait',
  'basic.reserved': 'clusterId',
};

/** Non-zero defaults (from RabbitMQ's rabbitmq-codegen JSON and pika); the rest default to 0 / '' / false / {}. */
const DEFAULTS: Record<string, string | number | boolean> = {
  'connection.start.version-minor': 9,
  'connection.start.mechanisms': 'PLAIN',
  'connection.start.locales': 'en_US',
  'connection.start-ok.mechanism': 'PLAIN',
  'connection.start-ok.locale': 'en_US',
  'connection.open.virtual-host': '/',
  'exchange.declare.type': 'direct',
  'basic.reject.requeue': true,
  'basic.nack.requeue': true,
};

/** longstr fields that carry bytes (SASL data): typed `Buffer | string`, decoded as a Buffer. */
const BINARY_FIELDS = new Set(['connection.start-ok.response', 'connection.secure.challenge', 'connection.secure-ok.response']);

const IDENTITY_MEMBERS = new Set(['classId', 'methodId', 'index', 'name', 'synchronous', 'hasContent', 'replies', 'encode', 'constructor']);

function propName(owner: string, f: FieldDef): string {
  const key = `${owner}.${f.name}`;
  if (FIELD_NAMES[key]) return FIELD_NAMES[key];
  if (f.reserved && f.type === 'short' && /^reserved-\d+$/.test(f.name)) return 'ticket';
  if (/^reserved/.test(f.name)) throw new Error(`no name for reserved field ${key}: add it to FIELD_NAMES`);
  return camel(f.name);
}

const TS_TYPE: Record<WireType, string> = {
  bit: 'boolean',
  octet: 'number',
  short: 'number',
  long: 'number',
  longlong: 'number',
  shortstr: 'string',
  longstr: 'string',
  timestamp: 'Date',
  table: 'FieldTable',
};

function defaultLiteral(key: string, t: WireType): string {
  const d = DEFAULTS[key];
  if (d !== undefined) return JSON.stringify(d).replace(/"/g, "'");
  switch (t) {
    case 'bit':
      return 'false';
    case 'shortstr':
    case 'longstr':
      return "''";
    case 'timestamp':
      return 'new Date(0)';
    case 'table':
      return '{}';
    default:
      return '0';
  }
}

// ---------------------------------------------------------------------------
// Code emission

/** The Reader call that decodes each wire type (bits are unpacked separately). */
const READ_EXPR: Record<WireType, string> = {
  bit: '',
  octet: 'r.octet()',
  short: 'r.short()',
  long: 'r.long()',
  longlong: 'r.longlong()',
  shortstr: 'r.shortstr()',
  longstr: 'r.longstrAsString()',
  timestamp: 'r.timestamp()',
  table: 'r.table()',
};

interface EncField {
  prop: string;
  type: WireType;
  /** Expression of the value. */
  expr: string;
  /** For error messages, e.g. `basic.publish field exchange`. */
  what: string;
  /** Method name and property for badInt. */
  owner: string;
}

/**
 * Encoding statements for `fields` (already grouped: a `bit` run is given as
 * one entry of `bits`). Uses locals `b` (buffer), `pos`, `v`; `w` is the Writer.
 */
type EncOp =
  | { kind: 'fixed'; size: number; lines: string[] }
  | { kind: 'call'; lines: string[] };

function encodeOps(fields: EncField[]): EncOp[] {
  const ops: EncOp[] = [];
  let i = 0;
  while (i < fields.length) {
    const f = fields[i];
    if (f.type === 'bit') {
      const run: EncField[] = [];
      while (i < fields.length && fields[i].type === 'bit' && run.length < 8) run.push(fields[i++]);
      const expr = run.map((r, k) => `(${r.expr} ? ${1 << k} : 0)`).join(' | ');
      ops.push({ kind: 'fixed', size: 1, lines: [`b[pos++] = ${expr};`] });
      continue;
    }
    i++;
    switch (f.type) {
      case 'octet':
        ops.push({
          kind: 'fixed',
          size: 1,
          lines: [`v = ${f.expr};`, `if (typeof v !== 'number' || (v & 0xff) !== v) throw badInt('${f.owner}', '${f.prop}', v, 'octet');`, `b[pos++] = v;`],
        });
        break;
      case 'short':
        ops.push({
          kind: 'fixed',
          size: 2,
          lines: [
            `v = ${f.expr};`,
            `if (typeof v !== 'number' || (v & 0xffff) !== v) throw badInt('${f.owner}', '${f.prop}', v, 'short');`,
            `b[pos] = v >>> 8;`,
            `b[pos + 1] = v;`,
            `pos += 2;`,
          ],
        });
        break;
      case 'long':
        ops.push({
          kind: 'fixed',
          size: 4,
          lines: [`v = ${f.expr};`, `if (typeof v !== 'number' || v >>> 0 !== v) throw badInt('${f.owner}', '${f.prop}', v, 'long');`, `pos = writeLongAt(b, pos, v);`],
        });
        break;
      case 'longlong':
        ops.push({ kind: 'fixed', size: 8, lines: [`pos = writeLonglong(b, pos, ${f.expr}, '${f.what}');`] });
        break;
      case 'timestamp':
        ops.push({ kind: 'fixed', size: 8, lines: [`pos = writeTimestamp(b, pos, ${f.expr}, '${f.what}');`] });
        break;
      case 'shortstr':
        ops.push({ kind: 'fixed', size: 256, lines: [`pos = writeShortstr(b, pos, ${f.expr}, '${f.what}');`] });
        break;
      case 'longstr':
        ops.push({ kind: 'call', lines: [`w.pos = pos;`, `w.longstr(${f.expr}, '${f.what}');`, `pos = w.pos;`] });
        break;
      case 'table':
        ops.push({ kind: 'call', lines: [`w.pos = pos;`, `encodeTable(w, ${f.expr}, '${f.what}');`, `pos = w.pos;`] });
        break;
      default:
        throw new Error(`unhandled type ${f.type}`);
    }
  }
  return ops;
}

/** Groups ops into segments; each segment of fixed ops gets one `ensure`. */
function emitOps(ops: EncOp[], firstPrefix: number, firstLines: string[], indent: string, wrap?: (op: EncOp, idx: number) => string[]): string[] {
  const out: string[] = [];
  let idx = 0;
  let first = true;
  while (idx < ops.length || first) {
    // a segment: consecutive fixed ops
    let size = first ? firstPrefix : 0;
    const seg: { op: EncOp; idx: number }[] = [];
    while (idx < ops.length && ops[idx].kind === 'fixed') {
      size += (ops[idx] as { size: number }).size;
      seg.push({ op: ops[idx], idx });
      idx++;
    }
    if (first) {
      out.push(`${indent}let pos = w.pos;`);
      out.push(`${indent}w.ensure(${size});`);
      out.push(`${indent}let b = w.buf;`);
      for (const l of firstLines) out.push(indent + l);
      first = false;
    } else if (seg.length > 0) {
      out.push(`${indent}w.pos = pos;`);
      out.push(`${indent}w.ensure(${size});`);
      out.push(`${indent}b = w.buf;`);
    }
    for (const s of seg) for (const l of wrap ? wrap(s.op, s.idx) : s.op.lines) out.push(indent + l);
    // calls
    while (idx < ops.length && ops[idx].kind === 'call') {
      for (const l of wrap ? wrap(ops[idx], idx) : ops[idx].lines) out.push(indent + l);
      idx++;
    }
  }
  out.push(`${indent}w.pos = pos;`);
  return out;
}

function decodeLines(fields: { prop: string; type: WireType; binary?: boolean }[], target: string, indent: string): string[] {
  const out: string[] = [];
  let i = 0;
  let bitVar = 0;
  while (i < fields.length) {
    const f = fields[i];
    if (f.type === 'bit') {
      const name = `bits${bitVar++}`;
      out.push(`${indent}const ${name} = r.octet();`);
      let k = 0;
      while (i < fields.length && fields[i].type === 'bit' && k < 8) {
        out.push(`${indent}${target}.${fields[i].prop} = (${name} & ${1 << k}) !== 0;`);
        i++;
        k++;
      }
      continue;
    }
    i++;
    out.push(`${indent}${target}.${f.prop} = ${f.binary ? 'r.longstr()' : READ_EXPR[f.type]};`);
  }
  return out;
}

function docComment(indent: string, text: string): string[] {
  text = text.replace(/\*\//g, '*\\/');
  const lines = text.split('\n');
  if (lines.length === 1) return [`${indent}/** ${text} */`];
  return [`${indent}/**`, ...lines.map((l) => (l ? `${indent} * ${l}` : `${indent} *`)), `${indent} */`];
}

function methodDoc(c: ClassDef, m: MethodDef, ns: string, byName: Map<string, string>): string {
  const fromServer = m.receivers.includes('client');
  const fromClient = m.receivers.includes('server');
  const sender = fromServer && fromClient ? 'either peer' : fromServer ? 'the broker' : fromClient ? 'the client' : 'a peer';
  let s = `\`${c.name}.${m.name}\` (class ${c.index}, method ${m.index}), sent by ${sender}`;
  if (m.content) s += '; carries content (a header frame and body frames follow)';
  if (m.synchronous && m.responses.length > 0) {
    s += `; synchronous: answered by ${m.responses.map((r) => `{@link ${ns}.${byName.get(`${c.name}.${r}`)}}`).join(' or ')}`;
  } else if (m.synchronous) s += '; a reply to a synchronous method';
  s += '.';
  if (m.deprecated) s += ' Deprecated.';
  if (m.doc) s += `\n\n${m.doc}`;
  return s;
}

/** Returns the TypeScript source of `lib/wire/spec.ts`. */
export function generateSpecSource(specXml = SPEC_XML, extensionsXml = EXTENSIONS_XML): string {
  const spec = loadSpec(specXml, extensionsXml);
  const out: string[] = [];
  const emit = (...lines: string[]) => out.push(...lines);

  const classNameOf = new Map<string, string>(); // 'queue.declare-ok' -> 'DeclareOk'
  for (const c of spec.classes) for (const m of c.methods) classNameOf.set(`${c.name}.${m.name}`, pascal(m.name));

  const rel = (p: string) => (p.startsWith('/usr/') ? p : relative(join(__dirname, '..'), p));
  emit(
    `// GENERATED by tools/generate-spec.ts from ${rel(specXml)} and ${rel(extensionsXml)}. Do not edit: run \`npm run generate\`.`,
    '/**',
    ` * The AMQP ${spec.major}-${spec.minor}-${spec.revision} protocol with RabbitMQ's extensions: one class per method,`,
    ' * {@link BasicProperties}, frame constants and reply codes.',
    ' *',
    ' * Every method class has statics and instance getters `classId`, `methodId`,',
    ' * `index` (`classId << 16 | methodId`), `synchronous`, `hasContent` and `replies`,',
    " * a static `methodName` / instance `name` such as `'queue.declare'`, a constructor",
    ' * taking `Partial` fields (missing ones take the spec default), `encode(w)` and',
    ' * `static decode(r)`. Field names are the camelCase of the XML names;',
    ' * reserved fields carry their historical names (`ticket`, `capabilities`, ...),',
    ' * and the `class-id`/`method-id` fields of `connection.close` and',
    ' * `channel.close` are `failingClassId`/`failingMethodId`.',
    ' * @packageDocumentation',
    ' */',
    `import { FrameError } from '../errors';`,
    `import { Reader, Writer, badInt, writeLongAt, writeLonglong, writeShortstr, writeTimestamp } from './codec';`,
    `import { encodeTable, type FieldTable } from './field-table';`,
    '',
    'export type { FieldTable };',
    '',
    `/** The protocol version these definitions describe. */`,
    `export const PROTOCOL_VERSION = { major: ${spec.major}, minor: ${spec.minor}, revision: ${spec.revision} } as const;`,
    `/** The IANA-assigned AMQP port. */`,
    `export const DEFAULT_PORT = ${spec.port};`,
    '',
  );

  // constants
  const frameConsts = spec.constants.filter((c) => !c.cls && !c.name.startsWith('reply-'));
  const replyConsts = spec.constants.filter((c) => c.cls || c.name.startsWith('reply-'));
  replyConsts.sort((a, b) => a.value - b.value);
  emit('// Frame constants');
  for (const c of frameConsts) {
    emit(...docComment('', c.doc || `\`${c.name}\``), `export const ${upper(c.name)} = ${c.value};`);
  }
  emit('', '// Reply codes');
  for (const c of replyConsts) {
    const kind = c.cls === 'hard-error' ? 'hard error (closes the connection)' : c.cls === 'soft-error' ? 'soft error (closes the channel)' : 'success';
    emit(...docComment('', `\`${c.name}\` (${c.value}): ${kind}.${c.doc ? ' ' + c.doc : ''}`), `export const ${upper(c.name)} = ${c.value};`);
  }
  emit(
    '',
    '/** Every reply code: its constant name and whether it is a hard (connection) error. */',
    'export const REPLY_CODES: Readonly<Record<number, { readonly name: string; readonly hardError: boolean }>> = {',
    ...replyConsts
      .slice()
      .sort((a, b) => a.value - b.value)
      .map((c) => `  ${c.value}: { name: '${upper(c.name)}', hardError: ${c.cls === 'hard-error'} },`),
    '};',
    '',
  );

  // interfaces
  emit(
    '/** The wire type of a method field or property. */',
    "export type AMQPType = 'bit' | 'octet' | 'short' | 'long' | 'longlong' | 'shortstr' | 'longstr' | 'timestamp' | 'table';",
    '',
    '/** Describes one field of a method (or one property). */',
    'export interface FieldInfo {',
    '  /** The property name, e.g. `noWait`. */',
    '  readonly name: string;',
    '  /** The name in the specification, e.g. `no-wait`. */',
    '  readonly amqpName: string;',
    '  readonly type: AMQPType;',
    '  /** A `longstr` carrying bytes: decoded as a Buffer. */',
    '  readonly binary: boolean;',
    '}',
    '',
    '/** What every method instance offers. */',
    'export interface AMQPMethod {',
    '  readonly classId: number;',
    '  readonly methodId: number;',
    '  /** `classId << 16 | methodId` */',
    '  readonly index: number;',
    "  /** e.g. `'queue.declare'` */",
    '  readonly name: string;',
    '  /** Whether the method expects a reply (or is one). */',
    '  readonly synchronous: boolean;',
    '  /** Whether content (header and body frames) follows the method. */',
    '  readonly hasContent: boolean;',
    '  /** The classes of the valid replies; empty when none is expected. */',
    '  readonly replies: readonly MethodClass[];',
    '  /** Writes the method payload: class id, method id, fields. */',
    '  encode(w: Writer): void;',
    '}',
    '',
    '/** A method class: the constructor plus its statics. */',
    'export interface MethodClass<M extends AMQPMethod = AMQPMethod> {',
    '  // eslint-disable-next-line @typescript-eslint/no-explicit-any',
    '  new (init?: any): M;',
    '  readonly classId: number;',
    '  readonly methodId: number;',
    '  readonly index: number;',
    '  readonly methodName: string;',
    '  readonly synchronous: boolean;',
    '  readonly hasContent: boolean;',
    '  readonly replies: readonly MethodClass[];',
    '  /** The fields, in wire order. */',
    '  readonly fields: readonly FieldInfo[];',
    '  /** Reads the fields (the ids have been consumed). */',
    '  decode(r: Reader): M;',
    '}',
    '',
  );

  const allMethods: { c: ClassDef; m: MethodDef; ns: string; cls: string }[] = [];
  const repliesConsts: string[] = [];

  for (const c of spec.classes) {
    const ns = pascal(c.name);
    emit(...docComment('', `Methods of the \`${c.name}\` class (${c.index}).${c.doc ? ' ' + c.doc : ''}`), `export namespace ${ns} {`);
    emit(`  /** The class id of \`${c.name}\`. */`, `  export const CLASS_ID = ${c.index};`, '');
    for (const m of c.methods) {
      const cls = pascal(m.name);
      const fullName = `${c.name}.${m.name}`;
      const index = (c.index << 16) | m.index;
      const fields = m.fields.map((f) => ({ f, prop: propName(fullName, f), binary: BINARY_FIELDS.has(`${fullName}.${f.name}`) }));
      const tsType = (x: { f: FieldDef; binary: boolean }) => (x.binary ? 'Buffer | string' : TS_TYPE[x.f.type]);
      for (const { prop } of fields) {
        if (IDENTITY_MEMBERS.has(prop)) throw new Error(`${fullName}: field ${prop} collides with a method member; rename it in FIELD_NAMES`);
      }
      const replies = m.responses.map((r) => {
        const rc = classNameOf.get(`${c.name}.${r}`);
        if (!rc) throw new Error(`${fullName}: unknown response ${r}`);
        return `${ns}.${rc}`;
      });
      const rconst = `R_${c.name}_${m.name}`.replace(/-/g, '_');
      repliesConsts.push(`const ${rconst}: readonly MethodClass[] = Object.freeze([${replies.join(', ')}]);`);
      allMethods.push({ c, m, ns, cls });

      // fields interface
      emit(`  /** The fields of {@link ${ns}.${cls}}. */`, `  export interface ${cls}Fields {`);
      for (const x of fields) {
        const { f, prop } = x;
        emit(`    /** \`${f.name}\` (${f.type}${f.reserved ? ', reserved' : ''})${f.doc ? ': ' + f.doc : ''} */`, `    ${prop}: ${tsType(x)};`);
      }
      emit('  }', '');

      emit(...docComment('  ', methodDoc(c, m, ns, classNameOf)));
      emit(`  export class ${cls} implements AMQPMethod, ${cls}Fields {`);
      emit(
        `    static readonly classId = ${c.index};`,
        `    static readonly methodId = ${m.index};`,
        `    static readonly index = ${hex8(index)};`,
        `    static readonly methodName = '${fullName}';`,
        `    static readonly synchronous = ${m.synchronous};`,
        `    static readonly hasContent = ${m.content};`,
        ...(fields.length === 0
          ? [`    static readonly fields: readonly FieldInfo[] = Object.freeze([]);`]
          : [
              `    static readonly fields: readonly FieldInfo[] = Object.freeze([`,
              ...fields.map(({ f, prop, binary }) => `      { name: '${prop}', amqpName: '${f.name}', type: '${f.type}', binary: ${binary} },`),
              `    ]);`,
            ]),
        `    static get replies(): readonly MethodClass[] {`,
        `      return ${rconst};`,
        `    }`,
        `    get classId(): ${c.index} {`,
        `      return ${c.index};`,
        `    }`,
        `    get methodId(): ${m.index} {`,
        `      return ${m.index};`,
        `    }`,
        `    get index(): ${hex8(index)} {`,
        `      return ${hex8(index)};`,
        `    }`,
        `    get name(): '${fullName}' {`,
        `      return '${fullName}';`,
        `    }`,
        `    get synchronous(): ${m.synchronous} {`,
        `      return ${m.synchronous};`,
        `    }`,
        `    get hasContent(): ${m.content} {`,
        `      return ${m.content};`,
        `    }`,
        `    get replies(): readonly MethodClass[] {`,
        `      return ${rconst};`,
        `    }`,
        '',
      );
      for (const x of fields) {
        const { f, prop } = x;
        emit(`    /** \`${f.name}\` (${f.type}${f.reserved ? ', reserved' : ''}) */`, `    ${prop}: ${tsType(x)};`);
      }
      if (fields.length > 0) emit('');
      // constructor
      if (fields.length === 0) {
        emit(`    constructor(init?: Partial<${cls}Fields>) {`, `      void init;`, `    }`, '');
      } else {
        emit(`    constructor(init?: Partial<${cls}Fields>) {`);
        for (const { f, prop, binary } of fields) {
          emit(`      this.${prop} = init?.${prop} ?? ${binary ? 'Buffer.alloc(0)' : defaultLiteral(`${fullName}.${f.name}`, f.type)};`);
        }
        emit('    }', '');
      }
      // encode
      const encFields: EncField[] = fields.map(({ f, prop }) => ({
        prop,
        type: f.type,
        expr: `this.${prop}`,
        what: `${fullName} field ${prop}`,
        owner: fullName,
      }));
      const ops = encodeOps(encFields);
      const needsV = encFields.some((f) => f.type === 'octet' || f.type === 'short' || f.type === 'long');
      emit(`    /** Writes the payload of a \`${fullName}\` method frame. */`, `    encode(w: Writer): void {`);
      if (needsV) emit(`      let v: number;`);
      emit(
        ...emitOps(ops, 4, [
          `b[pos] = ${c.index >>> 8};`,
          `b[pos + 1] = ${c.index & 0xff};`,
          `b[pos + 2] = ${m.index >>> 8};`,
          `b[pos + 3] = ${m.index & 0xff};`,
          `pos += 4;`,
        ], '      '),
      );
      emit('    }', '');
      // decode
      emit(`    /** Reads the fields of \`${fullName}\` (the ids have been consumed). */`, `    static decode(r: Reader): ${cls} {`);
      if (fields.length === 0) {
        emit(`      void r;`, `      return new ${cls}();`);
      } else {
        emit(`      const m = new ${cls}();`);
        emit(...decodeLines(fields.map(({ f, prop, binary }) => ({ prop, type: f.type, binary })), 'm', '      '));
        emit(`      return m;`);
      }
      emit('    }', '  }', '');
    }
    emit('}', '');
  }

  // union type
  emit(
    '/** Every method class instance (a discriminated union on `name` and `index`). */',
    'export type AnyMethod =',
    ...allMethods.map(({ ns, cls }, i) => `  | ${ns}.${cls}${i === allMethods.length - 1 ? ';' : ''}`),
    '',
    '/** Every method class, in class/method id order. */',
    'export const METHOD_CLASSES: readonly MethodClass[] = Object.freeze([',
    ...allMethods.map(({ ns, cls }) => `  ${ns}.${cls},`),
    ']);',
    '',
    '/** The method class of an index (`classId << 16 | methodId`), if known. */',
    'export const METHODS_BY_INDEX: ReadonlyMap<number, MethodClass> = new Map(METHOD_CLASSES.map((m) => [m.index, m]));',
    '',
    "/** The method class of a name such as `'basic.publish'`, if known. */",
    'export const METHODS_BY_NAME: ReadonlyMap<string, MethodClass> = new Map(METHOD_CLASSES.map((m) => [m.methodName, m]));',
    '',
    '/** The name of each class id. */',
    'export const CLASS_NAMES: Readonly<Record<number, string>> = {',
    ...spec.classes.map((c) => `  ${c.index}: '${c.name}',`),
    '};',
    '',
  );

  emit(...repliesConsts, '');

  emit(
    'function unknownMethod(id: number): FrameError {',
    '  const classId = id >>> 16;',
    '  const methodId = id & 0xffff;',
    '  const cls = CLASS_NAMES[classId];',
    '  return new FrameError(',
    '    cls === undefined',
    '      ? `unknown method: class id ${classId} is not an AMQP class (method id ${methodId})`',
    '      : `unknown method: method id ${methodId} of class ${classId} (${cls})`,',
    '  );',
    '}',
    '',
    '/**',
    ' * Decodes a method frame payload `buf[offset, end)` (class id, method id,',
    ' * fields). Throws FrameError for unknown ids or truncated fields.',
    ' */',
    'export function decodeMethod(buf: Buffer, offset: number, end: number): AnyMethod {',
    '  if (end - offset < 4) {',
    '    throw new FrameError(`truncated method frame: ${end - offset} byte(s) of payload, need at least 4 for the class and method ids`);',
    '  }',
    '  const id = buf[offset] * 0x1000000 + ((buf[offset + 1] << 16) | (buf[offset + 2] << 8) | buf[offset + 3]);',
    '  const r = new Reader(buf, offset + 4, end);',
    '  switch (id) {',
  );
  for (const { ns, cls, c, m } of allMethods) {
    emit(`    case ${hex8((c.index << 16) | m.index)}:`, `      return ${ns}.${cls}.decode(r);`);
  }
  emit('    default:', '      throw unknownMethod(id);', '  }', '}', '');

  // BasicProperties
  const basic = spec.classes.find((c) => c.name === 'basic');
  if (!basic) throw new Error('no basic class');
  const props = basic.properties.map((f) => ({ f, prop: propName('basic', f) }));
  const nWords = Math.max(1, Math.ceil(props.length / 15));
  const flagOf = (i: number) => ({ word: Math.floor(i / 15), bit: 1 << (15 - (i % 15)) });
  emit('/** The properties of a message: a plain object of these fields is accepted wherever properties are. */', 'export interface BasicPropertiesInit {');
  for (const { f, prop } of props) emit(`  /** \`${f.name}\` (${f.type}) */`, `  ${prop}?: ${TS_TYPE[f.type]};`);
  emit('}', '');
  emit(
    '/** What `util.inspect` prints for a BasicProperties: a same-named class without the custom hook. */',
    'const InspectedBasicProperties = class BasicProperties {};',
    '',
  );
  emit(
    '/**',
    ` * The content header properties of the \`basic\` class (${props.length} properties; an absent one is`,
    ' * `undefined`). `timestamp` is a Date with whole seconds on the wire.',
    ' */',
    'export class BasicProperties implements BasicPropertiesInit {',
    `  /** The class id whose content these properties describe (${basic.index}). */`,
    `  static readonly classId = ${basic.index};`,
    '  /** The properties, in flag order (bit 15 of the first flag word first). */',
    `  static readonly fields: readonly FieldInfo[] = Object.freeze([`,
    ...props.map(({ f, prop }) => `    { name: '${prop}', amqpName: '${f.name}', type: '${f.type}', binary: false },`),
    '  ]);',
    '',
  );
  for (const { f, prop } of props) emit(`  /** \`${f.name}\` (${f.type}) */`, `  ${prop}?: ${TS_TYPE[f.type]};`);
  emit('', '  constructor(init?: BasicPropertiesInit) {');
  for (const { prop } of props) emit(`    this.${prop} = init?.${prop} ?? undefined;`);
  emit(
    '  }',
    '',
    '  /** The present properties as a plain object. */',
    '  toJSON(): BasicPropertiesInit {',
    '    const o: Record<string, unknown> = {};',
    ...props.map(({ prop }) => `    if (this.${prop} !== undefined) o.${prop} = this.${prop};`),
    '    return o as BasicPropertiesInit;',
    '  }',
    '',
    "  /** Node's `util.inspect` shows the present properties only. */",
    "  [Symbol.for('nodejs.util.inspect.custom')](): object {",
    '    return Object.assign(new InspectedBasicProperties(), this.toJSON());',
    '  }',
    '',
    '  /**',
    '   * The name of the first key of `p` that is not a property name (`contentTyp`),',
    '   * or undefined. A switch, not a Set: it runs on every publish that has properties.',
    '   */',
    '  static unknownName(p: object): string | undefined {',
    '    for (const name in p) {',
    '      switch (name) {',
    ...props.map(({ prop }) => `        case '${prop}':`),
    '          break;',
    '        default:',
    '          return name;',
    '      }',
    '    }',
    '    return undefined;',
    '  }',
    '',
  );

  // encode
  const propEnc: EncField[] = props.map(({ f, prop }) => ({ prop, type: f.type, expr: prop, what: `property ${prop}`, owner: 'basic properties' }));
  // Each property is its own op (bits never occur among properties).
  if (propEnc.some((p) => p.type === 'bit')) throw new Error('bit properties are not supported');
  const pops = encodeOps(propEnc);
  const wrap = (op: EncOp, idx: number): string[] => {
    const { prop } = propEnc[idx];
    const { word, bit } = flagOf(idx);
    return [`if (${prop} != null) {`, `  f${word} |= 0x${bit.toString(16)};`, ...op.lines.map((l) => '  ' + l), '}'];
  };
  emit(
    '  /** Writes the property flags and the present properties (`p` may be undefined: no properties). */',
    '  static encode(w: Writer, p: BasicPropertiesInit | undefined): void {',
    '    if (p == null) {',
    `      w.ensure(${2 * nWords});`,
    ...Array.from({ length: nWords }, (_x, k) => [`      w.buf[w.pos + ${2 * k}] = ${k < nWords - 1 ? 0 : 0};`, `      w.buf[w.pos + ${2 * k + 1}] = ${k < nWords - 1 ? 1 : 0};`]).flat(),
    `      w.pos += ${2 * nWords};`,
    '      return;',
    '    }',
    '    let v: number;',
    ...props.map(({ prop }) => `    const ${prop} = p.${prop};`),
    ...Array.from({ length: nWords }, (_x, k) => `    let f${k} = ${k < nWords - 1 ? 1 : 0};`),
    ...emitOps(pops, 2 * nWords, ['const flagsAt = pos;', `pos += ${2 * nWords};`], '    ', wrap),
    ...Array.from({ length: nWords }, (_x, k) => [`    w.buf[flagsAt + ${2 * k}] = f${k} >>> 8;`, `    w.buf[flagsAt + ${2 * k + 1}] = f${k};`]).flat(),
    '  }',
    '',
  );
  // decode
  emit('  /** Reads the property flags and the present properties. */', '  static decode(r: Reader): BasicProperties {');
  for (let k = 0; k < nWords; k++) {
    const known = props.reduce((acc, _p, i) => (flagOf(i).word === k ? acc | flagOf(i).bit : acc), 0);
    const unknownMask = 0xfffe & ~known;
    if (k === 0) emit(`    const f0 = r.short();`);
    else emit(`    const f${k} = (f${k - 1} & 1) !== 0 ? r.short() : 0;`);
    if (unknownMask !== 0) {
      emit(
        `    if ((f${k} & 0x${unknownMask.toString(16)}) !== 0) {`,
        `      throw new FrameError(\`unknown basic property flag(s) 0x\${(f${k} & 0x${unknownMask.toString(16)}).toString(16)} in flag word ${k}\`);`,
        '    }',
      );
    }
  }
  emit(
    `    if ((f${nWords - 1} & 1) !== 0) {`,
    '      // further flag words may only announce properties this version does not know',
    '      let f: number;',
    '      do {',
    '        f = r.short();',
    "        if ((f & 0xfffe) !== 0) throw new FrameError(`unknown basic property flag(s) in a continuation word: 0x${f.toString(16)}`);",
    '      } while ((f & 1) !== 0);',
    '    }',
    '    const p = new BasicProperties();',
  );
  props.forEach(({ f, prop }, i) => {
    const { word, bit } = flagOf(i);
    emit(`    if ((f${word} & 0x${bit.toString(16)}) !== 0) p.${prop} = ${READ_EXPR[f.type]};`);
  });
  emit('    return p;', '  }', '}', '');

  return out.join('\n');
}

// ---------------------------------------------------------------------------
// CLI

if (require.main === module) {
  const src = generateSpecSource();
  if (process.argv.includes('--check')) {
    let old = '';
    try {
      old = readFileSync(OUTPUT, 'utf8');
    } catch {
      // missing counts as stale
    }
    if (old !== src) {
      console.error(`${relative(process.cwd(), OUTPUT)} is stale: run \`npm run generate\``);
      process.exit(1);
    }
    console.log(`${relative(process.cwd(), OUTPUT)} is up to date`);
  } else {
    writeFileSync(OUTPUT, src);
    console.log(`wrote ${relative(process.cwd(), OUTPUT)} (${src.length} bytes)`);
  }
}
