// A "certs-only" SignedData (RFC 8551 section 3.6): no content, no signers, only certificates. Outlook publishes a
// user's certificate(s) in the directory this way (userSMIMECertificate, RFC 2798 section 2.8), often with the issuing
// CA's, and CAs serve intermediates at AIA caIssuers URLs as .p7c files. Read with the same reader as a signed
// message (read.ts), so there is one SignedData parser with one set of limits.

import { BerError } from '../../asn1/reader.ts';
import { SmimeError } from '../../errors.ts';
import { parsedCertificate } from '../../x509/certificate.ts';
import { signedDataNode, signedDataParts } from './read.ts';

/**
 * The DER of every X.509 certificate in a certs-only SignedData, byte for byte as it was given (a fingerprint must
 * be the one the publisher's certificate has). Other CertificateChoices are skipped. Throws SmimeError CERT_MALFORMED
 * when `bytes` is not one BER-encoded signed-data ContentInfo, or when a certificate in it cannot be read: a bundle is
 * published as a whole, and one damaged certificate says the value was damaged.
 */
export function certificatesFromCertsOnly(bytes: Uint8Array): Uint8Array[] {
  let certificates: Uint8Array[];
  try {
    certificates = signedDataParts(signedDataNode(bytes)).certificates;
  } catch (e) {
    if (e instanceof BerError)
      throw new SmimeError('CERT_MALFORMED', `not a PKCS#7 certs-only SignedData: ${e.message}`);
    throw e;
  }
  // Read once here; parsedCertificate keeps what it read for the checks that follow (chain, usability).
  const bad = certificates.findIndex((der) => parsedCertificate(der) === undefined);
  if (bad >= 0) throw new SmimeError('CERT_MALFORMED', `certificate ${bad + 1} of the PKCS#7 bundle cannot be read`);
  return certificates;
}
