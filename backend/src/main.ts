/**
 * `npm start`: the one way to start the server. Settings are validated; with NODE_ENV=production every weak setting
 * (production.ts) refuses the start, in one message naming each and what to set, and the demo is never wired in. On a
 * fresh clone with nothing configured (development) the same findings are warnings: secrets are generated into
 * SMIME_DATA_DIR/secrets and the demo webmail comes up at /demo with the embedded database (the two-command
 * quickstart). The demo is its own entry module (demo/entry.ts), imported here only in demo mode.
 */
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createLogger } from './log.ts';
import { formatWeakSettings, weakSettings } from './production.ts';
import { withGeneratedSecrets } from './secrets.ts';
import { runServer, type ServerExtension } from './server.ts';

/** Exit status of a start refused for its settings (as for any ConfigError). */
const EXIT_CONFIG = 2;

function refuse(message: string): never {
  console.error(`configuration error: ${message}`);
  process.exit(EXIT_CONFIG);
}

async function main(): Promise<void> {
  // Nothing this server writes (the embedded database, generated secrets, the demo CA and mail) is anyone else's to
  // read. PGlite's initdb chmods its files 0666 whatever the umask (store/db.ts tightens those); files it creates later
  // follow the umask.
  process.umask(0o077);
  const production = process.env.NODE_ENV === 'production';
  let loaded: Config | undefined;
  let configError: string | undefined;
  try {
    loaded = loadConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    configError = e.message;
  }
  const weak = weakSettings(process.env);
  if (production && (weak.length || configError)) {
    // One message with everything to fix; a config error about a setting already named is not said twice.
    const named = configError && weak.some((w) => configError.includes(w.setting.replace(/_FILE$/, '')));
    refuse(formatWeakSettings(weak, named ? undefined : configError));
  }
  if (configError || !loaded) refuse(configError ?? 'no configuration');

  const { config, generated } = production ? { config: loaded, generated: [] } : withGeneratedSecrets(loaded);
  const log = createLogger(config.LOG_LEVEL, undefined, config.SMIME_LOG_FORMAT);
  for (const g of generated)
    log.warn(
      { file: g.path, created: g.created },
      `using generated ${g.name}; NODE_ENV=production refuses to start without your own`,
    );
  for (const w of weak.filter((f) => !f.generatedInDevelopment))
    log.warn({ setting: w.setting }, `${w.problem}; NODE_ENV=production refuses this: ${w.fix}`);

  let serverConfig = config;
  let extension: ServerExtension | undefined;
  if (config.demo) {
    try {
      ({ config: serverConfig, extension } = await (await import('./demo/entry.ts')).demoServer(config, log));
    } catch (e) {
      if (e instanceof ConfigError) refuse(e.message);
      throw e;
    }
  } else if (production && config.SMIME_DEMO === 'auto') log.info('NODE_ENV=production: no demo');
  await runServer(serverConfig, log, extension);
}

main().catch((err: unknown) => {
  console.error('fatal:', err instanceof Error ? err.message : err);
  process.exit(1);
});
