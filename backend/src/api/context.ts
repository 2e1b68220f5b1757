/** What every route can reach: the services, and per request the authenticated user. */
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Database } from '../store/db.ts';
import type { UserRow } from '../store/users.ts';
import type { UserTokenVerifier } from '../auth/tokens.ts';
import type { Vault } from '../vault/vault.ts';
import type { MailService } from '../mail/service.ts';
import type { AuditCheckpoints } from '../audit/checkpoints.ts';

export interface Services {
  config: Config;
  db: Database;
  vault: Vault;
  mail: MailService;
  tokens: UserTokenVerifier;
  log: Logger;
  /** Signed checkpoints of the audit chain, outside the database (issue 12). */
  auditCheckpoints: AuditCheckpoints;
  /** Set once migrations ran; /healthz answers 503 before. */
  ready: () => boolean;
}

export interface AppState {
  user?: UserRow;
  admin?: boolean;
  /**
   * A route whose answer holds nothing private may allow caching (the OpenAPI document, issue 15); every other answer,
   * and every error, is `no-store` (app.ts securityHeaders).
   */
  cacheControl?: string;
}
