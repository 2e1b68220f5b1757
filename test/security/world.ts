/**
 * Shared setup of the security suite (test/security/*.test.ts): users whose keys IT placed and who then chose their
 * own passphrase, through the real HTTP API, and small helpers to send and read mail. Not a test file itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../backend/src/config.ts';
import type { UserRow } from '../../backend/src/store/users.ts';
import { findUserByEmail } from '../../backend/src/store/users.ts';
import { Client, startServer, TEST_ADMIN_TOKEN, type TestServer } from '../helpers/app.ts';
import type { DbTarget } from '../helpers/db.ts';
import { FIXTURES, SHARED_CORPUS } from '../helpers/paths.ts';
import { cleanUp } from '../helpers/cleanup.ts';

export const corpusP12 = (file: string): Buffer => readFileSync(`${FIXTURES}corpus/${file}`);
export const thunderbird = (file: string): Buffer => readFileSync(`${SHARED_CORPUS}thunderbird/${file}`);
export const b64 = (b: Uint8Array | string): string => Buffer.from(b).toString('base64');
export const CORPUS_CA = `${FIXTURES}corpus/TestCA.pem`;

export function adminClient(srv: TestServer): Client {
  return new Client(srv.url, TEST_ADMIN_TOKEN);
}

/** IT places `file` (password nss) for `email`; with `passphrase` the user then makes it their own. */
export async function placeKey(
  srv: TestServer,
  email: string,
  file: string,
  passphrase?: string,
  force = false,
): Promise<Client> {
  const r = await adminClient(srv).request('POST', `/api/v1/admin/users/${encodeURIComponent(email)}/keys`, {
    json: { p12: b64(corpusP12(file)), password: 'nss', force },
  });
  assert.equal(r.status, 201, r.text);
  const c = new Client(srv.url, await srv.token(email));
  if (passphrase) {
    const ch = await c.request('POST', '/api/v1/session/passphrase', {
      json: { currentPassphrase: 'nss', newPassphrase: passphrase },
    });
    assert.equal(ch.status, 200, ch.text);
  }
  return c;
}

/** Unlock with header delivery; the credential for X-Smime-Unlock. */
export async function unlockHeader(c: Client, passphrase: string): Promise<string> {
  const u = await c.request('POST', '/api/v1/session/unlock', { json: { passphrase, delivery: 'header' } });
  assert.equal(u.status, 200, u.text);
  return u.body.unlockToken as string;
}

export function mail(from: string, to: string, body: string, extraHeaders = ''): Buffer {
  return Buffer.from(
    `From: ${from}\r\nTo: ${to}\r\n${extraHeaders}Subject: security test\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n` +
      `Message-ID: <${Math.random().toString(36).slice(2)}@example.com>\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\n\r\n${body}\r\n`,
  );
}

export function send(c: Client, query: string, raw: Uint8Array, headers: Record<string, string> = {}) {
  return c.request('POST', `/api/v1/messages/outgoing?${query}`, {
    body: raw,
    headers: { 'content-type': 'message/rfc822', accept: 'message/rfc822', ...headers },
  });
}

export function read(c: Client, raw: Uint8Array | string, headers: Record<string, string> = {}) {
  return c.request('POST', '/api/v1/messages/incoming', {
    body: typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw,
    headers: { 'content-type': 'message/rfc822', ...headers },
  });
}

export async function userRow(srv: TestServer, email: string): Promise<UserRow> {
  const u = await findUserByEmail(srv.services.db, email);
  assert.ok(u, `user ${email}`);
  return u;
}

// ---- signed mail, assembled by hand ----------------------------------------------------------------------------

const wrap76 = (der: Uint8Array) => Buffer.from(der).toString('base64').replace(/.{76}/g, '$&\r\n');

/** A multipart/signed message: `signed` is the exact first part (a MIME entity), `p7s` the detached signature. */
export function multipartSigned(
  from: string,
  signed: Uint8Array,
  p7s: Uint8Array,
  extraParts: Uint8Array[] = [],
  boundary = 'sig-boundary',
): Buffer {
  return Buffer.concat([
    Buffer.from(
      `From: ${from}\r\nTo: reader@example.com\r\nSubject: signed\r\nMIME-Version: 1.0\r\n` +
        `Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="${boundary}"\r\n\r\n--${boundary}\r\n`,
    ),
    Buffer.from(signed),
    Buffer.from(
      `\r\n--${boundary}\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n${wrap76(p7s)}\r\n`,
    ),
    ...extraParts.map((p) => Buffer.concat([Buffer.from(`--${boundary}\r\n`), Buffer.from(p), Buffer.from('\r\n')])),
    Buffer.from(`--${boundary}--\r\n`),
  ]);
}

/** An application/pkcs7-mime message around `der` (signed-data or enveloped-data). */
export function pkcs7Mime(from: string, der: Uint8Array, smimeType = 'signed-data', extraHeaders = ''): Buffer {
  return Buffer.from(
    `From: ${from}\r\nTo: reader@example.com\r\n${extraHeaders}Subject: opaque\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: application/pkcs7-mime; smime-type=${smimeType}; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n${wrap76(der)}\r\n`,
    'latin1',
  );
}

/** The same, as a body part (headers of the part only). */
export function pkcs7MimePart(der: Uint8Array, smimeType = 'enveloped-data'): Buffer {
  return Buffer.from(
    `Content-Type: application/pkcs7-mime; smime-type=${smimeType}; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n${wrap76(der)}`,
    'latin1',
  );
}

/** A multipart/mixed message of the given parts (each a complete MIME entity). */
export function multipartMixed(
  from: string,
  parts: Uint8Array[],
  subtype = 'mixed',
  boundary = 'mix-boundary',
): Buffer {
  return Buffer.concat([
    Buffer.from(
      `From: ${from}\r\nTo: reader@example.com\r\nSubject: mixed\r\nMIME-Version: 1.0\r\nContent-Type: multipart/${subtype}; boundary="${boundary}"\r\n\r\n`,
    ),
    ...parts.map((p) => Buffer.concat([Buffer.from(`--${boundary}\r\n`), Buffer.from(p), Buffer.from('\r\n')])),
    Buffer.from(`--${boundary}--\r\n`),
  ]);
}

export const decodeContent = (body: { content: string }): string =>
  Buffer.from(body.content, 'base64').toString('latin1');

/**
 * A real server on a fresh database of `target` that trusts exactly the given PEM files, with revocation checks off
 * (the test PKI's responders are on loopback; ssrf-fetch covers those fetches). `close` stops it, drops the database
 * and removes the anchors file.
 */
export async function startServerTrusting(
  target: DbTarget,
  anchors: (string | URL)[],
): Promise<{ srv: TestServer; close(): Promise<void> }> {
  const work = mkdtempSync(join(tmpdir(), 'smime-security-'));
  const removeWork = () => rmSync(work, { recursive: true, force: true });
  try {
    const file = join(work, 'anchors.pem');
    writeFileSync(file, Buffer.concat(anchors.map((a) => readFileSync(a))));
    const { srv, close } = await startServerOn(target, { SMIME_TRUST_ANCHORS: file, SMIME_REVOCATION_CHECK: 'off' });
    return { srv, close: () => cleanUp(close, removeWork) };
  } catch (error) {
    // The caller has no close() yet: an anchor file that cannot be read must not leave anything behind (issue 13).
    removeWork();
    throw error;
  }
}

/**
 * The server (in this process) on a fresh database of `target`, with `overrides` on top of the test configuration;
 * close() stops it and drops the database. A server that does not start drops the database before the error is
 * passed on.
 */
export async function startServerOn(
  target: DbTarget,
  overrides: Partial<Config> = {},
): Promise<{ srv: TestServer; close(): Promise<void> }> {
  const { db, drop } = await target.open();
  let srv: TestServer;
  try {
    srv = await startServer(db, overrides);
  } catch (error) {
    await cleanUp(drop);
    throw error;
  }
  return { srv, close: () => cleanUp(() => srv.close(), drop) };
}
