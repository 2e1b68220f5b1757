/**
 * Demo mode (issue 5): at first start the server makes a demo CA in SMIME_DATA_DIR/demo, and seeds a few demo users
 * whose keys come from that CA through IT's own placement path (Vault.placeKey with a PKCS#12), so a newcomer can try
 * the whole flow at /demo. The mail service trusts the demo CA while demo mode is on. Its key sits in the data folder,
 * so since issue 12 the CA is name-constrained to DEMO_DOMAIN: whoever copies the key can certify demo addresses and
 * nothing else (smime/x509/chain.ts enforces the constraint).
 *
 *   alice, bob  keys under their demo passphrase (shown on the demo login page), each other's certificates known
 *   carol       a key IT placed and she has not taken over yet: her first unlock asks her to choose a passphrase
 *   dave        no key and no certificate: encrypting to him is refused, by name
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Services } from '../api/context.ts';
import { describeCertificate, parsedCertificate } from '../smime/index.ts';
import { upsertExchanged } from '../store/certificates.ts';
import { recordOf } from '../store/certificate-record.ts';
import { findUserByEmail, ensureUser } from '../store/users.ts';
import { buildPkcs12, generateCa, issueUser, loadCa, toPem, type DemoCa, type Issued } from './pki.ts';
import { insertDemoUser, listDemoUsers } from './store.ts';

/** The demo's mail domain: every demo user's, and the only one the demo CA may certify. */
export const DEMO_DOMAIN = 'demo.example';

export interface DemoUser {
  email: string;
  name: string;
  /** The passphrase the demo login page shows (demo accounts only; real passphrases are never stored or shown). */
  passphrase?: string;
  key: 'own' | 'placed' | 'none';
  note: string;
}

export const DEMO_USERS: readonly DemoUser[] = [
  {
    email: 'alice@demo.example',
    name: 'Alice Demo',
    passphrase: 'alice demo passphrase',
    key: 'own',
    note: 'key ready',
  },
  { email: 'bob@demo.example', name: 'Bob Demo', passphrase: 'bob demo passphrase', key: 'own', note: 'key ready' },
  {
    email: 'carol@demo.example',
    name: 'Carol Demo',
    passphrase: 'carol temporary from IT',
    key: 'placed',
    note: 'key placed by IT: first unlock asks for her own passphrase',
  },
  { email: 'dave@demo.example', name: 'Dave Demo', key: 'none', note: 'no key, no certificate' },
];

/** What the mail service trusts in demo mode: the demo CA, next to the generated secrets. */
export function demoCaPaths(dataDir: string): { dir: string; certificate: string; key: string } {
  const dir = join(dataDir, 'demo');
  return { dir, certificate: join(dir, 'demo-ca.pem'), key: join(dir, 'demo-ca-key.der') };
}

/** A demo CA from before issue 12, without its name constraints: the demo refuses to trust it. */
export class UnconstrainedDemoCaError extends Error {
  override name = 'UnconstrainedDemoCaError';
}

/** Load the demo CA from the data folder, or make one (first start). */
export async function ensureDemoCa(dataDir: string): Promise<{ ca: DemoCa; created: boolean; pemPath: string }> {
  const p = demoCaPaths(dataDir);
  if (existsSync(p.certificate) && existsSync(p.key)) {
    const pem = readFileSync(p.certificate, 'utf8');
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    // Made before issue 12: trusting it would let its key (in this folder) certify any address. Replacing it would
    // orphan the demo users' keys it certified, so the demo data must go as a whole.
    if (!parsedCertificate(new Uint8Array(der))?.nameConstraints)
      throw new UnconstrainedDemoCaError(
        `the demo CA in ${p.dir} predates name constraints and could certify any address; remove ${dataDir} (the demo's embedded database, keys and CA) or set SMIME_DATA_DIR to a new folder`,
      );
    return { ca: await loadCa(der, readFileSync(p.key)), created: false, pemPath: p.certificate };
  }
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  chmodSync(p.dir, 0o700);
  const ca = await generateCa('S/MIME webmail demo CA', { permittedEmail: [DEMO_DOMAIN] });
  writeFileSync(p.key, ca.pkcs8, { mode: 0o600 });
  writeFileSync(p.certificate, toPem(ca.certificate));
  return { ca, created: true, pemPath: p.certificate };
}

/** A PKCS#12 for a demo address, issued by the demo CA (also used by tests for "import a .p12"). */
export async function demoPkcs12(
  ca: DemoCa,
  user: { name: string; email: string },
  password: string,
): Promise<{ p12: Uint8Array; issued: Issued }> {
  // Certificates for the demo users only. The CA's name constraints would make any address outside DEMO_DOMAIN
  // untrusted anyway; refusing says so at the source, and keeps the demo's CA from certifying other demo.example names.
  if (!DEMO_USERS.some((u) => u.email === user.email.toLowerCase()))
    throw new Error(`the demo CA certifies the demo users only, not ${user.email}`);
  const issued = await issueUser(ca, user);
  const p12 = await buildPkcs12({
    certificate: issued.certificate,
    chain: [ca.certificate],
    pkcs8: issued.pkcs8,
    password,
    friendlyName: user.name,
  });
  issued.pkcs8.fill(0);
  return { p12, issued };
}

/** Seed the demo users once (nothing happens when they exist). Returns whether it seeded. */
export async function seedDemo(s: Services, ca: DemoCa): Promise<boolean> {
  if ((await listDemoUsers(s.db)).length > 0) return false;
  const certificates = new Map<string, Uint8Array>();
  for (const [i, u] of DEMO_USERS.entries()) {
    await ensureUser(s.db, u.email);
    if (u.key !== 'none') {
      // The IT path: a .p12 with a password, placed by an administrator; the key is then "must change passphrase".
      const itPassword = u.key === 'placed' ? u.passphrase! : `${u.passphrase} (from IT)`;
      const { p12, issued } = await demoPkcs12(ca, u, itPassword);
      await s.vault.placeKey({ actor: 'admin:demo-seed', userEmail: u.email, p12, p12Password: itPassword });
      certificates.set(u.email, issued.certificate);
      if (u.key === 'own') {
        // What the user does at first unlock: choose their own passphrase (here, the demo one).
        const row = (await findUserByEmail(s.db, u.email))!;
        await s.vault.changePassphrase(row, itPassword, u.passphrase!);
      }
    }
    await insertDemoUser(s.db, { email: u.email, display_name: u.name, position: i });
  }
  // The demo's address book: every demo user knows the others' certificates, as after exchanging signed mail.
  for (const owner of DEMO_USERS) {
    const row = (await findUserByEmail(s.db, owner.email))!;
    for (const [email, cert] of certificates) {
      if (email === owner.email) continue;
      const info = describeCertificate(cert);
      await upsertExchanged(s.db, {
        id: randomUUID(),
        userId: row.id,
        email,
        certificate: cert,
        chain: [ca.certificate],
        ...recordOf(info),
        capabilities: ['aes-256-gcm', 'aes-256-cbc'],
        source: 'imported',
      });
    }
  }
  s.log.info({ users: DEMO_USERS.map((u) => u.email) }, 'demo users seeded');
  return true;
}
