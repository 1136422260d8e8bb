/**
 * A small seeded pseudo-random generator for the fuzz harness.
 *
 * Every input the harness makes is a pure function of one 32-bit seed, so a
 * failure found in CI can be replayed on a laptop with `--seed N --inputs 1`.
 * `Math.random` cannot be seeded, hence this generator (sfc32, seeded through
 * splitmix32 so that neighbouring seeds give unrelated streams).
 * @packageDocumentation
 */

/** splitmix32: scrambles a 32-bit state into a well-mixed 32-bit value. */
function splitmix32(state: number): [next: number, out: number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

/**
 * A deterministic random source (sfc32). Not cryptographic: it only has to
 * be fast, reproducible and spread its output well.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** @param seed - any 32-bit unsigned integer; equal seeds give equal streams. */
  constructor(seed: number) {
    let s = seed >>> 0;
    let out: number;
    [s, out] = splitmix32(s);
    this.a = out;
    [s, out] = splitmix32(s);
    this.b = out;
    [s, out] = splitmix32(s);
    this.c = out;
    [s, out] = splitmix32(s);
    this.d = out;
    // sfc32 wants a few rounds before its output is well mixed
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [0, n) (n up to 2^32; slight modulo bias is irrelevant here). */
  int(n: number): number {
    return n <= 1 ? 0 : Math.floor(this.float() * n);
  }

  /** An integer in [lo, hi], both inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /**
   * A size skewed towards small values: mostly under 16, sometimes up to
   * `max`. Fuzzing finds most parser bugs with tiny inputs, and small inputs
   * keep the harness fast.
   */
  smallSize(max: number): number {
    const r = this.float();
    if (r < 0.6) return Math.min(max, this.int(16));
    if (r < 0.9) return Math.min(max, this.int(256));
    return this.int(max + 1);
  }

  /** `n` random bytes. */
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) b.writeUInt32LE(this.u32(), i);
    for (; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}
