/**
 * The HTTP server `npm start` runs (main.ts decides with which settings, and whether the demo is wired in): open the
 * database (PostgreSQL at DATABASE_URL, else the embedded one in SMIME_DATA_DIR), serve HTTP, apply migrations.
 * /healthz answers 503 until migrations ran (and an extension's `ready` finished), then 200. Audit checkpoints are
 * signed at start, every SMIME_AUDIT_CHECKPOINT_INTERVAL_S and at shutdown (issue 12).
 */
import { createServer, type Server } from 'node:http';
import type Router from '@koa/router';
import { createApp } from './api/app.ts';
import { applyServerLimits } from './api/server-limits.ts';
import { startAuditCheckpointSchedule } from './audit/schedule.ts';
import type { AppState, Services } from './api/context.ts';
import type { Config } from './config.ts';
import { directoryOptions } from './directory/options.ts';
import { startDirectorySchedule } from './directory/schedule.ts';
import type { Logger } from './log.ts';
import { createServices, openDatabase } from './services.ts';
import { auditRightsOfCurrentRole } from './store/app-role.ts';
import type { Database } from './store/db.ts';
import { migrate } from './store/migrate.ts';
import { purgeExpiredSessions } from './store/sessions.ts';

/** How often expired unlock sessions are deleted (they are refused anyway; this only reclaims rows). */
const SESSION_PURGE_INTERVAL_MS = 60_000;
/** Whole request, headers included: longer than a 64 MiB upload on a slow link, shorter than forever. */
const REQUEST_TIMEOUT_MS = 120_000;
/** A shutdown that waits longer than this for requests in flight gives up. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

/** What a wired-in module (the demo: demo/entry.ts) adds to the product's server. */
export interface ServerExtension {
  services?(s: Services): Services;
  routers?(s: Services): Router<AppState>[];
  /** After the product's migrations, before /healthz says ready. `url` is the server's base URL. */
  ready?(s: Services, url: string): Promise<void>;
}

/**
 * Issue 12: whoever holds the server's DATABASE_URL should not be able to rewrite the audit log. A warning, so
 * development on a superuser keeps working (README: Security, the database roles).
 */
async function warnIfAuditRewritable(db: Database, log: Logger): Promise<void> {
  if (db.kind !== 'postgres') return;
  const rights = await auditRightsOfCurrentRole(db);
  if (rights.owner || rights.modify)
    log.warn(
      { role: rights.role, owner: rights.owner },
      "the server's database role can rewrite the audit log; run the server as smime_app (README: Security)",
    );
}

function startSessionPurge(db: Database, log: Logger): NodeJS.Timeout {
  const purge = setInterval(() => {
    purgeExpiredSessions(db).catch((err: unknown) => log.warn({ err }, 'session purge failed'));
  }, SESSION_PURGE_INTERVAL_MS);
  purge.unref();
  return purge;
}

/**
 * Connections the kernel may hold completed before the server accepts them (the system caps it at somaxconn). Node's
 * default, 511, overflows in a burst of connections: Linux then drops the handshake's last packet, the client believes
 * it is connected and the server never learns of it, so an idle one is never closed
 * (test/security/connection-flood.test.ts: 90 of 1,500 still open after 30 s on a busy machine).
 */
const LISTEN_BACKLOG = 4096;

/** Listens where the configuration says; the base URL it listens on (PORT 0 picks a free port). */
async function listen(server: Server, config: Config): Promise<string> {
  await new Promise<void>((resolve) =>
    server.listen({ port: config.PORT, host: config.HOST, backlog: LISTEN_BACKLOG }, resolve),
  );
  const addr = server.address();
  return typeof addr === 'object' && addr ? `http://${addr.address}:${addr.port}` : String(addr);
}

export async function runServer(config: Config, log: Logger, extension: ServerExtension = {}): Promise<void> {
  const db = await openDatabase(config);
  let ready = false;
  const base = createServices(config, db, log, () => ready);
  const services = extension.services?.(base) ?? base;
  const app = createApp(services, extension.routers?.(services) ?? []);
  const handle = app.callback();
  // Requests whose handler still runs. A client that gives up closes its socket, but its handler goes on using the
  // database: shutdown waits for these before closing the pool (issue 6, seen when a load test stopped mid-run).
  let inFlight = 0;
  let onIdle: (() => void) | undefined;
  const server = createServer((req, res) => {
    inFlight++;
    void handle(req, res).finally(() => {
      if (--inFlight === 0) onIdle?.();
    });
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  // Connection cap, idle and header timeouts (issue 12: an idle flood once exhausted the descriptors).
  const { maxConnections } = applyServerLimits(server, config);
  const url = await listen(server, config);
  log.info({ address: url, database: db.kind, maxConnections }, 'listening');

  const applied = await migrate(db);
  await extension.ready?.(services, url);
  ready = true;
  log.info({ applied }, 'migrations applied; ready');

  await warnIfAuditRewritable(db, log);
  const checkpoints = startAuditCheckpointSchedule(
    db,
    services.auditCheckpoints,
    config.auditCheckpoint.intervalS,
    log,
  );

  const purge = startSessionPurge(db, log);

  // Directory sync (issue 4): only with a directory configured; every instance schedules, the advisory lock lets one run.
  const directory = config.LDAP_URL
    ? startDirectorySchedule(db, directoryOptions(config)!, config.SMIME_DIRECTORY_SYNC_INTERVAL_S, log)
    : undefined;

  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    clearInterval(purge);
    directory?.stop();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const idle = inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (onIdle = resolve));
    Promise.all([closed, idle])
      .then(() => checkpoints.stop())
      // The last state before the database is left alone; a refusal or failure was logged by write().
      .then(() =>
        config.auditCheckpoint.intervalS > 0
          ? services.auditCheckpoints.write(db).then(
              () => {},
              () => {},
            )
          : undefined,
      )
      .then(() => db.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
    setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
