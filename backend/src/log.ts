import { pino, type Logger } from 'pino';

/**
 * Structured logging. Redaction is a second line of defence: code never passes secrets to the logger, but if a
 * request object or a body slips in, these paths are censored. Tests assert that no passphrase, token or key bytes
 * reach the log (test/security/no-secrets-in-logs.test.ts).
 */
export const REDACTED_PATHS = [
  'passphrase',
  'password',
  'newPassphrase',
  'currentPassphrase',
  'keyPassword',
  'initialPassphrase',
  'p12',
  'token',
  'authorization',
  'cookie',
  '*.passphrase',
  '*.password',
  '*.newPassphrase',
  '*.currentPassphrase',
  '*.keyPassword',
  '*.initialPassphrase',
  '*.p12',
  '*.token',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-smime-unlock"]',
  'req.headers["x-smime-admin-token"]',
  'res.headers["set-cookie"]',
];

/**
 * How log lines look (SMIME_LOG_FORMAT, issue 15): JSON lines for a log shipper or journald, or one readable line per
 * entry for a person at a terminal. 'auto' chooses by the destination: readable on a terminal, JSON otherwise.
 */
export type LogFormat = 'auto' | 'json' | 'pretty';

/** pino's numeric levels and their names (pino documentation, "Logger levels"). */
const LEVELS: Record<number, { name: string; colour: string }> = {
  10: { name: 'TRACE', colour: '90' },
  20: { name: 'DEBUG', colour: '36' },
  30: { name: 'INFO', colour: '32' },
  40: { name: 'WARN', colour: '33' },
  50: { name: 'ERROR', colour: '31' },
  60: { name: 'FATAL', colour: '35' },
};
/** A value printed bare (no quotes): nothing that could be read as a separator, a quote or a control character. */
const BARE = /^[\w.:/@+,%[\]-]+$/;
/** ANSI SGR (ECMA-48): dim for keys. */
const DIM = '2';

type Paint = (code: string, text: string) => string;

/**
 * A value as it prints after `key=`: bare when unambiguous, else JSON (quoted, control characters escaped), so that
 * a value carrying a newline cannot forge a second log line.
 */
function formatValue(v: unknown): string {
  if (typeof v === 'string') return BARE.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v) ?? String(v);
}

/** C0 controls and DEL: a newline or an escape sequence in a message could fake an entry or restyle the terminal. */
function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * key=value pairs; an error (pino's err serializer) as its type, message and code. A nested object stays compact
 * JSON, unflattened: the audit checkpoint the server logs (audit/checkpoints.ts) must stay one JSON object that
 * `smime-admin audit-verify --checkpoints` can find in a saved log, whatever the format.
 */
function fields(obj: Record<string, unknown>, paint: Paint): string[] {
  const out: string[] = [];
  for (const [key, v] of Object.entries(obj)) {
    if (isPlainObject(v) && typeof v.message === 'string' && typeof v.stack === 'string') {
      const code = v.code === undefined ? '' : ` ${paint(DIM, `${key}.code=`)}${formatValue(v.code)}`;
      out.push(`${paint(DIM, `${key}=`)}${formatValue(`${String(v.type ?? 'Error')}: ${v.message}`)}${code}`);
    } else out.push(`${paint(DIM, `${key}=`)}${formatValue(v)}`);
  }
  return out;
}

/**
 * One JSON line from pino as one readable line: time (UTC), level, message, then key=value fields. Redaction has
 * happened before: pino censors the paths above while it serialises, and this only rearranges what it wrote.
 */
export function formatLogLine(json: string, { color = false }: { color?: boolean } = {}): string {
  let entry: unknown;
  try {
    entry = JSON.parse(json);
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  if (!isPlainObject(entry)) return `${json.trimEnd()}\n`;
  const paint: Paint = (code, text) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const { time, level, msg, ...rest } = entry;
  const when = typeof time === 'number' ? new Date(time).toISOString().replace('T', ' ') : '-';
  const lvl = typeof level === 'number' ? LEVELS[level] : undefined;
  const label = lvl ? paint(lvl.colour, lvl.name.padEnd(5)) : String(level).padEnd(5);
  // The message through JSON escaping only when it holds a control character (a newline would start a fake entry).
  const text = typeof msg === 'string' ? (hasControlCharacter(msg) ? JSON.stringify(msg) : msg) : '';
  return `${[paint(DIM, when), label, text, ...fields(rest, paint)].filter((p) => p !== '').join(' ')}\n`;
}

/** A pino destination that writes each entry as a readable line to `out`. */
function prettyDestination(out: NodeJS.WritableStream, color: boolean): pino.DestinationStream {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line) out.write(formatLogLine(line, { color }));
    },
  };
}

/**
 * A logger at `level` writing to `destination` (default stdout). `format` 'auto' writes readable lines when the
 * destination is a terminal, and colours them; 'pretty' writes readable lines anywhere, coloured only on a terminal;
 * 'json' and 'auto' elsewhere write pino's JSON lines.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream, format: LogFormat = 'auto'): Logger {
  const options = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: undefined };
  const out = destination ?? process.stdout;
  const tty = (out as { isTTY?: boolean }).isTTY === true;
  if (format === 'pretty' || (format === 'auto' && tty)) return pino(options, prettyDestination(out, tty));
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}

export type { Logger };
