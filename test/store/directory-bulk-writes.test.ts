// The directory sync's bulk writes (issue 16: one JSON parameter per statement, read by json_to_recordset) store
// exactly what they are given, on PostgreSQL and PGlite alike: bytes, byte arrays, dates, text arrays, nulls; and a
// string with a lone UTF-16 surrogate (a BMPString name can hold one) is stored with U+FFFD, as a bind parameter was,
// instead of failing the whole sync.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Database } from '../../backend/src/store/db.ts';
import {
  deleteCertificates,
  insertCertificates,
  updateCertificates,
  upsertEntries,
  type NewDirectoryCert,
} from '../../backend/src/store/directory-sync.ts';
import { databaseTargets } from '../helpers/db.ts';

const bytes = (n: number, seed: number) => new Uint8Array(Array.from({ length: n }, (_, i) => (i * 7 + seed) % 256));

function cert(entryId: number, i: number, over: Partial<NewDirectoryCert> = {}): NewDirectoryCert {
  return {
    id: randomUUID(),
    entryId,
    certificate: bytes(700 + i, i),
    emails: [`u${i}@example.org`, `alias${i}@example.org`],
    attribute: 'userCertificate',
    addresses: [`u${i}@example.org`],
    reason: i % 2 ? `CN=u${i}: not issued by a CA the directory trusts ("quoted", back\\slash, ünïcödé)` : undefined,
    sanEmails: [`u${i}@example.org`],
    intermediates: i % 3 ? [bytes(500, i + 1), bytes(0, 0), bytes(300, i + 2)] : [],
    issuerFingerprint: i % 2 ? undefined : 'ab'.repeat(32),
    fingerprintSha256: `${i}`.padStart(64, '0'),
    subject: `CN=User ${i}`,
    issuer: 'CN=Bench CA',
    serialNumber: `0${i}`,
    notBefore: new Date(Date.UTC(2026, 0, 1, 12, 0, 0, 123)),
    notAfter: new Date(Date.UTC(9999, 11, 31, 23, 59, 59)),
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    extendedKeyUsage: [],
    keyAlgorithm: 'RSA',
    keySize: 2048,
    ...over,
  };
}

interface Row {
  id: string;
  certificate: Uint8Array;
  intermediates: Uint8Array[];
  emails: string[];
  addresses: string[];
  san_emails: string[];
  reason: string | null;
  usable: boolean;
  issuer_fingerprint: string | null;
  subject: string;
  not_before: Date;
  not_after: Date;
  key_usage: string[];
  extended_key_usage: string[];
  key_size: number;
}

for (const target of await databaseTargets()) {
  describe(`directory bulk writes on ${target.name}`, () => {
    let db: Database;
    let drop: () => Promise<void>;
    before(async () => ({ db, drop } = await target.open()));
    after(() => drop());

    const read = async (id: string) =>
      (await db.query<Row>('SELECT * FROM directory_certificates WHERE id = $1', [id]))[0]!;

    test('entries and certificates stored as given, updated and deleted in one statement each', async () => {
      const lone = 'CN=Us\ud800er';
      const ids = await upsertEntries(db, [
        { key: 'uuid:a', dn: 'uid=a,dc=example,dc=org', addresses: ['a@example.org'], changeMarker: undefined },
        { key: 'uuid:b', dn: `uid=${lone}`, addresses: [], changeMarker: '20260101000000Z' },
      ]);
      assert.equal(ids.size, 2);
      const [b] = await db.query<{ dn: string; addresses: string[]; change_marker: string | null }>(
        'SELECT dn, addresses, change_marker FROM directory_entries WHERE entry_key = $1',
        ['uuid:b'],
      );
      assert.deepEqual(b, { dn: 'uid=CN=Us\ufffder', addresses: [], change_marker: '20260101000000Z' });
      const certs = Array.from({ length: 7 }, (_, i) => cert(ids.get('uuid:a')!, i));
      certs.push(cert(ids.get('uuid:b')!, 7, { subject: lone, emails: [] }));
      await insertCertificates(db, certs);
      for (const c of certs) {
        const r = await read(c.id);
        assert.deepEqual(new Uint8Array(r.certificate), c.certificate);
        assert.deepEqual(
          r.intermediates.map((x) => new Uint8Array(x)),
          c.intermediates,
        );
        assert.deepEqual([r.emails, r.addresses, r.san_emails], [c.emails, c.addresses, c.sanEmails]);
        assert.deepEqual([r.reason, r.usable], [c.reason ?? null, c.reason === undefined]);
        assert.equal(r.issuer_fingerprint, c.issuerFingerprint ?? null);
        assert.equal(r.subject, c.subject === lone ? 'CN=Us\ufffder' : c.subject);
        assert.deepEqual([r.not_before, r.not_after], [c.notBefore, c.notAfter]);
        assert.deepEqual([r.key_usage, r.extended_key_usage, r.key_size], [c.keyUsage, c.extendedKeyUsage, 2048]);
      }
      const [first, second] = certs as [NewDirectoryCert, NewDirectoryCert];
      await updateCertificates(db, [
        {
          id: first.id,
          findings: { ...first, reason: 'now refused', intermediates: [bytes(10, 9)], issuerFingerprint: undefined },
        },
        { id: second.id, findings: { ...second, reason: undefined, addresses: [], intermediates: [] } },
      ]);
      const r1 = await read(first.id);
      assert.deepEqual([r1.reason, r1.usable, r1.issuer_fingerprint], ['now refused', false, null]);
      assert.deepEqual(
        r1.intermediates.map((x) => new Uint8Array(x)),
        [bytes(10, 9)],
      );
      const r2 = await read(second.id);
      assert.deepEqual([r2.reason, r2.usable, r2.addresses, r2.intermediates], [null, true, [], []]);
      await deleteCertificates(db, [first.id]);
      assert.equal((await db.query('SELECT 1 FROM directory_certificates WHERE id = $1', [first.id])).length, 0);
    });
  });
}
