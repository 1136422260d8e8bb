/**
 * The wire-level fuzz targets: the frame parser, the method and property
 * decoders, field tables in both directions, and the encoders of methods and
 * properties. The connection-level target lives in `connection-target.ts`.
 *
 * The contract each one checks: decoding hostile bytes may only ever throw
 * FrameError (the connection then closes with 501; anything else escapes the
 * I/O loop), and encoding a bad application value may only throw
 * InvalidArgumentError (anything else is a crash in the caller's face with
 * no hint of which argument was wrong).
 * @packageDocumentation
 */
import { inspect } from 'util';
import { FrameError, InvalidArgumentError } from '../../lib/errors';
import { Reader, Writer } from '../../lib/wire/codec';
import { Decimal, decodeTable, encodeTable, type FieldTable } from '../../lib/wire/field-table';
import type { Frame, FrameHandler } from '../../lib/wire/frame';
import { FrameParser } from '../../lib/wire/frame-parser';
import { FrameWriter } from '../../lib/wire/frame-writer';
import * as spec from '../../lib/wire/spec';
import {
  badFieldValue,
  chunkify,
  corruptSize,
  cyclicJsTable,
  deepDepth,
  deepHeaderFrame,
  deepJsTable,
  deepMethodFrame,
  deepTableBytes,
  frame,
  headerPayload,
  methodPayload,
  mutate,
  propertiesBytes,
  randomFieldOf,
  randomFrame,
  randomFrameStream,
  randomMethodPayload,
  randomMethodValues,
  randomTable,
  tableBytes,
  tableShapedBytes,
} from './generators';
import type { InputContext, Target } from './harness';
import type { Rng } from './prng';

/** No exception is acceptable: used where the input is well-formed. */
abstract class NoError extends Error {}

// ---------------------------------------------------------------------------
// 1. FrameParser

/** A stream for the parser: random, well-formed, mutated, size-corrupted, truncated, deep, or content-heavy. */
function parserInput(rng: Rng): Buffer {
  const r = rng.float();
  if (r < 0.08) {
    const b = rng.bytes(rng.smallSize(300));
    if (b.length > 0 && rng.chance(0.7)) b[0] = rng.pick([1, 2, 3, 8, 0x41]);
    return b;
  }
  if (r < 0.25) return randomFrameStream(rng);
  if (r < 0.55) return mutate(rng, randomFrameStream(rng));
  if (r < 0.7) {
    // one frame of a few has its size field changed
    const frames = [randomFrame(rng), randomFrame(rng), randomFrame(rng)];
    const k = rng.int(frames.length);
    frames[k] = corruptSize(rng, frames[k]);
    return Buffer.concat(frames);
  }
  if (r < 0.75) {
    const s = randomFrameStream(rng);
    return s.subarray(0, rng.int(s.length));
  }
  if (r < 0.85) {
    const depth = deepDepth(rng);
    const f = rng.chance(0.6) ? deepHeaderFrame(rng, depth, rng.range(0, 2)) : deepMethodFrame(rng, depth, rng.range(0, 2));
    return rng.chance(0.25) ? mutate(rng, f) : f;
  }
  // a delivery: method, content header, body frames whose sizes may disagree with the header
  const ch = rng.range(1, 2);
  const bodySize = rng.smallSize(2000);
  const parts = [
    frame(
      1,
      ch,
      methodPayload(
        spec.Basic.Deliver,
        randomMethodValues(rng, spec.Basic.Deliver, () => ({})),
      ),
    ),
    frame(
      2,
      ch,
      headerPayload(rng.chance(0.8) ? bodySize : rng.pick([0, 2 ** 53 - 1, 2 ** 40, bodySize + 1]), propertiesBytes(rng, 0, rng.chance(0.1))),
    ),
  ];
  for (let left = bodySize; left > 0;) {
    const n = Math.min(left, rng.range(1, 700));
    parts.push(frame(3, ch, rng.bytes(n)));
    left -= n;
  }
  const s = Buffer.concat(parts);
  return rng.chance(0.3) ? mutate(rng, s) : s;
}

/** A FrameHandler that keeps nothing and answers onBody at random; with or without onBadHeader. */
function handlerFor(rng: Rng): FrameHandler {
  const h: FrameHandler = {
    onMethod: () => undefined,
    onHeader: () => undefined,
    onBody: () => (rng.chance(0.5) ? true : undefined),
    onHeartbeat: () => undefined,
    onProtocolHeader: () => undefined,
  };
  if (rng.chance(0.5)) h.onBadHeader = () => undefined;
  return h;
}

/**
 * Random bytes, mutated and size-corrupted frames, deep tables, fed in random
 * chunks through `push(chunk, FrameHandler)` and `push(chunk, fn)`.
 */
export const parserTarget: Target = {
  name: 'parser',
  description: 'FrameParser.push: random/mutated/size-corrupted/deep frames, random chunking, both handler styles',
  share: 40,
  run(ctx: InputContext): void {
    const rng = ctx.rng;
    const bytes = parserInput(rng);
    ctx.input(bytes);
    const chunks = chunkify(rng, bytes);
    const frameMax = rng.pick([0, 0, 4096, 131072, rng.range(4096, 1 << 20), 0xffffffff]);
    const styles = rng.pick([['handler'], ['fn'], ['handler', 'fn']]);
    // one maxMessageSize for the input (the allocation limit lasts the whole input)
    const maxMessageSize = rng.chance(0.3) ? rng.pick([65536, 1 << 20, 4 << 20]) : null;
    for (const style of styles) {
      const parser = new FrameParser();
      parser.frameMax = frameMax;
      // maxMessageSize exists once the parser bounds frames by it; lower it now and then to test that
      // bound (not below 64 KiB: smaller allocations than that are the parser's own, not a peer's doing)
      const p = parser as FrameParser & { maxMessageSize?: number };
      if ('maxMessageSize' in p) {
        if (maxMessageSize !== null) p.maxMessageSize = maxMessageSize;
        ctx.limitAllocations(p.maxMessageSize + 8);
      }
      const target: FrameHandler | ((f: Frame) => void) = style === 'fn' ? () => undefined : handlerFor(rng);
      let failed = false;
      for (const c of chunks) {
        try {
          parser.push(c, target);
        } catch (err) {
          ctx.check(err, FrameError, `FrameParser.push (${style})`);
          failed = err instanceof FrameError;
          break;
        }
      }
      if (failed && rng.chance(0.1)) {
        // documented: a failed parser keeps throwing the same FrameError
        try {
          parser.push(Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce]), target);
          ctx.fail('exception', `FrameParser.push (${style}): a failed parser accepted more input`);
        } catch (err) {
          ctx.check(err, FrameError, `FrameParser.push after a FrameError (${style})`);
        }
      }
    }
  },
};

// ---------------------------------------------------------------------------
// 2. decodeMethod and BasicProperties.decode

/**
 * A stable text form of a decoded value, to compare two decodings. Depth is
 * capped: a decoder without a depth limit may return 10,000 levels.
 */
function canonical(v: unknown, depth = 0): string {
  if (depth > 200) return '…';
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function' || typeof v === 'symbol') return v.toString();
  if (typeof v !== 'object') return JSON.stringify(v);
  if (Buffer.isBuffer(v)) return `<${v.toString('hex')}>`;
  if (v instanceof Date) return `D${v.getTime()}`;
  if (v instanceof Decimal) return `Dec(${v.value},${v.places})`;
  if (Array.isArray(v)) return `[${v.map((x) => canonical(x, depth + 1)).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k], depth + 1)}`)
    .join(',')}}`;
}

/**
 * Decodes `payload` twice, embedded between different filler bytes. A
 * bounds-checked decoder gives the same result both times; a difference means
 * it read outside `[offset, end)`.
 */
function decodeEmbedded(ctx: InputContext, payload: Buffer, decode: (buf: Buffer, offset: number, end: number) => unknown, what: string): void {
  const results: string[] = [];
  for (const fill of [0x00, 0xff]) {
    const pad = ctx.rng.range(0, 9);
    const buf = Buffer.alloc(pad + payload.length + 16, fill);
    payload.copy(buf, pad);
    try {
      results.push(`ok ${canonical(decode(buf, pad, pad + payload.length))}`);
    } catch (err) {
      ctx.check(err, FrameError, what);
      results.push(`threw ${err instanceof Error ? err.name : typeof err}`);
    }
  }
  if (results[0] !== results[1]) {
    ctx.fail('overread', `${what}: the result depends on bytes after the payload (${results[0].slice(0, 60)} / ${results[1].slice(0, 60)})`);
  }
}

/** A method payload: mutated, random fields after a valid id, deep tables, or noise. */
function methodInput(rng: Rng): Buffer {
  const r = rng.float();
  if (r < 0.35) return mutate(rng, randomMethodPayload(rng).payload);
  if (r < 0.55) {
    const { payload } = randomMethodPayload(rng);
    return Buffer.concat([payload.subarray(0, 4), rng.bytes(rng.smallSize(100))]);
  }
  if (r < 0.65) return randomMethodPayload(rng, deepDepth(rng)).payload;
  if (r < 0.75) return randomMethodPayload(rng).payload.subarray(0, rng.range(0, 40));
  if (r < 0.85) return randomMethodPayload(rng).payload;
  return rng.bytes(rng.smallSize(64));
}

/** Content-header properties: mutated, deep headers, odd flags, or noise. */
function propertiesInput(rng: Rng): Buffer {
  const r = rng.float();
  if (r < 0.4) return mutate(rng, propertiesBytes(rng));
  if (r < 0.55) return propertiesBytes(rng, deepDepth(rng));
  if (r < 0.7) return propertiesBytes(rng, 0, true);
  if (r < 0.8) return propertiesBytes(rng);
  return rng.bytes(rng.smallSize(64));
}

/** decodeMethod and BasicProperties.decode called directly (no parser safety net in between). */
export const decodersTarget: Target = {
  name: 'decoders',
  description: 'decodeMethod / BasicProperties.decode on random, mutated, truncated and deep payloads',
  share: 25,
  run(ctx: InputContext): void {
    const rng = ctx.rng;
    const properties = rng.chance(0.35);
    const payload = properties ? propertiesInput(rng) : methodInput(rng);
    ctx.input(payload);
    const decode = properties
      ? (buf: Buffer, off: number, end: number) => spec.BasicProperties.decode(new Reader(buf, off, end))
      : (buf: Buffer, off: number, end: number) => spec.decodeMethod(buf, off, end);
    const what = properties ? 'BasicProperties.decode' : 'decodeMethod';
    if (rng.chance(0.25)) {
      decodeEmbedded(ctx, payload, decode, what);
      return;
    }
    try {
      decode(payload, 0, payload.length);
    } catch (err) {
      ctx.check(err, FrameError, what);
    }
  },
};

// ---------------------------------------------------------------------------
// 3. field tables, both directions

/** Bytes of a table: valid, mutated, table-shaped noise, deep (maybe mutated), or noise. */
function tableInput(rng: Rng): Buffer {
  const r = rng.float();
  if (r < 0.15) return tableBytes(randomTable(rng));
  if (r < 0.5) return mutate(rng, tableBytes(randomTable(rng)));
  if (r < 0.65) return tableShapedBytes(rng);
  if (r < 0.9) {
    const b = deepTableBytes(rng, deepDepth(rng));
    return rng.chance(0.25) ? mutate(rng, b) : b;
  }
  return rng.bytes(rng.smallSize(64));
}

/** Encodes `t`; `allowed` is the only exception class tolerated. Returns the bytes, or null when it threw. */
function encodeChecked(ctx: InputContext, t: unknown, allowed: abstract new (...args: never[]) => Error, what: string): Buffer | null {
  const w = new Writer(64);
  try {
    encodeTable(w, t as FieldTable);
    return w.buf.subarray(0, w.pos);
  } catch (err) {
    ctx.check(err, allowed, what);
    return null;
  }
}

/** decodeTable on hostile bytes; encodeTable on valid, invalid, 10,000-level deep and cyclic JS values. */
export const tablesTarget: Target = {
  name: 'tables',
  description: 'decodeTable on random/mutated/deep bytes; encodeTable on valid, invalid, deep and cyclic values',
  share: 20,
  run(ctx: InputContext): void {
    const rng = ctx.rng;
    const r = rng.float();
    if (r < 0.55) {
      const bytes = tableInput(rng);
      ctx.input(bytes);
      const decode = (buf: Buffer, off: number, end: number) => decodeTable(new Reader(buf, off, end));
      if (rng.chance(0.25)) return decodeEmbedded(ctx, bytes, decode, 'decodeTable');
      try {
        decode(bytes, 0, bytes.length);
      } catch (err) {
        ctx.check(err, FrameError, 'decodeTable');
      }
      return;
    }
    if (r < 0.7) {
      // well-formed: must encode, and what was encoded must decode
      const t = randomTable(rng);
      ctx.input('a random well-formed table');
      const bytes = encodeChecked(ctx, t, NoError, 'encodeTable (valid table)');
      if (bytes === null) return;
      ctx.input(Buffer.from(bytes));
      try {
        decodeTable(new Reader(bytes, 0, bytes.length));
      } catch (err) {
        ctx.check(err, NoError, 'decodeTable(encodeTable(valid table))');
      }
      return;
    }
    if (r < 0.85) {
      const depth = deepDepth(rng);
      ctx.input(`a JS table nested ${depth} levels (tables, arrays, TypedValues)`);
      encodeChecked(ctx, deepJsTable(rng, depth), InvalidArgumentError, `encodeTable (${depth} levels deep)`);
      return;
    }
    if (r < 0.92) {
      ctx.input('a cyclic JS table');
      if (encodeChecked(ctx, cyclicJsTable(rng), InvalidArgumentError, 'encodeTable (cyclic)') !== null) {
        ctx.fail('exception', 'encodeTable (cyclic): encoded a cyclic table without an error');
      }
      return;
    }
    const bad = badFieldValue(rng);
    const t: FieldTable = rng.chance(0.5) ? { ok: 1, bad: bad as never } : { nested: [1, { bad: bad as never }] };
    ctx.input(`a table holding ${describeValue(bad)}`);
    encodeChecked(ctx, rng.chance(0.1) ? bad : t, InvalidArgumentError, 'encodeTable (invalid value)');
  },
};

/** A short description of a JS value for the report (cycles and bigints included). */
function describeValue(v: unknown): string {
  const s = inspect(v, { depth: 3, breakLength: Infinity, maxArrayLength: 8, maxStringLength: 40 });
  return s.length > 240 ? `${s.slice(0, 240)}…` : s;
}

// ---------------------------------------------------------------------------
// 4. encoders of methods and properties

/** Values an application may pass by mistake for any field. */
function wrongValue(rng: Rng): unknown {
  return rng.pick<unknown>([
    -1,
    1.5,
    NaN,
    Infinity,
    2 ** 53,
    2 ** 64,
    -(2 ** 31),
    '12',
    'x'.repeat(300),
    'é'.repeat(200),
    null,
    undefined,
    {},
    [],
    true,
    Symbol('s'),
    10n,
    -1n,
    2n ** 64n,
    new Date(NaN),
    new Date(-1),
    Buffer.from('b'),
    { a: NaN },
  ]);
}

/** Method constructors and BasicProperties.encode given random, mostly valid, sometimes wrong values. */
export const encodersTarget: Target = {
  name: 'encoders',
  description: 'method encode / BasicProperties.encode / FrameWriter.writeMethod with valid and wrong field values',
  share: 5,
  run(ctx: InputContext): void {
    const rng = ctx.rng;
    const w = new Writer(64);
    if (rng.chance(0.6)) {
      const cls = rng.pick(spec.METHOD_CLASSES);
      const init: Record<string, unknown> = randomMethodValues(rng, cls, () => (rng.chance(0.8) ? {} : randomTable(rng)));
      // longstr fields of text type want strings; binary ones Buffers: keep what the generator chose
      for (const f of cls.fields) if (rng.chance(0.15)) init[f.name] = wrongValue(rng);
      ctx.input(`${cls.methodName} ${describeValue(init)}`);
      try {
        const m = new cls(init);
        if (rng.chance(0.3)) {
          const fw = new FrameWriter(64);
          fw.writeMethod(rng.pick([0, 1, 65535, 65536, -1]), m);
        } else {
          m.encode(w);
        }
      } catch (err) {
        ctx.check(err, InvalidArgumentError, 'method encode');
      }
      return;
    }
    const props: Record<string, unknown> = {};
    for (const f of spec.BasicProperties.fields) {
      if (!rng.chance(0.4)) continue;
      props[f.name] = rng.chance(0.2) ? wrongValue(rng) : f.name === 'headers' ? randomTable(rng) : randomFieldOf(rng, f.type, f.binary, () => ({}));
    }
    if (rng.chance(0.05)) props['headers'] = cyclicJsTable(rng);
    if (rng.chance(0.05)) props['noSuchProperty'] = 1;
    ctx.input(`properties ${describeValue(props)}`);
    try {
      spec.BasicProperties.encode(w, props);
    } catch (err) {
      ctx.check(err, InvalidArgumentError, 'BasicProperties.encode');
    }
  },
};
