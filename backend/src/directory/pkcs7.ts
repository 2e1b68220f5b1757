/**
 * userSMIMECertificate (RFC 2798 section 2.8) holds a PKCS#7 / CMS SignedData with no content and no signers, used
 * only to carry certificates ("certs-only", RFC 8551 section 3.6). Outlook publishes the user's certificate(s) there,
 * often with the issuing CA's.
 */
import { certificatesFromCertsOnly, isSmimeError } from '../smime/index.ts';

/** A bundle is a few certificates; a value larger than this is not one worth decoding. */
export const MAX_PKCS7_BYTES = 256 * 1024;

export class Pkcs7Error extends Error {
  override name = 'Pkcs7Error';
}

/** The DER of every certificate in a certs-only SignedData, byte for byte as stored. */
export function certificatesFromPkcs7(der: Uint8Array): Uint8Array[] {
  if (der.length > MAX_PKCS7_BYTES) throw new Pkcs7Error('PKCS#7 value too large');
  try {
    // The engine's SignedData reader (the one that reads signed mail): strict about the structure, with its limits.
    return certificatesFromCertsOnly(der);
  } catch (e) {
    if (isSmimeError(e)) throw new Pkcs7Error(e.message);
    throw e;
  }
}
