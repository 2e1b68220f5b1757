/**
 * The pieces of MailService.protectOutgoing that need no database or vault: who a message is from and to, how much
 * protecting it may produce, which key signs it, and making the copies (one for To/Cc and the Sent folder, one per
 * Bcc recipient when encrypting, so no recipient learns of a Bcc).
 */
import type { KeyObject } from 'node:crypto';
import { AppError } from '../errors.ts';
import {
  DEFAULT_CAPABILITIES,
  getHeader,
  isInternetMessage,
  parseAddressList,
  parseEntity,
  plainSender,
  protectMessagePieces,
  tryCanonicalAddress,
  type ContentCipher,
  type MimeEntity,
  type SmimeCapability,
} from '../smime/index.ts';
import type { KeyRow } from '../store/keys.ts';
import { isPending } from '../vault/passphrase-policy.ts';

/** S/MIME wrapping of one copy beyond the base64 of its content: headers, recipient infos, signature, certificates. */
const COPY_OVERHEAD_BYTES = 64 * 1024;

export interface OutgoingRequest {
  sign: boolean;
  encrypt: boolean;
  format?: 'multipart-signed' | 'opaque';
  cipher?: ContentCipher;
  /** Header protection (RFC 9788): the fields go inside too; encrypted mail shows Subject "[...]" outside. */
  protectHeaders?: boolean;
}

export interface ProtectedCopy {
  /** Who this copy is for (empty = the To/Cc copy that the host also files as Sent). */
  bcc?: string;
  /**
   * The protected message as pieces to write out in order (protectMessagePieces): mostly views of the request's
   * message, so a large signed message is not copied (issue 6).
   */
  pieces: Uint8Array[];
}

export interface OutgoingAddresses {
  /** The one plain sender address, canonical. */
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
}

export interface EncryptionTargets {
  /** The To/Cc recipients' certificates, the sender's own last. */
  main: Uint8Array[];
  self: Uint8Array;
  /** Bcc recipients not also in To or Cc, each with their certificate. */
  bcc: Map<string, Uint8Array>;
  cipher: ContentCipher;
  keyTransport: 'rsa-pkcs1' | 'rsa-oaep';
}

export interface OutgoingSigner {
  certificate: Uint8Array;
  chain: Uint8Array[];
  privateKey: KeyObject;
  /** What the signature announces we decrypt (SMIMECapabilities, RFC 8551 section 2.5.2): see announcedCapabilities. */
  capabilities?: readonly SmimeCapability[];
}

/**
 * What this backend's users announce: what every client they are likely to read their mail in can open, since a
 * correspondent encrypts to the announcement and the user may open the message in Thunderbird as well as here.
 * AES-GCM only with SMIME_ANNOUNCE_GCM (NSS cannot open AuthEnvelopedData); ChaCha20-Poly1305 only with
 * SMIME_ANNOUNCE_CHACHA20_POLY1305 (issue 14: neither NSS nor OpenSSL 3.0 can open it), and then after AES-GCM and
 * before AES-CBC, the order in which contentCipherFor chooses (RFC 8551 section 2.5.2: the list is a preference).
 */
export function announcedCapabilities(
  announceGcm: boolean,
  announceChaCha20Poly1305 = false,
): readonly SmimeCapability[] {
  const base = announceGcm
    ? DEFAULT_CAPABILITIES
    : DEFAULT_CAPABILITIES.filter((c) => typeof c !== 'string' || !c.endsWith('-gcm'));
  if (!announceChaCha20Poly1305) return base;
  const firstCbc = base.findIndex((c) => typeof c === 'string' && c.endsWith('-cbc'));
  const at = firstCbc < 0 ? base.length : firstCbc;
  return [...base.slice(0, at), 'chacha20-poly1305', ...base.slice(at)];
}

/**
 * The authenticated ciphers sent to recipients who all announced them, most preferred first. AES-256-GCM before
 * ChaCha20-Poly1305 when every recipient announced both: AES-GCM is what RFC 8551 section 2.7 requires every
 * receiving agent to support (ChaCha20-Poly1305 is only recommended there), so it is the one more of a recipient's
 * other clients open, and it is what this code sent to such recipients before ChaCha20-Poly1305 existed here. Both
 * are 256-bit AEADs; ChaCha20's edge, speed without AES instructions, does not apply to servers that have them.
 */
const AUTHENTICATED_CIPHERS: readonly ContentCipher[] = ['aes-256-gcm', 'chacha20-poly1305'];

/**
 * The content cipher for a message to recipients whose newest announcements (SMIMECapabilities) are `announced`, one
 * list per recipient: an authenticated cipher (AuthEnvelopedData, RFC 8551 section 2.7) only when every recipient
 * announced it, since one copy of the content goes to all of them; else `fallback` (SMIME_DEFAULT_CIPHER).
 */
export function contentCipherFor(announced: readonly (readonly string[])[], fallback: ContentCipher): ContentCipher {
  if (announced.length === 0) return fallback;
  return AUTHENTICATED_CIPHERS.find((cipher) => announced.every((caps) => caps.includes(cipher))) ?? fallback;
}

export function addressesOf(header: string | undefined): string[] {
  // An address without a canonical spelling stays as written: it then resolves to no certificate, by name.
  return header ? parseAddressList(header).map((a) => tryCanonicalAddress(a.address) ?? a.address) : [];
}

/** Bcc recipients who get a copy of their own: those not also in To or Cc. */
export function separateBcc({ to, cc, bcc }: OutgoingAddresses): string[] {
  return [...new Set(bcc.filter((b) => !to.includes(b) && !cc.includes(b)))];
}

/**
 * The message as a MIME entity, or MESSAGE_MALFORMED, or MIME_NOT_A_MESSAGE when it has no header fields at all (for
 * the sending user and the demo's mailbox alike).
 */
export function parseMessage(raw: Uint8Array): MimeEntity {
  let message: MimeEntity;
  try {
    message = parseEntity(raw);
  } catch {
    throw new AppError('MESSAGE_MALFORMED');
  }
  if (!isInternetMessage(message)) throw new AppError('MIME_NOT_A_MESSAGE');
  return message;
}

/** Sender and recipients of the composed message, refused when unreadable, deceptive or too many. */
export function outgoingAddresses(raw: Uint8Array, maxRecipients: number): OutgoingAddresses {
  const message = parseMessage(raw);
  // Exactly one plain sender address: a signature must not vouch for a From a reader would read as someone else.
  const sender = plainSender(getHeader(message, 'from'));
  if ('problem' in sender) throw new AppError('FROM_NOT_PLAIN', `${sender.problem}.`, { problem: sender.problem });
  const to = addressesOf(getHeader(message, 'to'));
  const cc = addressesOf(getHeader(message, 'cc'));
  const bcc = addressesOf(getHeader(message, 'bcc'));
  const everyone = new Set([...to, ...cc, ...bcc]);
  if (everyone.size > maxRecipients)
    throw new AppError('TOO_MANY_RECIPIENTS', undefined, { recipients: everyone.size, limit: maxRecipients });
  return { from: sender.address, to, cc, bcc };
}

/**
 * What one request may produce (SMIME_MAX_OUTPUT_BYTES), bounded before any work: every Bcc recipient costs a whole
 * copy (990 Bcc once made a 125 KB message a 199 MB answer). A copy is at most the message in base64 plus its S/MIME
 * wrapping; counted again as copies are made.
 */
export class OutputBudget {
  private readonly copies: number;
  private produced = 0;

  constructor(
    messageBytes: number,
    req: OutgoingRequest,
    addresses: OutgoingAddresses,
    private readonly limit: number,
  ) {
    this.copies = req.encrypt ? 1 + separateBcc(addresses).length : 1;
    // base64 once (the CMS in the message), twice when an opaque signature is encrypted as well.
    const growth = req.sign && req.format === 'opaque' ? 16 / 9 : 4 / 3;
    const estimate = this.copies * (Math.ceil(messageBytes * growth) + COPY_OVERHEAD_BYTES);
    if (req.encrypt && estimate > limit)
      throw new AppError('OUTPUT_TOO_LARGE', undefined, { copies: this.copies, estimatedBytes: estimate, limit });
  }

  /** Counts a copy's pieces; refuses the request once the total passes the limit. */
  count(pieces: Uint8Array[]): Uint8Array[] {
    this.produced += pieces.reduce((n, p) => n + p.length, 0);
    if (this.produced > this.limit)
      throw new AppError('OUTPUT_TOO_LARGE', undefined, { copies: this.copies, limit: this.limit });
    return pieces;
  }
}

/**
 * Key types that never sign: X25519 only agrees keys (RFC 8410 section 5; smime/usable.ts takes it in for decryption,
 * issue 14).
 */
const KEY_AGREEMENT_ONLY: ReadonlySet<string> = new Set(['X25519']);

/** The key that signs: the default one among those that can sign, usable now, and certified for the From address. */
export function signingKey(keys: KeyRow[], from: string, now: Date): KeyRow {
  if (keys.length === 0) throw new AppError('NO_KEYS');
  const signers = keys.filter((k) => !KEY_AGREEMENT_ONLY.has(k.key_algorithm));
  const signing = signers.find((k) => k.is_default) ?? signers[0];
  if (!signing) throw new AppError('NO_KEYS', 'None of your keys can sign: an X25519 key only decrypts.');
  if (isPending(signing)) throw new AppError('PASSPHRASE_CHANGE_REQUIRED', undefined, { keyId: signing.id });
  if (now > signing.not_after)
    throw new AppError('SIGNING_CERT_EXPIRED', undefined, {
      keyId: signing.id,
      notAfter: signing.not_after.toISOString(),
    });
  if (now < signing.not_before) throw new AppError('SIGNING_CERT_NOT_YET_VALID', undefined, { keyId: signing.id });
  if (!signing.emails.includes(from))
    throw new AppError(
      'SIGNER_EMAIL_MISMATCH',
      `Your signing certificate is for ${signing.emails.join(', ')}, not ${from}.`,
      {
        certificateEmails: signing.emails,
      },
    );
  return signing;
}

/**
 * Each certificate once: the sender who is also in To or Cc, or two addresses of one person, is one RecipientInfo
 * (issue 14), not two that a reader would try in turn and list twice.
 */
function distinct(certificates: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const c of certificates) if (!out.some((o) => Buffer.compare(o, c) === 0)) out.push(c);
  return out;
}

/** The copies to send: signed and/or encrypted by the engine, streamed from the message into the output (issue 6). */
export async function produceCopies(
  raw: Uint8Array,
  req: OutgoingRequest,
  signer: OutgoingSigner | undefined,
  targets: EncryptionTargets | undefined,
  budget: OutputBudget,
): Promise<ProtectedCopy[]> {
  // A GCM cipher gives AuthEnvelopedData.
  const encryptFor = (t: EncryptionTargets, certificates: Uint8Array[]) => ({
    recipients: distinct(certificates).map((certificate) => ({ certificate, keyTransport: t.keyTransport })),
    options: { cipher: t.cipher },
  });
  const format = req.format ?? 'multipart-signed';
  const options = signer?.capabilities ? { capabilities: signer.capabilities } : undefined;
  const base = {
    ...(signer ? { sign: { signer, format, ...(options ? { options } : {}) } } : {}),
    ...(req.protectHeaders ? { protectHeaders: true } : {}),
  };
  const copies: ProtectedCopy[] = [
    {
      pieces: budget.count(
        await protectMessagePieces(raw, {
          ...base,
          ...(targets ? { encrypt: encryptFor(targets, targets.main) } : {}),
        }),
      ),
    },
  ];
  if (targets)
    for (const [email, cert] of targets.bcc)
      copies.push({
        bcc: email,
        pieces: budget.count(
          await protectMessagePieces(raw, { ...base, encrypt: encryptFor(targets, [cert, targets.self]) }),
        ),
      });
  return copies;
}
