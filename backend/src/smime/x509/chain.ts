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
 * directoryName are checked, a name of another constrained form fails closed: name-constraints.ts). A CA whose
 * key leaked, such as the demo CA in the data folder, can then certify only the names it was constrained to (issue 12).
 *
 * Not done (documented limits): certificate policy processing (no policy is claimed), name comparison beyond byte
 * equality of the DER Names (RFC 5280 section 7.1's case-insensitive comparison; conforming CAs encode the issuer
 * exactly as the subject, and a directoryName constraint is compared the same way).
 */
import { parsedCertificate, type CertificateFacts } from './certificate.ts';
import { MAX_POOL_CERTIFICATES } from '../limits.ts';
import { PathBuilder } from './path-builder.ts';
import { subjectOf } from './path-checks.ts';
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

/**
 * Builds and checks a path from `leaf` (DER, or the certificate parsedCertificate gave) to one of `anchors`. `pool` holds candidate intermediates (the message's
 * certificates, the stores' intermediates); certificates that do not parse are ignored. Never throws on bad input.
 */
export async function buildChain(
  leaf: Uint8Array | CertificateFacts,
  pool: readonly Uint8Array[],
  anchors: readonly Uint8Array[],
  options: BuildChainOptions = {},
): Promise<ChainResult> {
  // A verifier passes the signer it already parsed; everyone else passes bytes.
  const leafFacts = leaf instanceof Uint8Array ? parsedCertificate(leaf) : leaf;
  if (!leafFacts) {
    return {
      chain: [],
      problems: [
        {
          code: 'issuer-not-found',
          index: 0,
          subject: '(unparseable certificate)',
          detail: 'the certificate cannot be parsed',
        },
      ],
      fetched: [],
    };
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
    return {
      chain: path.slice(1).map((c) => c.der),
      anchor: path[path.length - 1]!.der,
      problems: builder.best.problems,
      fetched: builder.fetched,
    };
  }
  const dead = builder.deadEnd ?? {
    path: [leafFacts],
    problem: {
      code: 'issuer-not-found' as const,
      index: 0,
      subject: subjectOf(leafFacts),
      detail: 'no path to a trust anchor',
    },
  };
  return { chain: dead.path.slice(1).map((c) => c.der), problems: [dead.problem], fetched: builder.fetched };
}
