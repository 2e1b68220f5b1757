// Shared test helpers for the MIME layer: the Thunderbird/NSS corpus (read in place, MPL-2.0, see
// shared/smime-corpus/README.md), a seeded random source, and small byte utilities.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { isMimeError, type MimeEntity, type MimeErrorCode } from '../../../backend/src/smime/mime/index.ts';

/** shared/smime-corpus sits next to the repository, on developer and CI machines alike. */
export const CORPUS_ROOT = new URL('../../../../shared/smime-corpus/thunderbird/', import.meta.url);

export interface CorpusFile {
  /** `folder/file.eml`, relative to CORPUS_ROOT. */
  name: string;
  bytes: Uint8Array;
}

/** Every message of the corpus: the `.eml` files and the bare `.env` entities. */
export function corpusMessages(): CorpusFile[] {
  const out: CorpusFile[] = [];
  for (const dir of readdirSync(CORPUS_ROOT, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const file of readdirSync(new URL(`${dir.name}/`, CORPUS_ROOT))) {
      if (!file.endsWith('.eml') && !file.endsWith('.env')) continue;
      out.push({ name: `${dir.name}/${file}`, bytes: corpusFile(`${dir.name}/${file}`) });
    }
  }
  out.sort((a, b) => a.name.localeCompare(b.name));
  return out;
}

export function corpusFile(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, CORPUS_ROOT)));
}

/** Deterministic PRNG (mulberry32): the same seed gives the same test data on every machine. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

export const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));
export const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));
export const text = (data: Uint8Array): string => Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
export const crlf = (s: string): string => s.replace(/\r?\n/g, '\r\n');

/** Byte equality with a readable failure. */
export function assertBytes(actual: Uint8Array, expected: Uint8Array, message?: string): void {
  if (Buffer.compare(Buffer.from(actual), Buffer.from(expected)) === 0) return;
  assert.equal(text(actual), text(expected), message);
  assert.fail(message ?? 'bytes differ');
}

/** Every entity of the tree, depth first. */
export function* walk(entity: MimeEntity): Generator<MimeEntity> {
  yield entity;
  for (const child of entity.children) yield* walk(child);
}

/** Runs `fn` and asserts it throws MimeError `code` (the code, never the message). */
export function throwsCode(fn: () => unknown, code: MimeErrorCode): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(isMimeError(caught), `expected MimeError ${code}, got ${caught instanceof Error ? caught.stack : String(caught)}`);
  assert.equal(caught.code, code, caught.message);
}

/** The position of `entity.raw` inside `input` (its bytes are a view of the input, not a copy). */
export function viewOffset(input: Uint8Array, view: Uint8Array): number {
  assert.equal(view.buffer, input.buffer, 'not a view of the input');
  return view.byteOffset - input.byteOffset;
}
