// The checks of a SignerInfo itself (RFC 5652 section 5): its structure and signed attributes, the signer
// certificate it names, the message digest, the contentType attribute and the signature. verify.ts runs them in order.

import { BerError, children, encoding, octets, oid, sequence, time, type Tlv } from '../../asn1/reader.ts';
import { reencode, setOf, toBytes } from '../../asn1/writer.ts';
import {
  digest,
  digestName,
  publicKey,
  signatureScheme,
  UnsupportedAlgorithmError,
  verifySignature,
  type SignatureScheme,
} from '../../crypto/signature-algorithms.ts';
import { keyIdentifier, parsedCertificate, sameBytes, type CertificateFacts } from '../../x509/certificate.ts';
import {
  CONTENT_CIPHER_OID,
  type HashName,
  OID_CONTENT_TYPE,
  OID_DATA,
  OID_MESSAGE_DIGEST,
  OID_SIGNING_TIME,
  OID_SMIME_CAPABILITIES,
} from '../../asn1/oids.ts';
import type { Attribute, SignerInfoParts } from './read.ts';
import type { Context, Evidence } from './verify-evidence.ts';

/** RFC 5652 section 11 and RFC 8551 section 2.5.2: the signed attributes we read. */

/** RFC 3565, RFC 5084 and RFC 8103 content ciphers a correspondent may announce, in our names (outgoing.ts). */
export const CAPABILITY_NAMES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(CONTENT_CIPHER_OID).map(([name, oid]) => [oid, name]),
);

export const SCHEME_LABELS: Readonly<Record<SignatureScheme['name'], string>> = {
  'rsa-pkcs1-v1_5': 'RSA PKCS#1 v1.5',
  'rsa-pss': 'RSA-PSS',
  ecdsa: 'ECDSA',
  ed25519: 'Ed25519',
};

export function single(attrs: Attribute[], type: string): { value?: Tlv; error?: string } {
  const found = attrs.filter((a) => a.oid === type);
  if (found.length === 0) return {};
  // RFC 5652 section 11.1-11.3: at most one instance, and exactly one value.
  if (found.length > 1 || found[0]!.values.length !== 1)
    return { error: `signed attribute ${type} must occur once with one value` };
  return { value: found[0]!.values[0]! };
}

export function structure(si: SignerInfoParts, eContentType: string): string | undefined {
  // RFC 5652 section 5.3: version 1 with issuerAndSerialNumber, 3 with subjectKeyIdentifier.
  const expected = si.sid.kind === 'issuer-serial' ? 1 : 3;
  if (si.version !== expected)
    return `SignerInfo version ${si.version} does not match its ${si.sid.kind === 'issuer-serial' ? 'issuerAndSerialNumber' : 'subjectKeyIdentifier'} (expected ${expected})`;
  if (!si.signedAttrs) {
    if (eContentType !== OID_DATA)
      return 'signed attributes are required when the content is not id-data (RFC 5652 section 5.3)';
    return undefined;
  }
  const attrs = si.signedAttrs.attributes;
  for (const type of [OID_CONTENT_TYPE, OID_MESSAGE_DIGEST, OID_SIGNING_TIME]) {
    const s = single(attrs, type);
    if (s.error) return s.error;
  }
  if (!single(attrs, OID_CONTENT_TYPE).value)
    return 'the contentType signed attribute is missing (RFC 5652 section 11.1)';
  if (!single(attrs, OID_MESSAGE_DIGEST).value)
    return 'the messageDigest signed attribute is missing (RFC 5652 section 11.2)';
  return undefined;
}

/** The certificate the SignerInfo's sid names (RFC 5652 section 5.3), parsed once for every later step. */
export function findSigner(si: SignerInfoParts, candidates: Uint8Array[]): CertificateFacts | undefined {
  for (const der of candidates) {
    const facts = parsedCertificate(der);
    if (!facts) continue;
    const match =
      si.sid.kind === 'issuer-serial'
        ? sameBytes(si.sid.issuer, facts.issuer) && sameBytes(si.sid.serial, facts.serial)
        : sameBytes(si.sid.keyId, keyIdentifier(facts)) || sameBytes(si.sid.keyId, facts.subjectKeyId);
    if (match) return facts;
  }
  return undefined;
}

/** The DER encodings of the signed attributes to verify over: DER first, then the bytes as sent if they differ. */
export function signedAttributesInputs(node: Tlv): Uint8Array[] {
  const asSent = new Uint8Array(encoding(node));
  asSent[0] = 0x31; // [0] IMPLICIT -> SET OF (RFC 5652 section 5.4)
  let canonical: Uint8Array | undefined;
  try {
    canonical = toBytes(setOf(children(node).map(reencode)));
  } catch (e) {
    if (!(e instanceof BerError)) throw e;
  }
  if (!canonical) return node.indefinite ? [] : [asSent];
  return sameBytes(canonical, asSent) || node.indefinite ? [canonical] : [canonical, asSent];
}

export function capabilities(attrs: Attribute[]): string[] | undefined {
  const s = single(attrs, OID_SMIME_CAPABILITIES);
  if (!s.value) return undefined;
  try {
    const out: string[] = [];
    for (const cap of sequence(s.value, 'SMIMECapabilities')) {
      const name = CAPABILITY_NAMES[oid(sequence(cap, 'SMIMECapability')[0], 'capabilityID')];
      if (name && !out.includes(name)) out.push(name);
    }
    return out;
  } catch (e) {
    if (e instanceof BerError) return undefined; // an optional hint; a broken one is ignored, not fatal
    throw e;
  }
}

/** The message-digest check (RFC 5652 section 11.2); the digest of the content is computed once per algorithm. */
export function digestCheck(ev: Evidence, si: SignerInfoParts, ctx: Context): HashName | undefined {
  let digestAlg: HashName | undefined;
  try {
    digestAlg = digestName(si.digestAlgorithm);
  } catch (e) {
    if (!(e instanceof UnsupportedAlgorithmError || e instanceof BerError)) throw e;
    ev.add('message-digest', 'unknown', e.message, e instanceof BerError ? 'malformed' : 'unsupported');
  }
  if (!digestAlg) return undefined;
  const lineEndings = ctx.canonicalized ? ' (bare LF line endings read as CRLF, the canonical form)' : '';
  let contentDigest = ctx.digests.get(digestAlg);
  if (!contentDigest) ctx.digests.set(digestAlg, (contentDigest = digest(digestAlg, ctx.content)));
  if (ctx.embeddedContent) {
    ev.add(
      'message-digest',
      'fail',
      'the detached signature carries its own content (eContent): what was signed is not necessarily the part shown',
      'invalid-signature',
    );
  } else if (si.signedAttrs) {
    const value = single(si.signedAttrs.attributes, OID_MESSAGE_DIGEST).value!;
    let claimed: Uint8Array | undefined;
    try {
      claimed = octets(value, 'messageDigest');
    } catch (e) {
      if (!(e instanceof BerError)) throw e;
    }
    if (!claimed) ev.add('message-digest', 'fail', 'the messageDigest attribute is not an OCTET STRING', 'malformed');
    else if (sameBytes(claimed, contentDigest))
      ev.add('message-digest', 'pass', `${digestAlg} of the content matches the messageDigest attribute${lineEndings}`);
    else
      ev.add(
        'message-digest',
        'fail',
        `${digestAlg} of the content differs from the messageDigest attribute: the content was changed${lineEndings}`,
        'invalid-signature',
      );
  } else {
    ev.add('message-digest', 'skipped', 'no signed attributes: the signature covers the content directly');
  }
  return digestAlg;
}

/** RFC 5652 section 11.1: the contentType attribute must equal eContentType. */
export function contentTypeCheck(ev: Evidence, si: SignerInfoParts, eContentType: string): void {
  if (!si.signedAttrs) return ev.add('content-type', 'skipped', 'no signed attributes');
  let type: string | undefined;
  try {
    type = oid(single(si.signedAttrs.attributes, OID_CONTENT_TYPE).value, 'contentType');
  } catch (e) {
    if (!(e instanceof BerError)) throw e;
  }
  if (type === undefined)
    ev.add('content-type', 'fail', 'the contentType attribute is not an OBJECT IDENTIFIER', 'malformed');
  else if (type === eContentType) ev.add('content-type', 'pass', `contentType ${type} matches eContentType`);
  else
    ev.add(
      'content-type',
      'fail',
      `contentType attribute ${type} differs from eContentType ${eContentType}`,
      'invalid-signature',
    );
}

/** The signature itself, with the signer's key: over the signed attributes (RFC 5652 section 5.4) or the content. */
export function signatureCheck(
  ev: Evidence,
  si: SignerInfoParts,
  ctx: Context,
  signer: CertificateFacts | undefined,
  digestAlg: HashName | undefined,
): { scheme?: SignatureScheme; ok: boolean } {
  let scheme: SignatureScheme | undefined;
  try {
    scheme = signatureScheme(si.signatureAlgorithm, digestAlg);
  } catch (e) {
    if (!(e instanceof UnsupportedAlgorithmError || e instanceof BerError)) throw e;
    ev.add('signature', 'unknown', e.message, e instanceof BerError ? 'malformed' : 'unsupported');
  }
  if (!scheme) return { ok: false };
  if (!signer) {
    ev.add(
      'signature',
      'unknown',
      'the signer certificate is neither in the message nor among the known certificates',
      'untrusted',
    );
    return { scheme, ok: false };
  }
  let key: ReturnType<typeof publicKey> | undefined;
  try {
    key = publicKey(signer.spki);
  } catch (e) {
    if (!(e instanceof UnsupportedAlgorithmError)) throw e;
    ev.add('signature', 'unknown', `signer key: ${e.message}`, 'unsupported');
    return { scheme, ok: false };
  }
  const inputs = si.signedAttrs ? signedAttributesInputs(si.signedAttrs.node) : [ctx.content];
  const ok = inputs.some((data) => verifySignature(scheme, key, data, si.signature));
  const label = `${SCHEME_LABELS[scheme.name]}${scheme.hash ? ` with ${scheme.hash}` : ''}`;
  if (ok)
    ev.add(
      'signature',
      'pass',
      `${label} signature ${si.signedAttrs ? 'over the signed attributes' : 'over the content'} verifies`,
    );
  else ev.add('signature', 'fail', `${label} signature does not verify with the signer's key`, 'invalid-signature');
  return { scheme, ok };
}

/** The signingTime attribute (RFC 5652 section 11.3), if present and readable; a broken one is 'malformed'. */
export function signingTimeOf(ev: Evidence, attrs: Attribute[]): { signingTime?: Date; present: boolean } {
  const timeAttr = single(attrs, OID_SIGNING_TIME).value;
  if (!timeAttr) return { present: false };
  try {
    return { signingTime: time(timeAttr, 'signingTime'), present: true };
  } catch (e) {
    if (!(e instanceof BerError)) throw e;
    ev.add('validity-at-signing', 'fail', 'the signingTime attribute is not a valid time', 'malformed');
    return { present: true };
  }
}
