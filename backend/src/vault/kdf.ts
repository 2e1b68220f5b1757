/**
 * Key-encryption keys from passphrases: Argon2id (RFC 9106). Each derivation takes tens of MiB and a few hundred
 * milliseconds of CPU, so they go through a small semaphore: a burst of unlocks queues here instead of exhausting
 * memory or starving the event loop's other work (signing with an already unlocked key never waits on it).
 */
import argon2 from 'argon2';

export interface Argon2Params {
  memoryKiB: number;
  timeCost: number;
  parallelism: number;
}

export const KEK_BYTES = 32;
export const SALT_BYTES = 16;

/** A FIFO counting semaphore. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  get queued(): number {
    return this.waiting.length;
  }
}

/**
 * Passphrases are compared as Unicode NFC, so the same passphrase typed on systems that compose accents differently
 * (macOS input methods produce NFD) opens the same keys (RFC 8265 section 4.2, OpaqueString profile).
 */
export function passphraseBytes(passphrase: string): Buffer {
  return Buffer.from(passphrase.normalize('NFC'), 'utf8');
}

export class Kdf {
  private readonly semaphore: Semaphore;
  constructor(concurrency: number) {
    this.semaphore = new Semaphore(concurrency);
  }

  /** Derive a 256-bit key-encryption key. The caller wipes it (fill(0)) when done. */
  derive(passphrase: string, salt: Uint8Array, p: Argon2Params): Promise<Buffer> {
    return this.semaphore.run(async () => {
      const pw = passphraseBytes(passphrase);
      try {
        return await argon2.hash(pw, {
          type: argon2.argon2id,
          raw: true,
          salt: Buffer.from(salt),
          memoryCost: p.memoryKiB,
          timeCost: p.timeCost,
          parallelism: p.parallelism,
          hashLength: KEK_BYTES,
        });
      } finally {
        pw.fill(0);
      }
    });
  }

  get queued(): number {
    return this.semaphore.queued;
  }
}

export function weakerThan(a: Argon2Params, b: Argon2Params): boolean {
  return a.memoryKiB < b.memoryKiB || a.timeCost < b.timeCost || a.parallelism < b.parallelism;
}
