/**
 * The real-webmail stack (scripts/roundcube/stack.ts) without a browser: Dovecot takes LMTP deliveries, Roundcube
 * logs a user in over IMAP, Postfix accepts authenticated submission and delivers through LMTP, the front proxy sends
 * API paths to the backend (502 BACKEND_UNAVAILABLE while it is down), the seeded keys are IT-placed, and stop()
 * leaves no process and no folder behind. Without root or the Debian packages a developer's run skips loudly; with
 * CI=true it fails.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import {
  MailTransferError,
  routeFor,
  stackUnavailable,
  startStack,
  type Stack,
} from '../../scripts/roundcube/stack.ts';
import { transferMail } from '../../scripts/roundcube/lib/mail-transfer.ts';
import { REPO_ROOT, SHARED_CORPUS } from '../helpers/paths.ts';
import { corpusUnavailable } from '../helpers/unavailable.ts';

/** Start-up is about 10-15 s on a 2-core machine (a fresh embedded database dominates); the stack gives up at 60 s. */
const START_TIMEOUT_MS = 90_000;
const STEP_TIMEOUT_MS = 30_000;
/** Postfix queues, then delivers through LMTP: well under a second here. */
const ARRIVAL_TIMEOUT_MS = 15_000;

const unavailable = stackUnavailable();
if (unavailable) console.warn(`\n!!!!! SKIPPING the Roundcube stack tests: ${unavailable} !!!!!\n`);

const PLUGIN_PHP = join(REPO_ROOT, 'plugin', 'roundcube', 'smime.php');
const THUNDERBIRD = join(SHARED_CORPUS, 'thunderbird', 'mailnews-test-data-smime');
/** Without the corpus a developer's second stack runs without the corpus user (loudly); CI=true fails. */
const NO_CORPUS = corpusUnavailable('the corpus user of the plugin stack');

function userToken(secret: string, email: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(email)
    .setAudience('smime')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));
}

function cookiesOf(res: Response, previous = new Map<string, string>()): Map<string, string> {
  const jar = new Map(previous);
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const eq = pair!.indexOf('=');
    jar.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1));
  }
  return jar;
}

const cookieHeader = (jar: Map<string, string>) => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');

/** Roundcube's login form, as a browser submits it: the session cookie and the request token of the login page. */
async function roundcubeLogin(
  url: string,
  user: string,
  password: string,
): Promise<{ res: Response; jar: Map<string, string> }> {
  const page = await fetch(url, { redirect: 'manual' });
  assert.equal(page.status, 200, 'the login page');
  const html = await page.text();
  const token = /<input[^>]+name="_token"[^>]+value="([^"]+)"/.exec(html)?.[1];
  assert.ok(token, 'the login page has a request token');
  const jar = cookiesOf(page);
  const body = new URLSearchParams({
    _task: 'login',
    _action: 'login',
    _timezone: 'UTC',
    _url: '',
    _user: user,
    _pass: password,
    _token: token,
  });
  const res = await fetch(`${url}?_task=login`, {
    method: 'POST',
    body,
    headers: { cookie: cookieHeader(jar) },
    redirect: 'manual',
  });
  await res.arrayBuffer();
  return { res, jar: cookiesOf(res, jar) };
}

async function waitForMail(stack: Stack, email: string, marker: string): Promise<string> {
  const deadline = Date.now() + ARRIVAL_TIMEOUT_MS;
  while (Date.now() < deadline) {
    for (const f of stack.listMail(email)) {
      const text = readFileSync(f, 'latin1');
      if (text.includes(marker)) return text;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail with ${marker} for ${email}\n${stack.logs()}`);
}

/** Processes that still refer to `dir` by their command line, working folder or environment. */
function processesUsing(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (cmdline.includes(dir) || cwd.startsWith(dir) || environ.includes(dir)) found.push(`${pid} ${cmdline.trim()}`);
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

describe('front proxy routing (the rules the README nginx configuration mirrors)', () => {
  const cases: [string, 'backend' | 'roundcube'][] = [
    ['/api/v1/me', 'backend'],
    ['/api/v1/session/unlock', 'backend'],
    ['/api/v1', 'roundcube'],
    ['/plugin/smime-plugin.js', 'backend'],
    ['/plugins/smime/smime.js', 'roundcube'],
    ['/healthz', 'backend'],
    ['/healthz?probe=1', 'backend'],
    ['/healthz/', 'roundcube'],
    ['/', 'roundcube'],
    ['/?_task=mail&_action=show', 'roundcube'],
    // Matched as nginx matches: decoded, dot segments resolved, slashes merged.
    ['/%61pi/v1/me', 'backend'],
    ['//api//v1/me', 'backend'],
    ['/api/v1/../../?_task=login', 'roundcube'],
    ['/skins/../api/v1/me', 'backend'],
  ];
  for (const [path, target] of cases) test(`${path} -> ${target}`, () => assert.equal(routeFor(path), target));
});

describe('the Roundcube stack', { skip: unavailable }, () => {
  let stack: Stack;

  before(
    async () => {
      stack = await startStack({ plugin: false, quiet: true });
    },
    { timeout: START_TIMEOUT_MS },
  );
  after(async () => {
    await stack?.stop();
  });

  test(
    'LMTP delivery lands in the maildir, dot-stuffed lines restored, newest last',
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const before = stack.listMail('bob@example.test').length;
      await stack.deliver(
        'bob@example.test',
        'From: carol@example.test\nTo: bob@example.test\nSubject: first LMTP\n\nhello\n',
      );
      await stack.deliver(
        'bob@example.test',
        'From: carol@example.test\nTo: bob@example.test\nSubject: second LMTP\n\n.a line with a dot\n..two\n',
      );
      const files = stack.listMail('bob@example.test');
      assert.equal(files.length, before + 2);
      const last = readFileSync(files.at(-1)!, 'latin1');
      assert.match(last, /Subject: second LMTP/);
      assert.match(last, /\r?\n\.a line with a dot\r?\n\.\.two\r?\n/);
      assert.ok(files.every((f) => f.startsWith(stack.maildir('bob@example.test'))));
      await assert.rejects(
        stack.deliver('nobody@example.test', 'Subject: x\n\nx\n'),
        (e: unknown) => e instanceof MailTransferError && e.code === 'MAIL_REJECTED',
      );
    },
  );

  test('Roundcube through the front proxy logs alice in over IMAP', { timeout: STEP_TIMEOUT_MS }, async () => {
    const alice = stack.users.find((u) => u.email === 'alice@example.test')!;
    const { res, jar } = await roundcubeLogin(stack.url, alice.email, alice.password);
    assert.equal(res.status, 302, stack.logs());
    assert.match(res.headers.get('location') ?? '', /_task=mail/);
    const inbox = await fetch(`${stack.url}?_task=mail&_mbox=INBOX`, {
      headers: { cookie: cookieHeader(jar) },
      redirect: 'manual',
    });
    assert.equal(inbox.status, 200);
    assert.match(await inbox.text(), /alice@example\.test/);

    const wrong = await roundcubeLogin(stack.url, alice.email, 'not her password');
    assert.notEqual(wrong.res.status, 302);
  });

  test(
    'submission: SMTP AUTH as alice reaches bob through Postfix and LMTP; unauthenticated relay is refused',
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const marker = `submitted-${Date.now()}`;
      await stack.submit(
        'alice@example.test',
        'bob@example.test',
        `From: alice@example.test\nTo: bob@example.test\nSubject: ${marker}\n\nvia Postfix\n`,
      );
      const text = await waitForMail(stack, 'bob@example.test', marker);
      assert.match(text, /via Postfix/);

      const smtp = Number(
        /^127\.0\.0\.1:(\d+) inet/m.exec(readFileSync(join(stack.dir, 'postfix', 'master.cf'), 'utf8'))?.[1],
      );
      assert.ok(smtp > 0);
      const raw = 'Subject: no auth\n\nx\n';
      await assert.rejects(
        transferMail({
          host: '127.0.0.1',
          port: smtp,
          protocol: 'smtp',
          from: 'alice@example.test',
          to: ['bob@example.test'],
          raw,
        }),
        (e: unknown) => e instanceof MailTransferError && e.code === 'MAIL_REJECTED' && e.step.startsWith('RCPT'),
      );
      await assert.rejects(
        transferMail({
          host: '127.0.0.1',
          port: smtp,
          protocol: 'smtp',
          from: 'alice@example.test',
          to: ['bob@example.test'],
          raw,
          auth: { user: 'alice@example.test', password: 'wrong' },
        }),
        (e: unknown) => e instanceof MailTransferError && e.step === 'AUTH',
      );
    },
  );

  test(
    'the front proxy sends /healthz and /api/v1/ to the backend, the rest to Roundcube',
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const health = await fetch(`${stack.url}healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok', database: 'pglite' });
      const anonymous = await fetch(`${stack.url}api/v1/me`);
      assert.equal(anonymous.status, 401);
      assert.equal(((await anonymous.json()) as any).error.code, 'UNAUTHENTICATED');
      const root = await fetch(stack.url);
      assert.match(await root.text(), /rcmloginuser/);
    },
  );

  test(
    "a user token sees the IT-placed key (must change passphrase); dave has none; IT's passphrase unlocks",
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const me = async (email: string, secret = stack.jwtSecret) =>
        fetch(`${stack.url}api/v1/me`, { headers: { authorization: `Bearer ${await userToken(secret, email)}` } });
      const alice = await me('alice@example.test');
      assert.equal(alice.status, 200);
      const a = (await alice.json()) as any;
      assert.equal(a.email, 'alice@example.test');
      assert.equal(a.keys, 1);
      assert.equal(a.mustChangePassphrase, true);
      const dave = (await (await me('dave@example.test')).json()) as any;
      assert.equal(dave.keys, 0);
      assert.equal((await me('alice@example.test', 'x'.repeat(48))).status, 401);
      assert.deepEqual(
        stack.users.map((u) => [u.email, u.hasKey, u.initialPassphrase]),
        [
          ['alice@example.test', true, 'alice initial from IT'],
          ['bob@example.test', true, 'bob initial from IT'],
          ['carol@example.test', true, 'carol initial from IT'],
          ['dave@example.test', false, undefined],
        ],
      );

      // The passphrase IT gave carol opens her key but unlocks nothing until she chose her own (issue 14); then her
      // passphrase unlocks it, and the cookie is for the whole origin (SMIME_COOKIE_PATH=/).
      const carol = stack.users.find((u) => u.email === 'carol@example.test')!;
      const asCarol = async (path: string, body: unknown) =>
        fetch(`${stack.url}api/v1/session/${path}`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${await userToken(stack.jwtSecret, carol.email)}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify(body),
        });
      const first = await asCarol('unlock', { passphrase: carol.initialPassphrase });
      assert.equal(first.status, 200);
      assert.deepEqual(
        [((await first.json()) as any).unlocked, first.headers.getSetCookie().length],
        [false, 0],
        'IT passphrase: no session',
      );
      const own = 'carol chose this passphrase herself';
      const change = await asCarol('passphrase', { currentPassphrase: carol.initialPassphrase, newPassphrase: own });
      assert.equal(change.status, 200);
      const unlock = await asCarol('unlock', { passphrase: own });
      assert.equal(unlock.status, 200);
      assert.equal(((await unlock.json()) as any).mustChangePassphrase, false);
      const cookie = unlock.headers.getSetCookie().find((c) => c.startsWith('smime_unlock_'));
      assert.match(cookie ?? '', /;\s*path=\/(;|$)/i);
      assert.match(cookie ?? '', /;\s*secure/i);
    },
  );

  test(
    'stopBackend: the proxy answers 502 BACKEND_UNAVAILABLE, Roundcube goes on; startBackend: same port, same data',
    { timeout: 60_000 },
    async () => {
      const token = await userToken(stack.jwtSecret, 'bob@example.test');
      await stack.stopBackend();
      const down = await fetch(`${stack.url}api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(down.status, 502);
      assert.equal(((await down.json()) as any).error.code, 'BACKEND_UNAVAILABLE');
      assert.equal((await fetch(`${stack.url}healthz`)).status, 502);
      assert.equal((await fetch(stack.url)).status, 200);

      await stack.startBackend();
      const up = await fetch(`${stack.url}api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(up.status, 200);
      assert.equal(((await up.json()) as any).keys, 1);
    },
  );

  test('stop() ends every process of the stack and removes its folder', { timeout: 60_000 }, async () => {
    const dir = stack.dir;
    // The detection finds the running stack (dovecot, php, postfix, the backend), so its empty answer below means something.
    assert.ok(processesUsing(dir).length >= 4, processesUsing(dir).join('\n'));
    await stack.stop();
    assert.equal(existsSync(dir), false);
    assert.deepEqual(processesUsing(dir), []);
    await stack.stop(); // idempotent
  });
});

describe('the Roundcube stack with the smime plugin and a Thunderbird corpus user', { skip: unavailable }, () => {
  const corpus = !NO_CORPUS;
  const plugin = existsSync(PLUGIN_PHP);
  if (!plugin)
    console.warn(`\n!!!!! ${PLUGIN_PHP} does not exist yet: the second stack runs without the plugin !!!!!\n`);
  let stack: Stack;

  before(
    async () => {
      stack = await startStack({
        plugin,
        quiet: true,
        ...(corpus
          ? {
              extraUsers: [
                {
                  email: 'Bob@example.com',
                  name: 'Bob (NSS)',
                  key: { p12: readFileSync(join(THUNDERBIRD, 'Bob.p12')), password: 'nss' },
                },
              ],
              extraTrustAnchors: [join(THUNDERBIRD, 'TestCA.pem')],
            }
          : {}),
      });
    },
    { timeout: START_TIMEOUT_MS },
  );
  after(async () => {
    await stack?.stop();
  });

  test(
    'the login page still works with the plugin enabled, and a user logs in',
    { timeout: STEP_TIMEOUT_MS },
    async () => {
      const page = await fetch(stack.url);
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, /rcmloginuser/);
      assert.doesNotMatch(html, /(Fatal|Parse) error|<b>Warning<\/b>/);
      const user = corpus ? stack.users.find((u) => u.email === 'Bob@example.com')! : stack.users[0]!;
      const { res } = await roundcubeLogin(stack.url, user.email, user.password);
      assert.equal(res.status, 302, stack.logs());
      assert.match(res.headers.get('location') ?? '', /_task=mail/);
      assert.doesNotMatch(stack.logs(), /PHP (Fatal|Parse) error/);
    },
  );

  test(
    'a given PKCS#12 is placed for its (differently cased) address and its CA is trusted',
    { timeout: STEP_TIMEOUT_MS, skip: !corpus },
    async () => {
      const bob = stack.users.find((u) => u.email === 'Bob@example.com')!;
      assert.equal(bob.initialPassphrase, 'nss');
      assert.equal(bob.hasKey, true);
      const res = await fetch(`${stack.url}api/v1/me`, {
        headers: { authorization: `Bearer ${await userToken(stack.jwtSecret, bob.email)}` },
      });
      const me = (await res.json()) as any;
      assert.equal(me.email, 'bob@example.com');
      assert.equal(me.keys, 1);
      assert.equal(me.mustChangePassphrase, true);
      assert.match(
        readFileSync(join(stack.dir, 'pki', 'trust.pem'), 'utf8'),
        /(-----BEGIN CERTIFICATE-----[\s\S]+){2}/,
      );
      await stack.deliver('Bob@example.com', 'Subject: to the corpus user\n\nhi\n');
      assert.equal(stack.listMail('bob@example.com').length, 1);
    },
  );
});

describe('start-up failures', { skip: unavailable }, () => {
  test(
    'a failure during start-up stops what had started and removes the folder',
    { timeout: START_TIMEOUT_MS },
    async () => {
      // Dovecot, Postfix and php -S are up by the time seeding finds the .p12 unreadable.
      const broken = {
        email: 'erin@example.test',
        name: 'Erin',
        key: { p12: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x03]), password: 'x' },
      };
      const error = await startStack({ quiet: true, extraUsers: [broken] }).then(
        () => assert.fail('the stack started with an unreadable .p12'),
        (e: unknown) => e as Error,
      );
      assert.match(error.message, /seeding failed[\s\S]*placing the key of erin@example.test: P12_MALFORMED/);
      const dir = /everything stopped, (\S+) removed/.exec(error.message)?.[1];
      if (!dir?.includes('smime-roundcube-')) assert.fail(error.message);
      assert.equal(existsSync(dir), false);
      assert.deepEqual(processesUsing(dir), []);
    },
  );

  test('a busy front port fails at once, before anything starts', { timeout: STEP_TIMEOUT_MS }, async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const t0 = Date.now();
      await assert.rejects(startStack({ quiet: true, port }), new RegExp(`port ${port} on 127.0.0.1 is in use`));
      assert.ok(Date.now() - t0 < 2000);
    } finally {
      server.close();
    }
  });
});
