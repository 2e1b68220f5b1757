// The recipients of a message we encrypt: each certificate checked (key type, size, curve) before anything is
// encrypted, and written as a RecipientInfo, ktri for RSA (RFC 5652 section 6.2.1) and kari for EC (RFC 5753) and
// X25519 (RFC 8418).

import type { KeyObject } from 'node:crypto';
import * as w from '../../asn1/writer.ts';
import { cmsCrypto } from './primitives.ts';
import { SmimeError } from '../../errors.ts';
import {
  KEY_WRAPS,
  keyAgreementAlgorithm,
  keyAgreementAlgorithmDer,
  keyTransportAlgorithmDer,
  oaepAlgorithm,
  RSA_PKCS1,
  type KeyTransportAlgorithm,
} from './algorithms.ts';
import { OID_EC_PUBLIC_KEY, OID_X25519 } from '../../asn1/oids.ts';
import type { EncryptOptions } from './encrypt.ts';
import { curveOfKey } from './key-agreement.ts';
import { MIN_RSA_ENCRYPTION_BITS } from '../../limits.ts';
import { certificateIdentity, type CertificateIdentity } from './recipient-id.ts';

export interface EnvelopeRecipient {
  /** DER X.509 certificate of the recipient: RSA (key transport), EC P-256/384/521 or X25519 (key agreement). */
  certificate: Uint8Array;
  /** RSA only (ignored for EC certificates): PKCS #1 v1.5, what every client reads (default), or RSAES-OAEP. */
  keyTransport?: 'rsa-pkcs1' | 'rsa-oaep';
}

const RECIPIENT_FIELDS = new Set(['certificate', 'keyTransport']);
const KEY_TRANSPORTS = new Set(['rsa-pkcs1', 'rsa-oaep']);

export interface PreparedRecipient {
  identity: CertificateIdentity;
  publicKey: KeyObject;
  kind: 'rsa' | 'ec' | 'x25519';
  keyTransport: 'rsa-pkcs1' | 'rsa-oaep';
}

/** Checks one recipient of encryptEnvelope; throws SmimeError CMS_INVALID_OPTIONS, CERT_MALFORMED, CMS_UNSUPPORTED. */
export function prepareRecipient(recipient: unknown, index: number): PreparedRecipient {
  if (typeof recipient !== 'object' || recipient === null)
    throw new SmimeError('CMS_INVALID_OPTIONS', `Recipient ${index} is not an object`);
  for (const name of Object.keys(recipient)) {
    if (!RECIPIENT_FIELDS.has(name)) throw new SmimeError('CMS_INVALID_OPTIONS', `Unknown recipient field "${name}"`);
  }
  const { certificate, keyTransport = 'rsa-pkcs1' } = recipient as EnvelopeRecipient;
  if (!KEY_TRANSPORTS.has(keyTransport))
    throw new SmimeError('CMS_INVALID_OPTIONS', `Invalid keyTransport "${String(keyTransport)}"`);
  if (!(certificate instanceof Uint8Array))
    throw new SmimeError('CMS_INVALID_OPTIONS', `Recipient ${index} has no DER certificate`);
  let identity: CertificateIdentity;
  try {
    identity = certificateIdentity(certificate);
  } catch (cause) {
    throw new SmimeError('CERT_MALFORMED', `The certificate of recipient ${index} is malformed`, { cause });
  }
  const publicKey = identity.publicKey;
  const refuse = (why: string) =>
    new SmimeError('CMS_UNSUPPORTED', `Cannot encrypt to "${identity.subjectText}": ${why}`);
  if (!publicKey) throw refuse('its public key cannot be read');
  if (publicKey.asymmetricKeyType === 'rsa') {
    const bits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_ENCRYPTION_BITS)
      throw refuse(`its ${bits}-bit RSA key is below ${MIN_RSA_ENCRYPTION_BITS} bits`);
    return { identity, publicKey, kind: 'rsa', keyTransport };
  }
  if (publicKey.asymmetricKeyType === 'ec') {
    if (!curveOfKey(publicKey))
      throw refuse(
        `its EC curve (${publicKey.asymmetricKeyDetails?.namedCurve ?? 'unknown'}) is not P-256, P-384 or P-521`,
      );
    return { identity, publicKey, kind: 'ec', keyTransport };
  }
  if (publicKey.asymmetricKeyType === 'x25519') return { identity, publicKey, kind: 'x25519', keyTransport };
  throw refuse(
    `its ${publicKey.asymmetricKeyType ?? 'unknown'} key can neither transport nor agree a key (RSA, EC P-256/384/521 or X25519 needed)`,
  );
}

function issuerAndSerialNumber(identity: CertificateIdentity): w.Der {
  return w.sequence(w.encoded(identity.issuer), w.encoded(identity.serialNumber));
}

/** KeyTransRecipientInfo, version 0 with issuerAndSerialNumber (RFC 5652 section 6.2.1). */
function keyTransRecipientInfo(recipient: PreparedRecipient, algorithm: KeyTransportAlgorithm, cek: Uint8Array): w.Der {
  const encryptedKey = cmsCrypto.encryptKeyTransport({ algorithm, publicKey: recipient.publicKey, key: cek });
  return w.sequence(
    w.integer(0),
    issuerAndSerialNumber(recipient.identity),
    keyTransportAlgorithmDer(algorithm),
    w.octetString(encryptedKey),
  );
}

/**
 * KeyAgreeRecipientInfo (RFC 5652 section 6.2.2, RFC 5753 section 3.1.1): version 3, an ephemeral originatorKey
 * (id-ecPublicKey with absent parameters, as OpenSSL writes it: the curve is the recipient's), no ukm, and the wrap
 * sized to the content key (aes256-wrap for AES-256 content, RFC 5753 section 7.1.5 / RFC 8551 section 2.7.1.2).
 * For X25519 (RFC 8418 section 3.1): originatorKey id-X25519 with absent parameters and the raw 32-byte key, and
 * dhSinglePass-stdDH-hkdf-<hash>-scheme, the KDF RFC 8418 section 2.2 adds for the new curves.
 */
function keyAgreeRecipientInfo(
  recipient: PreparedRecipient,
  kdf: Required<EncryptOptions>['ecdhKdf'],
  cek: Uint8Array,
): w.Der {
  const wrap = KEY_WRAPS.find((k) => k.keyLength >= cek.length) ?? KEY_WRAPS[KEY_WRAPS.length - 1]!;
  const algorithm = keyAgreementAlgorithm(kdf, wrap, recipient.kind === 'x25519' ? 'hkdf' : 'x963');
  const { ephemeralPoint, wrappedKey } = cmsCrypto.encryptKeyAgreement({
    algorithm,
    publicKey: recipient.publicKey,
    key: cek,
  });
  const originator = w.tlv(w.contextTag(0, true), [
    w.tlv(w.contextTag(1, true), [
      w.algorithm(recipient.kind === 'x25519' ? OID_X25519 : OID_EC_PUBLIC_KEY),
      w.bitString(ephemeralPoint),
    ]),
  ]);
  const encryptedKeys = w.sequence(w.sequence(issuerAndSerialNumber(recipient.identity), w.octetString(wrappedKey)));
  return w.tlv(w.contextTag(1, true), [w.integer(3), originator, keyAgreementAlgorithmDer(algorithm), encryptedKeys]);
}

/** One RecipientInfo per recipient, each carrying the content key `cek` (RFC 5652 section 6.2). */
export function recipientInfos(
  prepared: readonly PreparedRecipient[],
  settings: Required<EncryptOptions>,
  cek: Uint8Array,
): w.Der[] {
  const oaep = oaepAlgorithm(settings.oaepHash);
  return prepared.map((r) =>
    r.kind === 'rsa'
      ? keyTransRecipientInfo(r, r.keyTransport === 'rsa-oaep' ? oaep : RSA_PKCS1, cek)
      : keyAgreeRecipientInfo(r, settings.ecdhKdf, cek),
  );
}
