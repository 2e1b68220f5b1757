/**
 * Mail operations of a user (issue 3): protect an outgoing message (sign, encrypt, fail closed), analyse an incoming
 * one (verify, decrypt, harvest the signer's certificate), resolve recipients. Orchestrates the pure engine
 * (smime/), the vault (keys) and the store; knows nothing of HTTP.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.ts';
import { DirectoryTrust } from '../directory/trust.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import {
  analyzeMessage,
  type AnalyzeOptions,
  type ContentCipher,
  type DecryptionKey,
  describeCertificate,
  encryptionUnusableReason,
  type Layer,
  type MessageAnalysis,
  RevocationChecker,
  type KnownSigner,
  type SignatureEvidence,
  tryCanonicalAddress,
} from '../smime/index.ts';
import { SafeFetcher } from '../net/fetcher.ts';
import { MessagePool } from './message-pool.ts';
import { appendAudit } from '../store/audit.ts';
import { touchExchanged, upsertExchanged } from '../store/certificates.ts';
import { recipientCertificates } from '../store/recipient-certificates.ts';
import { recordOf } from '../store/certificate-record.ts';
import type { Database } from '../store/db.ts';
import type { KeyRow } from '../store/keys.ts';
import { userAddresses, type UserRow } from '../store/users.ts';
import { directoryTrustAnchors, signatureTrustAnchors } from '../trust-anchors.ts';
import { isPending, type Vault } from '../vault/vault.ts';
import {
  OutputBudget,
  outgoingAddresses,
  announcedCapabilities,
  contentCipherFor,
  produceCopies,
  separateBcc,
  signingKey,
  type EncryptionTargets,
  type OutgoingAddresses,
  type OutgoingRequest,
  type OutgoingSigner,
  type ProtectedCopy,
} from './outgoing.ts';
import {
  candidatesFor,
  directoryConflict,
  ownCandidate,
  pickCertificate,
  type CertificateCandidate,
  type Resolution,
} from './recipients.ts';

export interface HarvestResult {
  email: string;
  outcome: 'added' | 'replaced' | 'seen' | 'kept';
  fingerprintSha256: string;
}

/** Signatures whose certificate may be harvested: the cryptography and the chain verified, not revoked. */
function harvestable(sig: SignatureEvidence, now: Date): boolean {
  if (!sig.signerCertificate || !sig.signer) return false;
  if (['malformed', 'unsupported', 'invalid-signature', 'revoked', 'untrusted'].includes(sig.status)) return false;
  const passed = (name: string) => sig.checks.some((c) => c.name === name && c.outcome === 'pass');
  if (!passed('signature') || !passed('chain')) return false;
  return new Date(sig.signer.notBefore) <= now && now <= new Date(sig.signer.notAfter);
}

export class MailService {
  private readonly anchors: Uint8Array[];
  private readonly fetcher: SafeFetcher;
  private readonly revocation: RevocationChecker | undefined;
  private readonly directoryTrust: DirectoryTrust;
  /** Large received messages are analysed here, off the event loop (issue 16). */
  readonly messagePool: MessagePool;

  constructor(
    private readonly db: Database,
    private readonly vault: Vault,
    private readonly config: Config,
    private readonly log?: Logger,
  ) {
    this.anchors = signatureTrustAnchors(config);
    this.messagePool = new MessagePool({
      concurrency: config.SMIME_WORKERS,
      queue: config.SMIME_WORKER_QUEUE,
      minBytes: config.SMIME_WORKER_MIN_BYTES,
    });
    this.fetcher = new SafeFetcher({
      timeoutMs: config.SMIME_FETCH_TIMEOUT_MS,
      allowPrivate: config.SMIME_FETCH_ALLOW_PRIVATE,
    });
    // The revocation budget covers OCSP and then the CRL fallback: twice one fetch's timeout.
    this.revocation =
      config.SMIME_REVOCATION_CHECK === 'on'
        ? new RevocationChecker(this.fetcher, { timeoutMs: 2 * config.SMIME_FETCH_TIMEOUT_MS })
        : undefined;
    // Directory certificates (issue 12): the same engine and the same revocation checker (and cache) as signers.
    this.directoryTrust = new DirectoryTrust({
      anchors: directoryTrustAnchors(config),
      ...(this.revocation ? { revocation: this.revocation } : {}),
      unknownRevocation: config.SMIME_DIRECTORY_REVOCATION_UNKNOWN,
    });
  }

  // ---- recipients -----------------------------------------------------------------------------------------------

  /** `known`: the user's addresses and keys when the caller already read them (one query each saved per message). */
  async resolve(
    user: UserRow,
    emails: string[],
    now = new Date(),
    known?: { own: string[]; keys: KeyRow[] },
  ): Promise<Resolution[]> {
    const wanted = [...new Set(emails.map((e) => tryCanonicalAddress(e) ?? e.trim()))];
    const candidates = await candidatesFor(this.db, user.id, wanted);
    // The user's own addresses resolve to their own certificates too (a note to self, the Sent copy).
    const own = known?.own ?? (await userAddresses(this.db, user));
    const keys = known?.keys ?? (await this.vault.listKeys(user));
    for (const e of wanted)
      if (own.includes(e)) for (const k of keys) if (k.emails.includes(e)) candidates.get(e)!.push(ownCandidate(k, e));
    await this.judgeDirectoryCandidates(candidates, now);
    return wanted.map((e) => pickCertificate(e, candidates.get(e) ?? [], now));
  }

  /**
   * The directory's trust decision at use (issue 12) for every directory candidate that is otherwise usable: the
   * path to the directory's anchors and revocation. A failure becomes the candidate's `rejected` reason, an unknown
   * revocation status allowed by SMIME_DIRECTORY_REVOCATION_UNKNOWN its `warning`. Each certificate is judged once
   * per call (one serves all the addresses of its entry); addresses in conflict are not judged at all.
   */
  private async judgeDirectoryCandidates(candidates: Map<string, CertificateCandidate[]>, now: Date): Promise<void> {
    const verdicts = new Map<string, ReturnType<DirectoryTrust['atUse']>>();
    const pending: Promise<void>[] = [];
    for (const [email, list] of candidates) {
      if (directoryConflict(email, list)) continue;
      for (const c of list) {
        if (c.source !== 'directory' || c.rejected || encryptionUnusableReason(c, now)) continue;
        let verdict = verdicts.get(c.id);
        if (!verdict)
          verdicts.set(
            c.id,
            (verdict = this.directoryTrust.atUse(c.certificate, c.intermediates ?? [], c.subject, now)),
          );
        pending.push(
          verdict.then((v) => {
            c.revocation = v.revocation;
            if (v.reason) c.rejected = v.reason;
            if (v.warning) c.warning = v.warning;
          }),
        );
      }
    }
    await Promise.all(pending);
  }

  private ownEncryptionCertificate(keys: KeyRow[], now: Date): KeyRow | undefined {
    const usable = keys.filter((k) => !encryptionUnusableReason(ownCandidate(k, ''), now));
    return (
      usable.find((k) => k.is_default) ?? usable.sort((a, b) => b.not_before.getTime() - a.not_before.getTime())[0]
    );
  }

  // ---- outgoing -------------------------------------------------------------------------------------------------

  /**
   * Protect the host's composed message. Fails closed: when anything needed is missing nothing is produced and the
   * error names all of it (every recipient without a usable certificate, by address). The checks run cheapest first,
   * and in this order: request, sender, recipient count, output size, From is the user's, certificates, signing key.
   */
  async protectOutgoing(
    user: UserRow,
    unlockToken: string | undefined,
    raw: Uint8Array,
    req: OutgoingRequest,
  ): Promise<ProtectedCopy[]> {
    if (!req.sign && !req.encrypt) throw new AppError('BAD_REQUEST', 'Ask for sign, encrypt or both.');
    const now = new Date();
    const addresses = outgoingAddresses(raw, this.config.SMIME_MAX_RECIPIENTS);
    const budget = new OutputBudget(raw.length, req, addresses, this.config.SMIME_MAX_OUTPUT_BYTES);
    const own = await userAddresses(this.db, user);
    if (!own.includes(addresses.from))
      throw new AppError('FROM_NOT_USER', `The From address must be one of yours (${own.join(', ')}).`, {
        from: [addresses.from],
      });
    const keys = await this.vault.listKeys(user);
    // Encryption targets first: a missing certificate is the most common reason to stop, and needs no unlock.
    const targets = req.encrypt ? await this.encryptionTargets(user, addresses, req, now, own, keys) : undefined;
    // A large message is signed and encrypted in a worker (issue 16); `raw` moves there and is not used here after.
    const produce = (signer: OutgoingSigner | undefined) =>
      this.messagePool.takes(raw.length)
        ? this.messagePool.protect({
            raw,
            req,
            signer,
            targets,
            addresses,
            outputLimit: this.config.SMIME_MAX_OUTPUT_BYTES,
          })
        : produceCopies(raw, req, signer, targets, budget);
    if (!req.sign) return produce(undefined);
    const signing = signingKey(keys, addresses.from, now);
    return this.vault.withUnlockedKeys(
      user,
      unlockToken,
      async ([k]) => {
        if (!k) throw new AppError('LOCKED');
        const capabilities = announcedCapabilities(
          this.config.SMIME_ANNOUNCE_GCM,
          this.config.SMIME_ANNOUNCE_CHACHA20_POLY1305,
        );
        return produce({ certificate: k.row.certificate, chain: k.row.chain, privateKey: k.privateKey, capabilities });
      },
      (row) => row.id === signing.id,
    );
  }

  /** The certificate of every recipient (by address) and the sender's own, and the content cipher they allow. */
  private async encryptionTargets(
    user: UserRow,
    addresses: OutgoingAddresses,
    req: OutgoingRequest,
    now: Date,
    own: string[],
    keys: KeyRow[],
  ): Promise<EncryptionTargets> {
    const { to, cc, bcc } = addresses;
    const resolutions = await this.resolve(user, [...to, ...cc, ...bcc], now, { own, keys });
    const missing = resolutions.filter((r) => !r.ready);
    if (missing.length > 0)
      throw new AppError(
        'RECIPIENT_CERTIFICATE_MISSING',
        `No usable certificate for ${missing.map((m) => m.email).join(', ')}.`,
        {
          missing: missing.map((m) => ({ email: m.email, reasons: m.reasons })),
        },
      );
    const self = this.ownEncryptionCertificate(keys, now);
    if (!self) throw new AppError('SENDER_CERTIFICATE_MISSING');
    const byEmail = new Map(resolutions.map((r) => [r.email, r.certificate!]));
    const main = [...new Set([...to, ...cc])].map((e) => byEmail.get(e)!.certificate);
    main.push(self.certificate);
    const bccTargets = new Map<string, Uint8Array>();
    for (const b of separateBcc(addresses)) bccTargets.set(b, byEmail.get(b)!.certificate);
    // AES-GCM or ChaCha20-Poly1305 when every recipient announced it (RFC 8551 section 2.7), unless the caller chose.
    const cipher: ContentCipher =
      req.cipher ??
      contentCipherFor(
        resolutions.map((r) => r.certificate!.capabilities),
        this.config.SMIME_DEFAULT_CIPHER,
      );
    return { main, self: self.certificate, bcc: bccTargets, cipher, keyTransport: this.config.SMIME_KEY_TRANSPORT };
  }

  // ---- incoming -------------------------------------------------------------------------------------------------

  /**
   * Verify, decrypt and harvest a received message. A large one is analysed in a worker thread (messagePool) and
   * `raw` may be moved there: the caller must not use it afterwards. `contentBase64` comes with it then, made there.
   */
  async analyzeIncoming(
    user: UserRow,
    unlockToken: string | undefined,
    raw: Uint8Array,
  ): Promise<{ analysis: MessageAnalysis; harvested: HarvestResult[]; contentBase64?: Uint8Array }> {
    const ownKeys = await this.vault.listKeys(user);
    let session: Awaited<ReturnType<Vault['openSession']>> | undefined;
    try {
      const options: AnalyzeOptions = {
        verify: {
          trustAnchors: this.anchors,
          intermediates: ownKeys.flatMap((k) => k.chain),
          ...(this.config.SMIME_SHA1_SIGNED_BEFORE
            ? { policy: { sha1SignedBefore: this.config.SMIME_SHA1_SIGNED_BEFORE } }
            : {}),
          knownSigners: (from) => this.knownSigners(user, from),
          ...(this.revocation ? { revocation: this.revocation } : {}),
          fetcher: this.fetcher,
        },
        keys: async () => {
          if (!session) {
            try {
              session = await this.vault.openSession(user, unlockToken, (row) => !isPending(row));
            } catch (e) {
              if (e instanceof AppError && e.code === 'LOCKED') return { locked: ownKeys.map((k) => k.certificate) };
              throw e;
            }
          }
          // Keys of the user's that this session does not hold (another passphrase, or placed by IT and not yet
          // taken over): a message to one of them is `locked`, not `no-key`.
          const open = new Set(session.keys.map((k) => k.row.id));
          return {
            keys: session.keys.map<DecryptionKey>((k) => ({
              keyId: k.row.id,
              certificate: k.row.certificate,
              privateKey: k.privateKey,
            })),
            locked: ownKeys.filter((k) => !open.has(k.id)).map((k) => k.certificate),
          };
        },
      };
      const { analysis, contentBase64 } = this.messagePool.takes(raw.length)
        ? await this.messagePool.analyze(raw, options)
        : { analysis: await analyzeMessage(raw, options), contentBase64: undefined };
      const harvested = await this.harvest(user, analysis.layers, ownKeys);
      return { analysis, harvested, ...(contentBase64 ? { contentBase64 } : {}) };
    } finally {
      session?.dispose();
    }
  }

  /**
   * What this user already holds for a sender, for a signature that carries no certificate (issue 14): the
   * directory's certificates for the address and the ones exchanged with them, each with its stored chain.
   */
  private async knownSigners(user: UserRow, from: readonly string[]): Promise<KnownSigner[]> {
    if (from.length === 0) return [];
    const rows = await recipientCertificates(this.db, user.id, [...from]);
    return rows.map((r) => ({ certificate: r.certificate, chain: r.chain }));
  }

  /** Store the certificates of trusted, cryptographically valid signers under each of their addresses. */
  private async harvest(user: UserRow, layers: Layer[], ownKeys: KeyRow[]): Promise<HarvestResult[]> {
    const now = new Date();
    const out: HarvestResult[] = [];
    for (const layer of layers) {
      if (layer.kind !== 'signed') continue;
      for (const sig of layer.signatures) {
        if (!harvestable(sig, now)) continue;
        const info = describeCertificate(sig.signerCertificate!);
        if (ownKeys.some((k) => k.fingerprint_sha256 === info.fingerprintSha256)) continue;
        const signedAt = announcedAt(sig, now);
        for (const email of info.emails) {
          // The common case, a correspondent's certificate seen before: one statement, no transaction.
          const caps = sig.capabilities ?? [];
          if (await touchExchanged(this.db, user.id, email, info.fingerprintSha256, caps, signedAt)) {
            out.push({ email, outcome: 'seen', fingerprintSha256: info.fingerprintSha256 });
            continue;
          }
          const outcome = await this.db.transaction(async (tx) => {
            const result = await upsertExchanged(tx, {
              id: randomUUID(),
              userId: user.id,
              email,
              certificate: sig.signerCertificate!,
              chain: sig.chainCertificates ?? [],
              ...recordOf(info),
              capabilities: sig.capabilities ?? [],
              capabilitiesSignedAt: signedAt,
              source: 'harvested',
            });
            if (result === 'added' || result === 'replaced')
              await appendAudit(tx, {
                actor: 'system',
                userEmail: user.email,
                action: 'certificate.harvested',
                details: { email, fingerprint: info.fingerprintSha256, outcome: result },
              });
            return result;
          });
          out.push({ email, outcome, fingerprintSha256: info.fingerprintSha256 });
        }
      }
    }
    if (out.length) this.log?.info({ user: user.email, harvested: out.length }, 'certificates harvested');
    return out;
  }
}

export type { OutgoingRequest, ProtectedCopy } from './outgoing.ts';

/**
 * When the signer announced their capabilities: the signature's signing time, which is the signer's claim and so no
 * later than now (a signature dated in the future must not pin what is sent to them). Undefined without one.
 */
function announcedAt(sig: SignatureEvidence, now: Date): Date | undefined {
  if (!sig.signingTime) return undefined;
  const at = new Date(sig.signingTime);
  if (Number.isNaN(at.getTime())) return undefined;
  return at > now ? now : at;
}
