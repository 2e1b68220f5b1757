// The depth-first path search behind buildChain (chain.ts): candidates by name, each link's signature verified once,
// AIA caIssuers downloads for a missing issuer, the best complete path kept (RFC 4158).

import { BerError } from '../asn1/reader.ts';
import { keyIdentifier, parsedCertificate, sameBytes, type CertificateFacts } from './certificate.ts';
import { validityAt } from '../usable.ts';
import { pemToDer } from './pem.ts';
import { MAX_AIA_CERTIFICATES, MAX_AIA_FETCHES, MAX_CHAIN_LENGTH, MAX_PATH_SEARCH_STEPS } from '../limits.ts';
import { signedDataNode, signedDataParts } from '../cms/signed/read.ts';
import { pathProblems, subjectOf, verifyIssued, type LinkResult } from './path-checks.ts';
import type { BuildChainOptions, ChainProblem } from './chain.ts';
import type { Fetcher } from '../types.ts';

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

export class PathBuilder {
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
      (c.anchor ? 4 : 0) +
      (cert.authorityKeyId && sameBytes(cert.authorityKeyId, keyIdentifier(c.facts)) ? 2 : 0) +
      (validityAt(c.facts, this.now) === 'valid' ? 1 : 0);
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

  private record(path: CertificateFacts[]): void {
    const problems = pathProblems(path, this.now);
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
    else if (named > 0)
      this.deadEndAt(path, {
        code: 'bad-signature',
        detail: 'the signature does not verify with the key of any certificate named as its issuer',
      });
    else if (top.selfIssued)
      this.deadEndAt(path, { code: 'issuer-not-found', detail: 'self-signed certificate that is not a trust anchor' });
    else this.deadEndAt(path, { code: 'issuer-not-found', detail: 'issuer certificate not found' });
  }
}
