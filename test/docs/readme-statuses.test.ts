/**
 * The README's status table (issue 14) lists every status of the engine's vocabulary, once, in the engine's order of
 * precedence, and nothing else; and the UI explains every one of them in its own words (not the fallback for a
 * status it does not know). A status added to the engine without its row and its text fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DECRYPTION_STATUSES, SIGNATURE_STATUSES } from '../../backend/src/smime/types.ts';
import { statusText } from '../../frontend/src/messages.ts';
import { REPO_ROOT } from '../helpers/paths.ts';

function tableRows(): { status: string; of: string }[] {
  const readme = readFileSync(`${REPO_ROOT}README.md`, 'utf8');
  const section = readme.slice(readme.indexOf('#### Statuses'));
  const table = section.slice(section.indexOf('| status |'), section.indexOf('\n\n', section.indexOf('| status |')));
  return table
    .split('\n')
    .slice(2)
    .map((row) => row.split('|').map((cell) => cell.trim()))
    .map((cells) => ({ status: cells[1]!.replace(/`/g, ''), of: cells[2]! }));
}

test('the README status table lists exactly the engine statuses, in order', { timeout: 10_000 }, () => {
  const rows = tableRows();
  assert.deepEqual(
    rows.filter((r) => r.of === 'signature').map((r) => r.status),
    [...SIGNATURE_STATUSES],
  );
  assert.deepEqual(
    rows.filter((r) => r.of === 'encryption').map((r) => r.status),
    [...DECRYPTION_STATUSES],
  );
  assert.equal(rows.length, SIGNATURE_STATUSES.length + DECRYPTION_STATUSES.length);
});

test('the UI has its own explanation of every status', { timeout: 10_000 }, () => {
  for (const status of [...SIGNATURE_STATUSES, ...DECRYPTION_STATUSES]) {
    const t = statusText(status);
    assert.notEqual(t.title, status, `${status} falls back to the unknown-status text`);
    assert.ok(t.cause.length > 20 && t.action.length > 5, status);
  }
});
