/**
 * <smime-message-status> in a real browser: every status of the backend's vocabulary gets its line with colour, icon
 * and text, and a details panel that explains the cause and what to do; locked messages offer unlock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { statusText } from '../../frontend/src/messages.ts';
import { DECRYPTION_STATUSES, SIGNATURE_STATUSES } from '../../frontend/src/api/types.ts';
import { browserUnavailable, openHarness, screenshot, type BrowserSession } from './browser.ts';
import { startMockServer, type MockServer } from './harness.ts';
import { cleanUp } from '../helpers/cleanup.ts';

const skip = browserUnavailable();

const signer = {
  subject: 'CN=Alice Demo, O=Demo',
  issuer: 'CN=Demo CA',
  serialNumber: '01',
  fingerprintSha256: 'ab'.repeat(32),
  notBefore: '2026-01-01T00:00:00Z',
  notAfter: '2028-01-01T00:00:00Z',
  emails: ['alice@demo.example'],
};

function signedLayer(status: string) {
  return {
    kind: 'signed',
    format: 'multipart-signed',
    status,
    signatures: [
      {
        status,
        signer,
        chain: [{ ...signer, subject: 'CN=Demo CA' }],
        digestAlgorithm: 'sha256',
        signatureAlgorithm: 'rsa-pkcs1-v1_5',
        checks: [
          { name: 'signature', outcome: status === 'invalid-signature' ? 'fail' : 'pass' },
          { name: 'chain', outcome: status === 'untrusted' ? 'fail' : 'pass', detail: 'to CN=Demo CA' },
        ],
      },
    ],
  };
}

const analysis = (layers: unknown[]) => ({
  layers,
  signed: true,
  encrypted: false,
  parts: [],
  harvested: [],
  content: '',
});

describe('smime-message-status', { skip }, () => {
  let srv: MockServer;
  let b: BrowserSession;
  before(async () => {
    srv = await startMockServer();
    b = await openHarness(srv.url);
  });
  after(() =>
    cleanUp(
      () => b?.close(),
      () => srv?.close(),
    ),
  );

  async function show(a: unknown): Promise<void> {
    await b.page.evaluate((a) => {
      const root = document.getElementById('root')!;
      root.innerHTML = '';
      const el = document.createElement('smime-message-status') as any;
      el.analysis = a;
      root.append(el);
      return el.updateComplete;
    }, a);
  }

  for (const status of [...SIGNATURE_STATUSES, ...DECRYPTION_STATUSES]) {
    test(`${status}: colour, icon, title, cause and what to do`, async () => {
      const layer = (SIGNATURE_STATUSES as readonly string[]).includes(status)
        ? signedLayer(status)
        : { kind: 'encrypted', format: 'enveloped', status, contentCipher: 'aes-256-cbc' };
      await show(analysis([layer]));
      const line = b.page.locator(`[data-status="${status}"]`);
      assert.equal(await line.count(), 1);
      const t = statusText(status);
      assert.match((await line.getAttribute('class')) ?? '', new RegExp(`tone-${t.tone}`));
      assert.equal((await line.locator('svg').count()) >= 1, true, 'an icon');
      assert.equal((await line.locator('.title').textContent())?.trim(), t.title);
      // The explanation is in a native <details>: keyboard operable (Enter/Space on the summary).
      await line.locator('summary').focus();
      await b.page.keyboard.press('Enter');
      const details = await line.locator('details').textContent();
      assert.ok(details?.includes(t.cause), 'cause shown');
      assert.ok(details?.includes(t.action), 'what to do shown');
      if (layer.kind === 'signed') {
        assert.ok(details?.includes(signer.fingerprintSha256), 'signer certificate details');
        assert.match((await line.textContent()) ?? '', /Signed by Alice Demo <alice@demo\.example>/);
      }
      if (status === 'valid' || status === 'invalid-signature' || status === 'locked')
        await screenshot(b.page, `component-status-${status}`);
    });
  }

  test('every status has its own explanation (no fallback text)', () => {
    for (const s of [...SIGNATURE_STATUSES, ...DECRYPTION_STATUSES]) assert.notEqual(statusText(s).title, s);
    assert.equal(statusText('from-a-newer-backend').tone, 'warn');
  });

  test('a warning beside the status (a SHA-1 signature accepted before the cutoff) is shown on the line', async () => {
    const layer = signedLayer('valid');
    const warning = 'SHA-1 signature accepted: it claims to be signed on 2019-05-01T00:00:00.000Z, before the cutoff';
    (layer.signatures[0] as Record<string, unknown>).warnings = [warning];
    await show(analysis([layer]));
    const note = b.page.locator('[data-status="valid"] [part="warning"]');
    assert.equal(await note.count(), 1);
    assert.equal((await note.textContent())?.trim(), warning);
    assert.equal(await note.getAttribute('role'), 'note');
  });

  test('signed and encrypted: one line per layer, outer first', async () => {
    await show(analysis([{ kind: 'encrypted', format: 'enveloped', status: 'decrypted' }, signedLayer('valid')]));
    const kinds = await b.page
      .locator('[data-kind]')
      .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.kind));
    assert.deepEqual(kinds, ['encrypted', 'signed']);
  });

  test('locked: "Unlock to read" fires smime-unlock-request (bubbles, composed)', async () => {
    await show(analysis([{ kind: 'encrypted', format: 'enveloped', status: 'locked' }]));
    const fired = b.page.evaluate(
      () =>
        new Promise<string>((r) =>
          document.addEventListener('smime-unlock-request', (e) => r((e as CustomEvent).detail.reason), { once: true }),
        ),
    );
    await b.page.locator('[part="unlock"]').focus();
    await b.page.keyboard.press('Enter');
    assert.equal(await fired, 'decrypt');
  });

  test('header protection (RFC 9788): the protected subject and addresses shown, an outer field changed on the way named', async () => {
    await show({
      ...analysis([{ kind: 'encrypted', format: 'enveloped', status: 'decrypted' }, signedLayer('valid')]),
      headerProtection: {
        mode: 'cipher',
        fields: [
          { name: 'From', value: 'Alice Demo <alice@demo.example>' },
          { name: 'To', value: 'bob@demo.example' },
          { name: 'Subject', value: 'Salary review' },
        ],
        outer: [{ name: 'Subject', value: '[...]' }],
        mismatches: [{ field: 'cc', outer: 'mallory@evil.example' }],
        legacyDisplay: [],
      },
    });
    const line = b.page.locator('[data-kind="headers"]');
    assert.equal(await line.count(), 1);
    assert.equal(await line.getAttribute('data-mode'), 'cipher');
    assert.equal((await line.locator('[data-field="subject"]').textContent())?.trim(), 'Salary review');
    assert.match((await line.getAttribute('class')) ?? '', /tone-warn/);
    const warning = line.locator('[part~="header-mismatch"]');
    assert.equal(await warning.getAttribute('data-field'), 'cc');
    assert.equal(await warning.getAttribute('role'), 'alert');
    assert.match(
      (await warning.textContent()) ?? '',
      /“mallory@evil\.example”.*not what the sender protected \(none\)/,
    );
    await screenshot(b.page, 'component-status-header-protection');

    await show({
      ...analysis([signedLayer('valid')]),
      headerProtection: {
        mode: 'clear',
        fields: [{ name: 'Subject', value: 'Hi' }],
        mismatches: [],
        legacyDisplay: [],
      },
    });
    assert.match((await b.page.locator('[data-kind="headers"]').getAttribute('class')) ?? '', /tone-ok/);
    assert.equal(await b.page.locator('[part~="header-mismatch"]').count(), 0);
  });

  test('unprotected message and harvested certificate notes', async () => {
    await show({
      ...analysis([]),
      harvested: [{ email: 'bob@demo.example', outcome: 'added', fingerprintSha256: 'cd' }],
    });
    const text = await b.page.locator('smime-message-status [part="banner"]').textContent();
    assert.match(text ?? '', /neither signed nor encrypted/);
    assert.match(text ?? '', /bob@demo\.example’s certificate was saved/);
  });

  test('themable: custom properties reach the shadow DOM', async () => {
    await show(analysis([signedLayer('valid')]));
    const color = await b.page.evaluate(() => {
      const el = document.querySelector('smime-message-status') as HTMLElement;
      el.style.setProperty('--smime-color-ok', 'rgb(1, 2, 3)');
      const line = el.shadowRoot!.querySelector('[data-status="valid"]')!;
      return getComputedStyle(line).color;
    });
    assert.equal(color, 'rgb(1, 2, 3)');
  });
});
