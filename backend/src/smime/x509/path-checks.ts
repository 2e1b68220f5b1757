// The checks of a certification path (RFC 5280 section 6.1) that buildChain (chain.ts) applies to each complete
// path it finds, and the signature check of one link. Each problem names the certificate it is about.

import { BerError } from '../asn1/reader.ts';
import {
  publicKey,
  signatureScheme,
  UnsupportedAlgorithmError,
  verifySignature,
  verifySignatureAsync,
} from '../crypto/signature-algorithms.ts';
import { type CertificateFacts } from './certificate.ts';
import { validityAt } from '../usable.ts';
import { describeParsed } from './describe.ts';
import { nameConstraintViolation } from './name-constraints.ts';
import type { ChainProblem, ChainProblemCode } from './chain.ts';

export function subjectOf(cert: CertificateFacts): string {
  return describeParsed(cert)?.subject ?? `certificate ${cert.fingerprint.slice(0, 16)}`;
}

/** The problems of one certificate of a path that do not depend on the rest of it: validity, critical extensions. */
export function ownProblems(cert: CertificateFacts, index: number, isAnchor: boolean, now: Date): ChainProblem[] {
  const out: ChainProblem[] = [];
  const add = (code: ChainProblemCode, detail: string) => out.push({ code, index, subject: subjectOf(cert), detail });
  const validity = validityAt(cert, now);
  if (validity === 'expired') add('expired', `expired on ${cert.notAfter.toISOString()}`);
  if (validity === 'not-yet-valid') add('not-yet-valid', `not valid before ${cert.notBefore.toISOString()}`);
  if (cert.unhandledCritical.length && !isAnchor)
    add('critical-extension', `unsupported critical extension ${cert.unhandledCritical.join(', ')}`);
  return out;
}

export type LinkResult = 'ok' | 'bad-signature' | { unsupported: string };

/** Does `issuer`'s key verify `cert`'s signature? */
export function verifyIssued(cert: CertificateFacts, issuer: CertificateFacts): LinkResult {
  try {
    const scheme = signatureScheme(cert.signatureAlgorithm);
    return verifySignature(scheme, publicKey(issuer.spki), cert.tbs, cert.signature) ? 'ok' : 'bad-signature';
  } catch (e) {
    if (e instanceof UnsupportedAlgorithmError) return { unsupported: e.message };
    if (e instanceof BerError) return 'bad-signature';
    throw e;
  }
}

/** verifyIssued with the signature checked on the verification thread (verifySignatureAsync): the same answers. */
export async function verifyIssuedAsync(cert: CertificateFacts, issuer: CertificateFacts): Promise<LinkResult> {
  try {
    const scheme = signatureScheme(cert.signatureAlgorithm);
    return (await verifySignatureAsync(scheme, publicKey(issuer.spki), cert.tbs, cert.signature))
      ? 'ok'
      : 'bad-signature';
  } catch (e) {
    if (e instanceof UnsupportedAlgorithmError) return { unsupported: e.message };
    if (e instanceof BerError) return 'bad-signature';
    throw e;
  }
}

/** The problems a CA certificate at `index` (above the leaf) of `path` has or causes below it. */
function caProblems(path: CertificateFacts[], index: number, isAnchor: boolean): ChainProblem[] {
  const out: ChainProblem[] = [];
  const cert = path[index]!;
  const add = (code: ChainProblemCode, at: number, detail: string) =>
    out.push({ code, index: at, subject: subjectOf(path[at]!), detail });
  // RFC 5280 section 6.1.4 (k): an intermediate must be a v3 CA certificate. A trust anchor is trusted as
  // configured (old v1 roots have no extensions), but its constraints apply when it states them.
  if (!isAnchor && !cert.basicConstraints?.ca)
    add('not-a-ca', index, 'not a CA certificate (basicConstraints cA is not set)');
  if (isAnchor && cert.basicConstraints && !cert.basicConstraints.ca)
    add('not-a-ca', index, 'trust anchor is not a CA certificate');
  // RFC 5280 section 6.1.4 (n): keyUsage, when present, must allow keyCertSign.
  if (cert.keyUsage && !cert.keyUsage.has('keyCertSign'))
    add('key-usage', index, 'keyUsage does not allow certificate signing');
  // RFC 5280 section 6.1.4 (l), (m): non-self-issued intermediates below this CA.
  const pathLen = cert.basicConstraints?.pathLen;
  if (pathLen !== undefined) {
    const below = path.slice(1, index).filter((c) => !c.selfIssued).length;
    if (below > pathLen)
      add('path-length', index, `pathLenConstraint ${pathLen} allows fewer intermediates than the ${below} below it`);
  }
  // RFC 5280 section 6.1.3 (b), (c) and 6.1.4 (g): a CA's name constraints hold for every certificate below it,
  // except self-issued intermediates (a CA's own key rollover). Reported on the certificate whose name is outside.
  const nc = cert.nameConstraints;
  if (nc) {
    for (let below = 0; below < index; below++) {
      const c = path[below]!;
      if (below > 0 && c.selfIssued) continue;
      const why = nameConstraintViolation(nc, c.names);
      if (why) add('name-constraints', below, `${why}: the name constraints of ${subjectOf(cert)} do not allow it`);
    }
  }
  return out;
}

/** Every problem of a complete path [leaf, ...intermediates, anchor], in path order. */
export function pathProblems(path: CertificateFacts[], now: Date): ChainProblem[] {
  const out: ChainProblem[] = [];
  path.forEach((cert, index) => {
    const isAnchor = index === path.length - 1 && index > 0;
    out.push(...ownProblems(cert, index, isAnchor, now));
    if (index > 0) out.push(...caProblems(path, index, isAnchor));
  });
  return out;
}
