/**
 * Large received messages are analysed in worker threads (issue 16, backend/src/mail/message-pool.ts). The answer must
 * be the same, byte for byte, whichever thread analysed the message: every Thunderbird corpus message is read by two
 * servers, one analysing every message inline and one analysing every message in a worker, and their answers are
 * compared. The worker reaches the user's keys, known signers and revocation through calls to the main thread, so the
 * locked, unlocked and key-less cases are read on both too. And the pool is bounded: when it is full a message is
 * refused with 503 SERVER_BUSY and Retry-After, before its body is read.
 *
 * One database kind (the first target): what is compared is the thread, not the store.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { MessagePool } from '../../backend/src/mail/message-pool.ts';
import type { DecryptionKey } from '../../backend/src/smime/index.ts';
import { Client, startServer, type TestServer } from '../helpers/app.ts';
import { databaseTargets } from '../helpers/db.ts';
import { SHARED_CORPUS } from '../helpers/paths.ts';
import { corpusUnavailable } from '../helpers/unavailable.ts';
import { cleanUp } from '../helpers/cleanup.ts';
import { CORPUS_CA, mail, placeKey, read, send, thunderbird, unlockHeader } from '../security/world.ts';

const BOB = 'bob@example.com';
const OWN = 'a passphrase only bob knows';
const TEST_TIMEOUT_MS = 120_000;
const NO_CORPUS = corpusUnavailable('the message-pool comparison (Thunderbird corpus)');
const CORPUS_DIR = 'mailnews-test-data-smime';
const messages = NO_CORPUS
  ? []
  : readdirSync(`${SHARED_CORPUS}thunderbird/${CORPUS_DIR}`).filter((f) => f.endsWith('.eml'));

/**
 * What of an answer is not a function of the message: the time it was read ("valid at now (...)") and the id of
 * Bob's key on that server (the id itself is checked: it must be his).
 */
const same = (r: Reader, text: string) =>
  text.replace(/valid at now \([^;]*;/g, 'valid at now (NOW;').replaceAll(`"keyId":"${r.keyId}"`, '"keyId":"BOB"');

interface Reader {
  srv: TestServer;
  bob: Client;
  unlock: string;
  keyId: string;
  close(): Promise<void>;
}

/** A server on a fresh database where Bob holds his corpus key under his own passphrase, unlocked. */
async function reader(workerMinBytes: number): Promise<Reader> {
  const [target] = await databaseTargets();
  const { db, drop } = await target!.open();
  let srv: TestServer | undefined;
  try {
    srv = await startServer(db, {
      SMIME_TRUST_ANCHORS: CORPUS_CA,
      SMIME_REVOCATION_CHECK: 'off',
      SMIME_WORKER_MIN_BYTES: workerMinBytes,
    });
    const bob = await placeKey(srv, BOB, 'Bob.p12', OWN);
    const unlock = await unlockHeader(bob, OWN);
    const keys = await bob.request('GET', '/api/v1/keys');
    const keyId = keys.body.keys[0].id as string;
    const s = srv;
    return {
      srv,
      bob,
      unlock,
      keyId,
      close: () =>
        cleanUp(
          () => s.close(),
          () => s.services.mail.messagePool.close(),
          drop,
        ),
    };
  } catch (e) {
    await cleanUp(() => srv?.close(), drop);
    throw e;
  }
}

describe('message pool: the same answer from a worker as inline', { timeout: 10 * TEST_TIMEOUT_MS }, () => {
  let inline: Reader;
  let worker: Reader;
  before(async () => {
    [inline, worker] = await Promise.all([reader(Number.MAX_SAFE_INTEGER), reader(0)]);
  });
  after(async () => {
    await cleanUp(
      () => inline?.close(),
      () => worker?.close(),
    );
  });

  test('every corpus message, unlocked: identical answers', { timeout: TEST_TIMEOUT_MS, skip: NO_CORPUS }, async () => {
    assert.ok(messages.length > 40, `only ${messages.length} corpus messages`);
    let decrypted = 0;
    for (const f of messages) {
      const raw = thunderbird(`${CORPUS_DIR}/${f}`);
      const [a, b] = await Promise.all([
        read(inline.bob, raw, { 'x-smime-unlock': inline.unlock }),
        read(worker.bob, raw, { 'x-smime-unlock': worker.unlock }),
      ]);
      assert.equal(a.status, 200, `${f}: ${a.text}`);
      assert.equal(b.status, a.status, f);
      // Byte for byte: the worker's answer is streamed around its own base64, the inline one stringified.
      assert.equal(same(worker, b.text), same(inline, a.text), f);
      if (a.body.layers.some((l: { status: string }) => l.status === 'decrypted')) decrypted++;
    }
    // Not vacuous: the keys crossed to the worker and opened messages there.
    assert.ok(decrypted >= 10, `only ${decrypted} messages decrypted`);
    assert.equal(worker.srv.services.mail.messagePool.load().running, 0);
  });

  test('locked, and without any key: the same statuses', { timeout: TEST_TIMEOUT_MS, skip: NO_CORPUS }, async () => {
    const raw = thunderbird(`${CORPUS_DIR}/alice.env.eml`);
    const [a, b] = await Promise.all([read(inline.bob, raw), read(worker.bob, raw)]);
    assert.equal(a.body.layers[0].status, 'locked');
    assert.equal(same(worker, b.text), same(inline, a.text));
    const carol = async (r: Reader) => read(new Client(r.srv.url, await r.srv.token('carol@example.com')), raw);
    const [c, d] = await Promise.all([carol(inline), carol(worker)]);
    assert.equal(c.body.layers[0].status, 'no-key');
    assert.equal(same(worker, d.text), same(inline, c.text));
  });

  test('a 3 MB message Bob signed: verified in the worker, content intact', { timeout: TEST_TIMEOUT_MS }, async () => {
    const body = 'x'.repeat(75) + '\r\n';
    const big = mail(BOB, BOB, body.repeat(40_000));
    const signed = await send(worker.bob, 'sign=true', big, { 'x-smime-unlock': worker.unlock });
    assert.equal(signed.status, 200, signed.text);
    const raw = Buffer.from(signed.text, 'latin1');
    const [a, b] = await Promise.all([
      read(inline.bob, raw, { 'x-smime-unlock': inline.unlock }),
      read(worker.bob, raw, { 'x-smime-unlock': worker.unlock }),
    ]);
    assert.equal(b.status, 200, b.text);
    assert.equal(same(worker, b.text), same(inline, a.text));
    assert.equal(b.body.layers[0].kind, 'signed');
    assert.ok(Buffer.from(b.body.content, 'base64').includes(Buffer.from(body.repeat(1000))));
  });

  test(
    'outgoing in the worker: signed, opaque-signed, encrypted and both read back as inline ones do',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const body = 'y'.repeat(75) + '\r\n';
      const big = mail(BOB, BOB, body.repeat(8_000)); // 616 KB: above the default SMIME_WORKER_MIN_BYTES too
      for (const query of ['sign=true', 'sign=true&format=opaque', 'encrypt=true', 'sign=true&encrypt=true']) {
        const [a, b] = await Promise.all([
          send(inline.bob, query, big, { 'x-smime-unlock': inline.unlock }),
          send(worker.bob, query, big, { 'x-smime-unlock': worker.unlock }),
        ]);
        assert.equal(a.status, 200, `${query}: ${a.text}`);
        assert.equal(b.status, 200, `${query}: ${b.text}`);
        // Each server reads what the other produced: same layers, same content (Bob's one key on both).
        const [fromWorker, fromInline] = await Promise.all([
          read(inline.bob, Buffer.from(b.text, 'latin1'), { 'x-smime-unlock': inline.unlock }),
          read(worker.bob, Buffer.from(a.text, 'latin1'), { 'x-smime-unlock': worker.unlock }),
        ]);
        const shape = (r: typeof fromWorker) =>
          r.body.layers.map((l: { kind: string; status: string }) => `${l.kind}:${l.status}`).join(' ');
        assert.equal(shape(fromWorker), shape(fromInline), query);
        assert.ok(!/failed|invalid|bad/.test(shape(fromWorker)), `${query}: ${shape(fromWorker)}`);
        assert.deepEqual(
          Buffer.from(fromWorker.body.content, 'base64'),
          Buffer.from(fromInline.body.content, 'base64'),
          `${query}: the same content`,
        );
        assert.ok(Buffer.from(fromWorker.body.content, 'base64').includes(Buffer.from(body.repeat(100))), query);
      }
      assert.deepEqual(worker.srv.services.mail.messagePool.load(), { running: 0, queued: 0 });
    },
  );

  test(
    'a full pool: 503 SERVER_BUSY with Retry-After, before the body is read',
    { timeout: TEST_TIMEOUT_MS, skip: NO_CORPUS },
    async () => {
      // A pool of one worker and no queue, held busy by a job whose key lookup waits until the test lets it go.
      const mailService = worker.srv.services.mail;
      const pool = new MessagePool({ concurrency: 1, queue: 0, minBytes: 1024 });
      const original = mailService.messagePool;
      Object.defineProperty(mailService, 'messagePool', { value: pool });
      let release!: (keys: DecryptionKey[]) => void;
      let asked!: () => void;
      const keysAsked = new Promise<void>((r) => (asked = r));
      try {
        const held = pool.analyze(thunderbird(`${CORPUS_DIR}/alice.env.eml`), {
          verify: { trustAnchors: [] },
          keys: () => {
            asked();
            return new Promise<DecryptionKey[]>((r) => (release = r));
          },
        });
        await keysAsked;
        assert.deepEqual(pool.load(), { running: 1, queued: 0 });

        // Only the head of a 30 MB request is sent: the answer must come without the rest.
        const { port } = new URL(worker.srv.url);
        const token = await worker.srv.token(BOB);
        const busy = (path: string) =>
          new Promise<string>((resolve, reject) => {
            const socket = connect(Number(port), '127.0.0.1');
            let text = '';
            socket.on('data', (d) => {
              text += d.toString('latin1');
              if (text.includes('\r\n\r\n') && /"code"/.test(text)) {
                socket.destroy();
                resolve(text);
              }
            });
            socket.on('error', reject);
            socket.write(
              `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
                `Content-Type: message/rfc822\r\nContent-Length: ${30 * 1024 * 1024}\r\n\r\nFrom: a@example.com\r\n`,
            );
          });
        for (const path of ['/api/v1/messages/incoming', '/api/v1/messages/outgoing?sign=true']) {
          const answer = await busy(path);
          assert.match(answer, /^HTTP\/1\.1 503 /, path);
          assert.match(answer, /\r\nretry-after: \d+\r\n/i, path);
          assert.match(answer, /"code":"SERVER_BUSY"/, path);
        }

        // A small message is still read on the event loop meanwhile.
        const small = await read(worker.bob, mail('alice@example.com', BOB, 'hello'));
        assert.equal(small.status, 200, small.text);

        release([]);
        const done = await held;
        assert.equal(done.analysis.layers[0]!.kind, 'encrypted');
        assert.equal((done.analysis.layers[0] as { status: string }).status, 'no-key');
        assert.deepEqual(pool.load(), { running: 0, queued: 0 });
      } finally {
        release?.([]);
        Object.defineProperty(mailService, 'messagePool', { value: original });
        await pool.close();
      }
    },
  );
});
