import { parsedCertificate, type CertificateFacts } from './certificate.ts';
import { buildChain, type ChainResult } from './chain.ts';
import { ownProblems, verifyIssuedAsync } from './path-checks.ts';

/**
 * buildChain for many certificates from a few issuers (a directory sync reads thousands, issue 12): the path above an
 * issuer is built and checked once per cache, and every further certificate naming that issuer costs one signature
 * verification against it, not a path search. Only a problem-free path is reused, and only for a certificate whose
 * signature that issuer's key verifies; anything else goes through buildChain in full, so every answer is one that
 * buildChain gives. One cache serves one instant (`now`): make a new one for each run.
 *
 * The signature against a known issuer is verified on the verification thread (verifyIssuedAsync, issue 16), so a caller
 * that builds many paths at once keeps the main thread free meanwhile; the first build under an issuer that has no
 * checked path yet makes the others under it wait for its answer instead of each searching the same path.
 */
export class ChainCache {
  private readonly anchorFingerprints: Set<string>;
  private readonly now: Date;
  /** By issuer name and authority key identifier: the issuer certificate and the checked path above the leaf. */
  private readonly paths = new Map<string, { issuer: CertificateFacts; chain: Uint8Array[]; anchor: Uint8Array }>();
  /** The same paths by the issuer certificate's fingerprint. */
  private readonly byIssuer = new Map<string, { chain: Uint8Array[]; anchor: Uint8Array }>();
  /** Full builds under way, by the same key as `paths`: a build under that issuer waits for it first. */
  private readonly building = new Map<string, Promise<unknown>>();

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
    const key = facts
      ? `${Buffer.from(facts.issuer).toString('hex')}/${facts.authorityKeyId ? Buffer.from(facts.authorityKeyId).toString('hex') : ''}`
      : undefined;
    if (facts && key && !this.anchorFingerprints.has(facts.fingerprint)) {
      const pending = this.building.get(key);
      if (pending) await pending;
      const known = this.paths.get(key);
      // The leaf's own problems are the only ones that differ between two leaves under one problem-free path.
      if (known && (await verifyIssuedAsync(facts, known.issuer)) === 'ok')
        return {
          chain: known.chain,
          anchor: known.anchor,
          problems: ownProblems(facts, 0, false, this.now),
          fetched: [],
        };
    }
    const task = this.buildAndRemember(facts ?? leaf, pool, key);
    if (key && !this.building.has(key) && !this.paths.has(key)) {
      const settled = task.then(
        () => undefined,
        () => undefined,
      );
      this.building.set(key, settled);
      void settled.then(() => this.building.delete(key));
    }
    return task;
  }

  private async buildAndRemember(
    leaf: Uint8Array | CertificateFacts,
    pool: readonly Uint8Array[],
    key: string | undefined,
  ): Promise<ChainResult> {
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
