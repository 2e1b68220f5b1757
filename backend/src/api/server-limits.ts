/**
 * Limits of the HTTP server itself (issue 12): a flood of idle connections once took every file descriptor (EMFILE,
 * 21,000 connections against a limit of 20,000) and the process stopped accepting anything, the database included.
 * Connections beyond the cap are refused at accept; a connection that says nothing is closed after a while; headers
 * must arrive in time. Once a flood ends, the server serves again by itself.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Config } from '../config.ts';

/** Descriptors kept for everything but client connections: the database pool, PGlite's files, logs, workers. */
export const FD_RESERVE = 512;
/** With no readable descriptor limit (not Linux), this many connections at most. */
const FALLBACK_MAX_CONNECTIONS = 4096;

/** The soft limit on open files of this process (Linux /proc), or undefined where it cannot be read. */
export function fileDescriptorLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    const n = Number(soft);
    return Number.isFinite(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** SMIME_MAX_CONNECTIONS, or (0) the descriptor limit less the reserve. */
export function connectionCap(config: Pick<Config, 'SMIME_MAX_CONNECTIONS'>, fdLimit = fileDescriptorLimit()): number {
  if (config.SMIME_MAX_CONNECTIONS > 0) return config.SMIME_MAX_CONNECTIONS;
  if (fdLimit === undefined) return FALLBACK_MAX_CONNECTIONS;
  return Math.max(16, fdLimit - FD_RESERVE);
}

export function applyServerLimits(
  server: Server,
  config: Pick<Config, 'SMIME_MAX_CONNECTIONS' | 'SMIME_SOCKET_IDLE_TIMEOUT_MS' | 'SMIME_HEADERS_TIMEOUT_MS'>,
): { maxConnections: number } {
  server.maxConnections = connectionCap(config);
  // A socket with no traffic for this long is destroyed, whether or not it ever sent a request.
  server.timeout = config.SMIME_SOCKET_IDLE_TIMEOUT_MS;
  server.headersTimeout = config.SMIME_HEADERS_TIMEOUT_MS;
  // Idle keep-alive connections between requests: shorter than the idle timeout, as a browser reuses them quickly.
  server.keepAliveTimeout = Math.min(5_000, config.SMIME_SOCKET_IDLE_TIMEOUT_MS);
  return { maxConnections: server.maxConnections };
}
