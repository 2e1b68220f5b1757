// The checks of the signer's certificate and its path (RFC 5280, RFC 8550): chain, validity at signing and now, key
// usage, extended key usage, the From address, revocation and the algorithm policy. verify.ts runs them in order.

import { BerError } from '../../asn1/reader.ts';
import { allowsSigning, validityAt } from '../../usable.ts';
import {
  publicKey,
  signatureScheme,
  UnsupportedAlgorithmError,
  type SignatureScheme,
} from '../../crypto/signature-algorithms.ts';
import { parsedCertificate, type CertificateFacts } from '../../x509/certificate.ts';
import { describeParsed } from '../../x509/describe.ts';
import { buildChain, type ChainProblem, type ChainResult } from '../../x509/chain.ts';
import type { CertificateSummary, SignatureStatus } from '../../types.ts';
import type { VerifyPolicy } from './verify.ts';
import { SCHEME_LABELS } from './verify-signer-info.ts';
import type { Context, Evidence, Settings } from './verify-evidence.ts';
import { type HashName, OID_ANY_EXTENDED_KEY_USAGE, OID_KP_EMAIL_PROTECTION } from '../../asn1/oids.ts';

export type SignerSummary = CertificateSummary & { keyAlgorithm: string; keySize: number };

/** The summary of a certificate in the evidence, from its one description (describeParsed). */
export function summary(cert: CertificateFacts): SignerSummary | undefined {
  const d = describeParsed(cert);
  if (!d) return undefined;
  return {
    subject: d.subject,
    issuer: d.issuer,
    serialNumber: d.serialNumber,
    fingerprintSha256: d.fingerprintSha256,
    notBefore: d.notBefore.toISOString(),
    notAfter: d.notAfter.toISOString(),
    emails: [...d.emails],
    keyAlgorithm: d.keyAlgorithm,
    keySize: d.keySize,
  };
}

/** The certificates of a path as buildChain gives them (DER), back as the parsed certificates they came from. */
export function parsedPath(chain: Uint8Array[]): CertificateFacts[] {
  return chain.map(parsedCertificate).filter((c): c is CertificateFacts => c !== undefined);
}

export function validityDetail(
  cert: CertificateFacts,
  outcome: ReturnType<typeof validityAt>,
  at: Date,
  what: string,
): string {
  if (outcome === 'valid')
    return `valid at ${what} (${at.toISOString()}; ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()})`;
  if (outcome === 'expired') return `expired on ${cert.notAfter.toISOString()}, before ${what} (${at.toISOString()})`;
  return `not valid before ${cert.notBefore.toISOString()}, after ${what} (${at.toISOString()})`;
}

export function chainStatus(problem: ChainProblem): SignatureStatus {
  if (problem.code === 'expired') return 'expired';
  if (problem.code === 'not-yet-valid') return 'not-yet-valid';
  return 'untrusted';
}

export function describeProblem(p: ChainProblem): string {
  return `${p.subject}: ${p.detail}`;
}

export async function revocationCheck(
  ev: Evidence,
  signer: CertificateFacts,
  built: ChainResult,
  s: Settings,
): Promise<void> {
  if (!s.revocation) return ev.add('revocation', 'skipped', 'revocation checking is off');
  if (ev.has('malformed', 'unsupported', 'invalid-signature'))
    return ev.add('revocation', 'skipped', 'not checked: the signature itself is not valid');
  // Answers about an untrusted chain would be signed by keys we have no reason to believe, and fetching them would
  // let any sender point us at URLs of their choice.
  if (!built.anchor) return ev.add('revocation', 'skipped', 'not checked: the chain does not reach a trust anchor');
  const r = await s.revocation.checkPath([signer.der, ...built.chain], s.now, (i) =>
    i === 0 ? 'signer' : `intermediate ${i}`,
  );
  if (r.status === 'revoked') return ev.add('revocation', 'fail', r.detail, 'revoked');
  if (r.status === 'unknown') return ev.add('revocation', 'unknown', r.detail, 'revocation-unknown');
  if (r.status === 'none') return ev.add('revocation', 'skipped', r.detail);
  return ev.add('revocation', 'pass', r.detail);
}

export function algorithmCheck(
  ev: Evidence,
  parts: {
    digest?: HashName;
    scheme?: SignatureScheme;
    signingTime?: Date | undefined;
    signer?: CertificateFacts;
    chain: CertificateFacts[];
  },
  policy: VerifyPolicy,
): void {
  const weak: string[] = [];
  const used: string[] = [];
  if (parts.digest) used.push(parts.digest);
  if (parts.scheme) used.push(SCHEME_LABELS[parts.scheme.name]);
  if (policy.rejectSha1 && (parts.digest === 'sha1' || parts.scheme?.hash === 'sha1')) {
    const accepted = sha1Accepted(parts.signingTime, policy.sha1SignedBefore);
    if (accepted) ev.warn(accepted);
    else weak.push('SHA-1 in the signature');
  }
  const path = parts.signer ? [parts.signer, ...parts.chain] : [];
  path.forEach((cert, i) => {
    const who =
      i === 0
        ? 'signer certificate'
        : i === path.length - 1 && i > 0
          ? 'chain certificate (anchor)'
          : `chain certificate ${i}`;
    try {
      const key = publicKey(cert.spki);
      if (i === 0) used.push(`${key.type}${key.bits ? ` ${key.bits}` : ''}`);
      if (key.type === 'RSA' && key.bits < policy.minRsaBits)
        weak.push(`${who}: RSA ${key.bits} bits (minimum ${policy.minRsaBits})`);
    } catch (e) {
      if (!(e instanceof UnsupportedAlgorithmError)) throw e;
    }
    // The certificate's own signature matters for every link; an anchor's self-signature proves nothing either way.
    const isAnchor = i === path.length - 1 && i > 0;
    if (!isAnchor && policy.rejectSha1) {
      try {
        if (signatureScheme(cert.signatureAlgorithm).hash === 'sha1') weak.push(`${who}: signed with SHA-1`);
      } catch (e) {
        // Unsupported or malformed algorithms have already failed the chain check.
        if (!(e instanceof UnsupportedAlgorithmError || e instanceof BerError)) throw e;
      }
    }
  });
  if (weak.length) ev.add('algorithm', 'fail', weak.join('; '), 'weak-algorithm');
  else ev.add('algorithm', 'pass', used.join(', '));
}

/** Why a SHA-1 signature is accepted under the cutoff policy (the warning to show), or undefined if it is not. */
function sha1Accepted(signingTime: Date | undefined, cutoff: Date | undefined): string | undefined {
  if (!cutoff || !signingTime || signingTime >= cutoff) return undefined;
  return (
    `SHA-1 signature accepted: it claims to be signed on ${signingTime.toISOString()}, before the SHA-1 cutoff ` +
    `${cutoff.toISOString()} this server is set to (the signing time is the signer's claim)`
  );
}

/** The chain check: a path from the signer to a trust anchor (x509/chain.ts). AIA downloads only when `cryptoOk`. */
export async function chainCheck(
  ev: Evidence,
  signer: CertificateFacts,
  ctx: Context,
  cryptoOk: boolean,
): Promise<ChainResult> {
  const s = ctx.settings;
  const built = await buildChain(signer, ctx.pool, s.anchors, {
    now: s.now,
    ...(cryptoOk && s.fetcher ? { fetcher: s.fetcher } : {}),
  });
  // The leaf's own validity is reported by validity-now below, not twice.
  const chainProblems = built.problems.filter(
    (p) => !(p.index === 0 && (p.code === 'expired' || p.code === 'not-yet-valid')),
  );
  if (built.anchor && chainProblems.length === 0) {
    const anchor = parsedCertificate(built.anchor);
    ev.add(
      'chain',
      'pass',
      `chains to trust anchor ${(anchor && summary(anchor)?.subject) ?? '(anchor)'} through ${Math.max(0, built.chain.length - 1)} intermediate(s)`,
    );
  } else {
    ev.add('chain', 'fail', chainProblems.map(describeProblem).join('; ') || 'no path to a trust anchor');
    for (const p of chainProblems) ev.flag(chainStatus(p));
    if (!built.anchor) ev.flag('untrusted');
  }
  return built;
}

/** Validity of the signer certificate: at the claimed signing time and now. */
export function validityChecks(
  ev: Evidence,
  signer: CertificateFacts,
  signingTime: Date | undefined,
  hasTimeAttribute: boolean,
  now: Date,
): void {
  if (signingTime) {
    const at = validityAt(signer, signingTime);
    const detail = validityDetail(signer, at, signingTime, 'the claimed signing time');
    if (at === 'valid')
      ev.add(
        'validity-at-signing',
        'pass',
        `${detail}; the signing time is the signer's claim, not a trusted timestamp`,
      );
    else ev.add('validity-at-signing', 'fail', detail, at);
  } else if (!hasTimeAttribute) ev.add('validity-at-signing', 'skipped', 'no signingTime attribute');
  const nowValidity = validityAt(signer, now);
  ev.add(
    'validity-now',
    nowValidity === 'valid' ? 'pass' : 'fail',
    validityDetail(signer, nowValidity, now, 'now'),
    nowValidity === 'valid' ? undefined : nowValidity,
  );
}

/** RFC 8550 section 4.4.2 and 4.4.4: key usage and extended key usage of a signing certificate. */
export function usageChecks(ev: Evidence, signer: CertificateFacts): void {
  const ku = signer.keyUsage;
  if (!ku) ev.add('key-usage', 'pass', 'no keyUsage extension (not restricted)');
  else if (ku.size > 0 && allowsSigning(ku)) ev.add('key-usage', 'pass', `keyUsage ${[...ku].join(', ')}`);
  else
    ev.add(
      'key-usage',
      'fail',
      `keyUsage ${[...ku].join(', ') || '(none)'} allows neither digitalSignature nor nonRepudiation`,
      'untrusted',
    );
  const eku = signer.extendedKeyUsage;
  if (!eku) ev.add('extended-key-usage', 'pass', 'no extendedKeyUsage extension (not restricted)');
  else if (eku.includes(OID_KP_EMAIL_PROTECTION) || eku.includes(OID_ANY_EXTENDED_KEY_USAGE))
    ev.add('extended-key-usage', 'pass', 'extendedKeyUsage allows email protection');
  else ev.add('extended-key-usage', 'fail', 'extendedKeyUsage does not include emailProtection', 'untrusted');
}

/** RFC 8550 section 3: the From address must be one of the certificate's addresses. */
export function emailCheck(ev: Evidence, emails: string[], s: Settings): void {
  if (s.fromProblem)
    ev.add('email', 'fail', `${s.fromProblem}: the signer cannot be matched to the sender`, 'email-mismatch');
  else if (!s.from) ev.add('email', 'skipped', 'no From address given');
  else if (s.from.length === 0) ev.add('email', 'skipped', 'the message has no From address');
  else if (s.from.some((a) => emails.includes(a)))
    ev.add('email', 'pass', `From ${s.from.filter((a) => emails.includes(a)).join(', ')} is in the certificate`);
  else
    ev.add(
      'email',
      'fail',
      `From ${s.from.join(', ')} is not among the certificate's addresses (${emails.join(', ') || 'none'})`,
      'email-mismatch',
    );
}
