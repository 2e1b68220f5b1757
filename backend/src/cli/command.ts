/**
 * The shape of one smime-admin command (issue 15). main.ts parses, checks and explains every command from this
 * description alone, and the help text is generated from it, so usage cannot drift from what a command accepts. A new
 * command is one more entry in the table of commands.ts.
 */
import type { Config } from '../config.ts';
import type { createLogger } from '../log.ts';

export interface OptionSpec {
  /** The long name, without the dashes: `user` is `--user`. */
  name: string;
  type: 'string' | 'boolean';
  /** A string option that may be given several times. */
  multiple?: boolean;
  /** Placeholder for the value in usage text (`EMAIL`, `PATH`). */
  value?: string;
  /** Refused when absent. An option needed only in some forms of a command is checked by the command itself. */
  required?: boolean;
  /** What it does, one or two sentences. */
  description: string;
  /** The default, as it should read in the help. */
  default?: string;
}

/** An environment variable a command reads beside its options (a secret that must not go on the command line). */
export interface EnvSpec {
  name: string;
  description: string;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandContext {
  config: Config;
  log: ReturnType<typeof createLogger>;
  values: OptionValues;
}

export interface Command {
  name: string;
  /** One line for the list of commands. */
  summary: string;
  /** Further paragraphs for `smime-admin COMMAND --help`. */
  details?: string;
  options: readonly OptionSpec[];
  /**
   * Alternative sets of options, exactly one of which must be given whole: import-p12 takes `--user` and `--file`, or
   * `--dir`, or `--csv`. Checked by the parser and shown in the usage line.
   */
  forms?: readonly (readonly string[])[];
  env?: readonly EnvSpec[];
  /** Ready-to-run examples for the help. */
  examples?: readonly string[];
  /** Runs with the settings loaded; resolves to the exit code. */
  run(ctx: CommandContext): Promise<number>;
  /**
   * Instead of `run`, for a command that reads the environment itself, before any setting is loaded or secret
   * generated: doctor, for which settings that do not load are one of its findings.
   */
  runRaw?(env: NodeJS.ProcessEnv, values: OptionValues): Promise<number>;
}

/**
 * The command line itself is wrong: exit 2 with the message and the command's usage line. `command` names the
 * command whose usage to show.
 */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

export function stringOption(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

export function listOption(values: OptionValues, name: string): string[] | undefined {
  const v = values[name];
  return Array.isArray(v) ? v : undefined;
}

/** A string option the command cannot do without in the form it was called. */
export function need(values: OptionValues, name: string, command: string): string {
  const v = stringOption(values, name);
  if (!v) throw new UsageError(`missing --${name}`, command);
  return v;
}

/** A failure the CLI has already explained in the terms of the command (file, password source): printed as is. */
export class ExplainedError extends Error {
  constructor(readonly line: string) {
    super(line);
  }
}
