/**
 * A test server with the demo wired in the way main.ts does it in demo mode (backend/src/demo/entry.ts): the demo CA
 * trusted, demo tokens accepted, the demo's routers mounted, its own schema applied to the test database. `seed`
 * also seeds the demo users (Argon2 at the default cost: seconds).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../backend/src/config.ts';
import { demoRouters, demoServices, openDemoHost, startDemo, type DemoHost } from '../../backend/src/demo/entry.ts';
import { applyDemoSchema } from '../../backend/src/demo/store.ts';
import type { Database } from '../../backend/src/store/db.ts';
import { startServer, testConfig, type TestServer } from './app.ts';

export interface DemoTestServer extends TestServer {
  host: DemoHost;
  dataDir: string;
}

export async function startDemoTestServer(
  db: Database,
  overrides: Partial<Config> = {},
  options: { seed?: boolean } = {},
): Promise<DemoTestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'smime-demo-test-'));
  try {
    const { config, host } = await openDemoHost(
      testConfig({ ...overrides, SMIME_DATA_DIR: dataDir, dataDir, demo: true }),
    );
    const srv = await startServer(
      db,
      { ...overrides, SMIME_DATA_DIR: dataDir, dataDir, demo: true, demoTrustAnchorsFile: config.demoTrustAnchorsFile },
      {
        services: (s) => demoServices(s, host),
        routers: (s) => demoRouters(s, host),
      },
    );
    if (options.seed) await startDemo(srv.services, host);
    else await applyDemoSchema(db);
    return {
      ...srv,
      host,
      dataDir,
      async close() {
        await srv.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
}
