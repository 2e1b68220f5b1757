/**
 * Attacks on the Roundcube plugin (issue 11), against the real stack (Roundcube 1.6, Dovecot, Postfix, the backend):
 *
 *   token-csrf         another site makes the victim's browser ask the plugin for a backend token, or for a token
 *                      of another user. Defence: plugin.smime-token and plugin.smime-prefs answer only with
 *                      Roundcube's request token (X-Roundcube-Request), and the token's subject is the Roundcube
 *                      session's user, whatever the request says.
 *   borrowed-unlock    a user's browser presents someone else's unlock credential under their own cookie name, and
 *                      the plugin forwards it. Defence: the backend opens nothing unless the credential's session
 *                      belongs to the token's user.
 *   decryption-oracle  (CVE-2019-10740, EFAIL's reply variant) a correspondent wraps a captured ciphertext into a
 *                      message of their own, so that the victim's reply quotes its plaintext back to them. Defence:
 *                      an encrypted part nested in a multipart is never decrypted (the backend), and a reply quotes
 *                      only a message with one encrypted layer.
 *   fail-open          found while building this: Elastic keeps compose options outside the form, so the Encrypt
 *                      choice never reached the server and the message left signed only, in clear. Defence: every
 *                      copy of the fields is set, and what Postfix delivers is checked for encryption here.
 *
 * Needs root and the stack's Debian packages (stackUnavailable); a developer's run skips loudly, CI=true fails.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { unlockCookieName } from '../../backend/src/api/session/routes.ts';
import { issueUserToken } from '../../backend/src/auth/tokens.ts';
import { RoundcubeSession } from '../../scripts/roundcube/lib/session.ts';
import { stackUnavailable, startStack, type Stack } from '../../scripts/roundcube/stack.ts';
import { browserUnavailable, CHROMIUM } from '../frontend/browser.ts';

const skip = stackUnavailable() ?? browserUnavailable();
const STEP_TIMEOUT_MS = 120_000;

const SECRET = 'Alice to Bob only: 9f3a-oracle-bait';

describe('attacks on the Roundcube plugin', { skip, concurrency: false, timeout: 15 * 60_000 }, () => {
  let stack: Stack;
  const passphrase = (email: string) => `${email.split('@')[0]} own passphrase`;

  before(async () => {
    stack = await startStack({ quiet: true });
  });
  after(async () => {
    await stack?.stop();
  });

  const token = (email: string) =>
    issueUserToken(
      {
        jwtSecret: new TextEncoder().encode(stack.jwtSecret),
        SMIME_JWT_AUDIENCE: 'smime',
        SMIME_JWT_ISSUER: undefined,
      },
      email,
      300,
    );

  async function api(
    email: string,
    method: string,
    path: string,
    init: { json?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { authorization: `Bearer ${await token(email)}`, ...(init.headers ?? {}) };
    let body: string | undefined;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (init.raw !== undefined) {
      headers['content-type'] = 'message/rfc822';
      body = init.raw;
    }
    return fetch(`${stack.backendUrl}${path}`, { method, headers, body });
  }

  /** The user takes over the IT-placed key and unlocks with header delivery: the unlock credential. */
  async function takeOverAndUnlock(email: string): Promise<string> {
    const initial = stack.users.find((u) => u.email === email)!.initialPassphrase!;
    const ch = await api(email, 'POST', '/api/v1/session/passphrase', {
      json: { currentPassphrase: initial, newPassphrase: passphrase(email) },
    });
    assert.equal(ch.status, 200, await ch.text());
    return unlock(email);
  }

  async function unlock(email: string): Promise<string> {
    const u = await api(email, 'POST', '/api/v1/session/unlock', {
      json: { passphrase: passphrase(email), delivery: 'header' },
    });
    assert.equal(u.status, 200);
    return ((await u.json()) as { unlockToken: string }).unlockToken;
  }

  async function protect(email: string, unlockToken: string, raw: string, query: string): Promise<string> {
    const r = await api(email, 'POST', `/api/v1/messages/outgoing?${query}`, {
      raw,
      headers: { accept: 'message/rfc822', 'x-smime-unlock': unlockToken },
    });
    assert.equal(r.status, 200, await r.clone().text());
    return Buffer.from(await r.arrayBuffer()).toString('latin1');
  }

  const message = (from: string, to: string, subject: string, body: string) =>
    `From: ${from}\r\nTo: ${to}\r\nSubject: ${subject}\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.test>\r\n` +
    `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}\r\n`;

  /** The UID of the newest message with this subject in the user's INBOX, through Roundcube's own list. */
  async function uidOf(s: RoundcubeSession, subject: string): Promise<string> {
    const r = await s.fetch('?_task=mail&_action=list&_mbox=INBOX&_remote=1', {
      headers: { 'X-Roundcube-Request': s.requestToken },
    });
    const text = await r.text();
    const uids = text
      .split('add_message_row(')
      .slice(1)
      .filter((row) => row.slice(0, row.indexOf('add_message_row') >>> 0).includes(subject))
      .map((row) => Number(/^(\d+)/.exec(row)![1]));
    assert.ok(uids.length > 0, `message "${subject}" in the list`);
    return String(Math.max(...uids));
  }

  test(
    'token-csrf: no backend token without Roundcube’s request token, and only ever for the session user',
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const alice = await RoundcubeSession.login(stack.url, 'alice@example.test', 'alice-password');
      const forged = await alice.action('mail', 'plugin.smime-token', {}, false);
      assert.equal(forged.status, 403);
      assert.equal(((await forged.json()) as { error: { code: string } }).error.code, 'INVALID_REQUEST');
      const posted = await alice.action(
        'mail',
        'plugin.smime-token',
        { method: 'POST', body: new URLSearchParams({ _token: 'wrong' }) },
        false,
      );
      assert.notEqual(posted.status, 200);

      const r = await alice.fetch(
        '?_task=mail&_action=plugin.smime-token&_remote=1&_user=bob@example.test&sub=bob@example.test',
        {
          headers: { 'X-Roundcube-Request': alice.requestToken },
        },
      );
      assert.equal(r.status, 200);
      const t = (await r.json()) as { token: string; expiresAt: number };
      const claims = JSON.parse(Buffer.from(t.token.split('.')[1]!, 'base64url').toString()) as {
        sub: string;
        exp: number;
        iat: number;
      };
      assert.equal(claims.sub, 'alice@example.test');
      assert.ok(claims.exp - claims.iat <= 300);
      assert.equal(r.headers.get('cache-control'), 'no-store');

      // Without a Roundcube session there is no token at all.
      const anonymous = await fetch(`${stack.url}?_task=mail&_action=plugin.smime-token&_remote=1`, {
        redirect: 'manual',
      });
      assert.doesNotMatch(await anonymous.text(), /"token"/);

      // The defaults endpoint writes preferences: the same rule.
      const prefs = await alice.action(
        'settings',
        'plugin.smime-prefs',
        { method: 'POST', body: JSON.stringify({ sign: false, encrypt: true }) },
        false,
      );
      assert.equal(prefs.status, 403);
      const bad = await alice.action('settings', 'plugin.smime-prefs', {
        method: 'POST',
        body: JSON.stringify({ sign: 'yes' }),
      });
      assert.equal(bad.status, 400);
    },
  );

  test(
    'borrowed-unlock: another user’s unlock credential under one’s own cookie opens nothing',
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const aliceUnlock = await takeOverAndUnlock('alice@example.test');
      const bobUnlock = await takeOverAndUnlock('bob@example.test');
      await stack.deliver(
        'bob@example.test',
        await protect(
          'alice@example.test',
          aliceUnlock,
          message('alice@example.test', 'bob@example.test', 'Borrowed', SECRET),
          'sign=true&encrypt=true',
        ),
      );

      const bob = await RoundcubeSession.login(stack.url, 'bob@example.test', 'bob-password');
      const uid = await uidOf(bob, 'Borrowed');
      // Bob's own credential: decrypted.
      bob.jar.set(unlockCookieName({ email: 'bob@example.test' }), bobUnlock);
      assert.match(await bob.page(`?_task=mail&_action=preview&_uid=${uid}&_mbox=INBOX&_framed=1`), /9f3a-oracle-bait/);
      // Alice's credential presented as Bob's: the plugin forwards it, the backend refuses it.
      bob.jar.set(unlockCookieName({ email: 'bob@example.test' }), aliceUnlock);
      const page = await bob.page(`?_task=mail&_action=preview&_uid=${uid}&_mbox=INBOX&_framed=1`);
      assert.doesNotMatch(page, /9f3a-oracle-bait/);
      assert.match(page, /&quot;status&quot;:&quot;locked&quot;/);
    },
  );

  test(
    'decryption-oracle: a reply never quotes a ciphertext someone wrapped into their own message',
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const bob = await RoundcubeSession.login(stack.url, 'bob@example.test', 'bob-password');
      bob.jar.set(unlockCookieName({ email: 'bob@example.test' }), await unlock('bob@example.test'));
      const carolUnlock = await takeOverAndUnlock('carol@example.test');

      // The ciphertext carol captured on the way to bob: alice's message, exactly as delivered.
      const captured = stack.listMail('bob@example.test').at(-1)!;
      const raw = readFileSync(captured, 'latin1');
      const at = raw.indexOf('\r\n\r\n') >= 0 ? raw.indexOf('\r\n\r\n') : raw.indexOf('\n\n');
      const entity = `Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n${raw.slice(at).trim()}\r\n`;
      assert.match(raw, /smime-type=(authE|e)nveloped-data/);

      // Control: replying to alice's own message quotes its text (so the checks below can fail).
      const legit = await uidOf(bob, 'Borrowed');
      assert.match(await bob.page(`?_task=mail&_reply_uid=${legit}&_mbox=INBOX&_action=compose`), /9f3a-oracle-bait/);

      // 1. The captured ciphertext as one part of carol's plain multipart message.
      const mixed =
        `From: carol@example.test\r\nTo: bob@example.test\r\nSubject: Please check\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n` +
        `--b1\r\nContent-Type: text/plain\r\n\r\nCould you reply to this?\r\n--b1\r\n${entity}--b1--\r\n`;
      await stack.deliver('bob@example.test', mixed);
      // 2. The captured ciphertext encrypted once more by carol, to bob.
      const wrapped = await protect(
        'carol@example.test',
        carolUnlock,
        `From: carol@example.test\r\nTo: bob@example.test\r\nSubject: Wrapped once more\r\nMIME-Version: 1.0\r\n${entity}`,
        'encrypt=true',
      );
      await stack.deliver('bob@example.test', wrapped);

      for (const subject of ['Please check', 'Wrapped once more']) {
        const uid = await uidOf(bob, subject);
        const reply = await bob.page(`?_task=mail&_reply_uid=${uid}&_mbox=INBOX&_action=compose`);
        assert.doesNotMatch(reply, /9f3a-oracle-bait/, `the reply to "${subject}" quotes the captured plaintext`);
        const forward = await bob.page(`?_task=mail&_forward_uid=${uid}&_mbox=INBOX&_action=compose`);
        assert.doesNotMatch(forward, /9f3a-oracle-bait/, `the forward of "${subject}" quotes the captured plaintext`);
      }
      // Reading the multipart one: the nested ciphertext is not opened either.
      const view = await bob.page(
        `?_task=mail&_action=preview&_uid=${await uidOf(bob, 'Please check')}&_mbox=INBOX&_framed=1`,
      );
      assert.doesNotMatch(view, /9f3a-oracle-bait/);
    },
  );

  test(
    'fail-open: with Encrypt chosen in Roundcube’s compose, what Postfix delivers is encrypted',
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      let browser: Browser | undefined;
      try {
        browser = await chromium.launch({
          executablePath: CHROMIUM,
          headless: true,
          args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
        });
        const page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
        page.setDefaultTimeout(30_000);
        await page.goto(stack.url);
        await page.fill('#rcmloginuser', 'carol@example.test');
        await page.fill('#rcmloginpwd', 'carol-password');
        await page.click('#rcmloginsubmit');
        await page.goto(`${stack.url}?_task=mail&_action=compose`);
        await page.waitForSelector('html[data-smime-ready="true"] #smime-compose smime-compose-controls');
        await page.locator('#compose_to input').fill('bob@example.test, ');
        await page.fill('#compose-subject', 'Encrypt chosen');
        await page.fill('#composebody', 'Only for Bob: c0ffee-fail-open');
        await page.locator('[part~="toggle-sign"]').click(); // off: no unlock needed
        await page.locator('[part~="toggle-encrypt"]').click();
        await page.locator('[part~="toggle-encrypt"][aria-checked="true"]').waitFor();
        const before = stack.listMail('bob@example.test').length;
        await page.evaluate(() =>
          (window as unknown as { rcmail: { command(c: string, p: string): void } }).rcmail.command('send', ''),
        );
        await page.waitForURL((u) => !u.search.includes('_action=compose'));
        const files = stack.listMail('bob@example.test');
        assert.equal(files.length, before + 1);
        const delivered = readFileSync(files.at(-1)!, 'latin1');
        assert.doesNotMatch(delivered, /c0ffee-fail-open/);
        assert.match(delivered, /^Content-Type: application\/pkcs7-mime; smime-type=(authE|e)nveloped-data/im);
      } finally {
        await browser?.close();
      }
    },
  );
});
