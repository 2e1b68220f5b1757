/**
 * Shared setup of the security suite (test/security/*.test.ts): users whose keys IT placed and who then chose their
 * own passphrase, through the real HTTP API, and small helpers to send and read mail. Not a test file itself.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { UserRow } from '../../backend/src/store/users.ts';
import { findUserByEmail } from '../../backend/src/store/users.ts';
import { Client, TEST_ADMIN_TOKEN, type TestServer } from '../helpers/app.ts';
import { FIXTURES, SHARED_CORPUS } from '../helpers/paths.ts';

export const corpusP12 = (file: string): Buffer => readFileSync(`${FIXTURES}corpus/${file}`);
export const thunderbird = (file: string): Buffer => readFileSync(`${SHARED_CORPUS}thunderbird/${file}`);
export const b64 = (b: Uint8Array | string): string => Buffer.from(b).toString('base64');
export const CORPUS_CA = `${FIXTURES}corpus/TestCA.pem`;

export function adminClient(srv: TestServer): Client {
  return new Client(srv.url, TEST_ADMIN_TOKEN);
}

/** IT places `file` (password nss) for `email`; with `passphrase` the user then makes it their own. */
export async function placeKey(srv: TestServer, email: string, file: string, passphrase?: string, force = false): Promise<Client> {
  const r = await adminClient(srv).request('POST', `/api/v1/admin/users/${encodeURIComponent(email)}/keys`, {
    json: { p12: b64(corpusP12(file)), password: 'nss', force },
  });
  assert.equal(r.status, 201, r.text);
  const c = new Client(srv.url, await srv.token(email));
  if (passphrase) {
    const ch = await c.request('POST', '/api/v1/session/passphrase', { json: { currentPassphrase: 'nss', newPassphrase: passphrase } });
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
