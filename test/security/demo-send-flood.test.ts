/**
 * Attack: flooding the demo's mailbox. The demo's login is open to anyone, so its "send" is an anonymous upload.
 * Until issue 12 a 28 MB demo send froze the whole server for 16-23 s (the message went into the embedded database,
 * which runs in the server's own thread and serialised the bytea slowly, once per stored copy) and grew the database
 * by 85 MB per request, without any bound; the send accepted 1.4 times SMIME_MAX_MESSAGE_BYTES of JSON.
 *
 * Defence (backend/src/demo/routes.ts, demo/mail-files.ts): a send takes what the API takes, SMIME_MAX_MESSAGE_BYTES per
 * message (MESSAGE_TOO_LARGE beyond); message bytes are files written with asynchronous I/O (the copies of one send
 * are hard links to one file), the database holds only the mailbox rows; each demo user's stored mail is bounded by
 * SMIME_DEMO_MAILBOX_MAX_BYTES, the oldest messages making room.
 *
 * What the test proves: against a real demo server, while a 28 MB send is processed the server keeps answering
 * /healthz (no stall anywhere near the unfixed server's), and the send succeeds; after four such sends each mailbox holds at most
 * SMIME_DEMO_MAILBOX_MAX_BYTES (the newest messages, still readable), the mail files take no more than the two
 * mailboxes' bound and the database grew by a few MB at most; a message just over SMIME_MAX_MESSAGE_BYTES is refused
 * with 413 MESSAGE_TOO_LARGE.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDemoServer, type DemoServer } from '../e2e/server.ts';

const MiB = 1024 * 1024;
/** The server's SMIME_MAX_MESSAGE_BYTES here: room for the 28 MB message of the finding. */
const MAX_MESSAGE = 32 * MiB;
/** SMIME_DEMO_MAILBOX_MAX_BYTES's default. */
const MAILBOX_MAX = 64 * MiB;
/**
 * The longest /healthz may take while a send is processed: a coarse bound that tells the unfixed server (stalled for
 * 16-23 s) from the fixed one on a loaded two-core machine, not a latency target. Parsing the 37 MB of JSON costs a
 * few hundred ms of the server's thread when it has a core to itself, and 3.6 s was seen with other suites running
 * beside it; the figure itself is reported as a diagnostic, and latency belongs in the benchmarks.
 */
const MAX_STALL_MS = 8000;

/** A message of about `bytes` (base64 of random data, as an attachment would be), From Alice to Bob. */
function bigMessage(bytes: number, subject: string): Buffer {
  const head = `From: alice@demo.example\r\nTo: bob@demo.example\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n`;
  // Lines of 76 base64 characters (57 bytes) and CRLF: 78 bytes each.
  const body = randomBytes(Math.ceil((bytes - head.length) / 78) * 57)
    .toString('base64')
    .replace(/.{76}/g, '$&\r\n');
  return Buffer.from(head + body);
}

/** Bytes of the files under `dir`, each inode counted once (hard links share one). */
function diskBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  const seen = new Set<number>();
  let total = 0;
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) return readdirSync(p).forEach((n) => walk(join(p, n)));
    if (!seen.has(st.ino)) total += st.size;
    seen.add(st.ino);
  };
  walk(dir);
  return total;
}

describe('flooding the demo mailbox', { concurrency: false, timeout: 900_000 }, () => {
  let srv: DemoServer;
  let alice: string;
  let bob: string;
  let dbBefore: number;

  const login = async (email: string) =>
    (
      (await (
        await fetch(`${srv.url}/demo/api/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email }),
        })
      ).json()) as { token: string }
    ).token;
  const sendBody = (raw: Buffer) => JSON.stringify({ messages: [{ bcc: null, message: raw.toString('base64') }] });
  const send = (raw: Buffer | string) =>
    fetch(`${srv.url}/demo/api/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body: typeof raw === 'string' ? raw : sendBody(raw),
    });
  const list = async (token: string, folder: 'inbox' | 'sent') =>
    (
      (await (
        await fetch(`${srv.url}/demo/api/messages?folder=${folder}`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as { messages: { id: string; subject: string }[] }
    ).messages;

  before(async () => {
    srv = await startDemoServer({ SMIME_MAX_MESSAGE_BYTES: String(MAX_MESSAGE) });
    alice = await login('alice@demo.example');
    bob = await login('bob@demo.example');
    dbBefore = diskBytes(join(srv.dataDir, 'db'));
  });
  after(async () => {
    await srv?.stop();
  });

  test('a 28 MB send does not stall the server', async (t) => {
    const raw = bigMessage(28 * MiB, 'big 1');
    const body = sendBody(raw); // built before the probe starts: this process must not stall it either
    let worst = 0;
    let failed = 0;
    let sending = true;
    const probe = (async () => {
      while (sending) {
        const t = performance.now();
        const ok = await fetch(`${srv.url}/healthz`).then(
          (r) => r.arrayBuffer().then(() => r.ok),
          () => false,
        );
        worst = Math.max(worst, performance.now() - t);
        if (!ok) failed++;
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    const started = performance.now();
    const r = await send(body).finally(() => (sending = false));
    await probe;
    assert.equal(r.status, 201, await r.text());
    t.diagnostic(
      `/healthz at worst ${Math.round(worst)} ms while the send took ${Math.round(performance.now() - started)} ms`,
    );
    assert.equal(failed, 0, `${failed} /healthz requests failed during the send`);
    assert.ok(
      worst < MAX_STALL_MS,
      `/healthz took ${Math.round(worst)} ms during the send (the send took ${Math.round(performance.now() - started)} ms)`,
    );
    const inbox = await list(bob, 'inbox');
    const got = await fetch(`${srv.url}/demo/api/messages/${inbox[0]!.id}/raw`, {
      headers: { authorization: `Bearer ${bob}` },
    });
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(raw), 'Bob reads exactly what was sent');
  });

  test('repeated sends keep each mailbox within its bound, the newest kept', async () => {
    for (const n of [2, 3, 4]) {
      const raw = bigMessage(28 * MiB, `big ${n}`);
      // On a loaded CI machine the connection carrying 37 MB of JSON was reset once mid-upload (EPIPE, no answer to
      // read): what this test is about is the mailbox bound, so such a send is made again; any answer is checked.
      let r: Response | undefined;
      for (let attempt = 0; !r; attempt++) {
        r = await send(raw).catch((e: unknown) => {
          if (attempt >= 2) throw e;
          return undefined;
        });
      }
      assert.equal(r.status, 201, await r.text());
    }
    const inbox = await list(bob, 'inbox');
    const sent = await list(alice, 'sent');
    assert.deepEqual(
      inbox.map((m) => m.subject),
      ['big 4', 'big 3'],
      'two 28 MB messages fit in 64 MiB',
    );
    assert.deepEqual(
      sent.map((m) => m.subject),
      ['big 4', 'big 3'],
    );
    const mail = diskBytes(join(srv.dataDir, 'demo', 'mail'));
    assert.ok(mail <= 2 * MAILBOX_MAX, `mail files take ${mail} bytes`);
    const grown = diskBytes(join(srv.dataDir, 'db')) - dbBefore;
    assert.ok(grown < 8 * MiB, `the database grew by ${(grown / MiB).toFixed(1)} MiB for 4 sends of 28 MB`);
  });

  test('a message over SMIME_MAX_MESSAGE_BYTES is refused, as by the API', async () => {
    const r = await send(bigMessage(MAX_MESSAGE + 4096, 'too big'));
    assert.equal(r.status, 413);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'MESSAGE_TOO_LARGE');
    assert.ok(!(await list(bob, 'inbox')).some((m) => m.subject === 'too big'));
  });
});
