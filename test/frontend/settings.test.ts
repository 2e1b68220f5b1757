/**
 * <smime-settings> in a real browser: own keys with validity and default, back up (issue 17), delete with confirmation (sends the
 * fingerprint), import a .p12, change passphrase, other people's certificates with filter and details, defaults.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserUnavailable, openHarness, screenshot, type BrowserSession } from './browser.ts';
import { startMockServer, type MockServer } from './harness.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const skip = browserUnavailable();

const key = (id: string, extra: object) => ({
  id,
  fingerprintSha256: id.repeat(64).slice(0, 64),
  subject: `CN=Alice ${id}`,
  issuer: 'CN=Demo CA',
  serialNumber: '01',
  notBefore: '2026-01-01T00:00:00Z',
  notAfter: '2028-01-01T00:00:00Z',
  status: 'valid',
  emails: ['alice@demo.example'],
  keyAlgorithm: 'RSA',
  keySize: 2048,
  isDefault: false,
  mustChangePassphrase: false,
  source: 'user',
  createdAt: '2026-01-01T00:00:00Z',
  ...extra,
});
const cert = (id: string, email: string, source: string) => ({
  id,
  email,
  source,
  subject: `CN=${email}`,
  issuer: 'CN=Demo CA',
  serialNumber: '02',
  fingerprintSha256: 'cd'.repeat(32),
  notBefore: '2026-01-01T00:00:00Z',
  notAfter: '2028-01-01T00:00:00Z',
  status: 'valid',
  keyAlgorithm: 'RSA',
  keySize: 2048,
});

describe('smime-settings', { skip }, () => {
  let srv: MockServer;
  let b: BrowserSession;
  let keys = [key('a', { isDefault: true }), key('b', { status: 'expired', notAfter: '2025-01-01T00:00:00Z' })];
  const audit: { seq: number; at: string; actor: string; action: string; details: object }[] = [
    { seq: 1, at: '2026-11-01T08:00:00Z', actor: 'admin:cli', action: 'key.placed', details: { keyId: 'a' } },
  ];
  before(async () => {
    srv = await startMockServer();
    srv.on('GET /api/v1/keys', () => ({ json: { keys } }));
    srv.on('GET /api/v1/me', {
      json: {
        email: 'alice@demo.example',
        aliases: [],
        keys: 2,
        mustChangePassphrase: false,
        unlockIdleTimeoutS: 900,
        passphraseMinLength: 10,
      },
    });
    srv.on('GET /api/v1/me/audit', () => ({ json: { entries: audit } }));
    srv.on('GET /api/v1/certificates', (req) => {
      const q = new URLSearchParams(req.query).get('q') ?? '';
      const all = [cert('c1', 'bob@demo.example', 'harvested'), cert('c2', 'carol@demo.example', 'directory')];
      return { json: { certificates: all.filter((c) => c.email.includes(q)) } };
    });
    // Deleting needs the keys unlocked (issue 12): the first attempt finds them locked.
    let deleteAttempts = 0;
    srv.on('DELETE /api/v1/keys/b', () => {
      if (++deleteAttempts === 1) return { status: 403, json: { error: { code: 'LOCKED', message: 'locked' } } };
      keys = keys.filter((k) => k.id !== 'b');
      return { json: { deleted: true, id: 'b' } };
    });
    srv.on('POST /api/v1/keys', (req) => {
      const body = JSON.parse(req.body.toString());
      if (body.password !== 'file-pass')
        return {
          status: 422,
          json: {
            error: { code: 'P12_BAD_PASSWORD', message: 'The PKCS#12 password is wrong, or the file is damaged.' },
          },
        };
      const k = key('c', { subject: 'CN=Imported' });
      keys = [...keys, k];
      return { status: 201, json: { key: k } };
    });
    // Key backup (issue 17): the passphrase is checked by the server; the answer is the file.
    srv.on('POST /api/v1/keys/a/export', (req) => {
      const body = JSON.parse(req.body.toString());
      return body.passphrase === 'current passphrase'
        ? { body: Buffer.from([0x30, 0x82, 0x01, 0x02]), type: 'application/x-pkcs12' }
        : { status: 403, json: { error: { code: 'WRONG_PASSPHRASE', message: 'wrong', failures: 1 } } };
    });
    srv.on('POST /api/v1/session/passphrase', (req) => {
      const body = JSON.parse(req.body.toString());
      return body.currentPassphrase === 'current passphrase'
        ? { json: { changed: true, rewrappedKeyIds: ['a'] } }
        : { status: 403, json: { error: { code: 'WRONG_PASSPHRASE', message: 'wrong', failures: 1 } } };
    });
    b = await openHarness(srv.url);
    await b.page.evaluate(() => {
      const el = document.createElement('smime-settings') as any;
      el.client = (window as any).client;
      el.user = 'alice@demo.example';
      document.getElementById('root')!.append(el);
    });
    await b.page.locator('[part="keys"] tr[data-key="a"]').waitFor();
  });
  after(() =>
    cleanUp(
      () => b?.close(),
      () => srv?.close(),
    ),
  );

  test('own keys: validity, default, expired', async () => {
    const a = (await b.page.locator('tr[data-key="a"]').textContent()) ?? '';
    assert.match(a, /Valid/);
    assert.match(a, /Signing default/);
    assert.match((await b.page.locator('tr[data-key="b"]').textContent()) ?? '', /Expired/);
    await screenshot(b.page, 'component-settings');
  });

  test('delete asks for confirmation, confirms with the fingerprint, and with locked keys asks to unlock first', async () => {
    await b.page.locator('tr[data-key="b"] button.danger').click();
    await b.page.locator('tr[data-key="b"] [role="alert"]', { hasText: 'cannot be undone' }).waitFor();
    assert.ok(!srv.requests.some((r) => r.method === 'DELETE'), 'nothing deleted before confirmation');
    const asked = b.page.evaluate(
      () =>
        new Promise<string>((resolve) =>
          document.addEventListener('smime-unlock-request', (e) => resolve((e as CustomEvent).detail.reason), {
            once: true,
          }),
        ),
    );
    await b.page.locator('[data-action="confirm-delete"]').click();
    assert.equal(await asked, 'manage');
    assert.equal(await b.page.locator('tr[data-key="b"]').count(), 1, 'still there while locked');
    // What the plugin's prompt announces once the keys are unlocked: the delete goes on by itself.
    await b.page.evaluate(() =>
      document.body.dispatchEvent(new CustomEvent('smime-unlocked', { bubbles: true, composed: true, detail: {} })),
    );
    await b.page.locator('tr[data-key="b"]').waitFor({ state: 'detached' });
    const dels = srv.requests.filter((r) => r.method === 'DELETE');
    assert.equal(dels.length, 2);
    assert.equal(dels[1]!.query, `?confirm=${'b'.repeat(64)}`);
  });

  test('back up a key: export passwords must match, a wrong passphrase is shown, then the file downloads', async () => {
    await b.page.locator('tr[data-key="a"] button', { hasText: 'Back up' }).click();
    const form = b.page.locator('tr[data-key="a"] form[data-action="backup"]');
    await form.locator('input[name="passphrase"]').fill('a guess');
    await form.locator('input[name="export"]').fill('export password 1');
    await form.locator('input[name="export-again"]').fill('export password 2');
    await form.locator('button[type="submit"]').click();
    await b.page.locator('[data-note="keys"]', { hasText: 'differ' }).waitFor();
    assert.ok(!srv.requests.some((r) => r.path.endsWith('/export')), 'nothing sent while the two differ');
    await form.locator('input[name="export-again"]').fill('export password 1');
    await form.locator('button[type="submit"]').click();
    // The server's refusal is shown (a non-empty note that is not the mismatch one).
    await b.page.locator('[data-note="keys"]').filter({ hasNotText: 'differ' }).filter({ hasText: /\S/ }).waitFor();
    assert.equal(srv.requests.filter((r) => r.path.endsWith('/export')).length, 1);
    await form.locator('input[name="passphrase"]').fill('current passphrase');
    const download = b.page.waitForEvent('download');
    await form.locator('button[type="submit"]').click();
    assert.equal((await download).suggestedFilename(), 'key.p12');
    const sent = srv.requests.filter((r) => r.path.endsWith('/export')).at(-1)!;
    assert.deepEqual(JSON.parse(sent.body.toString()), {
      passphrase: 'current passphrase',
      exportPassword: 'export password 1',
    });
    await form.waitFor({ state: 'detached' });
  });

  test('import a .p12: wrong file password, then success', async () => {
    const file = { name: 'alice.p12', mimeType: 'application/x-pkcs12', buffer: Buffer.from([0x30, 0x82, 0x01, 0x02]) };
    await b.page.locator('#p12').setInputFiles(file);
    await b.page.locator('#p12-password').fill('nope');
    await b.page.locator('#import-passphrase').fill('current passphrase');
    await b.page
      .locator('form', { has: b.page.locator('#p12') })
      .locator('button[type="submit"]')
      .click();
    await b.page.locator('[data-note="import"]', { hasText: 'password is wrong' }).waitFor();
    await b.page.locator('#p12').setInputFiles(file);
    await b.page.locator('#p12-password').fill('file-pass');
    await b.page
      .locator('form', { has: b.page.locator('#p12') })
      .locator('button[type="submit"]')
      .click();
    await b.page.locator('[data-note="import"]', { hasText: 'Imported CN=Imported' }).waitFor();
    await b.page.locator('tr[data-key="c"]').waitFor();
    const req = srv.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/keys').at(-1)!;
    assert.equal(JSON.parse(req.body.toString()).p12, Buffer.from([0x30, 0x82, 0x01, 0x02]).toString('base64'));
  });

  test('change passphrase: mismatch, wrong current, success', async () => {
    const form = b.page.locator('form', { has: b.page.locator('#current') });
    await b.page.locator('#current').fill('bad current');
    await b.page.locator('#new').fill('a new long passphrase');
    await b.page.locator('#again').fill('a new long passphrasf');
    await form.locator('button[type="submit"]').click();
    await b.page.locator('[data-note="passphrase"]', { hasText: 'differ' }).waitFor();
    await b.page.locator('#again').fill('a new long passphrase');
    await form.locator('button[type="submit"]').click();
    await b.page.locator('[data-note="passphrase"]', { hasText: 'Wrong passphrase' }).waitFor();
    await b.page.locator('#current').fill('current passphrase');
    await b.page.locator('#new').fill('a new long passphrase');
    await b.page.locator('#again').fill('a new long passphrase');
    await form.locator('button[type="submit"]').click();
    await b.page.locator('[data-note="passphrase"]', { hasText: 'Passphrase changed' }).waitFor();
  });

  test('Activity (issue 17): a section of the pane, reloaded after a change so the new entry shows', async () => {
    const activity = b.page.locator('smime-settings smime-activity');
    await activity.locator('h3', { hasText: 'Activity' }).waitFor();
    await activity.locator('tr[data-action="key.placed"]', { hasText: 'IT placed a key for you' }).waitFor();
    const asked = () => srv.requests.filter((r) => r.path === '/api/v1/me/audit').length;
    const before = asked();
    audit.unshift({
      seq: 2,
      at: new Date().toISOString(),
      actor: 'user:alice@demo.example',
      action: 'passphrase.changed',
      details: {},
    });
    const form = b.page.locator('form', { has: b.page.locator('#current') });
    await b.page.locator('#current').fill('current passphrase');
    await b.page.locator('#new').fill('another long passphrase');
    await b.page.locator('#again').fill('another long passphrase');
    await form.locator('button[type="submit"]').click();
    await activity.locator('tr[data-action="passphrase.changed"]', { hasText: 'Passphrase changed' }).waitFor();
    assert.ok(asked() > before, 'the trail was fetched again');
    assert.equal(await activity.locator('tr[data-seq]').first().getAttribute('data-seq'), '2');
  });

  test("other people's certificates: source, filter, details; directory ones cannot be deleted", async () => {
    const row = b.page.locator('tr[data-cert="c1"]');
    assert.match((await row.textContent()) ?? '', /From signed mail/);
    assert.equal(await b.page.locator('tr[data-cert="c2"] button.danger').count(), 0);
    await row.getByRole('button', { name: 'Details' }).click();
    assert.match((await b.page.locator('#cert-c1').textContent()) ?? '', /cdcdcd/);
    await b.page.locator('#source-filter').selectOption('directory');
    const asked = () =>
      srv.requests.some((r) => r.path === '/api/v1/certificates' && /[?&]source=directory/.test(r.query));
    for (let i = 0; i < 50 && !asked(); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(asked(), 'the source filter reaches the API');
    await b.page.locator('#source-filter').selectOption('');
    await b.page.locator('#filter').fill('carol');
    await b.page.locator('tr[data-cert="c1"]').waitFor({ state: 'detached' });
    assert.equal(await b.page.locator('tr[data-cert="c2"]').count(), 1);
  });

  test('defaults are saved per user and announced', async () => {
    const ev = b.page.evaluate(
      () =>
        new Promise<any>((r) =>
          document.addEventListener('smime-settings-change', (e) => r((e as CustomEvent).detail), { once: true }),
        ),
    );
    await b.page.locator('input[name="encrypt-default"]').check();
    assert.equal((await ev).encrypt, true);
    await b.page.locator('#cipher').selectOption('aes-256-gcm');
    const stored = await b.page.evaluate(() => JSON.parse(localStorage.getItem('smime-defaults:alice@demo.example')!));
    assert.deepEqual(stored, { sign: true, encrypt: true, cipher: 'aes-256-gcm' });
  });
});
