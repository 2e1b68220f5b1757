/**
 * Whether a directory certificate may be encrypted to (issue 12). Before, anything in LDAP was trusted: a certificate
 * from any CA (or self-signed) in an entry was "ready", so whoever could write a certificate into the directory (in
 * Active Directory every user may write their own userCertificate) received mail meant for the addresses it named.
 *
 * The decision is the engine's, the same as for a signer (smime/x509/chain.ts buildChain, smime/x509/revocation.ts
 * RevocationChecker.checkPath), not a second validator: a path to one of the directory's trust anchors
 * (SMIME_DIRECTORY_TRUST_ANCHORS, by default the signature anchors) with every CA on it valid, a CA, allowed to sign
 * certificates, within its path length, without unknown critical extensions; then revocation of every certificate on
 * the path. The sync checks the path (ChainCache: once per issuer, one signature per certificate) and stores the
 * verdict and the intermediates it found, for the admin to see; every use builds the path again from the stored
 * intermediates and checks revocation, because validity, revocation and the configured anchors change with time.
 *
 * Revocation is checked at use only: a sync of 10,000 certificates would otherwise make up to 10,000 OCSP requests
 * inside its database transaction. A check that cannot complete (responder down, a CRL on a private address the
 * fetcher refuses) is 'unknown' and always shown; SMIME_DIRECTORY_REVOCATION_UNKNOWN decides whether it blocks. The
 * default 'allow' is deliberate: refusing to encrypt does not stop the mail, it sends it in clear, which exposes it to
 * everyone rather than to the holder of a key that may have been revoked; an organisation with a reliable responder
 * sets 'block'. A certificate that names no OCSP responder and no CRL cannot be checked by anyone and is used ('none').
 */
import { buildChain, type ChainResult, type PathRevocation, type RevocationChecker } from '../smime/index.ts';

export type UnknownRevocationPolicy = 'allow' | 'block';

export interface RevocationShown {
  /** 'off': SMIME_REVOCATION_CHECK=off; 'not-checked': the path does not reach an anchor, so nothing was asked. */
  status: PathRevocation['status'] | 'off' | 'not-checked';
  detail: string;
}

export interface UseVerdict {
  /** Set when the certificate must not be used. */
  reason?: string;
  /** Set when it may be used but the user should know (revocation unknown). */
  warning?: string;
  revocation: RevocationShown;
}

/** Why the path does not make the certificate trusted, or undefined when it does. */
export function chainReason(subject: string, chain: ChainResult, anchorsConfigured: boolean): string | undefined {
  if (!anchorsConfigured)
    return `${subject}: no directory trust anchors are configured (SMIME_DIRECTORY_TRUST_ANCHORS or SMIME_TRUST_ANCHORS), so no directory certificate is trusted`;
  if (chain.anchor && chain.problems.length === 0) return undefined;
  const why = chain.problems.map((p) => `${p.subject}: ${p.detail}`).join('; ') || 'no path to a trust anchor';
  return `${subject}: not issued by a CA the directory trusts (${why})`;
}

/** The certificates between the leaf and its anchor (the anchor is configuration, not stored). */
export function intermediatesOf(chain: ChainResult): Uint8Array[] {
  return chain.anchor ? chain.chain.slice(0, -1) : [];
}

export class DirectoryTrust {
  constructor(
    private readonly o: {
      anchors: readonly Uint8Array[];
      /** Absent: revocation checking is off (SMIME_REVOCATION_CHECK=off). */
      revocation?: RevocationChecker;
      unknownRevocation: UnknownRevocationPolicy;
    },
  ) {}

  /** The decision at use: the path again (from the stored intermediates), then revocation along it. */
  async atUse(
    certificate: Uint8Array,
    intermediates: readonly Uint8Array[],
    subject: string,
    now: Date,
  ): Promise<UseVerdict> {
    const chain = await buildChain(certificate, intermediates, this.o.anchors, { now });
    const reason = chainReason(subject, chain, this.o.anchors.length > 0);
    // No revocation question about a path nobody vouches for (as for signers): the answer could not make it usable.
    if (reason) return { reason, revocation: { status: 'not-checked', detail: 'not checked: no trusted path' } };
    if (!this.o.revocation)
      return { revocation: { status: 'off', detail: 'revocation checking is off (SMIME_REVOCATION_CHECK=off)' } };
    const r = await this.o.revocation.checkPath([certificate, ...chain.chain], now, (i) =>
      i === 0 ? 'certificate' : `intermediate ${i}`,
    );
    if (r.status === 'revoked') return { reason: `${subject}: revoked (${r.detail})`, revocation: r };
    if (r.status === 'unknown') {
      const unknown = `${subject}: revocation status unknown (${r.detail})`;
      if (this.o.unknownRevocation === 'block')
        return { reason: `${unknown}; refused (SMIME_DIRECTORY_REVOCATION_UNKNOWN=block)`, revocation: r };
      return { warning: unknown, revocation: r };
    }
    return { revocation: r };
  }
}
