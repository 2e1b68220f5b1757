/**
 * Shared setup of the directory-trust attacks (test/security/directory-*.test.ts, issue 12): a real slapd holding the
 * entries a test chooses, a real server syncing from it through the admin route, a reader who resolves addresses and
 * a sender (Bob, whose key IT placed) who sends encrypted mail through POST /api/v1/messages/outgoing. Not a test file.
 *
 * The directory's trust anchors are handed to the server as a raw setting (not through loadConfig), so the same test
 * also runs, and fails as it should, against a server from before issue 12 that does not know the setting.
 */
import assert from 'node:assert/strict';
import { loadConfig, type Config } from '../../backend/src/config.ts';
import { describeCertificate } from '../../backend/src/smime/x509/describe.ts';
import { inspectEnvelope } from '../../backend/src/smime/cms/enveloped/index.ts';
import type { Database } from '../../backend/src/store/db.ts';
import { startSlapd, type Person, type Slapd } from '../fixtures/ldap/slapd.ts';
import { ldapEnv } from '../directory/world.ts';
import { Client, startServer, type TestServer } from '../helpers/app.ts';
import type { DbTarget } from '../helpers/db.ts';
import { adminClient, mail, placeKey, send } from './world.ts';

export const SENDER = 'bob@example.com';
export const READER = 'reader@example.org';
/** Per-test budget: a sync of a handful of entries takes well under a second; a hung slapd must not hang the suite. */
export const TEST_TIMEOUT_MS = 60_000;

export interface DirectoryWorld {
  slapd: Slapd;
  db: Database;
  /** The PostgreSQL database's URL (undefined on PGlite), for a CLI run against the same copy. */
  url: string | undefined;
  srv: TestServer;
  admin: Client;
  reader: Client;
  sender: Client;
  /** A second server on the same database and directory with other settings (closed by close()). */
  another(extra: Partial<Config>): Promise<TestServer>;
  close(): Promise<void>;
}

/** The directory part of a configuration for `slapd`, validated the way every release validates it. */
export function directorySettings(slapd: Slapd): Partial<Config> {
  const env = ldapEnv(slapd);
  delete env.SMIME_DIRECTORY_TRUST_ANCHORS;
  const c = loadConfig({ SMIME_DATA_DIR: 'test-output/data', ...env });
  return Object.fromEntries(
    Object.entries(c).filter(
      ([k]) => k.startsWith('LDAP_') || k.startsWith('SMIME_DIRECTORY_') || k === 'ldapBindPassword',
    ),
  );
}

/**
 * slapd with `people`, a fresh database of `target`, and a server whose directory trust anchors are `anchors` (a PEM
 * file; by default the LDAP test CA that issued the organisation's certificates), plus `extra` settings.
 */
export async function startDirectoryWorld(
  target: DbTarget,
  people: Person[],
  extra: Partial<Config> & Record<string, unknown> = {},
): Promise<DirectoryWorld> {
  const slapd = await startSlapd({ people });
  const { db, drop, url } = await target.open();
  const servers: TestServer[] = [];
  const settings = (more: Partial<Config> & Record<string, unknown>) =>
    ({
      ...directorySettings(slapd),
      SMIME_DIRECTORY_TRUST_ANCHORS: slapd.caFile,
      ...extra,
      ...more,
    }) as Partial<Config>;
  try {
    const srv = await startServer(db, settings({}));
    servers.push(srv);
    const sender = await placeKey(srv, SENDER, 'Bob.p12');
    return {
      slapd,
      db,
      url,
      srv,
      admin: adminClient(srv),
      reader: new Client(srv.url, await srv.token(READER)),
      sender,
      async another(more) {
        const s = await startServer(db, settings(more as Record<string, unknown>));
        servers.push(s);
        return s;
      },
      async close() {
        for (const s of servers) await s.close();
        await slapd.stop();
        await drop();
      },
    };
  } catch (e) {
    for (const s of servers) await s.close();
    await slapd.stop();
    await drop();
    throw e;
  }
}

/** A full sync through the admin route; the summary. */
export async function syncNow(admin: Client, full = true): Promise<Record<string, any>> {
  const r = await admin.request('POST', '/api/v1/admin/directory/sync', { json: { full } });
  assert.equal(r.status, 200, r.text);
  return r.body.summary;
}

/** What GET /certificates/resolve answers for one address. */
export async function resolveOne(c: Client, email: string): Promise<Record<string, any>> {
  const r = await c.request('GET', `/api/v1/certificates/resolve?email=${encodeURIComponent(email)}`);
  assert.equal(r.status, 200, r.text);
  return r.body.recipients[0];
}

/** Bob sends an encrypted (not signed: no unlock needed) message to `to`. */
export function sendEncrypted(sender: Client, to: string) {
  return send(sender, 'encrypt=true&sign=false', mail(SENDER, to, 'for your eyes only'));
}

/**
 * Who an S/MIME message is encrypted to: "issuer/serial" (serial lowercase hex) of each RecipientInfo, read by the
 * engine from the base64 EnvelopedData after the message's header.
 */
export function recipientsOf(message: string): string[] {
  const body = message.slice(message.indexOf('\r\n\r\n') + 4);
  return inspectEnvelope(new Uint8Array(Buffer.from(body, 'base64'))).recipients.map(
    (r) => `${r.issuer}/${r.serialNumber}`,
  );
}

/** The same "issuer/serial" of a DER certificate. */
export function identityOf(der: Uint8Array): string {
  const i = describeCertificate(der);
  return `${i.issuer}/${i.serialNumber}`;
}
