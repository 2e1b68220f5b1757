// A private key object from PKCS#8 bytes, the form the vault stores and unwraps for every operation (issue 16).
//
// Why not always createPrivateKey(type 'pkcs8'): OpenSSL 3 decodes PKCS#8 through its decoder framework, which costs
// about 0.34 ms of CPU for an RSA-2048 key against 0.12 ms for the same key as PKCS#1 RSAPrivateKey (measured on the
// bench machine); the vault unwraps the key for every request that signs or decrypts, by design (the server never
// keeps an unwrapped key between requests). For rsaEncryption, the PrivateKeyInfo's privateKey OCTET STRING is
// exactly that RSAPrivateKey (RFC 5208 section 5, RFC 8017 appendix A.1.2), so it is handed to OpenSSL as PKCS#1: the
// same key. The PKCS#1 bytes are a view of the caller's buffer, never a copy, so the caller's wipe still covers them.
// Anything else (EC, Ed25519, X25519, RSASSA-PSS, or bytes this reader does not take) goes the PKCS#8 way as before,
// and a damaged key fails there with OpenSSL's error, as before.

import { createPrivateKey, type KeyObject } from 'node:crypto';
import { OID_RSA_ENCRYPTION } from '../asn1/oids.ts';
import { algorithm, BerError, content, expect, readOne, sequence, smallInteger, UNIVERSAL } from '../asn1/reader.ts';

/** The RSAPrivateKey inside a PrivateKeyInfo of an rsaEncryption key (a view), or undefined for anything else. */
function rsaPrivateKeyOf(pkcs8: Uint8Array): Uint8Array | undefined {
  try {
    // PrivateKeyInfo ::= SEQUENCE { version, privateKeyAlgorithm, privateKey OCTET STRING, [0] attributes OPTIONAL }
    // (OneAsymmetricKey, RFC 5958, adds [1] publicKey under version 1).
    const [version, alg, key] = sequence(readOne(pkcs8, 'PrivateKeyInfo'), 'PrivateKeyInfo');
    smallInteger(version, 'version', 0, 1);
    const { oid, params } = algorithm(alg, 'privateKeyAlgorithm');
    // rsaEncryption's parameters are NULL (RFC 8017 appendix C): `algorithm` reports NULL as absent.
    if (oid !== OID_RSA_ENCRYPTION || params !== undefined) return undefined;
    return content(expect(key, UNIVERSAL.OCTET_STRING, 'privateKey'));
  } catch (e) {
    if (e instanceof BerError) return undefined;
    throw e;
  }
}

/** The KeyObject of a PKCS#8 private key; throws what createPrivateKey throws for bytes that are not one. */
export function privateKeyFromPkcs8(pkcs8: Uint8Array): KeyObject {
  const view = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length);
  const rsa = rsaPrivateKeyOf(pkcs8);
  if (rsa) return createPrivateKey({ key: view(rsa), format: 'der', type: 'pkcs1' });
  return createPrivateKey({ key: view(pkcs8), format: 'der', type: 'pkcs8' });
}
