/**
 * Revocation status of a certificate (issue 3): OCSP first (RFC 6960, the AIA id-ad-ocsp URL), then the CRL
 * distribution points (RFC 5280 section 5). The network is reached only through the injected Fetcher.
 *
 * Nothing is believed without proof: an OCSP response must be signed by the issuer itself or by a delegated responder
 * certificate that the issuer signed and that carries id-kp-OCSPSigning (RFC 6960 section 4.2.2.2), must be about this
 * certificate (CertID), must echo our nonce if it carries one, and must be fresh (thisUpdate not in the future,
 * nextUpdate not past, both with CLOCK_SKEW_S). A CRL must be signed by the issuer (keyUsage cRLSign when present), name
 * the issuer, be fresh, and have a scope that covers the certificate. Every failure (timeout, HTTP error, malformed
 * answer, bad signature, unauthorised responder, stale answer, nonce mismatch) is 'unknown' with a detail: never 'good'.
 *
 * Policy: a certificate without any revocation pointer (no OCSP URL, no CRL distribution point) cannot be checked by
 * anyone; the answer is status 'unknown' with source 'none' and detail 'no revocation information', and verification
 * reports the revocation check as 'skipped' rather than 'revocation-unknown' (a warning on every signature of a CA
 * that publishes nothing would teach users to ignore the warning). 'revocation-unknown' is kept for checks that were
 * possible and failed.
 *
 * A revoked certificate is 'revoked' whatever the revocation time: the signing time is the signer's own claim, and a
 * key compromised before the revocation could have signed anything with any date.
 *
 * Results are cached in memory per (certificate, issuer) for cacheTtlS, never past the answer's nextUpdate; failures
 * for UNKNOWN_CACHE_TTL_S so an unreachable responder is not asked again for every message.
 */
import { randomBytes } from 'node:crypto';
import { isSmimeError } from '../errors.ts';
import { BerError } from '../asn1/reader.ts';
import {
  digest,
  publicKey,
  signatureScheme,
  UnsupportedAlgorithmError,
  verifySignature,
} from '../crypto/signature-algorithms.ts';
import { parsedCertificate, sameBytes, type CertificateFacts } from './certificate.ts';
import { validityAt } from '../usable.ts';
import {
  buildOcspRequest,
  certIdFor,
  crlEntry,
  encodedNonce,
  findResponse,
  OcspStatusError,
  parseCrl,
  parseOcspResponse,
  type Crl,
} from './ocsp-crl.ts';
import { verifyIssued } from './path-checks.ts';
import type { Fetcher } from '../types.ts';
import { OID_KP_OCSP_SIGNING } from '../asn1/oids.ts';

export interface RevocationResult {
  status: 'good' | 'revoked' | 'unknown';
  /** Where the answer came from; 'none' = the certificate names no OCSP responder and no CRL (see the header). */
  source: 'ocsp' | 'crl' | 'none';
  detail: string;
  /** ISO 8601, for 'revoked'. */
  revokedAt?: string;
  /** RFC 5280 section 5.3.1 reason name, for 'revoked' when given. */
  reason?: string;
}

/**
 * What signature verification needs of a revocation checker: a path's status. A RevocationChecker is one; a message
 * verified in a worker thread (issue 16) asks the main thread's checker through this, so that every thread shares one
 * cache and one network policy.
 */
export interface PathRevocationChecker {
  checkPath(path: readonly Uint8Array[], at: Date, label: (i: number) => string): Promise<PathRevocation>;
}

/** A whole path's revocation status (RevocationChecker.checkPath). */
export interface PathRevocation {
  status: 'good' | 'revoked' | 'unknown' | 'none';
  detail: string;
}

export interface RevocationOptions {
  /** How long an answer is reused (never past its nextUpdate). */
  cacheTtlS: number;
  /** The longest one check may take, OCSP and CRL together. */
  timeoutMs: number;
  /** Cached answers at most (oldest dropped first). */
  maxCacheEntries: number;
  /** Clock difference tolerated against thisUpdate/nextUpdate. */
  clockSkewS: number;
  /** Age accepted for an answer without nextUpdate (RFC 6960 section 4.2.2.1: "newer information is always available"). */
  maxAgeWithoutNextUpdateS: number;
  /** Send a nonce in OCSP requests (RFC 8954). Responders that ignore it are fine; a wrong echoed nonce is refused. */
  ocspNonce: boolean;
}

/** An hour: revocation news travels in hours (OCSP answers are typically valid for days). */
export const DEFAULT_CACHE_TTL_S = 3600;
/** Failed checks are retried after a minute, not for every message. */
export const UNKNOWN_CACHE_TTL_S = 60;
export const DEFAULT_REVOCATION_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_CACHE_ENTRIES = 10_000;
/** Five minutes, the usual tolerance between a responder's clock and ours. */
export const CLOCK_SKEW_S = 300;
/** A week, for answers without nextUpdate. */
export const MAX_AGE_WITHOUT_NEXT_UPDATE_S = 7 * 24 * 3600;
/** OCSP URLs and CRL distribution points tried per certificate: the first two of each. */
export const MAX_URLS_PER_METHOD = 2;
/** CRLs kept parsed in memory (each up to the fetcher's 10 MiB). */
export const MAX_CACHED_CRLS = 4;

const DEFAULTS: RevocationOptions = {
  cacheTtlS: DEFAULT_CACHE_TTL_S,
  timeoutMs: DEFAULT_REVOCATION_TIMEOUT_MS,
  maxCacheEntries: DEFAULT_MAX_CACHE_ENTRIES,
  clockSkewS: CLOCK_SKEW_S,
  maxAgeWithoutNextUpdateS: MAX_AGE_WITHOUT_NEXT_UPDATE_S,
  ocspNonce: true,
};

/** RFC 5280 section 5.3.1 CRLReason. */
const REASONS = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  '(7)',
  'removeFromCRL',
  'privilegeWithdrawn',
  'aACompromise',
];

interface Window {
  thisUpdate: Date;
  nextUpdate?: Date;
}

interface Outcome {
  result: RevocationResult;
  /** The answer's validity window (absent for failures). */
  window?: Window;
}

interface CacheEntry {
  result: RevocationResult;
  expiresAt: number;
  /** The answer's validity window: a cached answer is reused only for instants inside it. */
  window?: Window;
}

const httpUrls = (urls: string[]) => urls.filter((u) => /^https?:\/\//i.test(u)).slice(0, MAX_URLS_PER_METHOD);

class CheckFailed extends Error {}

/** One revocation question: is `c`, issued by `i`, revoked at `at`, asked of these responders and CRLs in order. */
interface Query {
  c: CertificateFacts;
  i: CertificateFacts;
  ocspUrls: string[];
  crlUrls: string[];
  at: Date;
}

export class RevocationChecker implements PathRevocationChecker {
  readonly options: Readonly<RevocationOptions>;
  private readonly fetcher: Fetcher;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly crls = new Map<string, { crl: Crl; expiresAt: number }>();
  private readonly inflight = new Map<string, Promise<RevocationResult>>();

  constructor(fetcher: Fetcher, options: Partial<RevocationOptions> = {}) {
    for (const key of Object.keys(options))
      if (!(key in DEFAULTS)) throw new TypeError(`RevocationChecker: unknown option ${key}`);
    const merged = { ...DEFAULTS, ...options };
    for (const key of [
      'cacheTtlS',
      'timeoutMs',
      'maxCacheEntries',
      'clockSkewS',
      'maxAgeWithoutNextUpdateS',
    ] as const) {
      if (!Number.isFinite(merged[key]) || merged[key] < 0)
        throw new TypeError(`RevocationChecker: ${key} must be a non-negative number`);
    }
    this.fetcher = fetcher;
    this.options = merged;
  }

  /** The revocation status of `cert` (DER), issued by `issuer` (DER), at instant `at`. Never throws on bad input. */
  async check(cert: Uint8Array, issuer: Uint8Array, at: Date = new Date()): Promise<RevocationResult> {
    const c = parsedCertificate(cert);
    const i = parsedCertificate(issuer);
    if (!c || !i) return { status: 'unknown', source: 'none', detail: 'certificate cannot be parsed' };
    if (!sameBytes(c.issuer, i.subject))
      return { status: 'unknown', source: 'none', detail: 'the issuer given did not issue this certificate' };
    const ocsp = httpUrls(c.ocspUrls);
    const crl = httpUrls(c.crlUrls);
    if (ocsp.length === 0 && crl.length === 0)
      return { status: 'unknown', source: 'none', detail: 'no revocation information' };

    const key = `${c.fingerprint}/${i.fingerprint}`;
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > Date.now() && (!hit.window || this.inWindow(hit.window, at))) return hit.result;
    const flight = `${key}@${at.getTime()}`;
    const running = this.inflight.get(flight);
    if (running) return running;
    const work = this.run({ c, i, ocspUrls: ocsp, crlUrls: crl, at }).then(({ result, window }) => {
      this.remember(key, result, at, window);
      return result;
    });
    this.inflight.set(flight, work);
    try {
      return await work;
    } finally {
      this.inflight.delete(flight);
    }
  }

  /**
   * The status of a certification path `[leaf, ...chain]` (chain as buildChain gives it, ending at the anchor): each
   * certificate checked against the next, the anchor itself not (nobody above it can revoke it). The worst answer
   * wins: revoked, then unknown (a check that was possible and failed), then none (nothing names revocation
   * information, or there is no issuer to check against), else good. `label` names position i in the detail.
   * Signature verification and directory resolution share this, so both decide revocation the same way.
   */
  async checkPath(path: readonly Uint8Array[], at: Date, label: (i: number) => string): Promise<PathRevocation> {
    if (path.length < 2) return { status: 'none', detail: 'no issuer certificate to check against' };
    const results = await Promise.all(path.slice(0, -1).map((cert, i) => this.check(cert, path[i + 1]!, at)));
    const list = (pick: (r: RevocationResult) => boolean) =>
      results
        .map((r, i) => [r, i] as const)
        .filter(([r]) => pick(r))
        .map(([r, i]) => `${label(i)}: ${r.detail}`)
        .join('; ');
    if (results.some((r) => r.status === 'revoked'))
      return { status: 'revoked', detail: list((r) => r.status === 'revoked') };
    const failed = (r: RevocationResult) => r.status === 'unknown' && r.source !== 'none';
    if (results.some(failed)) return { status: 'unknown', detail: list(failed) };
    if (results.every((r) => r.source === 'none'))
      return {
        status: 'none',
        detail: 'no revocation information (no OCSP responder or CRL named in the certificates)',
      };
    return { status: 'good', detail: list(() => true) };
  }

  private async run(q: Query): Promise<Outcome> {
    const { ocspUrls } = q;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Outcome>((resolve) => {
      timer = setTimeout(
        () =>
          resolve({
            result: {
              status: 'unknown',
              source: ocspUrls.length ? 'ocsp' : 'crl',
              detail: `no answer within ${this.options.timeoutMs} ms`,
            },
          }),
        this.options.timeoutMs,
      );
      timer.unref();
    });
    try {
      return await Promise.race([this.attempt(q), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async attempt({ c, i, ocspUrls, crlUrls, at }: Query): Promise<Outcome> {
    const failures: string[] = [];
    for (const url of ocspUrls) {
      try {
        const r = await this.ocsp(url, c, i, at);
        if (r.result.status !== 'unknown') return r;
        failures.push(`OCSP ${url}: ${r.result.detail}`);
      } catch (e) {
        failures.push(`OCSP ${url}: ${reason(e)}`);
      }
    }
    for (const url of crlUrls) {
      try {
        const r = await this.crl(url, c, i, at);
        // Keep why OCSP did not answer: evidence for whoever reads the check.
        return failures.length
          ? { ...r, result: { ...r.result, detail: `${r.result.detail}; ${failures.join('; ')}` } }
          : r;
      } catch (e) {
        failures.push(`CRL ${url}: ${reason(e)}`);
      }
    }
    return { result: { status: 'unknown', source: ocspUrls.length ? 'ocsp' : 'crl', detail: failures.join('; ') } };
  }

  private inWindow(w: Window, at: Date): boolean {
    const skew = this.options.clockSkewS * 1000;
    if (w.thisUpdate.getTime() - skew > at.getTime()) return false;
    const end = w.nextUpdate
      ? w.nextUpdate.getTime()
      : w.thisUpdate.getTime() + this.options.maxAgeWithoutNextUpdateS * 1000;
    return at.getTime() <= end + skew;
  }

  private fresh(w: Window, at: Date, what: string): void {
    if (w.thisUpdate.getTime() - this.options.clockSkewS * 1000 > at.getTime())
      throw new CheckFailed(`${what} thisUpdate ${w.thisUpdate.toISOString()} is in the future`);
    if (!this.inWindow(w, at))
      throw new CheckFailed(
        `${what} is stale (${w.nextUpdate ? `nextUpdate ${w.nextUpdate.toISOString()}` : `thisUpdate ${w.thisUpdate.toISOString()}`})`,
      );
  }

  private remember(key: string, result: RevocationResult, at: Date, window: Window | undefined): void {
    let ttl =
      (result.status === 'unknown' ? Math.min(UNKNOWN_CACHE_TTL_S, this.options.cacheTtlS) : this.options.cacheTtlS) *
      1000;
    if (window?.nextUpdate) ttl = Math.min(ttl, Math.max(0, window.nextUpdate.getTime() - at.getTime()));
    if (ttl <= 0 || this.options.maxCacheEntries === 0) return;
    this.cache.delete(key);
    this.cache.set(key, { result, expiresAt: Date.now() + ttl, ...(window ? { window } : {}) });
    while (this.cache.size > this.options.maxCacheEntries) this.cache.delete(this.cache.keys().next().value!);
  }

  private async ocsp(url: string, c: CertificateFacts, i: CertificateFacts, at: Date): Promise<Outcome> {
    const nonce = randomBytes(16);
    const request = buildOcspRequest(certIdFor(c, i), this.options.ocspNonce ? nonce : undefined);
    const body = await this.fetcher.fetch({
      url,
      method: 'POST',
      body: request,
      contentType: 'application/ocsp-request',
      purpose: 'ocsp',
    });
    const response = parseOcspResponse(body);
    const single = findResponse(response, c, i);
    if (!single) throw new CheckFailed('the response is not about this certificate');

    // Who signed it: the issuer itself, or a responder certificate the issuer delegated OCSP signing to.
    const signer = this.authorisedResponder(response, i, at);
    const scheme = signatureScheme(response.signatureAlgorithm);
    if (!verifySignature(scheme, publicKey(signer.spki), response.tbs, response.signature))
      throw new CheckFailed('the response signature does not verify');
    if (this.options.ocspNonce && response.nonce) {
      const ours = encodedNonce(nonce);
      if (!sameBytes(response.nonce, ours) && !sameBytes(response.nonce, nonce))
        throw new CheckFailed('the response carries another nonce (replayed?)');
    }
    const window: Window = {
      thisUpdate: single.thisUpdate,
      ...(single.nextUpdate ? { nextUpdate: single.nextUpdate } : {}),
    };
    this.fresh(window, at, 'the response');
    const when = `thisUpdate ${single.thisUpdate.toISOString()}${single.nextUpdate ? `, nextUpdate ${single.nextUpdate.toISOString()}` : ''}`;
    if (single.status === 'good')
      return { result: { status: 'good', source: 'ocsp', detail: `OCSP: good (${when})` }, window };
    if (single.status === 'revoked') {
      const reasonName = single.revocationReason !== undefined ? REASONS[single.revocationReason] : undefined;
      return {
        result: {
          status: 'revoked',
          source: 'ocsp',
          detail: `OCSP: revoked on ${single.revokedAt!.toISOString()}${reasonName ? ` (${reasonName})` : ''}`,
          revokedAt: single.revokedAt!.toISOString(),
          ...(reasonName ? { reason: reasonName } : {}),
        },
        window,
      };
    }
    return { result: { status: 'unknown', source: 'ocsp', detail: 'the responder does not know this certificate' } };
  }

  private authorisedResponder(
    response: ReturnType<typeof parseOcspResponse>,
    issuer: CertificateFacts,
    at: Date,
  ): CertificateFacts {
    const id = response.responderId;
    const names = (c: CertificateFacts) =>
      'byName' in id ? sameBytes(id.byName, c.subject) : sameBytes(id.byKey, digest('sha1', c.publicKeyBits));
    if (names(issuer)) return issuer;
    for (const der of response.certificates) {
      const r = parsedCertificate(der);
      if (!r || !names(r)) continue;
      // RFC 6960 section 4.2.2.2: issued directly by the CA that issued the certificate in question, with
      // id-kp-OCSPSigning in its extendedKeyUsage; we also require it to be valid now.
      if (!sameBytes(r.issuer, issuer.subject) || verifyIssued(r, issuer) !== 'ok')
        throw new CheckFailed('the response is signed by a responder the issuer did not authorise');
      if (!r.extendedKeyUsage?.includes(OID_KP_OCSP_SIGNING))
        throw new CheckFailed('the responder certificate lacks id-kp-OCSPSigning');
      if (validityAt(r, at) !== 'valid')
        throw new CheckFailed('the responder certificate is not valid at the time of the check');
      return r;
    }
    throw new CheckFailed('the response is signed by a responder the issuer did not authorise');
  }

  private async crl(url: string, c: CertificateFacts, i: CertificateFacts, at: Date): Promise<Outcome> {
    const cacheKey = `${url} ${i.fingerprint}`;
    let crl = this.crls.get(cacheKey);
    if (!crl || crl.expiresAt <= Date.now()) {
      const body = await this.fetcher.fetch({ url, method: 'GET', purpose: 'crl' });
      const parsed = parseCrl(body);
      if (!sameBytes(parsed.issuer, i.subject))
        throw new CheckFailed('the CRL is issued by someone else (indirect CRLs are not supported)');
      if (i.keyUsage && !i.keyUsage.has('cRLSign')) throw new CheckFailed('the issuer may not sign CRLs (keyUsage)');
      if (!verifySignature(signatureScheme(parsed.signatureAlgorithm), publicKey(i.spki), parsed.tbs, parsed.signature))
        throw new CheckFailed('the CRL signature does not verify');
      crl = { crl: parsed, expiresAt: Date.now() + this.options.cacheTtlS * 1000 };
      this.crls.delete(cacheKey);
      this.crls.set(cacheKey, crl);
      while (this.crls.size > MAX_CACHED_CRLS) this.crls.delete(this.crls.keys().next().value!);
    }
    const list = crl.crl;
    const window: Window = { thisUpdate: list.thisUpdate, ...(list.nextUpdate ? { nextUpdate: list.nextUpdate } : {}) };
    this.fresh(window, at, 'the CRL');
    const isCa = c.basicConstraints?.ca === true;
    if ((list.onlyUserCerts && isCa) || (list.onlyCaCerts && !isCa))
      throw new CheckFailed('the CRL does not cover this kind of certificate');
    const entry = crlEntry(list, c.serial);
    const when = `thisUpdate ${list.thisUpdate.toISOString()}${list.nextUpdate ? `, nextUpdate ${list.nextUpdate.toISOString()}` : ''}`;
    // removeFromCRL (8) appears only in delta CRLs (RFC 5280 section 5.3.1), which are refused while parsing.
    if (!entry) return { result: { status: 'good', source: 'crl', detail: `CRL: not listed (${when})` }, window };
    const reasonName = entry.reason !== undefined ? REASONS[entry.reason] : undefined;
    return {
      result: {
        status: 'revoked',
        source: 'crl',
        detail: `CRL: revoked on ${entry.revokedAt.toISOString()}${reasonName ? ` (${reasonName})` : ''}`,
        revokedAt: entry.revokedAt.toISOString(),
        ...(reasonName ? { reason: reasonName } : {}),
      },
      window,
    };
  }
}

function reason(e: unknown): string {
  if (e instanceof CheckFailed || e instanceof OcspStatusError || e instanceof UnsupportedAlgorithmError)
    return e.message;
  if (e instanceof BerError) return `malformed answer (${e.message})`;
  if (isSmimeError(e)) return `${e.code}: ${e.message}`;
  return `unexpected failure (${e instanceof Error ? e.name : typeof e})`;
}
