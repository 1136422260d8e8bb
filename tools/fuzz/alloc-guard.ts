/**
 * Watches Buffer allocations during a fuzz input.
 *
 * A 7-byte frame header or an 8-byte body size is enough for a peer to ask
 * for gigabytes; the library must refuse such sizes before allocating. The
 * guard wraps `Buffer.alloc`, `Buffer.allocUnsafe` and
 * `Buffer.allocUnsafeSlow` (which `Buffer.concat` and `Buffer.from` use
 * internally too) and records any single allocation above the current limit,
 * with the stack that made it.
 *
 * Allocations far beyond any limit are refused with an
 * {@link AllocationRefused} instead of being made: the harness must not
 * take the machine down while proving that the library would have.
 * @packageDocumentation
 */

/** The largest allocation the harness lets through even when over the limit (it is recorded either way). */
const HARD_CAP = 1024 * 1024 * 1024;

/** Thrown in place of an allocation above {@link HARD_CAP}. */
export class AllocationRefused extends Error {
  constructor(readonly size: number) {
    super(`fuzz harness refused a Buffer allocation of ${size} bytes`);
    this.name = 'AllocationRefused';
  }
}

/** One allocation above the limit. */
export interface OversizedAllocation {
  size: number;
  limit: number;
  /** Where it was made (the caller of Buffer.alloc*). */
  stack: string;
}

type AllocFn = (size: number, ...rest: never[]) => Buffer;

/** See the module notes. One instance per process: it patches the global `Buffer`. */
export class AllocGuard {
  /** Allocations above this many bytes are recorded. */
  limit = Infinity;
  /** The oversized allocations since the last {@link take}. */
  private found: OversizedAllocation[] = [];
  private readonly originals: Array<[name: 'alloc' | 'allocUnsafe' | 'allocUnsafeSlow', fn: AllocFn]> = [];

  /** Patches `Buffer`'s allocators. */
  install(): void {
    if (this.originals.length > 0) return;
    for (const name of ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const) {
      const original = Buffer[name] as unknown as AllocFn;
      this.originals.push([name, original]);
      (Buffer as unknown as Record<string, AllocFn>)[name] = AllocGuard.wrap(this, original);
    }
  }

  /**
   * `original`, watched by `guard`. A `function`, not an arrow, to pass on the
   * `this` it is called with; so the guard comes in as a parameter.
   */
  private static wrap(guard: AllocGuard, original: AllocFn): AllocFn {
    return function (this: unknown, size: number, ...rest: never[]): Buffer {
      // one comparison on the hot path; the slow branch only for the rare big ones
      if (size > guard.limit) guard.record(size);
      if (size > HARD_CAP) throw new AllocationRefused(size);
      return original.call(this, size, ...rest);
    };
  }

  /** Puts the original allocators back. */
  uninstall(): void {
    for (const [name, fn] of this.originals) (Buffer as unknown as Record<string, AllocFn>)[name] = fn;
    this.originals.length = 0;
  }

  private record(size: number): void {
    const stack = (new Error().stack ?? '').split('\n').slice(3, 9).join('\n');
    this.found.push({ size, limit: this.limit, stack });
  }

  /** Returns and forgets the oversized allocations recorded so far. */
  take(): OversizedAllocation[] {
    if (this.found.length === 0) return [];
    const f = this.found;
    this.found = [];
    return f;
  }
}
