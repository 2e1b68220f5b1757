/**
 * A running server for API tests: real Koa app, real database (one of databaseTargets), real Argon2 at the default
 * cost, on an ephemeral loopback port. Log lines are captured so tests can assert that no secret reaches them.
 */
import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../backend/src/api/app.ts';
import type { Services } from '../../backend/src/api/context.ts';
import { issueUserToken } from '../../backend/src/auth/tokens.ts';
import { loadConfig, type Config } from '../../backend/src/config.ts';
import { createLogger } from '../../backend/src/log.ts';
import type { ServerExtension } from '../../backend/src/server.ts';
import { createServices } from '../../backend/src/services.ts';
import type { Database } from '../../backend/src/store/db.ts';

export const TEST_JWT_SECRET = 'test-secret-test-secret-test-secret-0123456789';
export const TEST_ADMIN_TOKEN = 'admin-token-admin-token-admin-token-0123456789';

export function testConfig(overrides: Partial<Config> = {}): Config {
  const base = loadConfig({
    SMIME_JWT_SECRET: TEST_JWT_SECRET,
    SMIME_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    SMIME_COOKIE_SECURE: 'false',
    SMIME_DATA_DIR: 'test-output/data',
    LOG_LEVEL: 'info',
    SMIME_THROTTLE_BASE_DELAY_S: '1',
    SMIME_RATE_LIMIT_PER_MINUTE: '100000',
  });
  return { ...base, ...overrides };
}

export interface TestServer {
  url: string;
  services: Services;
  config: Config;
  logs: string[];
  token(email: string, lifetimeS?: number): Promise<string>;
  close(): Promise<void>;
}

/** `wiring`: what a wired-in module adds, as main.ts would (the demo: test/helpers/demo.ts). */
export async function startServer(
  db: Database,
  overrides: Partial<Config> = {},
  wiring: Pick<ServerExtension, 'services' | 'routers'> = {},
): Promise<TestServer> {
  const config = testConfig(overrides);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const log = createLogger(config.LOG_LEVEL, sink);
  const base = createServices(config, db, log);
  const services = wiring.services?.(base) ?? base;
  const server: Server = createServer(createApp(services, wiring.routers?.(services) ?? []).callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    services,
    config,
    logs,
    token: (email, lifetimeS = 300) => issueUserToken(config, email, lifetimeS),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** fetch with JSON in and out, keeping cookies per client like a browser would for the API path. */
export class Client {
  private cookies = new Map<string, string>();
  constructor(
    private readonly base: string,
    public bearer?: string,
  ) {}

  async request(
    method: string,
    path: string,
    opts: { json?: unknown; body?: BodyInit | Uint8Array; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: any; headers: Headers; text: string }> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: BodyInit | undefined =
      opts.body instanceof Uint8Array ? new Blob([new Uint8Array(opts.body)]) : opts.body;
    if (opts.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(opts.json);
    }
    const res = await fetch(this.base + path, { method, headers, body });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [k, v] = pair!.split('=');
      if (!v || /expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(k!);
      else this.cookies.set(k!, v);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as any, headers: res.headers, text };
  }

  clearCookies(): void {
    this.cookies.clear();
  }
}
