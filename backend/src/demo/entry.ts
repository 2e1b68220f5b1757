/**
 * The demo's entry module (issue 12): everything the demo adds to a server, in one place that main.ts imports only in
 * demo mode (SMIME_DEMO resolved on, which NODE_ENV=production never allows). The product's own modules (api/app.ts,
 * migrations/) know nothing of the demo:
 *
 *   - its CA (name-constrained to demo.example) is made or loaded, and trusted beside SMIME_TRUST_ANCHORS;
 *   - its login tokens are signed with a key of its own, accepted next to the host's tokens (demo/tokens.ts);
 *   - its pages and /demo/api are extra routers behind the product's middleware chain;
 *   - its tables come from its own schema (demo/schema/), applied after the product's migrations, then it seeds.
 */
import { join } from 'node:path';
import type Router from '@koa/router';
import type { AppState, Services } from '../api/context.ts';
import { ConfigError, type Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { ServerExtension } from '../server.ts';
import type { DemoCa } from './pki.ts';
import { DemoMailFiles } from './mail-files.ts';
import { demoPageRoutes, demoRoutes } from './routes.ts';
import { DEMO_DOMAIN, demoCaPaths, ensureDemoCa, seedDemo, UnconstrainedDemoCaError } from './seed.ts';
import { allDemoMessageIds, applyDemoSchema } from './store.ts';
import { demoAwareVerifier, DemoTokens } from './tokens.ts';

export interface DemoHost {
  ca: DemoCa;
  caPemPath: string;
  tokens: DemoTokens;
  mail: DemoMailFiles;
  mailboxMaxBytes: number;
}

/** Make or load what the demo keeps in SMIME_DATA_DIR/demo; the config it returns trusts the demo CA. */
export async function openDemoHost(config: Config, log?: Logger): Promise<{ config: Config; host: DemoHost }> {
  let loaded;
  try {
    loaded = await ensureDemoCa(config.dataDir);
  } catch (e) {
    if (e instanceof UnconstrainedDemoCaError) throw new ConfigError(`SMIME_DEMO: ${e.message}`);
    throw e;
  }
  const { ca, created, pemPath } = loaded;
  if (created) log?.info({ file: pemPath }, 'demo CA created');
  log?.warn(
    { file: pemPath, permitted: DEMO_DOMAIN },
    'demo mode: the demo CA is trusted for demo addresses (never with NODE_ENV=production)',
  );
  const host: DemoHost = {
    ca,
    caPemPath: pemPath,
    tokens: new DemoTokens(DEMO_DOMAIN, config),
    mail: await DemoMailFiles.open(join(demoCaPaths(config.dataDir).dir, 'mail')),
    mailboxMaxBytes: config.SMIME_DEMO_MAILBOX_MAX_BYTES,
  };
  return { config: { ...config, demoTrustAnchorsFile: pemPath }, host };
}

/** The services as the demo needs them: demo login tokens are accepted beside the host's. */
export function demoServices(s: Services, host: DemoHost): Services {
  return { ...s, tokens: demoAwareVerifier(s.tokens, host.tokens) };
}

/** The demo's routers, for createApp's `extra`. */
export function demoRouters(s: Services, host: DemoHost): Router<AppState>[] {
  return [demoPageRoutes(), demoRoutes(s, host)];
}

/** After the product's migrations: the demo's own tables, stray message files, and the demo users (first start). */
export async function startDemo(s: Services, host: DemoHost): Promise<void> {
  await applyDemoSchema(s.db);
  const swept = await host.mail.sweep(await allDemoMessageIds(s.db));
  if (swept) s.log.info({ files: swept }, 'demo: message files without a mailbox row removed');
  await seedDemo(s, host.ca);
}

/** main.ts's hook: the demo wired into a server. */
export async function demoServer(config: Config, log: Logger): Promise<{ config: Config; extension: ServerExtension }> {
  const opened = await openDemoHost(config, log);
  const { host } = opened;
  return {
    config: opened.config,
    extension: {
      services: (s) => demoServices(s, host),
      routers: (s) => demoRouters(s, host),
      async ready(s, url) {
        await startDemo(s, host);
        s.log.info({ url: `${url}/demo` }, 'demo webmail');
      },
    },
  };
}
