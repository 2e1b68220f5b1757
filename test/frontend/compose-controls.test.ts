/**
 * <smime-compose-controls> in a real browser: recipients are resolved as they change, everyone without a certificate
 * is named before sending, Encrypt cannot be sent while anyone lacks one, Sign asks for unlock when locked; keyboard.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { browserUnavailable, openHarness, screenshot, type BrowserSession } from './browser.ts';
import { startMockServer, type MockServer } from './harness.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const skip = browserUnavailable();

describe('smime-compose-controls', { skip }, () => {
  let srv: MockServer;
  let b: BrowserSession;
  before(async () => {
    srv = await startMockServer();
    srv.on('GET /api/v1/certificates/resolve', (req) => {
      const emails = new URLSearchParams(req.query).getAll('email');
      return {
        json: {
          recipients: emails.map((email) =>
            email.startsWith('dave') || email.startsWith('erin')
              ? { email, ready: false, reasons: ['no certificate known'], certificate: null }
              : {
                  email,
                  ready: true,
                  reasons: [],
                  // A directory certificate whose revocation could not be checked (issue 12): usable, and said so.
                  warnings: email.startsWith('uma')
                    ? ['CN=Uma: revocation status unknown (certificate: CRL http://ca.example/crl: FETCH_TIMEOUT)']
                    : [],
                  certificate: {
                    id: '1',
                    source: 'exchanged',
                    subject: 'CN=x',
                    fingerprintSha256: 'ab',
                    notAfter: '2030-01-01T00:00:00Z',
                  },
                },
          ),
        },
      };
    });
    srv.on('GET /api/v1/session', { json: { unlocked: false, idleTimeoutS: 900, unlockedKeyIds: [] } });
    b = await openHarness(srv.url);
  });
  after(() =>
    cleanUp(
      () => b?.close(),
      () => srv?.close(),
    ),
  );
  beforeEach(async () => {
    await b.page.evaluate(() => {
      const root = document.getElementById('root')!;
      root.innerHTML = '';
      const el = document.createElement('smime-compose-controls') as any;
      el.client = (window as any).client;
      (window as any).events = [];
      el.addEventListener('smime-compose-change', (e: CustomEvent) => (window as any).events.push(e.detail));
      root.append(el);
    });
  });

  const setRecipients = (r: string[]) =>
    b.page.evaluate((r) => {
      (document.querySelector('smime-compose-controls') as any).recipients = r;
    }, r);
  const state = () => b.page.evaluate(() => (document.querySelector('smime-compose-controls') as any).state);

  test('Encrypt is blocked and names every recipient without a certificate', async () => {
    await setRecipients(['bob@demo.example', 'dave@demo.example', 'erin@demo.example']);
    await b.page.locator('[part~="toggle-encrypt"]').click();
    const summary = b.page.locator('[part="summary"]');
    await summary.filter({ hasText: 'Cannot encrypt' }).waitFor();
    const text = (await summary.textContent()) ?? '';
    assert.match(text, /dave@demo\.example, erin@demo\.example/);
    assert.doesNotMatch(text, /bob@/);
    assert.equal(await summary.getAttribute('role'), 'alert');
    const st = await state();
    assert.equal(st.canSend, false);
    assert.deepEqual(st.missing, ['dave@demo.example', 'erin@demo.example']);
    assert.equal(await b.page.locator('[data-email="bob@demo.example"][data-ready="true"]').count(), 1);
    await screenshot(b.page, 'component-compose-missing');
    // The host hears about it through the typed event.
    const last = await b.page.evaluate(() => (window as any).events.at(-1));
    assert.equal(last.canSend, false);
    assert.equal(last.encrypt, true);
  });

  test('a ready recipient whose revocation status is unknown is shown as such (issue 12)', async () => {
    await setRecipients(['uma@demo.example', 'bob@demo.example']);
    await b.page.locator('[part~="toggle-encrypt"]').click();
    const uma = b.page.locator('[data-email="uma@demo.example"][data-ready="true"]');
    await uma.waitFor();
    assert.match((await uma.textContent()) ?? '', /revocation status unknown/);
    assert.doesNotMatch((await b.page.locator('[data-email="bob@demo.example"]').textContent()) ?? '', /revocation/);
    assert.equal((await state()).canSend, true);
  });

  test('removing the recipient without certificate unblocks Encrypt', async () => {
    await setRecipients(['dave@demo.example']);
    await b.page.locator('[part~="toggle-encrypt"]').click();
    await b.page.locator('[part="summary"]', { hasText: 'Cannot encrypt' }).waitFor();
    await setRecipients(['bob@demo.example']);
    await b.page.locator('[part="summary"]', { hasText: 'Will be encrypted' }).waitFor();
    assert.equal((await state()).canSend, true);
  });

  test('without Encrypt, a recipient lacking a certificate does not block sending', async () => {
    await setRecipients(['dave@demo.example']);
    await b.page.waitForFunction(() => !(document.querySelector('smime-compose-controls') as any).state.checking);
    assert.equal((await state()).canSend, true);
  });

  test('Sign while locked asks for unlock; toggles are switches operable by keyboard', async () => {
    const asked = b.page.evaluate(
      () =>
        new Promise<string>((r) =>
          document.addEventListener('smime-unlock-request', (e) => r((e as CustomEvent).detail.reason), { once: true }),
        ),
    );
    const sign = b.page.locator('[part~="toggle-sign"]');
    assert.equal(await sign.getAttribute('role'), 'switch');
    assert.equal(await sign.getAttribute('aria-checked'), 'false');
    await sign.focus();
    await b.page.keyboard.press('Space');
    assert.equal(await asked, 'sign');
    assert.equal(await sign.getAttribute('aria-checked'), 'true');
    await b.page.locator('[part="summary"]', { hasText: 'unlock it before sending' }).waitFor();
  });

  test('Protect subject (RFC 9788): off until Sign or Encrypt is on, then a switch whose state reaches the host', async () => {
    const hp = b.page.locator('[part~="toggle-protect-headers"]');
    assert.equal(await hp.getAttribute('role'), 'switch');
    assert.equal(await hp.isDisabled(), true, 'nothing to protect the headers with');
    await b.page.locator('[part~="toggle-encrypt"]').click();
    assert.equal(await hp.isDisabled(), false);
    await hp.focus();
    await b.page.keyboard.press('Space');
    assert.equal(await hp.getAttribute('aria-checked'), 'true');
    assert.equal((await state()).protectHeaders, true);
    const last = await b.page.evaluate(() => (window as any).events.at(-1));
    assert.equal(last.protectHeaders, true);
    assert.match((await hp.getAttribute('title')) ?? '', /\[\.\.\.\]/, 'the help says what outsiders will see');
  });

  test('a user without any key: Sign and Encrypt are off and say why, no unlock is asked for', async () => {
    srv.on('GET /api/v1/me', {
      json: {
        email: 'a@x',
        aliases: [],
        keys: 0,
        mustChangePassphrase: false,
        unlockIdleTimeoutS: 900,
        passphraseMinLength: 10,
      },
    });
    try {
      await b.page.evaluate(() => {
        const root = document.getElementById('root')!;
        root.innerHTML = '';
        const el = document.createElement('smime-compose-controls') as any;
        el.sign = true;
        el.client = (window as any).client;
        root.append(el);
      });
      const summary = b.page.locator('[part="summary"]', { hasText: 'you have none' });
      await summary.waitFor();
      assert.match((await summary.textContent()) ?? '', /IT department|\.p12/);
      for (const which of ['sign', 'encrypt', 'protect-headers']) {
        const t = b.page.locator(`[part~="toggle-${which}"]`);
        assert.equal(await t.isDisabled(), true, which);
        assert.equal(await t.getAttribute('aria-checked'), 'false', which);
      }
      const st = await state();
      assert.equal(st.sign, false);
    } finally {
      srv.on('GET /api/v1/me', { status: 404, json: { error: { code: 'NOT_FOUND', message: 'x' } } });
    }
  });
});
