/**
 * Demo mode (issue 5): at first start the server makes a demo CA in SMIME_DATA_DIR/demo, and seeds a few demo users
 * whose keys come from that CA through IT's own placement path (Vault.placeKey with a PKCS#12), so a newcomer can try
 * the whole flow at /demo. The mail service trusts the demo CA while demo mode is on.
 *
 *   alice, bob  keys under their demo passphrase (shown on the demo login page), each other's certificates known
 *   carol       a key IT placed and she has not taken over yet: her first unlock asks her to choose a passphrase
 *   dave        no key and no certificate: encrypting to him is refused, by name
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Services } from '../api/context.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { describeCertificate } from '../smime/certificate.ts';
import { certificateFacts, upsertExchanged } from '../store/certificates.ts';
import { findUserByEmail, ensureUser } from '../store/users.ts';
import { buildPkcs12, generateCa, issueUser, loadCa, toPem, type DemoCa, type Issued } from './pki.ts';
import { insertDemoUser, listDemoUsers } from './store.ts';

export interface DemoUser {
  email: string;
  name: string;
  /** The passphrase the demo login page shows (demo accounts only; real passphrases are never stored or shown). */
  passphrase?: string;
  key: 'own' | 'placed' | 'none';
  note: string;
}

export const DEMO_USERS: readonly DemoUser[] = [
  { email: 'alice@demo.example', name: 'Alice Demo', passphrase: 'alice demo passphrase', key: 'own', note: 'key ready' },
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

/** Load the demo CA from the data folder, or make one (first start). */
export async function ensureDemoCa(dataDir: string): Promise<{ ca: DemoCa; created: boolean; pemPath: string }> {
  const p = demoCaPaths(dataDir);
  if (existsSync(p.certificate) && existsSync(p.key)) {
    const pem = readFileSync(p.certificate, 'utf8');
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    return { ca: await loadCa(der, readFileSync(p.key)), created: false, pemPath: p.certificate };
  }
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  chmodSync(p.dir, 0o700);
  const ca = await generateCa();
  writeFileSync(p.key, ca.pkcs8, { mode: 0o600 });
  writeFileSync(p.certificate, toPem(ca.certificate));
  return { ca, created: true, pemPath: p.certificate };
}

/** A PKCS#12 for a demo address, issued by the demo CA (also used by tests for "import a .p12"). */
export async function demoPkcs12(ca: DemoCa, user: { name: string; email: string }, password: string): Promise<{ p12: Uint8Array; issued: Issued }> {
  const issued = await issueUser(ca, user);
  const p12 = await buildPkcs12({ certificate: issued.certificate, chain: [ca.certificate], pkcs8: issued.pkcs8, password, friendlyName: user.name });
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
        ...certificateFacts(info),
        capabilities: ['aes-256-gcm', 'aes-256-cbc'],
        source: 'imported',
      });
    }
  }
  s.log.info({ users: DEMO_USERS.map((u) => u.email) }, 'demo users seeded');
  return true;
}

/**
 * Start-up in demo mode, before the services exist: make or load the demo CA and point the mail service's extra
 * trust anchor at it. Demo logins are tokens the server signs itself, so demo mode needs the HS256 shared secret; with
 * a host public key it is turned off with a warning.
 */
export async function prepareDemo(config: Config, log: Logger): Promise<{ config: Config; demoCa?: DemoCa }> {
  if (!config.demo) return { config };
  if (!config.jwtSecret) {
    log.warn('demo mode needs the HS256 shared secret (SMIME_JWT_SECRET) to sign demo logins; the demo is off');
    return { config: { ...config, demo: false } };
  }
  const { ca, created, pemPath } = await ensureDemoCa(config.dataDir);
  if (created) log.info({ file: pemPath }, 'demo CA created');
  log.warn({ file: pemPath }, 'demo mode: the demo CA is trusted (SMIME_DEMO=off in production)');
  return { config: { ...config, demoTrustAnchorsFile: pemPath }, demoCa: ca };
}
