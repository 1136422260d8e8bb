/**
 * Generates `lib/wire/spec.ts` from the AMQP 0-9-1 specification XML
 * (RabbitMQ's extended edition, vendored in `tools/spec/`) merged with
 * `tools/spec-rabbitmq-extensions.xml` (RabbitMQ methods newer than that XML,
 * plus errata). It needs nothing but the repository and `npm ci`.
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
import { isAbsolute, join, relative } from 'node:path';

/**
 * The specification XML: RabbitMQ's extended edition of AMQP 0-9-1, vendored
 * unchanged from Debian's amqp-specs package (see tools/spec/README.md).
 */
export const SPEC_XML = join(__dirname, 'spec', 'amqp0-9-1.stripped.extended.xml');
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
  const d = el.children.find((c) => c.name === 'doc' && !c.attrs['type']);
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
  for (const d of root.children.filter((c) => c.name === 'domain')) domains.set(d.attrs['name'], d.attrs['type']);
  const resolve = (f: XmlElement, where: string): WireType => {
    let t: string | undefined = f.attrs['type'] ?? f.attrs['domain'];
    const seen = new Set<string>();
    while (t !== undefined && !WIRE_TYPES.includes(t)) {
      if (seen.has(t)) throw new Error(`${where}: domain cycle at ${t}`);
      seen.add(t);
      t = domains.get(t);
    }
    if (t === undefined) throw new Error(`${where}: unknown type/domain ${f.attrs['type'] ?? f.attrs['domain']}`);
    return t as WireType;
  };
  const fieldsOf = (el: XmlElement, where: string): FieldDef[] =>
    el.children
      .filter((c) => c.name === 'field')
      .map((f) => ({
        name: f.attrs['name'],
        type: resolve(f, `${where}.${f.attrs['name']}`),
        reserved: f.attrs['reserved'] === '1',
        doc: docOf(f),
      }));
  const classes: ClassDef[] = root.children
    .filter((c) => c.name === 'class')
    .map((c) => {
      const where = `${file}: class ${c.attrs['name']}`;
      return {
        name: c.attrs['name'],
        index: int(c, 'index', where),
        doc: docOf(c),
        properties: fieldsOf(c, `${c.attrs['name']}`),
        methods: c.children
          .filter((m) => m.name === 'method')
          .map((m) => ({
            name: m.attrs['name'],
            index: int(m, 'index', `${where}.${m.attrs['name']}`),
            synchronous: m.attrs['synchronous'] === '1',
            content: m.attrs['content'] === '1',
            deprecated: m.attrs['deprecated'] === '1',
            responses: m.children.filter((r) => r.name === 'response').map((r) => r.attrs['name']),
            receivers: m.children.filter((r) => r.name === 'chassis').map((r) => r.attrs['name']),
            fields: fieldsOf(m, `${c.attrs['name']}.${m.attrs['name']}`),
            doc: docOf(m),
          })),
      };
    });
  const constants: ConstantDef[] = root.children
    .filter((c) => c.name === 'constant')
    .map((c) => ({
      name: c.attrs['name'],
      value: int(c, 'value', `${file}: constant ${c.attrs['name']}`),
      cls: c.attrs['class'] ?? '',
      doc: docOf(c),
    }));
  return {
    major: Number(root.attrs['major']),
    minor: Number(root.attrs['minor']),
    revision: Number(root.attrs['revision']),
    port: Number(root.attrs['port'] ?? 5672),
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
        const same = xm.fields.length === bm.fields.length && xm.fields.every((f, i) => f.name === bm.fields[i].name && f.type === bm.fields[i].type);
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
 * The encoding of one field (a run of up to 8 `bit` fields is one op).
 * `fixed`: at most `size` bytes written through the locals `b` (the buffer)
 * and `pos`, with `v` as scratch. `call`: a Writer method that works on
 * `w.pos` itself and ensures its own room (longstr, table).
 */
type EncOp = { kind: 'fixed'; size: number; lines: string[] } | { kind: 'call'; call: string };

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
          lines: [
            `v = ${f.expr};`,
            `if (typeof v !== 'number' || (v & 0xff) !== v) throw badInt('${f.owner}', '${f.prop}', v, 'octet');`,
            `b[pos++] = v;`,
          ],
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
          lines: [
            `v = ${f.expr};`,
            `if (typeof v !== 'number' || v >>> 0 !== v) throw badInt('${f.owner}', '${f.prop}', v, 'long');`,
            `pos = writeLongAt(b, pos, v);`,
          ],
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
        ops.push({ kind: 'call', call: `w.longstr(${f.expr}, '${f.what}');` });
        break;
      case 'table':
        ops.push({ kind: 'call', call: `encodeTable(w, ${f.expr}, '${f.what}');` });
        break;
      default:
        throw new Error(`unhandled type ${f.type}`);
    }
  }
  return ops;
}

/**
 * The statements of `ops`: consecutive fixed ops form a segment with one
 * `w.ensure` for all of them (the first segment also covers `firstPrefix`
 * bytes written by `firstLines`).
 *
 * The position lives in the local `pos` during fixed ops and in `w.pos` during
 * calls; it is copied over only when the other side reads it next, so no store
 * is left whose value is never read: a call right after a call, or one that
 * ends the encoding, is not followed by `pos = w.pos`, and `w.pos = pos` is
 * written only when `pos` has moved since.
 *
 * With `wrap` each op runs only under a condition (`wrap` puts it inside an
 * `if`): a call then hands the position back to `pos` at once, since whether
 * it ran is known only at run time.
 */
function emitOps(
  ops: EncOp[],
  firstPrefix: number,
  firstLines: string[],
  indent: string,
  wrap?: (lines: string[], idx: number) => string[],
): string[] {
  const out: string[] = [];
  const push = (lines: string[], idx: number) => {
    for (const l of wrap ? wrap(lines, idx) : lines) out.push(indent + l);
  };
  /** Whether `w.pos` may be behind `pos` (a fixed op wrote through `pos` since the last copy). */
  let posAhead = false;
  let idx = 0;
  let first = true;
  while (idx < ops.length || first) {
    // a segment: consecutive fixed ops
    let size = first ? firstPrefix : 0;
    const seg: { lines: string[]; idx: number }[] = [];
    for (let op = ops[idx]; op?.kind === 'fixed'; op = ops[++idx]) {
      size += op.size;
      seg.push({ lines: op.lines, idx });
    }
    if (first) {
      out.push(`${indent}let pos = w.pos;`, `${indent}w.ensure(${size});`, `${indent}let b = w.buf;`, ...firstLines.map((l) => indent + l));
      posAhead = firstLines.length > 0;
      first = false;
    } else if (seg.length > 0) {
      // after calls: unconditional ones left the position in w.pos only
      if (!wrap) out.push(`${indent}pos = w.pos;`);
      if (posAhead) out.push(`${indent}w.pos = pos;`);
      out.push(`${indent}w.ensure(${size});`, `${indent}b = w.buf;`);
    }
    for (const s of seg) push(s.lines, s.idx);
    if (seg.length > 0) posAhead = true;
    // calls
    for (let op = ops[idx]; op?.kind === 'call'; op = ops[++idx]) {
      if (wrap) {
        push([`w.pos = pos;`, op.call, `pos = w.pos;`], idx);
        // a call that did not run leaves w.pos behind pos
        posAhead = true;
      } else {
        if (posAhead) out.push(`${indent}w.pos = pos;`);
        push([op.call], idx);
        posAhead = false;
      }
    }
  }
  if (posAhead) out.push(`${indent}w.pos = pos;`);
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

function methodDoc({ c, m, replies }: MethodGen): string {
  const fromServer = m.receivers.includes('client');
  const fromClient = m.receivers.includes('server');
  const sender = fromServer && fromClient ? 'either peer' : fromServer ? 'the broker' : fromClient ? 'the client' : 'a peer';
  let s = `\`${c.name}.${m.name}\` (class ${c.index}, method ${m.index}), sent by ${sender}`;
  if (m.content) s += '; carries content (a header frame and body frames follow)';
  if (m.synchronous && replies.length > 0) {
    s += `; synchronous: answered by ${replies.map((r) => `{@link ${r}}`).join(' or ')}`;
  } else if (m.synchronous) s += '; a reply to a synchronous method';
  s += '.';
  if (m.deprecated) s += ' Deprecated.';
  if (m.doc) s += `\n\n${m.doc}`;
  return s;
}

/** One method, with everything the emitters need resolved up front. */
interface MethodGen {
  c: ClassDef;
  m: MethodDef;
  /** The namespace (class) name, e.g. `Queue`. */
  ns: string;
  /** The class name, e.g. `DeclareOk`. */
  cls: string;
  /** e.g. `queue.declare-ok` */
  fullName: string;
  /** `classId << 16 | methodId` */
  index: number;
  fields: { f: FieldDef; prop: string; binary: boolean }[];
  /** The module-level constant holding the reply classes, e.g. `R_queue_declare`. */
  rconst: string;
  /** The reply classes, e.g. `['Queue.DeclareOk']`. */
  replies: string[];
}

/** Resolves names, replies and field properties of every method (and checks them), in class/method id order. */
function collectMethods(spec: SpecModel): MethodGen[] {
  const classNameOf = new Map<string, string>(); // 'queue.declare-ok' -> 'DeclareOk'
  for (const c of spec.classes) for (const m of c.methods) classNameOf.set(`${c.name}.${m.name}`, pascal(m.name));
  const methods: MethodGen[] = [];
  for (const c of spec.classes) {
    const ns = pascal(c.name);
    for (const m of c.methods) {
      const fullName = `${c.name}.${m.name}`;
      const fields = m.fields.map((f) => ({ f, prop: propName(fullName, f), binary: BINARY_FIELDS.has(`${fullName}.${f.name}`) }));
      for (const { prop } of fields) {
        if (IDENTITY_MEMBERS.has(prop)) throw new Error(`${fullName}: field ${prop} collides with a method member; rename it in FIELD_NAMES`);
      }
      const replies = m.responses.map((r) => {
        const rc = classNameOf.get(`${c.name}.${r}`);
        if (!rc) throw new Error(`${fullName}: unknown response ${r}`);
        return `${ns}.${rc}`;
      });
      methods.push({
        c,
        m,
        ns,
        cls: pascal(m.name),
        fullName,
        index: (c.index << 16) | m.index,
        fields,
        rconst: `R_${c.name}_${m.name}`.replace(/-/g, '_'),
        replies,
      });
    }
  }
  return methods;
}

/** The do-not-edit line, the module comment, the imports, the protocol version and port. */
function emitHeader(spec: SpecModel, specXml: string, extensionsXml: string): string[] {
  const root = join(__dirname, '..');
  // files inside the repository by their relative path, others as given
  const rel = (p: string) => {
    const r = relative(root, p);
    return r.startsWith('..') || isAbsolute(r) ? p : r;
  };
  return [
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
  ];
}

/** The frame constants, the reply code constants and REPLY_CODES. */
function emitConstants(spec: SpecModel): string[] {
  const out: string[] = [];
  const frameConsts = spec.constants.filter((c) => !c.cls && !c.name.startsWith('reply-'));
  const replyConsts = spec.constants.filter((c) => c.cls || c.name.startsWith('reply-')).sort((a, b) => a.value - b.value);
  out.push('// Frame constants');
  for (const c of frameConsts) {
    out.push(...docComment('', c.doc || `\`${c.name}\``), `export const ${upper(c.name)} = ${c.value};`);
  }
  out.push('', '// Reply codes');
  for (const c of replyConsts) {
    const kind =
      c.cls === 'hard-error' ? 'hard error (closes the connection)' : c.cls === 'soft-error' ? 'soft error (closes the channel)' : 'success';
    out.push(...docComment('', `\`${c.name}\` (${c.value}): ${kind}.${c.doc ? ' ' + c.doc : ''}`), `export const ${upper(c.name)} = ${c.value};`);
  }
  out.push(
    '',
    '/** Every reply code: its constant name and whether it is a hard (connection) error. */',
    'export const REPLY_CODES: Readonly<Record<number, { readonly name: string; readonly hardError: boolean }>> = {',
    ...replyConsts.map((c) => `  ${c.value}: { name: '${upper(c.name)}', hardError: ${c.cls === 'hard-error'} },`),
    '};',
    '',
  );
  return out;
}

/** AMQPType, FieldInfo, AMQPMethod and MethodClass (fixed text). */
function emitInterfaces(): string[] {
  return [
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
    '  // `any`: each method class takes its own init type, and only `any` admits them all here.',
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
  ];
}

/** One namespace per class, holding its method classes. */
function emitNamespaces(spec: SpecModel, methods: MethodGen[]): string[] {
  const out: string[] = [];
  for (const c of spec.classes) {
    const ns = pascal(c.name);
    out.push(...docComment('', `Methods of the \`${c.name}\` class (${c.index}).${c.doc ? ' ' + c.doc : ''}`), `export namespace ${ns} {`);
    out.push(`  /** The class id of \`${c.name}\`. */`, `  export const CLASS_ID = ${c.index};`, '');
    for (const x of methods) if (x.c === c) out.push(...emitMethod(x));
    out.push('}', '');
  }
  return out;
}

const fieldTsType = (x: { f: FieldDef; binary: boolean }) => (x.binary ? 'Buffer | string' : TS_TYPE[x.f.type]);

/** A method's `...Fields` interface and its class. */
function emitMethod(x: MethodGen): string[] {
  const { c, m, ns, cls, fullName, fields, rconst } = x;
  const out: string[] = [];
  const hex = hex8(x.index);

  out.push(`  /** The fields of {@link ${ns}.${cls}}. */`, `  export interface ${cls}Fields {`);
  for (const y of fields) {
    const { f, prop } = y;
    out.push(`    /** \`${f.name}\` (${f.type}${f.reserved ? ', reserved' : ''})${f.doc ? ': ' + f.doc : ''} */`, `    ${prop}: ${fieldTsType(y)};`);
  }
  out.push('  }', '');

  out.push(...docComment('  ', methodDoc(x)));
  out.push(`  export class ${cls} implements AMQPMethod, ${cls}Fields {`);
  out.push(
    `    static readonly classId = ${c.index};`,
    `    static readonly methodId = ${m.index};`,
    `    static readonly index = ${hex};`,
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
    `    get index(): ${hex} {`,
    `      return ${hex};`,
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
  for (const y of fields) {
    const { f, prop } = y;
    out.push(`    /** \`${f.name}\` (${f.type}${f.reserved ? ', reserved' : ''}) */`, `    ${prop}: ${fieldTsType(y)};`);
  }
  if (fields.length > 0) out.push('');
  out.push(...emitMethodConstructor(x), ...emitMethodEncode(x), ...emitMethodDecode(x));
  out.push('  }', '');
  return out;
}

/** The constructor: each field from `init` or its default. */
function emitMethodConstructor({ cls, fullName, fields }: MethodGen): string[] {
  if (fields.length === 0) return [`    constructor(init?: Partial<${cls}Fields>) {`, `      void init;`, `    }`, ''];
  return [
    `    constructor(init?: Partial<${cls}Fields>) {`,
    ...fields.map(
      ({ f, prop, binary }) =>
        `      this.${prop} = init?.${prop} ?? ${binary ? 'Buffer.alloc(0)' : defaultLiteral(`${fullName}.${f.name}`, f.type)};`,
    ),
    '    }',
    '',
  ];
}

/** `encode(w)`: the class and method ids, then the fields. */
function emitMethodEncode({ c, m, fullName, fields }: MethodGen): string[] {
  const encFields: EncField[] = fields.map(({ f, prop }) => ({
    prop,
    type: f.type,
    expr: `this.${prop}`,
    what: `${fullName} field ${prop}`,
    owner: fullName,
  }));
  const needsV = encFields.some((f) => f.type === 'octet' || f.type === 'short' || f.type === 'long');
  const ids = [
    `b[pos] = ${c.index >>> 8};`,
    `b[pos + 1] = ${c.index & 0xff};`,
    `b[pos + 2] = ${m.index >>> 8};`,
    `b[pos + 3] = ${m.index & 0xff};`,
    `pos += 4;`,
  ];
  return [
    `    /** Writes the payload of a \`${fullName}\` method frame. */`,
    `    encode(w: Writer): void {`,
    ...(needsV ? [`      let v: number;`] : []),
    ...emitOps(encodeOps(encFields), 4, ids, '      '),
    '    }',
    '',
  ];
}

/** `static decode(r)`: the fields (the ids have been consumed). */
function emitMethodDecode({ cls, fullName, fields }: MethodGen): string[] {
  return [
    `    /** Reads the fields of \`${fullName}\` (the ids have been consumed). */`,
    `    static decode(r: Reader): ${cls} {`,
    ...(fields.length === 0
      ? [`      void r;`, `      return new ${cls}();`]
      : [
          `      const m = new ${cls}();`,
          ...decodeLines(
            fields.map(({ f, prop, binary }) => ({ prop, type: f.type, binary })),
            'm',
            '      ',
          ),
          `      return m;`,
        ]),
    '    }',
  ];
}

/** AnyMethod, METHOD_CLASSES, the lookup maps, CLASS_NAMES and the reply constants. */
function emitMethodTables(spec: SpecModel, methods: MethodGen[]): string[] {
  return [
    '/** Every method class instance (a discriminated union on `name` and `index`). */',
    'export type AnyMethod =',
    ...methods.map(({ ns, cls }, i) => `  | ${ns}.${cls}${i === methods.length - 1 ? ';' : ''}`),
    '',
    '/** Every method class, in class/method id order. */',
    'export const METHOD_CLASSES: readonly MethodClass[] = Object.freeze([',
    ...methods.map(({ ns, cls }) => `  ${ns}.${cls},`),
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
    ...methods.map(({ rconst, replies }) => `const ${rconst}: readonly MethodClass[] = Object.freeze([${replies.join(', ')}]);`),
    '',
  ];
}

/** unknownMethod and decodeMethod: one switch over every method index. */
function emitDecodeMethod(methods: MethodGen[]): string[] {
  return [
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
    ...methods.flatMap(({ ns, cls, index }) => [`    case ${hex8(index)}:`, `      return ${ns}.${cls}.decode(r);`]),
    '    default:',
    '      throw unknownMethod(id);',
    '  }',
    '}',
    '',
  ];
}

/** The properties of the `basic` class, with flag word positions. */
interface PropsGen {
  basic: ClassDef;
  props: { f: FieldDef; prop: string }[];
  /** How many 16-bit flag words (15 properties each). */
  nWords: number;
}

const flagOf = (i: number) => ({ word: Math.floor(i / 15), bit: 1 << (15 - (i % 15)) });

/** BasicPropertiesInit and the BasicProperties class. */
function emitBasicProperties(spec: SpecModel): string[] {
  const basic = spec.classes.find((c) => c.name === 'basic');
  if (!basic) throw new Error('no basic class');
  const props = basic.properties.map((f) => ({ f, prop: propName('basic', f) }));
  const p: PropsGen = { basic, props, nWords: Math.max(1, Math.ceil(props.length / 15)) };
  return [...emitPropertiesClass(p), ...emitPropertiesEncode(p), ...emitPropertiesDecode(p), '}', ''];
}

/** BasicPropertiesInit, then BasicProperties up to its codec: fields, constructor, toJSON, inspect, unknownName. */
function emitPropertiesClass({ basic, props }: PropsGen): string[] {
  return [
    '/** The properties of a message: a plain object of these fields is accepted wherever properties are. */',
    'export interface BasicPropertiesInit {',
    ...props.flatMap(({ f, prop }) => [`  /** \`${f.name}\` (${f.type}) */`, `  ${prop}?: ${TS_TYPE[f.type]};`]),
    '}',
    '',
    '/** What `util.inspect` prints for a BasicProperties: a same-named class without the custom hook. */',
    'const InspectedBasicProperties = class BasicProperties {};',
    '',
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
    ...props.flatMap(({ f, prop }) => [`  /** \`${f.name}\` (${f.type}) */`, `  ${prop}?: ${TS_TYPE[f.type]};`]),
    '',
    '  constructor(init?: BasicPropertiesInit) {',
    ...props.map(({ prop }) => `    this.${prop} = init?.${prop} ?? undefined;`),
    '  }',
    '',
    '  /** The present properties as a plain object. */',
    '  toJSON(): BasicPropertiesInit {',
    '    const o: BasicPropertiesInit = {};',
    ...props.map(({ prop }) => `    if (this.${prop} !== undefined) o.${prop} = this.${prop};`),
    '    return o;',
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
  ];
}

/** BasicProperties.encode: the flag words, then each present property. */
function emitPropertiesEncode({ props, nWords }: PropsGen): string[] {
  const propEnc: EncField[] = props.map(({ f, prop }) => ({ prop, type: f.type, expr: prop, what: `property ${prop}`, owner: 'basic properties' }));
  // Each property is its own op (bits never occur among properties).
  if (propEnc.some((p) => p.type === 'bit')) throw new Error('bit properties are not supported');
  const words = Array.from({ length: nWords }, (_x, k) => k);
  // every op only when its property is present, setting its flag
  const wrap = (lines: string[], idx: number): string[] => {
    const { word, bit } = flagOf(idx);
    return [`if (${propEnc[idx].prop} != null) {`, `  f${word} |= 0x${bit.toString(16)};`, ...lines.map((l) => '  ' + l), '}'];
  };
  return [
    '  /** Writes the property flags and the present properties (`p` may be undefined: no properties). */',
    '  static encode(w: Writer, p: BasicPropertiesInit | undefined): void {',
    '    if (p == null) {',
    `      w.ensure(${2 * nWords});`,
    ...words.flatMap((k) => [`      w.buf[w.pos + ${2 * k}] = 0;`, `      w.buf[w.pos + ${2 * k + 1}] = ${k < nWords - 1 ? 1 : 0};`]),
    `      w.pos += ${2 * nWords};`,
    '      return;',
    '    }',
    '    let v: number;',
    ...props.map(({ prop }) => `    const ${prop} = p.${prop};`),
    ...words.map((k) => `    let f${k} = ${k < nWords - 1 ? 1 : 0};`),
    ...emitOps(encodeOps(propEnc), 2 * nWords, ['const flagsAt = pos;', `pos += ${2 * nWords};`], '    ', wrap),
    ...words.flatMap((k) => [`    w.buf[flagsAt + ${2 * k}] = f${k} >>> 8;`, `    w.buf[flagsAt + ${2 * k + 1}] = f${k};`]),
    '  }',
    '',
  ];
}

/** BasicProperties.decode: the flag words (unknown flags are an error), then each flagged property. */
function emitPropertiesDecode({ props, nWords }: PropsGen): string[] {
  const out: string[] = ['  /** Reads the property flags and the present properties. */', '  static decode(r: Reader): BasicProperties {'];
  for (let k = 0; k < nWords; k++) {
    const known = props.reduce((acc, _p, i) => (flagOf(i).word === k ? acc | flagOf(i).bit : acc), 0);
    const unknownMask = 0xfffe & ~known;
    if (k === 0) out.push(`    const f0 = r.short();`);
    else out.push(`    const f${k} = (f${k - 1} & 1) !== 0 ? r.short() : 0;`);
    if (unknownMask !== 0) {
      out.push(
        `    if ((f${k} & 0x${unknownMask.toString(16)}) !== 0) {`,
        `      throw new FrameError(\`unknown basic property flag(s) 0x\${(f${k} & 0x${unknownMask.toString(16)}).toString(16)} in flag word ${k}\`);`,
        '    }',
      );
    }
  }
  out.push(
    `    if ((f${nWords - 1} & 1) !== 0) {`,
    '      // further flag words may only announce properties this version does not know',
    '      let f: number;',
    '      do {',
    '        f = r.short();',
    '        if ((f & 0xfffe) !== 0) throw new FrameError(`unknown basic property flag(s) in a continuation word: 0x${f.toString(16)}`);',
    '      } while ((f & 1) !== 0);',
    '    }',
    '    const p = new BasicProperties();',
    ...props.map(({ f, prop }, i) => {
      const { word, bit } = flagOf(i);
      return `    if ((f${word} & 0x${bit.toString(16)}) !== 0) p.${prop} = ${READ_EXPR[f.type]};`;
    }),
    '    return p;',
    '  }',
  );
  return out;
}

/** Returns the TypeScript source of `lib/wire/spec.ts`. */
export function generateSpecSource(specXml = SPEC_XML, extensionsXml = EXTENSIONS_XML): string {
  const spec = loadSpec(specXml, extensionsXml);
  const methods = collectMethods(spec);
  return [
    ...emitHeader(spec, specXml, extensionsXml),
    ...emitConstants(spec),
    ...emitInterfaces(),
    ...emitNamespaces(spec, methods),
    ...emitMethodTables(spec, methods),
    ...emitDecodeMethod(methods),
    ...emitBasicProperties(spec),
  ].join('\n');
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
