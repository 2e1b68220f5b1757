/**
 * `npm run roundcube`: the real-webmail stack (stack.ts) for trying the plugin by hand. Prints the Roundcube URL and
 * the logins, runs until Ctrl-C (SIGINT) or SIGTERM, then stops everything and removes its folder.
 *
 *   npm run roundcube -- [--port 8088] [--no-plugin] [--corpus-users]
 *
 *   --port N        front port, the Roundcube URL (default 8088; 0 = any free port)
 *   --no-plugin     Roundcube without the smime plugin
 *   --corpus-users  also Bob@example.com with Thunderbird's test key (Bob.p12 of ../shared/smime-corpus), and its
 *                   TestCA trusted, for mail from that corpus
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { stackUnavailable, startStack, type StackOptions } from './stack.ts';

const DEFAULT_PORT = 8088;
const CORPUS = fileURLToPath(
  new URL('../../../shared/smime-corpus/thunderbird/mailnews-test-data-smime/', import.meta.url),
);

function options(): StackOptions {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: String(DEFAULT_PORT) },
      'no-plugin': { type: 'boolean', default: false },
      'corpus-users': { type: 'boolean', default: false },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: not a port: ${values.port}`);
  const o: StackOptions = { port, plugin: !values['no-plugin'] };
  if (values['corpus-users']) {
    if (!existsSync(join(CORPUS, 'Bob.p12'))) throw new Error(`--corpus-users: no corpus at ${CORPUS}`);
    o.extraUsers = [
      {
        email: 'Bob@example.com',
        name: 'Bob (Thunderbird corpus)',
        key: { p12: readFileSync(join(CORPUS, 'Bob.p12')), password: 'nss' },
      },
    ];
    o.extraTrustAnchors = [join(CORPUS, 'TestCA.pem')];
  }
  return o;
}

async function main(): Promise<void> {
  const o = options();
  const why = stackUnavailable();
  if (why) throw new Error(why);
  const stack = await startStack(o);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the stack...`);
    stack.stop().then(
      () => {
        console.log(`stopped; ${stack.dir} removed`);
        process.exit(0);
      },
      (e: unknown) => {
        console.error('stop failed:', e);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  const rows = stack.users.map((u) => [u.email, u.password, u.initialPassphrase ?? '(no key, no certificate)']);
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length), i === 0 ? 5 : 8));
  const line = (r: string[]) => `  ${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]}`;
  console.log(`
Roundcube:   ${stack.url}   (smime plugin ${o.plugin === false ? 'off' : 'on'})
Backend:     ${stack.backendUrl}   (also at ${stack.url}api/v1/ through the front proxy)
Folder:      ${stack.dir}   (logs in logs/, secrets in secrets/)
Admin token: ${stack.adminToken}

Logins (mail password = Roundcube login; the S/MIME passphrase is the one IT gave, the first unlock asks for a new one):
${line(['email', 'password', 'initial S/MIME passphrase'])}
${rows.map(line).join('\n')}

Ctrl-C stops everything and removes the folder.`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
