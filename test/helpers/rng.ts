/**
 * The tests' deterministic PRNG (mulberry32): the same seed gives the same data on every machine, so a generated case
 * or a fuzz input is made again from its seed. Shared by the MIME tests and the fuzzer.
 */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** 0 <= n < max. */
  int(max: number): number {
    return max <= 0 ? 0 : Math.floor(this.next() * max);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: empty list');
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  /** Small numbers much more often than large ones: 1 + floor(max^u). */
  small(max: number): number {
    return Math.min(max, Math.floor(Math.pow(max, this.next())));
  }
}

/** The same generator as a bare function returning 0 <= x < 1, for code written against Math.random's shape. */
export function prng(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}
