// PEM (RFC 7468) for certificates: armour, the blocks of a bundle, and trust anchors from a bundle.

import { SmimeError } from '../errors.ts';
import { certificateParts } from './raw.ts';

/** PEM armour of RFC 7468 section 5: base64 in 64-character lines. Ends with a newline, so PEMs concatenate. */
export function certificateToPem(der: Uint8Array): string {
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.length).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

// RFC 7468 section 5.1 label CERTIFICATE; "X509 CERTIFICATE" is an old OpenSSL spelling of the same thing.
const PEM_BLOCK = /-----BEGIN (X509 )?CERTIFICATE-----([^-]*)-----END \1?CERTIFICATE-----/g;
const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The DER of every CERTIFICATE block in `pem`, in order; text outside the blocks (OpenSSL's "subject=" lines,
 * other PEM types) is ignored. A block whose body is not base64 of a certificate is CERT_MALFORMED.
 */
export function pemToDer(pem: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const match of pem.matchAll(PEM_BLOCK)) {
    const body = (match[2] ?? '').replace(/\s+/g, '');
    if (!BASE64_BODY.test(body) || body.length % 4 !== 0)
      throw new SmimeError('CERT_MALFORMED', 'A PEM certificate block is not valid base64');
    const der = new Uint8Array(Buffer.from(body, 'base64'));
    try {
      certificateParts(der);
    } catch (cause) {
      throw new SmimeError('CERT_MALFORMED', 'A PEM certificate block does not contain a certificate', { cause });
    }
    out.push(der);
  }
  return out;
}

/**
 * The DER certificates of a PEM bundle (SMIME_TRUST_ANCHORS), de-duplicated. Throws SmimeError CERT_MALFORMED for a
 * block that is not a certificate: a broken trust store is a configuration error to report at start-up.
 */
export function loadTrustAnchors(pem: string): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  for (const der of pemToDer(pem)) {
    const key = Buffer.from(der).toString('base64');
    if (!seen.has(key)) {
      seen.add(key);
      out.push(der);
    }
  }
  return out;
}
