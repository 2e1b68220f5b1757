/**
 * First-start secrets for a machine with nothing configured (`npm start` on a fresh clone): a random HS256 secret for
 * host tokens, a random admin token and an Ed25519 key that signs audit checkpoints, written once to
 * SMIME_DATA_DIR/secrets with mode 0600. Production sets SMIME_JWT_SECRET(_FILE) or SMIME_JWT_PUBLIC_KEY_FILE,
 * SMIME_ADMIN_TOKEN(_FILE) and SMIME_AUDIT_CHECKPOINT_KEY_FILE; then nothing is generated, and with
 * NODE_ENV=production main.ts never calls this: a start without them is refused (production.ts). A generated
 * checkpoint key sits beside the database's files, where whoever rewrites the database could read it (issue 12).
 * Only file paths are ever logged, never the values.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointKeyError, generateSigningKeyPem, parseSigningKey } from './audit/keys.ts';
import { ConfigError, type Config } from './config.ts';

export interface GeneratedSecret {
  name: 'jwt-secret' | 'admin-token' | 'audit-checkpoint-key';
  path: string;
  created: boolean;
}

function readOrCreate(
  dir: string,
  name: GeneratedSecret['name'],
  generate: () => string = () => randomBytes(32).toString('base64url'),
): { value: string; info: GeneratedSecret } {
  const path = join(dir, name);
  if (existsSync(path)) return { value: readFileSync(path, 'utf8').trim(), info: { name, path, created: false } };
  const value = generate();
  // 'wx': never overwrite a secret another instance wrote a moment ago.
  try {
    writeFileSync(path, value + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      return { value: readFileSync(path, 'utf8').trim(), info: { name, path, created: false } };
    throw e;
  }
  return { value, info: { name, path, created: true } };
}

/** Fill in the JWT secret, admin token and checkpoint key from SMIME_DATA_DIR/secrets when none is configured. */
export function withGeneratedSecrets(config: Config): { config: Config; generated: GeneratedSecret[] } {
  const needJwt = !config.jwtSecret && !config.jwtPublicKeyPem;
  const needAdmin = !config.adminToken;
  const needCheckpointKey = !config.auditCheckpoint.signingKey;
  if (!needJwt && !needAdmin && !needCheckpointKey) return { config, generated: [] };
  const dir = join(config.dataDir, 'secrets');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const generated: GeneratedSecret[] = [];
  let next = config;
  if (needJwt) {
    const s = readOrCreate(dir, 'jwt-secret');
    generated.push(s.info);
    next = { ...next, jwtSecret: new TextEncoder().encode(s.value) };
  }
  if (needAdmin) {
    const s = readOrCreate(dir, 'admin-token');
    generated.push(s.info);
    next = { ...next, adminToken: s.value };
  }
  if (needCheckpointKey) {
    const s = readOrCreate(dir, 'audit-checkpoint-key', generateSigningKeyPem);
    generated.push(s.info);
    let signingKey;
    try {
      signingKey = parseSigningKey(s.value);
    } catch (e) {
      throw new ConfigError(`${s.info.path}: ${(e as CheckpointKeyError).message}`);
    }
    next = { ...next, auditCheckpoint: { ...next.auditCheckpoint, signingKey } };
  }
  return { config: next, generated };
}
