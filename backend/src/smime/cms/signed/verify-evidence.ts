// What verify.ts hands each step of a SignerInfo's evaluation: the settings, the message's context, and the
// Evidence that collects each check and the statuses it implies.

import type { PathRevocationChecker } from '../../x509/revocation.ts';
import type { Check, CheckName, Fetcher, SignatureEvidence, SignatureStatus } from '../../types.ts';
import { SIGNATURE_STATUSES } from '../../types.ts';
import type { VerifyOptions, VerifyPolicy } from './verify.ts';
import type { HashName } from '../../asn1/oids.ts';

export interface Settings {
  anchors: Uint8Array[];
  intermediates: Uint8Array[];
  from?: string[];
  fromProblem?: string;
  now: Date;
  revocation?: PathRevocationChecker;
  fetcher?: Fetcher;
  knownSigners?: VerifyOptions['knownSigners'];
  policy: VerifyPolicy;
}

export interface Context {
  content: Uint8Array;
  /** The detached content had bare LF line endings, read as CRLF. */
  canonicalized: boolean;
  /** Detached signature whose SignedData nevertheless carries eContent. */
  embeddedContent: boolean;
  eContentType: string;
  messageCertificates: Uint8Array[];
  pool: Uint8Array[];
  settings: Settings;
  digests: Map<HashName, Uint8Array>;
}

export function malformed(detail: string): SignatureEvidence {
  return { status: 'malformed', chain: [], checks: [{ name: 'structure', outcome: 'fail', detail }] };
}

/** One SignerInfo's checks and the statuses they imply. */
export class Evidence {
  readonly checks: Check[] = [];
  private readonly statuses: SignatureStatus[] = [];

  add(name: CheckName, outcome: Check['outcome'], detail: string, status?: SignatureStatus): void {
    this.checks.push({ name, outcome, detail });
    if (status) this.statuses.push(status);
  }

  flag(status: SignatureStatus): void {
    this.statuses.push(status);
  }

  private readonly warnings: string[] = [];

  /** Something the reader should know that does not change the status (see SignatureEvidence.warnings). */
  warn(text: string): void {
    this.warnings.push(text);
  }

  /** The status, the checks, and the warnings when there are any: what the evidence says. */
  outcome(): { status: SignatureStatus; checks: Check[]; warnings?: string[] } {
    return {
      status: this.status(),
      checks: this.checks,
      ...(this.warnings.length > 0 ? { warnings: [...this.warnings] } : {}),
    };
  }

  has(...statuses: SignatureStatus[]): boolean {
    return this.statuses.some((s) => statuses.includes(s));
  }

  status(): SignatureStatus {
    let worst: SignatureStatus = 'valid';
    for (const s of this.statuses) if (SIGNATURE_STATUSES.indexOf(s) < SIGNATURE_STATUSES.indexOf(worst)) worst = s;
    return worst;
  }
}
