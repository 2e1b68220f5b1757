/**
 * The host contract (plugin/src/contract.ts) in a real browser against a scripted API: protect() opens the unlock
 * prompt on LOCKED and retries, refuses with the missing recipients named, passes an unprotected message through;
 * show() decodes the content, and after "Unlock to read" hands the host the decrypted content; present() shows an
 * analysis a server-side host made (Roundcube) and tells the host to re-render after an unlock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserUnavailable, openHarness, type BrowserSession } from './browser.ts';
import { startMockServer, type MockServer } from './harness.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const skip = browserUnavailable();
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('plugin contract', { skip }, () => {
  let srv: MockServer;
  let b: BrowserSession;
  let unlocked = false;
  let missing: string[] = [];

  before(async () => {
    srv = await startMockServer();
    srv.on('GET /api/v1/session', () => ({ json: { unlocked, idleTimeoutS: 900, unlockedKeyIds: [] } }));
    srv.on('GET /api/v1/me', {
      json: {
        email: 'alice@x.example',
        aliases: [],
        keys: 1,
        mustChangePassphrase: false,
        unlockIdleTimeoutS: 900,
        passphraseMinLength: 10,
      },
    });
    srv.on('POST /api/v1/session/unlock', () => {
      unlocked = true;
      return {
        json: {
          unlocked: true,
          expiresAt: '2030-01-01T00:00:00Z',
          idleTimeoutS: 900,
          unlockedKeyIds: ['k'],
          lockedKeyIds: [],
          mustChangePassphrase: false,
        },
      };
    });
    srv.on('GET /api/v1/certificates/resolve', (req) => ({
      json: {
        recipients: new URLSearchParams(req.query)
          .getAll('email')
          .map((email) => ({ email, ready: !missing.includes(email), reasons: [], certificate: null })),
      },
    }));
    srv.on('POST /api/v1/messages/outgoing', (req) => {
      if (missing.length)
        return {
          status: 422,
          json: {
            error: {
              code: 'RECIPIENT_CERTIFICATE_MISSING',
              message: 'missing',
              missing: missing.map((email) => ({ email, reasons: [] })),
            },
          },
        };
      if (!unlocked) return { status: 403, json: { error: { code: 'LOCKED', message: 'locked' } } };
      return { json: { messages: [{ bcc: null, message: b64(`protected:${req.query}:${req.body.toString()}`) }] } };
    });
    srv.on('POST /api/v1/messages/incoming', () => ({
      json: {
        layers: [{ kind: 'encrypted', format: 'enveloped', status: unlocked ? 'decrypted' : 'locked' }],
        signed: false,
        encrypted: true,
        parts: [],
        harvested: [],
        content: b64(unlocked ? 'Content-Type: text/plain\r\n\r\nsecret' : ''),
      },
    }));
    b = await openHarness(srv.url);
    await b.page.evaluate(() => {
      const w = window as any;
      w.smime = w.P.createSmimePlugin({ userEmail: 'alice@x.example', getToken: async () => 'tok' });
      w.compose = w.smime.mountComposeControls(document.getElementById('root'));
    });
  });
  after(() =>
    cleanUp(
      () => b?.close(),
      () => srv?.close(),
    ),
  );

  test('neither Sign nor Encrypt: the message passes through unchanged', async () => {
    const r = await b.page.evaluate(async () => {
      const w = window as any;
      w.compose.element.sign = false;
      w.compose.element.encrypt = false;
      const out = await w.compose.protect(new TextEncoder().encode('plain'));
      return { protected: out.protected, text: new TextDecoder().decode(out.messages[0].raw) };
    });
    assert.deepEqual(r, { protected: false, text: 'plain' });
  });

  test('Encrypt with a recipient lacking a certificate: SmimeSendBlocked naming them, nothing sent', async () => {
    missing = ['dave@x.example'];
    const before = srv.requests.filter((r) => r.path === '/api/v1/messages/outgoing').length;
    const r = await b.page.evaluate(async () => {
      const w = window as any;
      w.compose.element.encrypt = true;
      w.compose.setRecipients(['bob@x.example', 'dave@x.example']);
      try {
        await w.compose.protect(new TextEncoder().encode('m'));
        return 'sent';
      } catch (e: any) {
        return { name: e.name, reason: e.reason, missing: e.missing, isBlocked: e instanceof w.P.SmimeSendBlocked };
      }
    });
    assert.deepEqual(r, {
      name: 'SmimeSendBlocked',
      reason: 'missing-certificates',
      missing: ['dave@x.example'],
      isBlocked: true,
    });
    assert.equal(
      srv.requests.filter((r) => r.path === '/api/v1/messages/outgoing').length,
      before,
      'checked before sending',
    );
    missing = [];
  });

  test('locked key: protect() opens the prompt, then retries and returns the protected message', async () => {
    const result = b.page.evaluate(async () => {
      const w = window as any;
      w.compose.element.sign = true;
      w.compose.element.encrypt = true;
      w.compose.setRecipients(['bob@x.example']);
      const out = await w.compose.protect(new TextEncoder().encode('body'));
      return { protected: out.protected, text: new TextDecoder().decode(out.messages[0].raw) };
    });
    const prompt = b.page.locator('body > smime-unlock-dialog dialog[open]');
    await prompt.locator('#passphrase').fill('the passphrase');
    await prompt.locator('#passphrase').press('Enter');
    assert.deepEqual(await result, { protected: true, text: 'protected:?sign=true&encrypt=true:body' });
  });

  test('reading: locked, then "Unlock to read" gives the host the decrypted content', async () => {
    unlocked = false;
    const first = await b.page.evaluate(async () => {
      const w = window as any;
      w.reader = w.smime.mountMessageStatus(document.getElementById('root'));
      w.later = new Promise((resolve) => w.reader.onResult((r: any) => resolve(new TextDecoder().decode(r.content))));
      const r = await w.reader.show(new TextEncoder().encode('raw'));
      return r.analysis.layers[0].status;
    });
    assert.equal(first, 'locked');
    await b.page.locator('smime-message-status [part="unlock"]').click();
    const prompt = b.page.locator('body > smime-unlock-dialog dialog[open]');
    await prompt.locator('#passphrase').fill('the passphrase');
    await prompt.locator('#passphrase').press('Enter');
    assert.equal(await b.page.evaluate(() => (window as any).later), 'Content-Type: text/plain\r\n\r\nsecret');
    await b.page.locator('smime-message-status [data-status="decrypted"]').waitFor();
  });

  test('unlocking from the header opens a message shown as locked: the passphrase is asked once (issue 15)', async () => {
    unlocked = false;
    const unlocks = () => srv.requests.filter((r) => r.path === '/api/v1/session/unlock').length;
    const before = unlocks();
    await b.page.evaluate(async () => {
      const w = window as any;
      const root = document.getElementById('root')!;
      const header = document.createElement('div');
      header.id = 'header';
      document.body.prepend(header);
      w.toolbar = w.smime.mountUnlockControl(header);
      w.headerReader = w.smime.mountMessageStatus(root);
      await w.headerReader.show(new TextEncoder().encode('raw'));
    });
    const banner = b.page.locator('smime-message-status').last();
    await banner.locator('[data-kind="encrypted"][data-status="locked"]').waitFor();
    await b.page.locator('#header smime-unlock-dialog [part="toggle"]').click();
    const dialog = b.page.locator('#header smime-unlock-dialog dialog[open]');
    await dialog.locator('#passphrase').fill('the passphrase');
    await dialog.locator('#passphrase').press('Enter');
    await banner.locator('[data-kind="encrypted"][data-status="decrypted"]').waitFor();
    assert.equal(unlocks() - before, 1, 'one unlock, no second prompt');
    assert.equal(await b.page.locator('body > smime-unlock-dialog dialog[open]').count(), 0);
    await b.page.evaluate(() => {
      const w = window as any;
      w.toolbar.destroy();
      w.headerReader.destroy();
      document.getElementById('header')!.remove();
    });
  });

  test('a server-side host: present() shows its analysis without asking, "Unlock to read" calls onUnlocked', async () => {
    unlocked = false;
    const before = srv.requests.filter((r) => r.path === '/api/v1/messages/incoming').length;
    await b.page.evaluate(() => {
      const w = window as any;
      w.presented = w.smime.mountMessageStatus(document.getElementById('root'));
      w.unlockedCalls = 0;
      w.presented.onUnlocked(() => w.unlockedCalls++);
      w.presented.onResult(() => (w.resultCalls = (w.resultCalls ?? 0) + 1));
      w.presented.present({
        layers: [{ kind: 'encrypted', format: 'enveloped', status: 'locked' }],
        signed: false,
        encrypted: true,
        parts: [],
        harvested: [],
        unwrapped: false,
        content: '',
      });
    });
    const banner = b.page.locator('smime-message-status').last();
    await banner.locator('[data-kind="encrypted"][data-status="locked"]').waitFor();
    await banner.locator('[part="unlock"]').click();
    const prompt = b.page.locator('body > smime-unlock-dialog dialog[open]');
    await prompt.locator('#passphrase').fill('the passphrase');
    await prompt.locator('#passphrase').press('Enter');
    await b.page.waitForFunction(() => (window as any).unlockedCalls === 1);
    // The host re-renders: the plugin itself neither analysed the message nor handed out a result.
    assert.equal(srv.requests.filter((r) => r.path === '/api/v1/messages/incoming').length, before);
    assert.equal(await b.page.evaluate(() => (window as any).resultCalls ?? 0), 0);
  });

  test('every request carried the host token', () => {
    const api = srv.requests.filter((r) => r.path.startsWith('/api/'));
    assert.ok(api.length >= 5);
    assert.deepEqual(
      api.filter((r) => r.headers.authorization !== 'Bearer tok').map((r) => r.path),
      [],
    );
  });

  test('destroy() removes everything the plugin mounted', async () => {
    const left = await b.page.evaluate(() => {
      (window as any).smime.destroy();
      return document.querySelectorAll('smime-compose-controls, smime-message-status, smime-unlock-dialog').length;
    });
    assert.equal(left, 0);
  });
});
