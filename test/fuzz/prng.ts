// A small seeded PRNG (sfc32, seeded through splitmix32) for reproducible fuzz sets: the same
// seed gives the same cases on every machine, so a failure names its seed and case number.

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number) {
    let s = seed >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** uniform 0..2^32-1 */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** uniform integer in [lo, hi] */
  int(lo: number, hi: number): number {
    return lo + Math.floor((this.u32() / 4294967296) * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)];
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i += 4) {
      const r = this.u32();
      b[i] = r & 0xff;
      if (i + 1 < n) b[i + 1] = (r >>> 8) & 0xff;
      if (i + 2 < n) b[i + 2] = (r >>> 16) & 0xff;
      if (i + 3 < n) b[i + 3] = r >>> 24;
    }
    return b;
  }

  /** a string of n characters from `alphabet` */
  text(n: number, alphabet: string): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(0, alphabet.length - 1)];
    return s;
  }
}

/** Seed of a fuzz run: FUZZ_SEED when set (to replay one), else the fixed default. */
export function fuzzSeed(fixed: number): number {
  const s = process.env.FUZZ_SEED;
  return s !== undefined && /^\d+$/.test(s) ? Number(s) : fixed;
}

/** Cases of a fuzz run: FUZZ_CASES when set (the long mode), else the fast default of `npm test`. */
export function fuzzCases(fast: number): number {
  const n = process.env.FUZZ_CASES;
  return n !== undefined && /^\d+$/.test(n) ? Number(n) : fast;
}
