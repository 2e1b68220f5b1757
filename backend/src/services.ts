/** Wiring: config + database -> the services the API and the CLI share. */
import type { Services } from './api/context.ts';
import { TokenVerifier } from './auth/tokens.ts';
import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import { openPGlite, openPostgres, type Database } from './store/db.ts';
import { Vault, type VaultOptions } from './vault/vault.ts';
import { MailService } from './mail/service.ts';
import { join } from 'node:path';
import { AuditCheckpoints } from './audit/checkpoints.ts';

export function vaultOptions(config: Config): VaultOptions {
  return {
    argon2: {
      memoryKiB: config.SMIME_ARGON2_MEMORY_KIB,
      timeCost: config.SMIME_ARGON2_TIME_COST,
      parallelism: config.SMIME_ARGON2_PARALLELISM,
    },
    kdfConcurrency: config.SMIME_ARGON2_CONCURRENCY,
    kdfNice: config.SMIME_ARGON2_NICE,
    idleTimeoutS: config.SMIME_UNLOCK_IDLE_TIMEOUT_S,
    maxLifetimeS: config.SMIME_UNLOCK_MAX_LIFETIME_S,
    throttle: {
      freeAttempts: config.SMIME_THROTTLE_FREE_ATTEMPTS,
      baseDelayS: config.SMIME_THROTTLE_BASE_DELAY_S,
      maxDelayS: config.SMIME_THROTTLE_MAX_DELAY_S,
    },
    passphraseMinLength: config.SMIME_PASSPHRASE_MIN_LENGTH,
    maxP12Bytes: config.SMIME_MAX_P12_BYTES,
    p12Pool: { concurrency: config.SMIME_P12_CONCURRENCY, queue: config.SMIME_P12_QUEUE },
    recovery: config.recovery,
  };
}

export async function openDatabase(config: Config): Promise<Database> {
  return config.DATABASE_URL
    ? openPostgres(config.DATABASE_URL, config.DATABASE_POOL_SIZE)
    : openPGlite(join(config.dataDir, 'db'));
}

export function createServices(config: Config, db: Database, log: Logger, ready: () => boolean = () => true): Services {
  const vault = new Vault(db, vaultOptions(config), log);
  return {
    config,
    db,
    log,
    vault,
    mail: new MailService(db, vault, config, log),
    tokens: new TokenVerifier(config),
    auditCheckpoints: new AuditCheckpoints(config.auditCheckpoint, log),
    ready,
  };
}
