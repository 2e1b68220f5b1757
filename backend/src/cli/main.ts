/**
 * smime-admin: the admin command line. Runs against the same database as the server (DATABASE_URL or the embedded
 * one in SMIME_DATA_DIR; stop a server that uses the embedded database first, PGlite allows one process at a time).
 * Secrets never go on the command line: the .p12 password comes from a prompt or SMIME_P12_PASSWORD.
 *
 * The commands are the table of commands.ts; this file dispatches, prints help and turns every failure into one line
 * that says what happened and what to do (explain.ts), with the stable code in brackets (issue 15).
 */
import { loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { withGeneratedSecrets } from '../secrets.ts';
import { ExplainedError, UsageError } from './command.ts';
import { COMMANDS } from './commands.ts';
import { errorLine, explain } from './explain.ts';
import { commandHelp, didYouMean, overview, parseOptions, usageLine, wantsHelp } from './usage.ts';

const NAMES = COMMANDS.map((c) => c.name);

function find(name: string) {
  return COMMANDS.find((c) => c.name === name);
}

function unknownCommand(name: string): UsageError {
  return new UsageError(
    `unknown command ${JSON.stringify(name)}${didYouMean(name, NAMES)}; smime-admin --help lists them`,
  );
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(overview(COMMANDS));
    return 2;
  }
  if (name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    process.stdout.write(overview(COMMANDS));
    return 0;
  }
  if (name === 'help') {
    const command = find(rest[0]!);
    if (!command) throw unknownCommand(rest[0]!);
    process.stdout.write(commandHelp(command));
    return 0;
  }
  const command = find(name);
  if (!command) throw unknownCommand(name);
  if (wantsHelp(rest)) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  const values = parseOptions(command, rest);
  if (command.runRaw) return command.runRaw(process.env, values);
  const { config } = withGeneratedSecrets(loadConfig());
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn', undefined, config.SMIME_LOG_FORMAT);
  return command.run({ config, log, values });
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      const command = e.command ? find(e.command) : undefined;
      const usage = command
        ? `usage: ${usageLine(command)}\n(smime-admin ${command.name} --help for every option)`
        : '';
      console.error(`error [USAGE]: ${e.message}${usage ? `\n${usage}` : ''}`);
      process.exit(2);
    }
    if (e instanceof ExplainedError) {
      console.error(e.line);
      process.exit(1);
    }
    const explained = explain(e);
    console.error(errorLine(explained));
    // A wrong or missing setting is the command line's environment being wrong, as before: exit 2.
    process.exit(explained.code === 'CONFIG_INVALID' || explained.code === 'DIRECTORY_NOT_CONFIGURED' ? 2 : 1);
  },
);
