// Shared test helpers for the MIME layer: the Thunderbird/NSS corpus (read in place, MPL-2.0, see
// shared/smime-corpus/README.md), a seeded random source, and small byte utilities.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { THUNDERBIRD_CORPUS } from '../../helpers/paths.ts';
import { isMimeError, type MimeEntity, type MimeErrorCode } from '../../../backend/src/smime/mime/index.ts';

/** shared/smime-corpus sits next to the repository, on developer and CI machines alike (test/helpers/paths.ts). */
export const CORPUS_ROOT = pathToFileURL(THUNDERBIRD_CORPUS);

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

export { Rng } from '../../helpers/rng.ts';

export const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));
export const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));
export const text = (data: Uint8Array): string =>
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
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
  assert.ok(
    isMimeError(caught),
    `expected MimeError ${code}, got ${caught instanceof Error ? caught.stack : String(caught)}`,
  );
  assert.equal(caught.code, code, caught.message);
}

/** The position of `entity.raw` inside `input` (its bytes are a view of the input, not a copy). */
export function viewOffset(input: Uint8Array, view: Uint8Array): number {
  assert.equal(view.buffer, input.buffer, 'not a view of the input');
  return view.byteOffset - input.byteOffset;
}
