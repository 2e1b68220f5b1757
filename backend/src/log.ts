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

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: undefined };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}

export type { Logger };
