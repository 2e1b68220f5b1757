// The PKCS#12 container (RFC 7292 section 4): the PFX with its authSafe, and the password MAC over it. Also reads
// whole-file base64, which some tools export.

import { SmimeError } from '../errors.ts';
import { algorithm, BerError, bigInteger, explicit, oid, readTree, sequence, type Tlv } from '../asn1/reader.ts';
import { type HashName, OID_DATA, OID_PBMAC1, OID_SIGNED_DATA } from '../asn1/oids.ts';
import type { Pkcs12PasswordCandidate } from './kdf.ts';
import { integerInRange, octetString } from './fields.ts';
import { MAC_DIGESTS } from './mac.ts';
import { checkPkcs12Mac } from './password-decrypt.ts';
import { malformed, shape, type ParseState } from './state.ts';

// Base64 of a DER SEQUENCE starts with 'M' (0x30 -> 001100..). Only whole-file base64 is recognised; PEM is not a
// PKCS#12 format.
const BASE64_TEXT = /^[A-Za-z0-9+/\r\n\t ]+={0,2}[\r\n\t ]*$/;

export function unwrapBase64(input: Uint8Array): Uint8Array {
  if (input[0] !== 0x4d /* 'M' */) return input;
  const text = Buffer.from(input).toString('latin1');
  if (!BASE64_TEXT.test(text)) return input;
  const decoded = Buffer.from(text, 'base64');
  return decoded[0] === 0x30 ? new Uint8Array(decoded) : input;
}

export function contentInfo(node: Tlv | undefined, what: string): { type: string; content: Tlv | undefined } {
  // ContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER, content [0] EXPLICIT ANY OPTIONAL } (RFC 5652 section 3)
  const fields = sequence(node, what);
  if (fields.length < 1 || fields.length > 2) throw new BerError(`${what}: expected contentType [, content]`);
  return {
    type: oid(fields[0], `${what} contentType`),
    content: fields[1] ? explicit(fields[1], 0, `${what} content`) : undefined,
  };
}

export interface MacData {
  hash: HashName;
  digest: Uint8Array;
  salt: Uint8Array;
  iterations: number;
}

function macData(node: Tlv): MacData {
  // MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 } (RFC 7292 section 4)
  const fields = sequence(node, 'MacData');
  if (fields.length < 2 || fields.length > 3) throw new BerError('MacData: expected mac, macSalt [, iterations]');
  const digestInfo = sequence(fields[0], 'MacData mac');
  if (digestInfo.length !== 2) throw new BerError('DigestInfo: expected digestAlgorithm and digest');
  const digestAlgorithm = algorithm(digestInfo[0], 'MacData digestAlgorithm');
  const hash = MAC_DIGESTS[digestAlgorithm.oid];
  if (!hash) {
    const name = digestAlgorithm.oid === OID_PBMAC1 ? 'PBMAC1 (RFC 9579)' : digestAlgorithm.oid;
    throw new SmimeError(
      'P12_UNSUPPORTED_ALGORITHM',
      `The file's integrity MAC uses an unsupported algorithm (${name})`,
    );
  }
  return {
    hash,
    digest: octetString(digestInfo[1], 'MacData digest'),
    salt: octetString(fields[1], 'MacData macSalt'),
    // Counts are range-checked by the KDF budget; here only "is a sane integer".
    iterations: fields[2] ? integerInRange(fields[2], 'MacData iterations', 1, Number.MAX_SAFE_INTEGER) : 1,
  };
}

/** The PFX of `input`: the bytes of its authSafe (data) and its MacData, if any. */
export function readPfx(input: Uint8Array): { authSafe: Uint8Array; mac: Tlv | undefined } {
  // PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, macData MacData OPTIONAL } (RFC 7292 section 4)
  const pfx = shape('PFX', () => {
    const fields = sequence(readTree(input, 'PFX'), 'PFX');
    if (fields.length < 2 || fields.length > 3) throw new BerError('PFX: expected version, authSafe [, macData]');
    if (bigInteger(fields[0], 'PFX version') !== 3n) throw new BerError('PFX: version is not 3');
    const authSafe = contentInfo(fields[1], 'authSafe');
    return { authSafe, mac: fields[2] };
  });
  if (pfx.authSafe.type === OID_SIGNED_DATA) {
    throw new SmimeError(
      'P12_UNSUPPORTED_ALGORITHM',
      'The file is signed with a public key (public-key integrity mode), which is not supported',
    );
  }
  if (pfx.authSafe.type !== OID_DATA)
    throw malformed('The file is damaged or not a PKCS#12 file (authSafe is not data)');
  const authSafe = shape('authSafe', () => octetString(pfx.authSafe.content, 'authSafe content'));
  return { authSafe, mac: pfx.mac };
}

/** Finds the password encoding that makes the MAC verify (see pkcs12PasswordCandidates), or throws P12_BAD_PASSWORD. */
async function verifyMac(
  state: ParseState,
  mac: MacData,
  content: Uint8Array,
  candidates: Pkcs12PasswordCandidate[],
): Promise<Pkcs12PasswordCandidate> {
  for (const candidate of candidates) {
    const ok = await checkPkcs12Mac({
      hash: mac.hash,
      bmpPassword: candidate.bytes,
      salt: mac.salt,
      iterations: mac.iterations,
      content,
      expected: mac.digest,
      budget: state.budget,
    });
    if (ok) return candidate;
  }
  throw new SmimeError('P12_BAD_PASSWORD', 'The password is wrong or the file is damaged (MAC check failed)');
}

/**
 * Reads and checks the MAC over `authSafe`; records in `state` the password encoding that verified it. Throws
 * P12_BAD_PASSWORD when no candidate encoding of the password verifies.
 */
export async function checkMac(
  state: ParseState,
  node: Tlv,
  authSafe: Uint8Array,
  candidates: Pkcs12PasswordCandidate[],
): Promise<MacData> {
  const mac = shape('MacData', () => macData(node));
  const candidate = await verifyMac(state, mac, authSafe, candidates);
  state.bmpPassword = candidate.bytes;
  state.passwordEncoding = candidate.encoding;
  state.integrity = 'mac';
  if (mac.hash === 'sha1') state.legacy = true;
  return mac;
}
