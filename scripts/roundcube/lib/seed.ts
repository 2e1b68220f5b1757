/**
 * Seeding the stack's S/MIME world before the backend starts, directly on the embedded database the backend will
 * open (PGlite admits one process at a time): a stack CA, a certificate and key per user placed through IT's own path
 * (Vault.placeKey, so every key is "must change passphrase"), and everyone's certificate known to everyone else (as
 * after exchanging signed mail), the way the demo seeds its users (backend/src/demo/seed.ts).
 *
 * It runs in a short-lived process of its own (seed-process.ts): the vault's Argon2 worker and PGlite's WebAssembly
 * heap then end with it, and the database is certainly closed before the backend opens it.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../backend/src/config.ts';
import { buildPkcs12, generateCa, issueUser, toPem } from '../../../backend/src/demo/pki.ts';
import { createLogger } from '../../../backend/src/log.ts';
import { createServices, openDatabase } from '../../../backend/src/services.ts';
import { describeCertificate } from '../../../backend/src/smime/index.ts';
import { upsertExchanged } from '../../../backend/src/store/certificates.ts';
import { recordOf } from '../../../backend/src/store/certificate-record.ts';
import { migrate } from '../../../backend/src/store/migrate.ts';
import { ensureUser } from '../../../backend/src/store/users.ts';
import { pkcs12Path } from './layout.ts';

/** Who placed the keys, in the audit trail. */
const SEED_ACTOR = 'admin:roundcube-stack-seed';
/** What a sender learns of a recipient's ciphers from a signed mail (SMIMECapabilities), as the demo records. */
const EXCHANGED_CAPABILITIES = ['aes-256-gcm', 'aes-256-cbc'];

export interface SeedUser {
  email: string;
  name: string;
  /** 'issued': a certificate from the stack CA in a .p12 under `password`; a file: that .p12; 'none': no key. */
  key: 'issued' | 'none' | { p12File: string };
  /** The .p12 password IT sends the user: the key's initial passphrase. */
  password?: string;
}

export interface SeedInput {
  pkiDir: string;
  /** Where the trust anchors bundle goes (SMIME_TRUST_ANCHORS of the backend): the stack CA, then the extra anchors. */
  trustAnchorsFile: string;
  extraTrustAnchors: string[];
  users: SeedUser[];
}

export interface SeedResult {
  users: { email: string; hasKey: boolean }[];
}

function pemCertificates(path: string): string {
  const text = readFileSync(path, 'utf8');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) throw new Error(`extra trust anchor ${path}: no PEM certificate in it`);
  return blocks.map((b) => `${b}\n`).join('');
}

/** Seed with settings from `env` (the backend's own environment: same data folder, same trust anchors). */
export async function seedStack(input: SeedInput, env: NodeJS.ProcessEnv): Promise<SeedResult> {
  const ca = await generateCa('S/MIME Roundcube stack CA');
  writeFileSync(join(input.pkiDir, 'stack-ca.pem'), toPem(ca.certificate));
  writeFileSync(join(input.pkiDir, 'stack-ca-key.der'), ca.pkcs8, { mode: 0o600 });
  writeFileSync(
    input.trustAnchorsFile,
    [toPem(ca.certificate), ...input.extraTrustAnchors.map(pemCertificates)].join(''),
  );

  // RSA key generation dominates: issue every certificate at once.
  const p12s = await Promise.all(
    input.users.map(async (u): Promise<Uint8Array | undefined> => {
      if (u.key === 'none') return undefined;
      if (u.key !== 'issued') return new Uint8Array(readFileSync(u.key.p12File));
      const issued = await issueUser(ca, { name: u.name, email: u.email });
      try {
        const p12 = await buildPkcs12({
          certificate: issued.certificate,
          chain: [ca.certificate],
          pkcs8: issued.pkcs8,
          password: u.password!,
          friendlyName: u.name,
        });
        // What IT keeps of what it issued (tests open the delivered mail with it in openssl).
        writeFileSync(pkcs12Path(input.pkiDir, u.email), p12, { mode: 0o600 });
        return p12;
      } finally {
        issued.pkcs8.fill(0);
      }
    }),
  );

  const config = loadConfig(env);
  const log = createLogger('warn');
  const db = await openDatabase(config);
  try {
    await migrate(db);
    const s = createServices(config, db, log);
    const certificates: { email: string; certificate: Uint8Array; chain: Uint8Array[] }[] = [];
    for (const [i, u] of input.users.entries()) {
      await ensureUser(db, u.email);
      const p12 = p12s[i];
      if (!p12) continue;
      const key = await s.vault
        .placeKey({ actor: SEED_ACTOR, userEmail: u.email, p12, p12Password: u.password! })
        .catch((e: unknown) => {
          const code = (e as { code?: unknown }).code;
          throw new Error(
            `placing the key of ${u.email}: ${code ? `${String(code)}: ` : ''}${e instanceof Error ? e.message : String(e)}`,
            { cause: e },
          );
        });
      certificates.push({ email: u.email.toLowerCase(), certificate: key.certificate, chain: key.chain });
    }
    for (const owner of input.users) {
      const row = await ensureUser(db, owner.email);
      for (const c of certificates) {
        if (c.email === owner.email.toLowerCase()) continue;
        const info = describeCertificate(c.certificate);
        await upsertExchanged(db, {
          id: randomUUID(),
          userId: row.id,
          email: c.email,
          certificate: c.certificate,
          chain: c.chain,
          ...recordOf(info),
          capabilities: EXCHANGED_CAPABILITIES,
          source: 'imported',
        });
      }
    }
    return { users: input.users.map((u, i) => ({ email: u.email, hasKey: p12s[i] !== undefined })) };
  } finally {
    await db.close();
  }
}
