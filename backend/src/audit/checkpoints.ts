/**
 * Audit checkpoints (issue 12): anchors of the audit hash chain outside the database.
 *
 * Whoever owns the audit table can disable its trigger, rewrite a row and recompute every hash after it, or cut off
 * the newest entries; the chain is then valid again and nothing inside the database can tell. A checkpoint is a
 * signed statement "entry `seq` is the `entries`-th entry and has hash `hash`, at time `at`", signed with a key the
 * database never holds (SMIME_AUDIT_CHECKPOINT_KEY_FILE) and written where the database cannot write: a file of
 * JSON lines (SMIME_AUDIT_CHECKPOINT_FILE), optionally a syslog collector (SMIME_AUDIT_CHECKPOINT_SYSLOG), and the
 * server's log. Verification checks every checkpoint's signature and that the chain still holds each checkpointed
 * entry with the same hash: because each hash commits to everything before it, that proves the whole chain up to the
 * checkpoint is unchanged, and that the chain only grew after it.
 *
 * A new checkpoint is signed only for a chain that extends the last checkpoint in the file (verified from that entry
 * on), so a rewrite is never anchored: from then on every checkpoint is refused, loudly, until someone looks.
 * What stays out of reach: entries appended after the last checkpoint can be removed unnoticed, so the interval
 * (SMIME_AUDIT_CHECKPOINT_INTERVAL_S) is the window an attacker has.
 */
import type { KeyObject } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createReadStream } from 'node:fs';
import { appendFile, mkdir, open, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { canonicalJson } from '../canonical-json.ts';
import { verifyAudit, type AuditAnchor, type AuditProblem, type AuditVerification } from '../store/audit.ts';
import type { Queryable } from '../store/db.ts';
import { checkpointAlgorithm, keyId, publicKeyOf, signBytes, verifyBytes } from './keys.ts';

export const CHECKPOINT_TYPE = 'smime-audit-checkpoint';

/**
 * Finding the last checkpoint reads the file backwards in chunks of this size (growing fourfold): the file grows by
 * one short line per interval for years, and only its end matters when writing the next checkpoint.
 */
const TAIL_CHUNK_BYTES = 64 * 1024;

/** Syslog priority: facility 13 "log audit", severity 5 "notice" (RFC 5424 section 6.2.1). */
const SYSLOG_PRIORITY = 13 * 8 + 5;

/** Problems reported in the refusal of a checkpoint: enough to see what broke, bounded for a badly broken chain. */
const MAX_PROBLEMS_REPORTED = 20;

/**
 * A checkpoint as written: one JSON object on one line. A checkpoint has no nested object and no brace inside its
 * strings, so it can be found inside any line that carries it (a syslog line, a JSON log line of the server).
 */
const CHECKPOINT_IN_LINE = /\{"type":"smime-audit-checkpoint"[^{}]*\}/;

const checkpointSchema = z.strictObject({
  type: z.literal(CHECKPOINT_TYPE),
  v: z.literal(1),
  alg: z.enum(['Ed25519', 'ES256']),
  keyId: z.string().regex(/^[0-9a-f]{32}$/),
  seq: z.number().int().min(0),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  entries: z.number().int().min(0),
  at: z.iso.datetime(),
  sig: z.string().regex(/^[A-Za-z0-9_-]+$/),
});

export type Checkpoint = z.infer<typeof checkpointSchema>;

export type CheckpointSignature = 'valid' | 'bad-signature' | 'unknown-key';

/** What is signed: every field but the signature, as canonical JSON (sorted keys), so the line's layout does not matter. */
function signedBytes(cp: Omit<Checkpoint, 'sig'>): Buffer {
  const { type, v, alg, keyId: kid, seq, hash, entries, at } = cp;
  return Buffer.from(canonicalJson({ type, v, alg, keyId: kid, seq, hash, entries, at }), 'utf8');
}

export function signCheckpoint(
  head: { seq: number; hash: string; entries: number },
  key: KeyObject,
  now = new Date(),
): Checkpoint {
  const body = {
    type: CHECKPOINT_TYPE,
    v: 1,
    alg: checkpointAlgorithm(key),
    keyId: keyId(key),
    seq: head.seq,
    hash: head.hash,
    entries: head.entries,
    at: now.toISOString(),
  } as const;
  return { ...body, sig: signBytes(key, signedBytes(body)).toString('base64url') };
}

/** The line written for a checkpoint (without the newline); fields in a fixed order, `type` first. */
export function checkpointLine(cp: Checkpoint): string {
  const { type, v, alg, keyId: kid, seq, hash, entries, at, sig } = cp;
  return JSON.stringify({ type, v, alg, keyId: kid, seq, hash, entries, at, sig });
}

/**
 * The checkpoint a line carries: undefined when the line is about something else (other syslog or log traffic), an
 * error when it names a checkpoint that cannot be read (a damaged or edited line).
 */
export function parseCheckpointLine(line: string): { checkpoint: Checkpoint } | { error: string } | undefined {
  if (!line.includes(CHECKPOINT_TYPE)) return undefined;
  const m = CHECKPOINT_IN_LINE.exec(line);
  if (!m) return { error: 'no readable checkpoint object' };
  let raw: unknown;
  try {
    raw = JSON.parse(m[0]);
  } catch {
    return { error: 'not JSON' };
  }
  const parsed = checkpointSchema.safeParse(raw);
  if (!parsed.success)
    return { error: parsed.error.issues.map((i) => `${i.path.join('.') || 'checkpoint'}: ${i.message}`).join('; ') };
  return { checkpoint: parsed.data };
}

export function checkSignature(cp: Checkpoint, keys: readonly KeyObject[]): CheckpointSignature {
  const key = keys.find((k) => keyId(k) === cp.keyId);
  if (!key) return 'unknown-key';
  if (checkpointAlgorithm(key) !== cp.alg) return 'bad-signature';
  return verifyBytes(key, signedBytes(cp), Buffer.from(cp.sig, 'base64url')) ? 'valid' : 'bad-signature';
}

/** A checkpoint line that does not count: its signature fails, its key is unknown, or it cannot be read. */
export interface CheckpointProblem {
  seq: number;
  problem: 'checkpoint-bad-signature' | 'checkpoint-unknown-key' | 'checkpoint-malformed' | 'no-checkpoint';
  source?: string;
  line?: number;
  detail?: string;
}

export interface CheckpointedVerification extends Omit<AuditVerification, 'problems'> {
  problems: (AuditProblem | CheckpointProblem)[];
  checkpoints: {
    /** The files read. */
    sources: string[];
    /** Lines that named a checkpoint, and those whose signature verified (only these anchor the chain). */
    read: number;
    valid: number;
    /** The valid checkpoint furthest along the chain, and how many entries were appended after it. */
    last?: Checkpoint;
    grownSince?: number;
  };
}

export interface AuditCheckpointSettings {
  /** Signs new checkpoints; undefined where only verification is wanted (an auditor's copy of the CLI). */
  signingKey: KeyObject | undefined;
  /** Public keys that verify checkpoints (SMIME_AUDIT_CHECKPOINT_PUBLIC_KEY_FILE); the signing key's half is added. */
  verifyingKeys: readonly KeyObject[];
  /** The JSON-lines file checkpoints are appended to and verified from. */
  file: string;
  /** udp://host:port of a syslog collector that receives each checkpoint too (RFC 5424 over UDP, RFC 5426). */
  syslog: string | undefined;
}

export class AuditCheckpoints {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly settings: AuditCheckpointSettings,
    private readonly log: Logger,
  ) {}

  get file(): string {
    return this.settings.file;
  }

  get canSign(): boolean {
    return this.settings.signingKey !== undefined;
  }

  /** The keys a checkpoint may be signed with: the configured public keys and the public half of our own key. */
  get keys(): KeyObject[] {
    const keys = [...this.settings.verifyingKeys];
    if (this.settings.signingKey) keys.push(publicKeyOf(this.settings.signingKey));
    return keys;
  }

  /**
   * Sign and write a checkpoint of the chain's current head, after verifying that the chain extends the last
   * checkpoint in the file (the whole chain when there is none yet). Refused with AUDIT_CHECKPOINT_REFUSED otherwise.
   * Writes of one process are serialised so each one starts from the previous.
   */
  write(db: Queryable): Promise<Checkpoint> {
    const run = this.queue.then(() => this.writeNow(db));
    this.queue = run.catch(() => {}); // a failed write does not block the next one
    return run;
  }

  private async writeNow(db: Queryable): Promise<Checkpoint> {
    const key = this.settings.signingKey;
    if (!key) throw new AppError('AUDIT_CHECKPOINT_KEY_MISSING');
    const last = await this.lastCheckpoint();
    const v = await verifyAudit(
      db,
      last ? { from: { seq: last.seq, hash: last.hash, entries: last.entries, at: last.at } } : {},
    );
    if (!v.ok) {
      const problems = v.problems.slice(0, MAX_PROBLEMS_REPORTED);
      this.log.error(
        { code: 'AUDIT_CHECKPOINT_REFUSED', lastCheckpointSeq: last?.seq, lastCheckpointAt: last?.at, problems },
        'the audit chain does not extend the last checkpoint: it was edited, cut back or rewritten; no checkpoint written',
      );
      throw new AppError('AUDIT_CHECKPOINT_REFUSED', undefined, { lastCheckpointSeq: last?.seq ?? null, problems });
    }
    const cp = signCheckpoint({ seq: v.headSeq, hash: v.headHash, entries: v.entries }, key);
    const line = checkpointLine(cp);
    try {
      await mkdir(dirname(this.settings.file), { recursive: true, mode: 0o700 });
      // One write of one line with O_APPEND: lines of concurrent writers do not interleave on a local file system.
      await appendFile(this.settings.file, line + '\n', { mode: 0o640 });
    } catch (err) {
      this.log.error({ err, file: this.settings.file }, 'audit checkpoint could not be written');
      throw new AppError('AUDIT_CHECKPOINT_WRITE_FAILED', undefined, undefined, { cause: err });
    }
    if (this.settings.syslog)
      await sendSyslog(this.settings.syslog, line, cp.at).catch((err: unknown) =>
        this.log.warn({ err, syslog: this.settings.syslog }, 'audit checkpoint not sent to syslog'),
      );
    // Also in the server's own log (journald under systemd): one more copy outside the database.
    this.log.info({ auditCheckpoint: cp }, 'audit checkpoint');
    return cp;
  }

  /** The last checkpoint in the file whose signature verifies, reading the file from its end. */
  async lastCheckpoint(): Promise<Checkpoint | undefined> {
    let fh;
    try {
      fh = await open(this.settings.file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      const { size } = await fh.stat();
      const keys = this.keys;
      for (let want = TAIL_CHUNK_BYTES; ; want *= 4) {
        const length = Math.min(size, want);
        const buf = Buffer.alloc(length);
        await fh.read(buf, 0, length, size - length);
        const lines = buf.toString('utf8').split('\n');
        if (length < size) lines.shift(); // cut in the middle
        for (let i = lines.length - 1; i >= 0; i--) {
          const parsed = parseCheckpointLine(lines[i]!);
          if (parsed && 'checkpoint' in parsed && checkSignature(parsed.checkpoint, keys) === 'valid')
            return parsed.checkpoint;
        }
        if (length === size) return undefined;
      }
    } finally {
      await fh.close();
    }
  }

  /**
   * Verify the whole chain and every checkpoint in `files` (default: our own file, if it exists). With
   * `requireCheckpoint` (default: when files are read), finding no valid checkpoint at all is a problem too.
   */
  async verify(
    db: Queryable,
    opts: { files?: readonly string[]; expectHead?: string; requireCheckpoint?: boolean } = {},
  ): Promise<CheckpointedVerification> {
    const files = opts.files ?? ((await exists(this.settings.file)) ? [this.settings.file] : []);
    const requireCheckpoint = opts.requireCheckpoint ?? files.length > 0;
    const keys = this.keys;
    const anchors: AuditAnchor[] = [];
    const lineProblems: CheckpointProblem[] = [];
    const valid: Checkpoint[] = [];
    let read = 0;
    for (const source of files) {
      let n = 0;
      const lines = createInterface({ input: createReadStream(source, 'utf8'), crlfDelay: Infinity });
      for await (const text of lines) {
        n++;
        const parsed = parseCheckpointLine(text);
        if (!parsed) continue;
        read++;
        if ('error' in parsed) {
          lineProblems.push({ seq: 0, problem: 'checkpoint-malformed', source, line: n, detail: parsed.error });
          continue;
        }
        const cp = parsed.checkpoint;
        const sig = checkSignature(cp, keys);
        if (sig !== 'valid') {
          lineProblems.push({
            seq: cp.seq,
            problem: sig === 'unknown-key' ? 'checkpoint-unknown-key' : 'checkpoint-bad-signature',
            source,
            line: n,
          });
          continue;
        }
        valid.push(cp);
        anchors.push({ seq: cp.seq, hash: cp.hash, entries: cp.entries, at: cp.at, source, line: n });
      }
    }
    if (requireCheckpoint && valid.length === 0) lineProblems.push({ seq: 0, problem: 'no-checkpoint' });
    const v = await verifyAudit(db, { anchors, expectHead: opts.expectHead });
    const last = valid.reduce<Checkpoint | undefined>(
      (best, cp) => (!best || cp.seq > best.seq || (cp.seq === best.seq && cp.at > best.at) ? cp : best),
      undefined,
    );
    const problems = [...v.problems, ...lineProblems].sort((a, b) => a.seq - b.seq);
    return {
      ok: problems.length === 0,
      entries: v.entries,
      headSeq: v.headSeq,
      headHash: v.headHash,
      problems,
      checkpoints: {
        sources: [...files],
        read,
        valid: valid.length,
        ...(last ? { last, grownSince: v.headSeq - last.seq } : {}),
      },
    };
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** One RFC 5424 message over UDP (RFC 5426) to a collector, typically rsyslog on loopback forwarding elsewhere. */
export async function sendSyslog(target: string, line: string, at: string): Promise<void> {
  const url = new URL(target);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const message = `<${SYSLOG_PRIORITY}>1 ${at} ${hostname() || '-'} smime ${process.pid} audit-checkpoint - ${line}`;
  const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.send(message, Number(url.port), host, (err) => (err ? reject(err) : resolve()));
    });
  } finally {
    socket.close();
  }
}
