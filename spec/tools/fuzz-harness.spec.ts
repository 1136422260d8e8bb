/**
 * Tests of the fuzz harness itself (tools/fuzz): determinism, the
 * generators' well-formedness, and that each failure kind is counted. The
 * library's own fuzz results are not checked here (`npm run fuzz` does that).
 */
import { expect } from 'chai';
import { FrameError, InvalidArgumentError } from '../../lib/errors';
import { Reader } from '../../lib/wire/codec';
import { decodeTable } from '../../lib/wire/field-table';
import { FrameParser } from '../../lib/wire/frame-parser';
import { AllocGuard } from '../../tools/fuzz/alloc-guard';
import { CallbackTracker } from '../../tools/fuzz/callback-tracker';
import { chunkify, deepTableBytes, randomFrameStream } from '../../tools/fuzz/generators';
import { runTarget, type Failure, type Target } from '../../tools/fuzz/harness';
import { Rng } from '../../tools/fuzz/prng';
import { classKey } from '../../tools/fuzz/report';

function run(target: Target, inputs = 5): { failures: Failure[]; stats: ReturnType<typeof runTarget> } {
  const failures: Failure[] = [];
  const stats = runTarget(target, { seed: 1, inputs, guard: new AllocGuard(), onFailure: (f) => failures.push(f) });
  return { failures, stats };
}

describe('fuzz harness (tools/fuzz)', () => {
  it('replays the same stream for the same seed', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 8 }, () => a.u32());
    expect(Array.from({ length: 8 }, () => b.u32())).to.deep.equal(sa);
    expect(Array.from({ length: 8 }, () => c.u32())).to.not.deep.equal(sa);
  });

  it('builds deep tables that decode level by level', () => {
    const bytes = deepTableBytes(new Rng(7), 40);
    const t = decodeTable(new Reader(bytes, 0, bytes.length));
    let depth = 0;
    let v: unknown = t;
    while (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) {
      v = Array.isArray(v) ? v[0] : (v as Record<string, unknown>)['k'];
      depth++;
    }
    expect(depth).to.be.at.least(40);
  });

  it('cuts streams into chunks that add up to the stream, and the parser takes them', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 50; i++) {
      const s = randomFrameStream(rng);
      const chunks = chunkify(rng, s);
      expect(Buffer.concat(chunks).equals(s)).to.equal(true);
      const parser = new FrameParser();
      for (const c of chunks) parser.push(c, () => undefined);
    }
  });

  it('counts an exception of the wrong class, and lets the right one pass', () => {
    const bad: Target = {
      name: 'planted',
      description: '',
      share: 1,
      run: (ctx) => {
        try {
          throw new RangeError('Maximum call stack size exceeded');
        } catch (err) {
          ctx.check(err, FrameError, 'planted');
        }
      },
    };
    const good: Target = { ...bad, run: (ctx) => ctx.check(new InvalidArgumentError('x'), InvalidArgumentError, 'planted') };
    expect(run(bad).stats.failures.exception).to.equal(5);
    expect(run(good).stats.failures.exception).to.equal(0);
    // a FrameError that only wraps an internal error still counts
    const wrapped: Target = { ...bad, run: (ctx) => ctx.check(new FrameError('w', { cause: new TypeError('t') }), FrameError, 'planted') };
    expect(run(wrapped).stats.failures.exception).to.equal(5);
  });

  it('counts oversized allocations while the guard is installed', () => {
    const guard = new AllocGuard();
    guard.install();
    try {
      const target: Target = {
        name: 'alloc',
        description: '',
        share: 1,
        run: (ctx) => {
          ctx.limitAllocations(1000);
          Buffer.allocUnsafe(2000);
        },
      };
      const failures: Failure[] = [];
      runTarget(target, { seed: 1, inputs: 2, guard, onFailure: (f) => failures.push(f) });
      expect(failures.map((f) => f.kind)).to.deep.equal(['alloc', 'alloc']);
    } finally {
      guard.uninstall();
    }
  });

  it('reports callbacks not called exactly once', () => {
    const t = new CallbackTracker();
    const once = t.track('once');
    const twice = t.track('twice');
    t.track('never');
    const threw = t.track('threw');
    t.threw(threw.entry);
    once.cb();
    twice.cb();
    twice.cb();
    expect(t.problems()).to.deep.equal(['twice: called 2 time(s), expected 1', 'never: called 0 time(s), expected 1']);
  });

  it('groups failures that differ only in numbers', () => {
    const f = (detail: string, seed: number): Failure => ({ target: 't', kind: 'exception', seed, detail, stackTop: 'f (lib/x.ts:1)', stack: '' });
    expect(classKey(f('decodeTable (12 levels deep): RangeError', 1))).to.equal(classKey(f('decodeTable (9000 levels deep): RangeError', 2)));
  });
});
