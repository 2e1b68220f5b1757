/**
 * Parsing a command's options and writing its help, both from the command's description (command.ts), so what the
 * help says is what the parser accepts (issue 15). A mistyped command or option is answered with the closest name.
 */
import { type Command, type OptionSpec, type OptionValues, UsageError } from './command.ts';

/** Help text is wrapped to this width, the width of the README and of the code. */
const WIDTH = 100;
/** Column where option descriptions start. */
const DESCRIPTION_COLUMN = 28;
/**
 * A name is suggested when at most this share of its characters differ (at least 2 edits are always allowed):
 * "imprt-p12" finds import-p12, "list" finds nothing absurd.
 */
const SUGGESTION_RATIO = 1 / 3;

/** Edit distance (insertions, deletions, substitutions) between two short names. */
export function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The candidate closest to `word`, if it is close enough to be what was meant (or `word` is a prefix of it). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = name.startsWith(w) && w.length >= 3 ? 0.5 : levenshtein(w, name);
    if (!best || distance < best.distance) best = { name, distance };
  }
  const allowed = Math.max(2, Math.floor(w.length * SUGGESTION_RATIO));
  return best && best.distance <= allowed ? best.name : undefined;
}

export function didYouMean(word: string, candidates: readonly string[], prefix = ''): string {
  const match = closest(word, candidates);
  return match ? ` (did you mean ${prefix}${match}?)` : '';
}

function optionUsage(o: OptionSpec): string {
  return o.type === 'boolean' ? `--${o.name}` : `--${o.name} ${o.value ?? 'VALUE'}`;
}

/** `smime-admin import-p12 (--user EMAIL --file PATH | --dir FOLDER | --csv FILE) [--force] ...` */
export function usageLine(command: Command): string {
  const byName = new Map(command.options.map((o) => [o.name, o]));
  const inForms = new Set(command.forms?.flat() ?? []);
  const parts = [`smime-admin ${command.name}`];
  if (command.forms)
    parts.push(`(${command.forms.map((f) => f.map((n) => optionUsage(byName.get(n)!)).join(' ')).join(' | ')})`);
  for (const o of command.options) {
    if (inForms.has(o.name)) continue;
    const text = optionUsage(o);
    parts.push(o.required ? text : `[${text}]${o.multiple ? '...' : ''}`);
  }
  return parts.join(' ');
}

/** `text` wrapped to WIDTH, every line indented by `indent` (the first by `first`, which may hold a label). */
function wrap(text: string, indent: number, first = ''): string {
  const lines: string[] = [];
  let line = first.padEnd(indent);
  let empty = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = ' '.repeat(indent);
      empty = true;
    }
    line += (empty ? '' : ' ') + word;
    empty = false;
  }
  lines.push(line);
  return lines.join('\n');
}

function labelled(label: string, text: string): string {
  // A label longer than the column gets its description on the next line.
  if (label.length >= DESCRIPTION_COLUMN - 1) return `${label}\n${wrap(text, DESCRIPTION_COLUMN)}`;
  return wrap(text, DESCRIPTION_COLUMN, label);
}

/** `smime-admin COMMAND --help`: usage, what it does, every option with its default, the variables it reads. */
export function commandHelp(command: Command): string {
  const out = [`Usage: ${usageLine(command)}`, '', wrap(command.summary, 0)];
  if (command.details) for (const p of command.details.split('\n\n')) out.push('', wrap(p, 0));
  out.push('', 'Options:');
  for (const o of [...command.options, HELP_OPTION]) {
    const text =
      o.description +
      (o.required ? ' Required.' : '') +
      (o.multiple ? ' May be given several times.' : '') +
      (o.default ? ` Default: ${o.default}.` : '');
    out.push(labelled(`  ${optionUsage(o)}`, text));
  }
  const env = [...(command.env ?? []), ...COMMON_ENV];
  out.push('', 'Environment:');
  for (const e of env) out.push(labelled(`  ${e.name}`, e.description));
  if (command.examples?.length) {
    out.push('', 'Examples:');
    for (const e of command.examples) out.push(`  ${e}`);
  }
  return `${out.join('\n')}\n`;
}

/** `smime-admin --help`: every command with its summary. */
export function overview(commands: readonly Command[]): string {
  const out = [
    'smime-admin: the admin command line of the S/MIME backend.',
    '',
    'Usage: smime-admin COMMAND [options]',
    '       smime-admin help COMMAND   (or smime-admin COMMAND --help): what COMMAND does and all its options',
    '',
    'Commands:',
  ];
  for (const c of commands) out.push(labelled(`  ${c.name}`, c.summary));
  out.push('', 'Environment (every command):');
  for (const e of COMMON_ENV) out.push(labelled(`  ${e.name}`, e.description));
  out.push(
    '',
    wrap(
      'Secrets never go on the command line: passwords come from environment variables or a prompt. Exit codes: 0 ' +
        'done, 1 the command failed (the message says why and what to do next), 2 the command line is wrong.',
      0,
    ),
  );
  return `${out.join('\n')}\n`;
}

const HELP_OPTION: OptionSpec = { name: 'help', type: 'boolean', description: 'Show this help and exit.' };

const COMMON_ENV = [
  {
    name: 'DATABASE_URL',
    description:
      'PostgreSQL to use (postgres://user@host:5432/db). Unset: the embedded database in SMIME_DATA_DIR; stop a ' +
      'server using it first (one process at a time).',
  },
  {
    name: 'SMIME_DATA_DIR',
    description: 'Data folder of the embedded database and generated secrets. Default: ./data.',
  },
  { name: 'LOG_LEVEL', description: 'Log detail on stderr (debug, info, warn, error). Default: warn.' },
] as const;

/** Whether `args` ask for help (`--help` or `-h` anywhere before `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/**
 * The options of `args` for `command`: `--name VALUE` or `--name=VALUE`. Refuses an unknown option (suggesting the
 * closest), a value missing or given to a flag, a stray argument, a missing required option and a mix of forms.
 */
export function parseOptions(command: Command, args: readonly string[]): OptionValues {
  const specs = new Map(command.options.map((o) => [o.name, o]));
  const names = command.options.map((o) => o.name);
  const values: OptionValues = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--') || arg === '--') {
      const hint = arg.startsWith('-') && arg !== '--' ? didYouMean(arg.replace(/^-+/, ''), names, '--') : '';
      throw new UsageError(
        arg.startsWith('-') && arg !== '--'
          ? `unknown option ${arg} for ${command.name}${hint}; smime-admin ${command.name} --help lists them`
          : `unexpected argument ${JSON.stringify(arg === '--' ? (args[i + 1] ?? '--') : arg)}: ${command.name} takes only --options`,
      );
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = specs.get(name);
    if (!spec)
      throw new UsageError(
        `unknown option --${name} for ${command.name}${didYouMean(name, names, '--')}; smime-admin ${command.name} --help lists them`,
      );
    if (spec.type === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`, command.name);
      values[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (i + 1 < args.length && !args[i + 1]!.startsWith('--')) value = args[++i];
    if (value === undefined || value === '')
      throw new UsageError(`--${name} needs a value (${spec.value ?? 'VALUE'})`, command.name);
    if (spec.multiple) values[name] = [...((values[name] as string[] | undefined) ?? []), value];
    else if (values[name] !== undefined) throw new UsageError(`--${name} is given twice`, command.name);
    else values[name] = value;
  }
  for (const o of command.options)
    if (o.required && values[o.name] === undefined) throw new UsageError(`missing --${o.name}`, command.name);
  checkForms(command, values);
  return values;
}

/** Exactly one of the command's forms, complete: `--user and --file`, or `--dir`, or `--csv`. */
function checkForms(command: Command, values: OptionValues): void {
  if (!command.forms) return;
  const used = command.forms.filter((f) => f.some((n) => values[n] !== undefined));
  if (used.length > 1)
    throw new UsageError(
      `${used.map((f) => `--${f.find((n) => values[n] !== undefined)!}`).join(' and ')} cannot be used together`,
      command.name,
    );
  const form = used[0];
  if (!form)
    throw new UsageError(
      `missing ${command.forms.map((f) => f.map((n) => `--${n}`).join(' and ')).join(', or ')}`,
      command.name,
    );
  const missing = form.filter((n) => values[n] === undefined);
  if (missing.length) throw new UsageError(`missing ${missing.map((n) => `--${n}`).join(' and ')}`, command.name);
}
