/**
 * <smime-activity> in a real browser (issue 17): the user's own audit trail as plain sentences, newest first, with a
 * <time datetime>; key.recovered stands out and names the custodians; key.recovery_wrapped names the recovery
 * certificate; an unknown action shows its name; 50 at most until "Show more"; an error line when the request fails;
 * markup in the details is shown as text.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { browserUnavailable, openHarness, screenshot, type BrowserSession } from './browser.ts';
import { startMockServer, type MockServer } from './harness.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const skip = browserUnavailable();

const MARKUP = '<img src=x onerror="window.__pwned=1">';

const entry = (seq: number, action: string, actor: string, details: object = {}) => ({
  seq,
  at: new Date(Date.UTC(2026, 10, 1, 8, 0, seq % 60)).toISOString(),
  actor,
  action,
  details,
});

const TRAIL = [
  entry(1, 'key.placed', 'admin:cli', { keyId: 'k1', fingerprint: 'ab'.repeat(32), subject: 'CN=Alice' }),
  entry(2, 'unlock.failure', 'user:alice@demo.example', { failures: 3 }),
  entry(3, 'key.recovery_wrapped', 'system', {
    keyIds: ['k1', 'k2'],
    recoverySetId: 'set-1',
    recoveryCertificate: 'CN=Demo Key Recovery 2026',
  }),
  entry(4, 'key.exported', 'user:alice@demo.example', { keyId: 'k1', fingerprint: 'cd'.repeat(32) }),
  entry(5, 'key.something_new', 'system', {}),
  entry(6, 'key.recovered', 'recovery:ceremony', {
    keyIds: ['k1'],
    fingerprints: ['ab'.repeat(32)],
    custodians: ['Carol (security)', MARKUP],
    shareIndexes: [1, 3],
    setId: 'set-1',
    files: 1,
  }),
];

describe('smime-activity', { skip }, () => {
  let srv: MockServer;
  let b: BrowserSession;
  let answer: { status?: number; json: unknown } = { json: { entries: [...TRAIL].reverse() } };

  before(async () => {
    srv = await startMockServer();
    srv.on('GET /api/v1/me/audit', () => answer);
    b = await openHarness(srv.url);
  });
  after(() =>
    cleanUp(
      () => b?.close(),
      () => srv?.close(),
    ),
  );

  async function mount(): Promise<void> {
    await b.page.evaluate(() => {
      const root = document.getElementById('root')!;
      root.replaceChildren();
      const el = document.createElement('smime-activity') as any;
      el.client = (window as any).client;
      root.append(el);
    });
  }
  beforeEach(() => {
    answer = { json: { entries: [...TRAIL].reverse() } };
  });

  test('entries render newest first, each with its time and a plain sentence', async () => {
    await mount();
    await b.page.locator('smime-activity tr[data-seq]').first().waitFor();
    const seqs = await b.page
      .locator('smime-activity tr[data-seq]')
      .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq'))));
    assert.deepEqual(seqs, [6, 5, 4, 3, 2, 1]);
    const placed = b.page.locator('smime-activity tr[data-action="key.placed"]');
    assert.match((await placed.textContent()) ?? '', /Your IT department/);
    assert.match((await placed.textContent()) ?? '', /IT placed a key for you \(abababababababab…\)/);
    assert.equal(await placed.locator('time').getAttribute('datetime'), TRAIL[0]!.at);
    assert.notEqual(((await placed.locator('time').textContent()) ?? '').trim(), '');
    const failed = (await b.page.locator('smime-activity tr[data-action="unlock.failure"]').textContent()) ?? '';
    assert.match(failed, /You/);
    assert.match(failed, /Wrong passphrase entered \(3 failures so far\)/);
    assert.match(
      (await b.page.locator('smime-activity tr[data-action="key.exported"]').textContent()) ?? '',
      /You backed up a key/,
    );
    assert.ok(await b.page.locator('smime-activity caption').count(), 'the table has a caption');
    await screenshot(b.page, 'component-activity');
  });

  test('key.recovered stands out in the warning tone and names the custodians', async () => {
    await mount();
    const row = b.page.locator('smime-activity tr[data-action="key.recovered"]');
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    assert.match(text, /Your keys were recovered by your organisation’s custodians: Carol \(security\)/);
    assert.match(text, /The recovery custodians/);
    assert.equal(await row.getAttribute('class'), 'stands-out');
    const colours = await row
      .locator('td')
      .first()
      .evaluate((td) => {
        const cs = getComputedStyle(td);
        return { bg: cs.backgroundColor, fg: cs.color };
      });
    const plain = await b.page
      .locator('smime-activity tr[data-action="key.exported"] td')
      .first()
      .evaluate((td) => getComputedStyle(td).backgroundColor);
    assert.notEqual(colours.bg, plain, 'a different background from an ordinary entry');
  });

  test('key.recovery_wrapped names the recovery certificate; an unknown action shows its name', async () => {
    await mount();
    const row = b.page.locator('smime-activity tr[data-action="key.recovery_wrapped"]');
    await row.waitFor();
    assert.match(
      (await row.textContent()) ?? '',
      /A recovery copy of your keys is held for your organisation’s key recovery \(certificate CN=Demo Key Recovery 2026\)/,
    );
    assert.match(
      (await b.page.locator('smime-activity tr[data-action="key.something_new"]').textContent()) ?? '',
      /key\.something_new/,
    );
  });

  test('markup in the details is shown as text, never run', async () => {
    await mount();
    const row = b.page.locator('smime-activity tr[data-action="key.recovered"]');
    await row.waitFor();
    assert.ok(((await row.textContent()) ?? '').includes(MARKUP), 'the label as typed');
    assert.equal(await row.locator('img').count(), 0);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await b.page.evaluate(() => (window as any).__pwned), undefined);
  });

  test('at most 50 entries until "Show more" reveals the rest', async () => {
    answer = {
      json: {
        entries: Array.from({ length: 120 }, (_, i) => entry(120 - i, 'unlock.success', 'user:alice@demo.example')),
      },
    };
    await mount();
    const rows = b.page.locator('smime-activity tr[data-seq]');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 50);
    assert.equal(await rows.first().getAttribute('data-seq'), '120');
    const more = b.page.locator('smime-activity button[data-action="show-more"]');
    assert.match((await more.textContent()) ?? '', /Show 70 more/);
    await more.focus();
    await b.page.keyboard.press('Enter');
    await more.waitFor({ state: 'detached' });
    assert.equal(await rows.count(), 120);
    assert.equal(await rows.last().getAttribute('data-seq'), '1');
  });

  test('an empty trail says so; a failed request shows an error line', async () => {
    answer = { json: { entries: [] } };
    await mount();
    await b.page.locator('smime-activity p', { hasText: 'Nothing recorded yet' }).waitFor();
    answer = { status: 500, json: { error: { code: 'INTERNAL', message: 'Internal error.' } } };
    await mount();
    const alert = b.page.locator('smime-activity [role="alert"]');
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? '', /Could not load your activity/);
    assert.equal(await b.page.locator('smime-activity tr[data-seq]').count(), 0);
  });

  test('while the request runs, a loading line', async () => {
    await b.page.evaluate(() => {
      const root = document.getElementById('root')!;
      root.replaceChildren();
      const el = document.createElement('smime-activity') as any;
      // A client whose answer never comes: the state between asking and answering.
      el.client = { activity: () => new Promise(() => {}) };
      root.append(el);
    });
    await b.page.locator('smime-activity p', { hasText: 'Loading' }).waitFor();
    assert.equal(await b.page.locator('smime-activity table').count(), 0);
  });
});
