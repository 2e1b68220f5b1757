/**
 * userSMIMECertificate (RFC 2798 section 2.8) holds a PKCS#7 / CMS SignedData with no content and no signers, used
 * only to carry certificates ("certs-only", RFC 8551 section 3.6). Outlook publishes the user's certificate(s) there,
 * often with the issuing CA's.
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

/** A bundle is a few certificates; a value larger than this is not one worth decoding. */
export const MAX_PKCS7_BYTES = 256 * 1024;

export class Pkcs7Error extends Error {
  override name = 'Pkcs7Error';
}

/** The DER of every certificate in a certs-only SignedData, byte for byte as stored. */
export function certificatesFromPkcs7(der: Uint8Array): Uint8Array[] {
  if (der.length > MAX_PKCS7_BYTES) throw new Pkcs7Error('PKCS#7 value too large');
  let asn: ReturnType<typeof asn1js.fromBER>;
  try {
    asn = asn1js.fromBER(der);
  } catch (e) {
    // asn1js throws a bare Error for some malformed primitives (a GeneralizedTime that is not a time; found by
    // test/fuzz, regression case in test/fuzz/findings/).
    throw new Pkcs7Error(`not DER: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (asn.offset === -1 || asn.offset !== der.length) throw new Pkcs7Error('not one DER value');
  let contentInfo: pkijs.ContentInfo;
  let signedData: pkijs.SignedData;
  try {
    contentInfo = new pkijs.ContentInfo({ schema: asn.result });
    if (contentInfo.contentType !== pkijs.ContentInfo.SIGNED_DATA) throw new Pkcs7Error('not a SignedData');
    // Parsing validates the whole structure against RFC 5652 section 5.1.
    signedData = new pkijs.SignedData({ schema: contentInfo.content });
  } catch (e) {
    if (e instanceof Pkcs7Error) throw e;
    throw new Pkcs7Error(`not a PKCS#7 SignedData: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!signedData.certificates?.length) return [];
  // Take the original bytes of each certificate rather than pkijs' re-encoding: the fingerprint must be the one the
  // directory's certificate has. SignedData ::= SEQUENCE { version, digestAlgorithms, encapContentInfo,
  // certificates [0] IMPLICIT CertificateSet OPTIONAL, ... }; CertificateChoices other than a plain Certificate
  // (the [0]..[3] alternatives) are skipped.
  const sd = contentInfo.content as asn1js.Sequence;
  const set = sd.valueBlock.value.find((n) => n.idBlock.tagClass === 3 && n.idBlock.tagNumber === 0) as asn1js.Constructed | undefined;
  if (!set) return [];
  return set.valueBlock.value
    .filter((n) => n.idBlock.tagClass === 1 && n.idBlock.tagNumber === 16)
    .map((n) => new Uint8Array(n.valueBeforeDecodeView));
}
