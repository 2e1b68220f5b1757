/**
 * The application's database role smime_app (migration 007, issue 12): what it exists as, and what the role the
 * server connects as may do to the audit table. The migration cannot always create the role (PGlite has a single
 * user; a migration role without CREATEROLE may not); these say so in words `smime-admin migrate` and the server's
 * start-up print, since notices raised inside a migration reach nobody.
 */
import type { Database } from './db.ts';

export const APP_ROLE = 'smime_app';

export type AppRoleStatus =
  /** The embedded PostgreSQL: one user and one connection, nobody to separate from the owner. */
  | { state: 'embedded' }
  /** Not created: the migration role may not create roles. */
  | { state: 'missing' }
  /** Created; `appendOnly` when it may read and append the audit log and do nothing else to it. */
  | { state: 'present'; appendOnly: boolean; canLogin: boolean };

export async function appRoleStatus(db: Database): Promise<AppRoleStatus> {
  if (db.kind === 'pglite') return { state: 'embedded' };
  const [r] = await db.query<{ login: boolean; select: boolean; insert: boolean; other: boolean }>(
    `SELECT r.rolcanlogin AS login,
            has_table_privilege(r.oid, 'audit_log', 'SELECT') AS select,
            has_table_privilege(r.oid, 'audit_log', 'INSERT') AS insert,
            has_table_privilege(r.oid, 'audit_log', 'UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES')
              OR pg_has_role(r.oid, c.relowner, 'USAGE') AS other
       FROM pg_roles r, pg_class c
      WHERE r.rolname = $1 AND c.oid = 'audit_log'::regclass`,
    [APP_ROLE],
  );
  if (!r) return { state: 'missing' };
  return { state: 'present', appendOnly: r.select && r.insert && !r.other, canLogin: r.login };
}

export interface AuditRights {
  /** The role this connection acts as. */
  role: string;
  /** It owns audit_log (or is a member of the owner, or a superuser): it can disable the trigger and rewrite rows. */
  owner: boolean;
  /** It holds UPDATE, DELETE or TRUNCATE on audit_log. */
  modify: boolean;
}

/** What the connected role may do to the audit table beyond reading and appending. */
export async function auditRightsOfCurrentRole(db: Database): Promise<AuditRights> {
  const [r] = await db.query<AuditRights>(
    `SELECT current_user AS role,
            pg_has_role(current_user, c.relowner, 'USAGE') AS owner,
            has_table_privilege('audit_log', 'UPDATE, DELETE, TRUNCATE') AS modify
       FROM pg_class c WHERE c.oid = 'audit_log'::regclass`,
  );
  return r!;
}

/** One sentence on the application role for an operator, after migrations. */
export function describeAppRole(s: AppRoleStatus): string {
  switch (s.state) {
    case 'embedded':
      return `database role ${APP_ROLE}: not used by the embedded database (one user); use PostgreSQL in production`;
    case 'missing':
      return (
        `database role ${APP_ROLE} does not exist: the migrating role may not create roles. As a role with CREATEROLE: ` +
        `CREATE ROLE ${APP_ROLE} NOLOGIN; then as the owner: SELECT smime_grant_app_role();`
      );
    case 'present':
      return s.appendOnly
        ? `database role ${APP_ROLE}: may append to audit_log and not change it${s.canLogin ? '' : ' (NOLOGIN: give it a password or log in as a member role)'}`
        : `database role ${APP_ROLE} has rights on audit_log beyond SELECT and INSERT: as the owner, SELECT smime_grant_app_role();`;
  }
}
