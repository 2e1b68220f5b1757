/**
 * The demo webmail end to end, in Debian's chromium (issue 5 "Done when"): a newcomer's server (npm start with
 * nothing configured), the demo users, and the plugin doing the S/MIME work through the real backend. In order:
 * a recipient without certificate blocks Encrypt and is named; sending signed+encrypted asks to unlock the locked key,
 * refuses a wrong passphrase, then sends; the recipient reads it after unlocking (verified, decrypted); a tampered
 * message shows invalid; settings import a .p12 and change the passphrase; an IT-placed key forces a new passphrase.
 * Screenshots of each screen go to test-output/screenshots/.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { demoCaPaths, demoPkcs12 } from '../../backend/src/demo/seed.ts';
import { loadCa } from '../../backend/src/demo/pki.ts';
import { browserUnavailable, launch, screenshot, type BrowserSession } from '../frontend/browser.ts';
import { startDemoServer, type DemoServer } from './server.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const skip = browserUnavailable();

const ALICE = { name: 'Alice Demo', email: 'alice@demo.example', passphrase: 'alice demo passphrase' };
const BOB = { name: 'Bob Demo', email: 'bob@demo.example', passphrase: 'bob demo passphrase' };
const CAROL = { name: 'Carol Demo', email: 'carol@demo.example', passphrase: 'carol temporary from IT' };

describe('demo webmail in chromium', { skip, concurrency: false }, () => {
  let srv: DemoServer;
  let b: BrowserSession;
  let page: Page;

  before(async () => {
    srv = await startDemoServer();
    b = await launch();
    page = b.page;
    page.setDefaultTimeout(20_000);
    await page.goto(`${srv.url}/demo`);
  });
  after(() =>
    cleanUp(
      () => b?.close(),
      () => srv?.stop(),
    ),
  );

  const prompt = () => page.locator('body > smime-unlock-dialog dialog[open]');

  async function loginAs(u: { email: string }): Promise<void> {
    if (await page.locator('#switch-user').isVisible()) await page.locator('#switch-user').click();
    await page.locator(`.users button[data-email="${u.email}"]`).click();
    await page.locator('#nav').waitFor();
    await page.locator('h1', { hasText: 'Inbox' }).waitFor();
  }

  async function compose(
    to: string,
    subject: string,
    text: string,
    want: { sign: boolean; encrypt: boolean },
  ): Promise<void> {
    await page.locator('#nav button[data-view="compose"]').click();
    await page.locator('#to').fill(to);
    await page.locator('#subject').fill(subject);
    await page.locator('#text').fill(text);
    for (const which of ['sign', 'encrypt'] as const) {
      const t = page.locator(`[part~="toggle-${which}"]`);
      if ((await t.getAttribute('aria-checked')) !== String(want[which])) await t.click();
    }
  }

  async function answerPrompt(passphrase: string): Promise<void> {
    await prompt().locator('#passphrase').fill(passphrase);
    await prompt().locator('#passphrase').press('Enter');
  }

  async function openMessage(subject: string): Promise<void> {
    await page.locator('a[data-id]', { hasText: subject }).first().click();
    await page.locator('#body').waitFor();
  }

  test('login page lists the demo users', async () => {
    await page.locator('.users button').first().waitFor();
    assert.equal(await page.locator('.users button').count(), 4);
    await screenshot(page, '01-login');
  });

  test('a recipient without certificate blocks Encrypt, and is named', async () => {
    await loginAs(ALICE);
    await compose('bob@demo.example, dave@demo.example', 'For Dave', 'Hello Dave', { sign: false, encrypt: true });
    const summary = page.locator('smime-compose-controls [part="summary"]');
    await summary.filter({ hasText: 'Cannot encrypt' }).waitFor();
    assert.match((await summary.textContent()) ?? '', /no usable certificate for dave@demo\.example\./);
    assert.equal(await page.locator('#send').isDisabled(), true, 'Send is disabled while Encrypt is blocked');
    await screenshot(page, '02-compose-missing-certificate');
    // Without Dave it can be sent.
    await page.locator('#to').fill('bob@demo.example');
    await summary.filter({ hasText: 'Will be encrypted' }).waitFor();
    assert.equal(await page.locator('#send').isDisabled(), false);
  });

  test('send signed+encrypted: the locked key prompts unlock, a wrong passphrase is refused', async () => {
    await compose('bob@demo.example', 'Quarterly figures', 'The figures are attached in spirit.\nAlice', {
      sign: true,
      encrypt: true,
    });
    // Signing is on by default and Alice's key is locked: the compose controls say so before Send.
    await page.locator('smime-compose-controls [part="summary"]', { hasText: 'unlock it before sending' }).waitFor();
    await page.locator('#send').click();
    await prompt().waitFor();
    assert.match((await prompt().textContent()) ?? '', /Signing needs your key/);
    await answerPrompt('not my passphrase');
    await prompt().locator('[part="error"]', { hasText: 'Wrong passphrase (1 failed attempt)' }).waitFor();
    await screenshot(page, '03-unlock-wrong-passphrase');
    await answerPrompt(ALICE.passphrase);
    await page.locator('.notice', { hasText: 'Sent (signed and encrypted) to bob@demo.example' }).waitFor();
    await page.locator('smime-unlock-dialog [part="toggle"]', { hasText: 'Lock keys' }).waitFor();
    await screenshot(page, '04-sent');
  });

  test('the recipient unlocks and reads it: decrypted, signature verified', async () => {
    await loginAs(BOB);
    await screenshot(page, '05-inbox');
    await openMessage('Quarterly figures');
    const status = page.locator('smime-message-status');
    await status.locator('[data-kind="encrypted"][data-status="locked"]').waitFor();
    await screenshot(page, '06-read-locked');
    await status.locator('[part="unlock"]').click();
    await prompt().waitFor();
    await answerPrompt(BOB.passphrase);
    await status.locator('[data-kind="encrypted"][data-status="decrypted"]').waitFor();
    const signed = status.locator('[data-kind="signed"]');
    assert.equal(await signed.getAttribute('data-status'), 'valid');
    assert.match((await signed.textContent()) ?? '', /Signed by Alice Demo <alice@demo\.example>/);
    assert.match((await page.locator('#body').textContent()) ?? '', /The figures are attached in spirit/);
    await signed.locator('summary').click();
    await screenshot(page, '07-read-verified');
  });

  test('a tampered message shows an invalid signature', async () => {
    await compose('alice@demo.example', 'Signed, not sealed', 'Pay the invoice to account 1234.', {
      sign: true,
      encrypt: false,
    });
    await page.locator('#send').click();
    await page.locator('.notice', { hasText: 'Sent (signed) to alice@demo.example' }).waitFor();
    await openMessage('Signed, not sealed');
    const status = page.locator('smime-message-status');
    await status.locator('[data-kind="signed"][data-status="valid"]').waitFor();
    await page.locator('#tamper').click();
    await status.locator('[data-kind="signed"][data-status="invalid-signature"]').waitFor();
    assert.match((await status.locator('[part="banner"]').textContent()) ?? '', /the message was changed/);
    await status.locator('[data-status="invalid-signature"] summary').click();
    await screenshot(page, '08-tampered');
  });

  test('settings: import a .p12, change the passphrase, unlock with the new one', async () => {
    await page.locator('#nav button[data-view="settings"]').click();
    await page.locator('smime-settings tr[data-key]').first().waitFor();
    assert.equal(await page.locator('smime-settings tr[data-key]').count(), 1);
    // A second key for Bob from the demo CA, as a .p12 file he received.
    const p = demoCaPaths(srv.dataDir);
    const pem = readFileSync(p.certificate, 'utf8');
    const ca = await loadCa(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64'), readFileSync(p.key));
    const { p12 } = await demoPkcs12(ca, { name: 'Bob Demo (new)', email: BOB.email }, 'file password');
    await page
      .locator('#p12')
      .setInputFiles({ name: 'bob.p12', mimeType: 'application/x-pkcs12', buffer: Buffer.from(p12) });
    await page.locator('#p12-password').fill('file password');
    await page.locator('#import-passphrase').fill(BOB.passphrase);
    await page
      .locator('smime-settings form', { has: page.locator('#p12') })
      .locator('button[type="submit"]')
      .click();
    const note = page.locator('[data-note="import"]');
    await page.waitForFunction(() => {
      const el = document.querySelector('smime-settings')?.shadowRoot?.querySelector('[data-note="import"]');
      return Boolean(el?.textContent?.trim());
    });
    assert.match((await note.textContent()) ?? '', /Imported .*CN=Bob Demo \(new\)/);
    await page.locator('smime-settings tr[data-key]').nth(1).waitFor();
    assert.match(
      (await page.locator('smime-settings [part="certificates"]').textContent()) ?? '',
      /alice@demo\.example/,
    );

    const next = 'bob chose a new passphrase';
    await page.locator('smime-settings #current').fill(BOB.passphrase);
    await page.locator('smime-settings #new').fill(next);
    await page.locator('smime-settings #again').fill(next);
    await page
      .locator('smime-settings form', { has: page.locator('#current') })
      .locator('button[type="submit"]')
      .click();
    await page.locator('[data-note="passphrase"]', { hasText: 'Passphrase changed' }).waitFor();
    await screenshot(page, '09-settings');

    // Lock, then unlock with the new passphrase (the old one no longer works).
    await page.locator('#unlock-slot [part="toggle"]', { hasText: 'Lock keys' }).click();
    await page.locator('#unlock-slot [part="toggle"]', { hasText: 'Unlock' }).click();
    const dialog = page.locator('#unlock-slot dialog[open]');
    await dialog.locator('#passphrase').fill(BOB.passphrase);
    await dialog.locator('#passphrase').press('Enter');
    await dialog.locator('[part="error"]', { hasText: 'Wrong passphrase' }).waitFor();
    await dialog.locator('#passphrase').fill(next);
    await dialog.locator('#passphrase').press('Enter');
    await page.locator('#unlock-slot [part="toggle"]', { hasText: 'Lock keys' }).waitFor();
  });

  test('a key placed by IT: the first unlock asks for a passphrase of her own', async () => {
    await loginAs(CAROL);
    await page.locator('#unlock-slot [part="toggle"]', { hasText: 'Unlock' }).click();
    const dialog = page.locator('#unlock-slot dialog[open]');
    await dialog.locator('#passphrase').fill(CAROL.passphrase);
    await dialog.locator('#passphrase').press('Enter');
    await dialog.locator('h2', { hasText: 'Choose your own passphrase' }).waitFor();
    await screenshot(page, '10-choose-passphrase');
    await dialog.locator('#new').fill('carol knows this one');
    await dialog.locator('#again').fill('carol knows this one');
    await dialog.locator('#again').press('Enter');
    await page.locator('#unlock-slot [part="toggle"]', { hasText: 'Lock keys' }).waitFor();
  });
});
