/**
 * Directory sync of 10,000 entries with certificates (issue 4), beside `ldapsearch` reading the same entries from the
 * same slapd in the same run (paged, StartTLS, same account, same attributes): the reference is the cost of the LDAP
 * read alone, so the ratio is what parsing, checking and storing the certificates adds.
 *
 * The entries are AD-like (mail, SMTP:/smtp: proxyAddresses, one DER certificate each in userCertificate;binary),
 * with certificates made here (an EC P-256 CA signs 10,000 certificates for one RSA-2048 key: distinct certificates
 * without 10,000 RSA key generations) and loaded offline with slapadd. The CA's own certificate is the
 * directory's trust anchor (issue 12): every certificate's path is checked, once per issuer, the signature per certificate.
 */
import { spawnSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import pg from 'pg';
import { loadConfig } from '../backend/src/config.ts';
import { directoryOptions, type DirectoryOptions } from '../backend/src/directory/options.ts';
import { DirectoryConnection } from '../backend/src/directory/ldap.ts';
import { syncDirectory } from '../backend/src/directory/sync.ts';
import { certificateToPem } from '../backend/src/smime/index.ts';
import { openPostgres, wrapPGlite, type Database } from '../backend/src/store/db.ts';
import { migrate } from '../backend/src/store/migrate.ts';
import {
  BASE_DN,
  PEOPLE_DN,
  personLdif,
  slapdMissing,
  startSlapd,
  SYNC_DN,
  SYNC_PASSWORD,
} from '../test/fixtures/ldap/slapd.ts';
import { median, printTable, type Row } from './table.ts';

/** The issue's figure. */
export const ENTRIES = 10_000;
export const PAGE_SIZE = 500;
/** Repetitions of each timed read and sync (median): one ldapsearch run varies by a factor of two and more. */
const REPEAT = 5;
/** Full syncs into an empty database, each into a new one (median). */
const FULL_REPEAT = 3;
/** BENCH_DIRECTORY_DB: `pglite`, `postgres` (a prefix of the name), or both (default). */
const ONLY_DB = process.env.BENCH_DIRECTORY_DB?.toLowerCase();
/** BENCH_CPU_PROFILE=file.cpuprofile: a V8 CPU profile of the first full sync on PostgreSQL (scripts/cpuprofile-summary.mjs). */
const CPU_PROFILE = process.env.BENCH_CPU_PROFILE;
export const FILTER = '(&(mail=*)(|(userCertificate=*)(userSMIMECertificate=*)))';
const ATTRIBUTES = [
  'mail',
  'proxyAddresses',
  'userCertificate;binary',
  'userSMIMECertificate',
  'entryUUID',
  'objectGUID',
  'modifyTimestamp',
  'uSNChanged',
];
const BENCH_DB_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The bench CA (self-signed, the directory's trust anchor) and `n` certificates it issued. */
export async function issueCertificates(n: number): Promise<{ ca: Uint8Array; certs: Uint8Array[] }> {
  const crypto = webcrypto as unknown as Crypto;
  pkijs.setEngine('bench', new pkijs.CryptoEngine({ name: 'bench', crypto }));
  const ca = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const user = await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  );
  const spki = pkijs.PublicKeyInfo.fromBER(await crypto.subtle.exportKey('spki', user.publicKey));
  const cn = (v: string) =>
    new pkijs.AttributeTypeAndValue({ type: '2.5.4.3', value: new asn1js.Utf8String({ value: v }) });
  const now = Date.now();
  // The CA's own certificate: since issue 12 a directory certificate counts only when it chains to a trust anchor.
  const root = new pkijs.Certificate();
  root.version = 2;
  root.serialNumber = new asn1js.Integer({ value: 1 });
  root.issuer.typesAndValues.push(cn('Bench CA'));
  root.subject.typesAndValues.push(cn('Bench CA'));
  root.notBefore.value = new Date(now - 86_400_000);
  root.notAfter.value = new Date(now + 10 * 365 * 86_400_000);
  root.subjectPublicKeyInfo = pkijs.PublicKeyInfo.fromBER(await crypto.subtle.exportKey('spki', ca.publicKey));
  root.extensions = [
    new pkijs.Extension({
      extnID: '2.5.29.19',
      critical: true,
      extnValue: new pkijs.BasicConstraints({ cA: true }).toSchema().toBER(false),
    }),
    // keyCertSign (bit 5) and cRLSign (bit 6): 0b0000_0110, 1 unused bit.
    new pkijs.Extension({
      extnID: '2.5.29.15',
      critical: true,
      extnValue: new asn1js.BitString({ valueHex: new Uint8Array([0x06]).buffer, unusedBits: 1 }).toBER(false),
    }),
  ];
  await root.sign(ca.privateKey, 'SHA-256');
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const email = `user${i}@bench.example.org`;
    const c = new pkijs.Certificate();
    c.version = 2;
    c.serialNumber = new asn1js.Integer({ value: i + 1 });
    c.issuer.typesAndValues.push(cn('Bench CA'));
    c.subject.typesAndValues.push(cn(`User ${i}`));
    c.notBefore.value = new Date(now - 86_400_000);
    c.notAfter.value = new Date(now + 365 * 86_400_000);
    c.subjectPublicKeyInfo = spki;
    c.extensions = [
      new pkijs.Extension({
        extnID: '2.5.29.17',
        extnValue: new pkijs.GeneralNames({ names: [new pkijs.GeneralName({ type: 1, value: email })] })
          .toSchema()
          .toBER(false),
      }),
      new pkijs.Extension({
        extnID: '2.5.29.15',
        critical: true,
        // digitalSignature (bit 0) and keyEncipherment (bit 2): 0b1010_0000, 5 unused bits.
        extnValue: new asn1js.BitString({ valueHex: new Uint8Array([0xa0]).buffer, unusedBits: 5 }).toBER(false),
      }),
      new pkijs.Extension({
        extnID: '2.5.29.37',
        extnValue: new pkijs.ExtKeyUsage({ keyPurposes: ['1.3.6.1.5.5.7.3.4'] }).toSchema().toBER(false),
      }),
    ];
    await c.sign(ca.privateKey, 'SHA-256');
    out.push(new Uint8Array(c.toSchema(true).toBER(false)));
  }
  return { ca: new Uint8Array(root.toSchema(true).toBER(false)), certs: out };
}

export function ldapsearchMs(url: string, caFile: string): { ms: number; entries: number } {
  const t = performance.now();
  const r = spawnSync(
    'ldapsearch',
    [
      '-LLL',
      '-x',
      '-ZZ',
      '-H',
      url,
      '-D',
      SYNC_DN,
      '-w',
      SYNC_PASSWORD,
      '-b',
      PEOPLE_DN,
      '-E',
      `pr=${PAGE_SIZE}/noprompt`,
      FILTER,
      ...ATTRIBUTES,
    ],
    { env: { ...process.env, LDAPTLS_CACERT: caFile }, maxBuffer: 1 << 30, encoding: 'latin1' },
  );
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`ldapsearch failed (${r.status}): ${r.stderr}`);
  return { ms, entries: (r.stdout.match(/^dn:/gm) ?? []).length };
}

async function ldaptsReadMs(opts: DirectoryOptions): Promise<{ ms: number; entries: number }> {
  const t = performance.now();
  const conn = await DirectoryConnection.open(opts);
  let entries = 0;
  try {
    for await (const page of conn.search(opts.filter)) entries += page.length;
  } finally {
    await conn.close();
  }
  return { ms: performance.now() - t, entries };
}

export async function freshPGlite(): Promise<{ db: Database; close: () => Promise<void> }> {
  const p = new PGlite();
  await p.waitReady;
  const db = wrapPGlite(p as never);
  await migrate(db);
  return { db, close: () => p.close() };
}

export async function freshPostgres(): Promise<{ db: Database; close: () => Promise<void> } | undefined> {
  const admin = new pg.Client({ connectionString: BENCH_DB_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch {
    return undefined;
  }
  const name = `smime_bench_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(BENCH_DB_URL);
  url.pathname = `/${name}`;
  const db = openPostgres(url.toString(), 4);
  await migrate(db);
  return {
    db,
    async close() {
      await db.close();
      const c = new pg.Client({ connectionString: BENCH_DB_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function benchDirectory(): Promise<Row[]> {
  const missing = slapdMissing();
  if (missing) {
    console.warn(`directory benchmark skipped: ${missing}`);
    return [];
  }
  const rows: Row[] = [];
  let t = performance.now();
  const { ca, certs } = await issueCertificates(ENTRIES);
  const work = mkdtempSync(join(tmpdir(), 'smime-bench-ca-'));
  const anchors = join(work, 'bench-ca.pem');
  writeFileSync(anchors, certificateToPem(ca));
  const issueMs = performance.now() - t;
  const ldif = certs
    .map((der, i) =>
      personLdif({
        uid: `user${i}`,
        mail: `user${i}@bench.example.org`,
        proxyAddresses: [`SMTP:user${i}@bench.example.org`, `smtp:u${i}@bench.example.org`],
        certificates: [der],
        // Spread over the past weeks, a minute apart, as in a living directory (slapadd keeps the given value).
        modifyTimestamp:
          new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z',
      }),
    )
    .join('');
  t = performance.now();
  const slapd = await startSlapd({ extraLdif: ldif });
  const loadMs = performance.now() - t;
  try {
    const opts = directoryOptions(
      loadConfig({
        LDAP_URL: slapd.url,
        LDAP_CA_FILE: slapd.caFile,
        LDAP_BIND_DN: SYNC_DN,
        LDAP_BIND_PASSWORD: SYNC_PASSWORD,
        LDAP_BASE_DN: BASE_DN,
        LDAP_FILTER: FILTER,
        SMIME_DIRECTORY_PAGE_SIZE: String(PAGE_SIZE),
        LDAP_TIMEOUT_MS: '60000',
        SMIME_DIRECTORY_TRUST_ANCHORS: anchors,
      }),
    )!;
    // Reference: ldapsearch reading the same entries, same page size, StartTLS, the same account and attributes.
    const refRuns = Array.from({ length: REPEAT }, () => ldapsearchMs(slapd.url, slapd.caFile));
    if (refRuns.some((r) => r.entries !== ENTRIES))
      throw new Error(`ldapsearch read ${refRuns.map((r) => r.entries).join('/')} entries`);
    const ref = median(refRuns.map((r) => r.ms));

    const reads: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      const r = await ldaptsReadMs(opts);
      if (r.entries !== ENTRIES) throw new Error(`ldapts read ${r.entries} entries`);
      reads.push(r.ms);
    }
    rows.push({
      what: `LDAP read alone, ${ENTRIES} entries (ldapts, no database)`,
      ours: median(reads),
      ref,
      unit: 'ms',
      note: `ref: ldapsearch -ZZ -E pr=500, median of ${REPEAT} (${refRuns.map((r) => Math.round(r.ms)).join(', ')})`,
    });

    const targets: [string, () => Promise<{ db: Database; close: () => Promise<void> } | undefined>][] = [
      ['PGlite', freshPGlite],
      ['PostgreSQL', freshPostgres],
    ];
    for (const [name, open] of targets.filter(([n]) => !ONLY_DB || n.toLowerCase().startsWith(ONLY_DB))) {
      // Each full sync into an empty database gets a new one; the last is kept for the repeated syncs below.
      const firsts: number[] = [];
      let target: { db: Database; close: () => Promise<void> } | undefined;
      for (let i = 0; i < FULL_REPEAT; i++) {
        await target?.close();
        target = await open();
        if (!target) break;
        const profile = CPU_PROFILE && i === 0 && name === 'PostgreSQL' ? new Session() : undefined;
        if (profile) {
          profile.connect();
          await profile.post('Profiler.enable');
          await profile.post('Profiler.start');
        }
        t = performance.now();
        const first = await syncDirectory(target.db, opts, { mode: 'full' });
        firsts.push(performance.now() - t);
        if (profile) {
          const { profile: p } = await profile.post('Profiler.stop');
          writeFileSync(CPU_PROFILE!, JSON.stringify(p));
          profile.disconnect();
        }
        if (first.entriesSeen !== ENTRIES || first.certificatesAdded !== ENTRIES || first.certificatesRejected !== 0)
          throw new Error(`first sync: ${JSON.stringify({ ...first, rejected: first.rejected.slice(0, 3) })}`);
      }
      if (!target) {
        rows.push({
          what: `full sync on ${name}`,
          ours: Number.NaN,
          unit: 'ms',
          note: 'PostgreSQL not reachable: skipped',
        });
        continue;
      }
      try {
        rows.push({
          what: `full sync, ${ENTRIES} entries into an empty ${name}`,
          ours: median(firsts),
          ref,
          unit: 'ms',
          note: `${ENTRIES} certificates added; median of ${FULL_REPEAT} (${firsts.map((x) => Math.round(x)).join(', ')})`,
        });
        const again: number[] = [];
        for (let i = 0; i < REPEAT; i++) {
          t = performance.now();
          const s = await syncDirectory(target.db, opts, { mode: 'full' });
          again.push(performance.now() - t);
          if (s.certificatesAdded + s.certificatesRemoved + s.certificatesUpdated !== 0)
            throw new Error('a repeated full sync changed something');
        }
        rows.push({
          what: `full sync again, nothing changed (${name})`,
          ours: median(again),
          ref,
          unit: 'ms',
          note: 'reads and compares all',
        });
        const inc: number[] = [];
        for (let i = 0; i < REPEAT; i++) {
          t = performance.now();
          const s = await syncDirectory(target.db, opts, { mode: 'incremental' });
          inc.push(performance.now() - t);
          if (s.mode !== 'incremental') throw new Error('expected an incremental sync');
        }
        rows.push({
          what: `incremental sync, nothing changed (${name})`,
          ours: median(inc),
          unit: 'ms',
          note: 'modifyTimestamp watermark',
        });
      } finally {
        await target.close();
      }
    }
    rows.push({
      what: `setup: issue ${ENTRIES} certificates (pkijs, EC CA)`,
      ours: issueMs,
      unit: 'ms',
      note: 'not part of the sync',
    });
    rows.push({
      what: `setup: slapadd ${ENTRIES} entries + start slapd`,
      ours: loadMs,
      unit: 'ms',
      note: 'not part of the sync',
    });
  } finally {
    await slapd.stop();
    rmSync(work, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) printTable('Directory sync', await benchDirectory());
