/**
 * `npm start`: validate settings, open the database (PostgreSQL at DATABASE_URL, else the embedded one in
 * SMIME_DATA_DIR), apply migrations, serve HTTP. /healthz answers 503 until migrations ran, then 200. Audit
 * checkpoints are signed at start, every SMIME_AUDIT_CHECKPOINT_INTERVAL_S and at shutdown (issue 12).
 */
import { createServer } from 'node:http';
import { createApp } from './api/app.ts';
import { applyServerLimits } from './api/server-limits.ts';
import { startAuditCheckpointSchedule } from './audit/schedule.ts';
import { ConfigError, loadConfig } from './config.ts';
import { directoryOptions } from './directory/options.ts';
import { startDirectorySchedule } from './directory/schedule.ts';
import { createLogger } from './log.ts';
import { withGeneratedSecrets } from './secrets.ts';
import { createServices, openDatabase } from './services.ts';
import { auditRightsOfCurrentRole } from './store/app-role.ts';
import { migrate } from './store/migrate.ts';
import { purgeExpiredSessions } from './store/sessions.ts';
import { prepareDemo, seedDemo } from './demo/seed.ts';

/** How often expired unlock sessions are deleted (they are refused anyway; this only reclaims rows). */
const SESSION_PURGE_INTERVAL_MS = 60_000;

async function main(): Promise<void> {
  let loaded;
  try {
    loaded = withGeneratedSecrets(loadConfig());
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`configuration error: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  const { generated } = loaded;
  const log = createLogger(loaded.config.LOG_LEVEL);
  for (const g of generated)
    log.warn({ file: g.path, created: g.created }, `using generated ${g.name}; configure your own in production`);
  // Demo mode (issue 5): the demo CA must exist before the mail service reads its trust anchors.
  const { config, demoCa } = await prepareDemo(loaded.config, log);

  const db = await openDatabase(config);
  let ready = false;
  const services = createServices(config, db, log, () => ready);
  const app = createApp(services);
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
  server.requestTimeout = 120_000;
  const { maxConnections } = applyServerLimits(server, config);
  await new Promise<void>((resolve) => server.listen(config.PORT, config.HOST, resolve));
  const addr = server.address();
  log.info({ address: typeof addr === 'object' && addr ? `http://${addr.address}:${addr.port}` : addr, database: db.kind, maxConnections }, 'listening');

  const applied = await migrate(db);
  if (demoCa) {
    await seedDemo(services, demoCa);
    log.info({ url: typeof addr === 'object' && addr ? `http://${addr.address}:${addr.port}/demo` : '/demo' }, 'demo webmail');
  }
  ready = true;
  log.info({ applied }, 'migrations applied; ready');

  // Issue 12: whoever holds the server's DATABASE_URL should not be able to rewrite the audit log. The production
  // start-up checks may refuse this; here it is a warning, so development on a superuser keeps working.
  if (db.kind === 'postgres') {
    const rights = await auditRightsOfCurrentRole(db);
    if (rights.owner || rights.modify)
      log.warn(
        { role: rights.role, owner: rights.owner },
        "the server's database role can rewrite the audit log; run the server as smime_app (README: Security)",
      );
  }
  const checkpoints = startAuditCheckpointSchedule(db, services.auditCheckpoints, config.auditCheckpoint.intervalS, log);

  const purge = setInterval(() => {
    purgeExpiredSessions(db).catch((err: unknown) => log.warn({ err }, 'session purge failed'));
  }, SESSION_PURGE_INTERVAL_MS);
  purge.unref();

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
      .then(() => (config.auditCheckpoint.intervalS > 0 ? services.auditCheckpoints.write(db).then(() => {}, () => {}) : undefined))
      .then(() => db.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error('fatal:', err instanceof Error ? err.message : err);
  process.exit(1);
});
