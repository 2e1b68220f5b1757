/**
 * Trust anchors and certification path building (RFC 5280 section 6, RFC 4158), reusable by verification, recipient
 * resolution and anyone else who must decide whether a certificate chains to a CA the administrator trusts.
 *
 * buildChain searches, depth first with backtracking, for a path from the leaf to one of the anchors through the
 * pool (the message's certificates and the stores' intermediates) and, when a link is missing and a fetcher is
 * given, through the AIA caIssuers URL of the certificate whose issuer is missing (a bounded number of downloads).
 * Each link's signature is verified; a name match whose signature does not verify is not an issuer. Among complete
 * paths the one with the fewest problems wins, and a problem-free path ends the search. Problems checked on the
 * path: every CA certificate's basicConstraints cA and pathLenConstraint, keyUsage keyCertSign, validity at `now`,
 * unhandled critical extensions; the leaf's unhandled critical extensions and validity (index 0; a verifier that
 * reports the leaf's validity separately can skip those); the name constraints of every CA on the path, the trust
 * anchor's included, on every certificate below it (RFC 5280 section 6.1.4 (g); rfc822Name, dNSName and
 * directoryName are checked, a name of another constrained form fails closed: lib/name-constraints.ts). A CA whose
 * key leaked, such as the demo CA in the data folder, can then certify only the names it was constrained to (issue 12).
 *
 * Not done (documented limits): certificate policy processing (no policy is claimed), name comparison beyond byte
 * equality of the DER Names (RFC 5280 section 7.1's case-insensitive comparison; conforming CAs encode the issuer
 * exactly as the subject, and a directoryName constraint is compared the same way).
 */
import { describeCertificate, pemToDer } from './describe.ts';
import { BerError } from '../asn1/reader.ts';
import {
  publicKey,
  signatureScheme,
  UnsupportedAlgorithmError,
  verifySignature,
} from '../crypto/signature-algorithms.ts';
import { certificateFacts, keyIdentifier, sameBytes, validityAt, type CertificateFacts } from './certificate.ts';
import { nameConstraintViolation } from './name-constraints.ts';
import {
  MAX_AIA_CERTIFICATES,
  MAX_AIA_FETCHES,
  MAX_CHAIN_LENGTH,
  MAX_PATH_SEARCH_STEPS,
  MAX_POOL_CERTIFICATES,
} from '../limits.ts';
import { signedDataNode, signedDataParts } from '../cms/signed-data.ts';
import type { Fetcher } from '../types.ts';

export type ChainProblemCode =
  | 'issuer-not-found'
  | 'bad-signature'
  | 'unsupported-algorithm'
  | 'not-a-ca'
  | 'path-length'
  | 'key-usage'
  | 'expired'
  | 'not-yet-valid'
  | 'critical-extension'
  | 'name-constraints'
  | 'too-long';

export interface ChainProblem {
  code: ChainProblemCode;
  /** Position in [leaf, ...chain]: 0 is the leaf, chain.length the anchor. */
  index: number;
  subject: string;
  detail: string;
}

export interface ChainResult {
  /** The certificates above the leaf, issuer first, ending with the anchor when one was reached. */
  chain: Uint8Array[];
  /** The trust anchor the path ends at (also the last element of `chain`), if any. */
  anchor?: Uint8Array;
  /** Empty when the path is complete and every check passed. */
  problems: ChainProblem[];
  /** Certificates downloaded through AIA during the search (callers may keep them as intermediates). */
  fetched: Uint8Array[];
}

export interface BuildChainOptions {
  now?: Date;
  /** Enables AIA caIssuers downloads for missing intermediates. */
  fetcher?: Fetcher;
  maxFetches?: number;
}

const factsCache = new WeakMap<Uint8Array, CertificateFacts | null>();

/** Certificate facts, cached per array; undefined for something that is not a certificate. */
export function parsedCertificate(der: Uint8Array): CertificateFacts | undefined {
  const cached = factsCache.get(der);
  if (cached !== undefined) return cached ?? undefined;
  let facts: CertificateFacts | null = null;
  try {
    facts = certificateFacts(der);
  } catch (e) {
    if (!(e instanceof BerError)) throw e;
  }
  factsCache.set(der, facts);
  return facts ?? undefined;
}

/**
 * The DER certificates of a PEM bundle (SMIME_TRUST_ANCHORS), de-duplicated. Throws SmimeError CERT_MALFORMED for a
 * block that is not a certificate: a broken trust store is a configuration error to report at start-up.
 */
export function loadTrustAnchors(pem: string): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  for (const der of pemToDer(pem)) {
    const key = Buffer.from(der).toString('base64');
    if (!seen.has(key)) {
      seen.add(key);
      out.push(der);
    }
  }
  return out;
}

function subjectOf(cert: CertificateFacts): string {
  try {
    return describeCertificate(cert.der).subject;
  } catch {
    return `certificate ${cert.fingerprint.slice(0, 16)}`;
  }
}

/** The problems of one certificate of a path that do not depend on the rest of it: validity, critical extensions. */
function ownProblems(cert: CertificateFacts, index: number, isAnchor: boolean, now: Date): ChainProblem[] {
  const out: ChainProblem[] = [];
  const add = (code: ChainProblemCode, detail: string) => out.push({ code, index, subject: subjectOf(cert), detail });
  const validity = validityAt(cert, now);
  if (validity === 'expired') add('expired', `expired on ${cert.notAfter.toISOString()}`);
  if (validity === 'not-yet-valid') add('not-yet-valid', `not valid before ${cert.notBefore.toISOString()}`);
  if (cert.unhandledCritical.length && !isAnchor) add('critical-extension', `unsupported critical extension ${cert.unhandledCritical.join(', ')}`);
  return out;
}

type LinkResult = 'ok' | 'bad-signature' | { unsupported: string };

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

/** Certificates found at an AIA caIssuers URL: DER certificate, certs-only CMS (.p7c), or PEM. */
function certificatesFromAia(body: Uint8Array): Uint8Array[] {
  const text = Buffer.from(body.subarray(0, 64)).toString('latin1');
  if (text.includes('-----BEGIN')) {
    try {
      return pemToDer(Buffer.from(body).toString('latin1')).slice(0, MAX_AIA_CERTIFICATES);
    } catch {
      return [];
    }
  }
  if (parsedCertificate(body)) return [body];
  try {
    return signedDataParts(signedDataNode(body)).certificates.slice(0, MAX_AIA_CERTIFICATES);
  } catch (e) {
    if (e instanceof BerError) return [];
    throw e;
  }
}

interface Candidate {
  facts: CertificateFacts;
  anchor: boolean;
}

class PathBuilder {
  private readonly anchors: CertificateFacts[];
  private readonly pool: CertificateFacts[];
  private readonly now: Date;
  private readonly fetcher: Fetcher | undefined;
  private fetchesLeft: number;
  private steps = 0;
  private readonly links = new Map<string, LinkResult>();
  private readonly fetchedUrls = new Set<string>();
  readonly fetched: Uint8Array[] = [];
  best: { path: CertificateFacts[]; problems: ChainProblem[] } | undefined;
  /** The longest verified partial path, and why it stops, when no path reaches an anchor. */
  deadEnd: { path: CertificateFacts[]; problem: ChainProblem } | undefined;

  constructor(anchors: CertificateFacts[], pool: CertificateFacts[], options: BuildChainOptions) {
    this.anchors = anchors;
    this.pool = pool;
    this.now = options.now ?? new Date();
    this.fetcher = options.fetcher;
    this.fetchesLeft = options.maxFetches ?? MAX_AIA_FETCHES;
  }

  private link(cert: CertificateFacts, issuer: CertificateFacts): LinkResult {
    const key = `${cert.fingerprint}/${issuer.fingerprint}`;
    let r = this.links.get(key);
    if (r === undefined) {
      this.steps++;
      r = verifyIssued(cert, issuer);
      this.links.set(key, r);
    }
    return r;
  }

  private candidates(cert: CertificateFacts): Candidate[] {
    const named = (c: CertificateFacts) => sameBytes(c.subject, cert.issuer);
    const seen = new Set<string>();
    const out: Candidate[] = [];
    for (const [list, anchor] of [
      [this.anchors, true],
      [this.pool, false],
    ] as const) {
      for (const c of list) {
        if (!named(c) || seen.has(c.fingerprint)) continue;
        seen.add(c.fingerprint);
        out.push({ facts: c, anchor });
      }
    }
    // Anchors first; then a key identifier match; then a certificate valid now (RFC 4158 section 3.5 ordering hints).
    const score = (c: Candidate) =>
      (c.anchor ? 4 : 0) + (cert.authorityKeyId && sameBytes(cert.authorityKeyId, keyIdentifier(c.facts)) ? 2 : 0) + (validityAt(c.facts, this.now) === 'valid' ? 1 : 0);
    return out.sort((a, b) => score(b) - score(a));
  }

  private async fetchIssuers(cert: CertificateFacts): Promise<boolean> {
    if (!this.fetcher) return false;
    let added = false;
    for (const url of cert.caIssuersUrls) {
      if (this.fetchesLeft <= 0) break;
      if (!/^https?:\/\//i.test(url) || this.fetchedUrls.has(url)) continue;
      this.fetchedUrls.add(url);
      this.fetchesLeft--;
      let body: Uint8Array;
      try {
        body = await this.fetcher.fetch({ url, method: 'GET', purpose: 'aia' });
      } catch {
        continue; // an unreachable AIA URL leaves the chain incomplete; the problem says so
      }
      for (const der of certificatesFromAia(body)) {
        const facts = parsedCertificate(der);
        if (!facts || this.pool.some((p) => p.fingerprint === facts.fingerprint)) continue;
        this.pool.push(facts);
        this.fetched.push(der);
        added = true;
      }
    }
    return added;
  }

  private problems(path: CertificateFacts[]): ChainProblem[] {
    const out: ChainProblem[] = [];
    const add = (code: ChainProblemCode, index: number, detail: string) => out.push({ code, index, subject: subjectOf(path[index]!), detail });
    path.forEach((cert, index) => {
      const isAnchor = index === path.length - 1 && index > 0;
      out.push(...ownProblems(cert, index, isAnchor, this.now));
      if (index === 0) return;
      // RFC 5280 section 6.1.4 (k): an intermediate must be a v3 CA certificate. A trust anchor is trusted as
      // configured (old v1 roots have no extensions), but its constraints apply when it states them.
      if (!isAnchor && !cert.basicConstraints?.ca) add('not-a-ca', index, 'not a CA certificate (basicConstraints cA is not set)');
      if (isAnchor && cert.basicConstraints && !cert.basicConstraints.ca) add('not-a-ca', index, 'trust anchor is not a CA certificate');
      // RFC 5280 section 6.1.4 (n): keyUsage, when present, must allow keyCertSign.
      if (cert.keyUsage && !cert.keyUsage.has('keyCertSign')) add('key-usage', index, 'keyUsage does not allow certificate signing');
      // RFC 5280 section 6.1.4 (l), (m): non-self-issued intermediates below this CA.
      const pathLen = cert.basicConstraints?.pathLen;
      if (pathLen !== undefined) {
        const below = path.slice(1, index).filter((c) => !c.selfIssued).length;
        if (below > pathLen) add('path-length', index, `pathLenConstraint ${pathLen} allows fewer intermediates than the ${below} below it`);
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
    });
    return out;
  }

  private record(path: CertificateFacts[]): void {
    const problems = this.problems(path);
    if (!this.best || problems.length < this.best.problems.length) this.best = { path, problems };
  }

  private deadEndAt(path: CertificateFacts[], problem: Omit<ChainProblem, 'index' | 'subject'>): void {
    if (!this.deadEnd || path.length > this.deadEnd.path.length) {
      const index = path.length - 1;
      this.deadEnd = { path, problem: { ...problem, index, subject: subjectOf(path[index]!) } };
    }
  }

  /** Depth-first search from the top of `path`; true once a problem-free path is recorded. */
  async extend(path: CertificateFacts[]): Promise<boolean> {
    const top = path[path.length - 1]!;
    const tried = new Set(path.map((p) => p.fingerprint));
    let named = 0;
    let verified = 0;
    let unsupported: string | undefined;
    // Round 0 uses what we have; round 1 runs only when no complete path exists yet and AIA brought new certificates.
    for (let round = 0; round < 2; round++) {
      const candidates = this.candidates(top).filter((c) => !tried.has(c.facts.fingerprint));
      named += candidates.length;
      for (const c of candidates) {
        if (this.steps >= MAX_PATH_SEARCH_STEPS) break;
        tried.add(c.facts.fingerprint);
        const r = this.link(top, c.facts);
        if (r !== 'ok') {
          if (typeof r === 'object') unsupported = r.unsupported;
          continue;
        }
        verified++;
        const next = [...path, c.facts];
        if (c.anchor) {
          this.record(next);
          if (this.best?.problems.length === 0) return true;
          continue;
        }
        if (next.length >= MAX_CHAIN_LENGTH) {
          this.deadEndAt(next, { code: 'too-long', detail: `no anchor within ${MAX_CHAIN_LENGTH} certificates` });
          continue;
        }
        if (await this.extend(next)) return true;
      }
      if (this.best || round === 1 || !(await this.fetchIssuers(top))) break;
    }
    if (verified === 0) this.noIssuer(path, named, unsupported);
    return false;
  }

  private noIssuer(path: CertificateFacts[], named: number, unsupported: string | undefined): void {
    const top = path[path.length - 1]!;
    if (unsupported) this.deadEndAt(path, { code: 'unsupported-algorithm', detail: unsupported });
    else if (named > 0) this.deadEndAt(path, { code: 'bad-signature', detail: 'the signature does not verify with the key of any certificate named as its issuer' });
    else if (top.selfIssued) this.deadEndAt(path, { code: 'issuer-not-found', detail: 'self-signed certificate that is not a trust anchor' });
    else this.deadEndAt(path, { code: 'issuer-not-found', detail: 'issuer certificate not found' });
  }
}

/**
 * Builds and checks a path from `leaf` to one of `anchors`. `pool` holds candidate intermediates (the message's
 * certificates, the stores' intermediates); certificates that do not parse are ignored. Never throws on bad input.
 */
export async function buildChain(leaf: Uint8Array, pool: readonly Uint8Array[], anchors: readonly Uint8Array[], options: BuildChainOptions = {}): Promise<ChainResult> {
  const leafFacts = parsedCertificate(leaf);
  if (!leafFacts) {
    return { chain: [], problems: [{ code: 'issuer-not-found', index: 0, subject: '(unparseable certificate)', detail: 'the certificate cannot be parsed' }], fetched: [] };
  }
  const anchorFacts = anchors.map(parsedCertificate).filter((c): c is CertificateFacts => c !== undefined);
  const poolFacts = pool
    .slice(0, MAX_POOL_CERTIFICATES)
    .map(parsedCertificate)
    .filter((c): c is CertificateFacts => c !== undefined && c.fingerprint !== leafFacts.fingerprint);
  const builder = new PathBuilder(anchorFacts, poolFacts, options);

  // A leaf that is itself configured as an anchor is trusted directly.
  const direct = anchorFacts.find((a) => a.fingerprint === leafFacts.fingerprint);
  if (direct) return { chain: [], anchor: direct.der, problems: [], fetched: [] };

  await builder.extend([leafFacts]);
  if (builder.best) {
    const path = builder.best.path;
    return { chain: path.slice(1).map((c) => c.der), anchor: path[path.length - 1]!.der, problems: builder.best.problems, fetched: builder.fetched };
  }
  const dead = builder.deadEnd ?? {
    path: [leafFacts],
    problem: { code: 'issuer-not-found' as const, index: 0, subject: subjectOf(leafFacts), detail: 'no path to a trust anchor' },
  };
  return { chain: dead.path.slice(1).map((c) => c.der), problems: [dead.problem], fetched: builder.fetched };
}

/**
 * buildChain for many certificates from a few issuers (a directory sync reads thousands, issue 12): the path above an
 * issuer is built and checked once per cache, and every further certificate naming that issuer costs one signature
 * verification against it, not a path search. Only a problem-free path is reused, and only for a certificate whose
 * signature that issuer's key verifies; anything else goes through buildChain in full, so every answer is one that
 * buildChain gives. One cache serves one instant (`now`): make a new one for each run.
 */
export class ChainCache {
  private readonly anchorFingerprints: Set<string>;
  private readonly now: Date;
  /** By issuer name and authority key identifier: the issuer certificate and the checked path above the leaf. */
  private readonly paths = new Map<string, { issuer: CertificateFacts; chain: Uint8Array[]; anchor: Uint8Array }>();
  /** The same paths by the issuer certificate's fingerprint. */
  private readonly byIssuer = new Map<string, { chain: Uint8Array[]; anchor: Uint8Array }>();

  constructor(
    private readonly anchors: readonly Uint8Array[],
    options: { now?: Date } = {},
  ) {
    this.now = options.now ?? new Date();
    this.anchorFingerprints = new Set(anchors.map(parsedCertificate).flatMap((a) => (a ? [a.fingerprint] : [])));
  }

  /**
   * What buildChain(leaf, pool, anchors, { now }) answers (without AIA downloads), with the intermediates of the paths
   * this cache already checked as part of the pool: a directory entry need not carry its issuing CA if another did.
   */
  async build(leaf: Uint8Array, pool: readonly Uint8Array[] = []): Promise<ChainResult> {
    const facts = parsedCertificate(leaf);
    const key = facts ? `${Buffer.from(facts.issuer).toString('hex')}/${facts.authorityKeyId ? Buffer.from(facts.authorityKeyId).toString('hex') : ''}` : undefined;
    if (facts && key && !this.anchorFingerprints.has(facts.fingerprint)) {
      const known = this.paths.get(key);
      // The leaf's own problems are the only ones that differ between two leaves under one problem-free path.
      if (known && verifyIssued(facts, known.issuer) === 'ok')
        return { chain: known.chain, anchor: known.anchor, problems: ownProblems(facts, 0, false, this.now), fetched: [] };
    }
    const built = await buildChain(leaf, pool, this.anchors, { now: this.now });
    const issuer = built.chain[0] ? parsedCertificate(built.chain[0]) : undefined;
    if (key && issuer && built.anchor && built.problems.every((p) => p.index === 0)) {
      this.paths.set(key, { issuer, chain: built.chain, anchor: built.anchor });
      this.byIssuer.set(issuer.fingerprint, { chain: built.chain, anchor: built.anchor });
    }
    return built;
  }

  /**
   * The path of a certificate already known to be signed by the issuer certificate with this SHA-256 fingerprint (a
   * directory sync verified those very bytes before, and a fingerprint names bytes), once a build() in this cache
   * checked that issuer's path at this instant and found no problem; else undefined, and build() must decide. No
   * signature is verified and the leaf is not read: its own checks (validity, critical extensions) are the caller's.
   */
  knownPath(issuerFingerprint: string): ChainResult | undefined {
    const known = this.byIssuer.get(issuerFingerprint);
    return known ? { chain: known.chain, anchor: known.anchor, problems: [], fetched: [] } : undefined;
  }
}
