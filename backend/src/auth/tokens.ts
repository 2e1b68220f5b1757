/**
 * User tokens. The host webmail authenticates its users and signs a short-lived JWT per user: `sub` = the user's email,
 * `aud` = SMIME_JWT_AUDIENCE, `exp` and `iat` required, exp - iat <= SMIME_JWT_MAX_LIFETIME_S. Signed either with a
 * shared secret (HS256/384/512) or with the host's private key (RS/PS/ES/EdDSA; we hold only the public key).
 */
import { createPublicKey, timingSafeEqual, createHash, webcrypto, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTHeaderParameters } from 'jose';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import { canonicalAddress, tryCanonicalAddress } from '../smime/index.ts';

export interface VerifiedUser {
  email: string;
  /** Token id/expiry, for logs (never the token). */
  expiresAt: Date;
}

/**
 * A token subject is the user's address in its one canonical spelling (mime/address.ts canonicalAddress, as for
 * every address here): case and the IDNA form of the domain do not matter, a spelling with compatibility characters
 * (the Kelvin sign for K) is refused rather than merged into another user's (issue 12).
 */
const emailSchema = z
  .string()
  .max(254)
  .transform((s, ctx) => {
    const canonical = tryCanonicalAddress(s);
    if (canonical === undefined) {
      ctx.addIssue({ code: 'custom', message: 'not an address in normal form' });
      return z.NEVER;
    }
    return canonical;
  })
  .pipe(z.email())
  .pipe(z.string().max(254));

/** What authentication needs of a verifier (demo mode puts demo/tokens.ts's in front of the host's). */
export interface UserTokenVerifier {
  verify(token: string): Promise<VerifiedUser>;
}

export class TokenVerifier implements UserTokenVerifier {
  private readonly key: Uint8Array | KeyObject;
  private readonly algorithms: string[];
  /**
   * The shared secret imported once per HS algorithm (issue 16): given the raw bytes, jose imports a WebCrypto key on
   * every verification, which was about a third of its cost (60 µs of CPU against 100 µs per token).
   */
  private readonly hmacKeys = new Map<string, Promise<webcrypto.CryptoKey>>();

  constructor(
    private readonly config: Pick<
      Config,
      | 'jwtSecret'
      | 'jwtPublicKeyPem'
      | 'SMIME_JWT_AUDIENCE'
      | 'SMIME_JWT_ISSUER'
      | 'SMIME_JWT_MAX_LIFETIME_S'
      | 'SMIME_JWT_CLOCK_TOLERANCE_S'
    >,
  ) {
    if (config.jwtPublicKeyPem) {
      const key = createPublicKey(config.jwtPublicKeyPem);
      this.key = key;
      this.algorithms =
        key.asymmetricKeyType === 'rsa'
          ? ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
          : key.asymmetricKeyType === 'ec'
            ? ['ES256', 'ES384', 'ES512']
            : ['EdDSA'];
    } else if (config.jwtSecret) {
      this.key = config.jwtSecret;
      this.algorithms = ['HS256', 'HS384', 'HS512'];
    } else {
      throw new Error('no JWT verification key configured');
    }
  }

  /** Called by jose after it checked `alg` against this.algorithms, so only HS256/384/512 get here. */
  private hmacKey(alg: string): Promise<webcrypto.CryptoKey> {
    let key = this.hmacKeys.get(alg);
    if (!key) {
      const hash = { HS256: 'SHA-256', HS384: 'SHA-384', HS512: 'SHA-512' }[alg];
      if (!hash) throw new AppError('UNAUTHENTICATED');
      key = webcrypto.subtle.importKey('raw', this.key as Uint8Array, { name: 'HMAC', hash }, false, ['verify']);
      this.hmacKeys.set(alg, key);
    }
    return key;
  }

  async verify(token: string): Promise<VerifiedUser> {
    let payload;
    try {
      const key = this.key instanceof Uint8Array ? (h: JWTHeaderParameters) => this.hmacKey(h.alg) : this.key;
      ({ payload } = await jwtVerify(token, key, {
        algorithms: this.algorithms,
        audience: this.config.SMIME_JWT_AUDIENCE,
        issuer: this.config.SMIME_JWT_ISSUER,
        clockTolerance: this.config.SMIME_JWT_CLOCK_TOLERANCE_S,
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw new AppError('TOKEN_EXPIRED');
      throw new AppError('UNAUTHENTICATED');
    }
    // jose checks exp and nbf but not an iat in the future: a token "issued" tomorrow passes the exp - iat check yet
    // is usable from now until tomorrow. So iat must not be ahead of our clock, and what remains of the token's life
    // is bounded too (whatever iat says).
    const now = Math.floor(Date.now() / 1000);
    const tolerance = this.config.SMIME_JWT_CLOCK_TOLERANCE_S;
    if (payload.iat! > now + tolerance) throw new AppError('UNAUTHENTICATED', 'The token was issued in the future.');
    const max = this.config.SMIME_JWT_MAX_LIFETIME_S;
    if (payload.exp! - payload.iat! > max || payload.exp! - now > max + tolerance)
      throw new AppError('TOKEN_LIFETIME_TOO_LONG');
    const email = emailSchema.safeParse(payload.sub);
    if (!email.success) throw new AppError('UNAUTHENTICATED', 'The token subject is not an email address.');
    return { email: email.data, expiresAt: new Date(payload.exp! * 1000) };
  }
}

/** Issue a user token with the shared secret (CLI issue-token, tests). The demo signs with a key of its own (demo/tokens.ts). */
export async function issueUserToken(
  config: Pick<Config, 'jwtSecret' | 'SMIME_JWT_AUDIENCE' | 'SMIME_JWT_ISSUER'>,
  email: string,
  lifetimeS: number,
): Promise<string> {
  if (!config.jwtSecret)
    throw new Error(
      'issue-token needs the shared secret (SMIME_JWT_SECRET); with a host public key the host issues tokens',
    );
  let jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(canonicalAddress(email))
    .setAudience(config.SMIME_JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + lifetimeS);
  if (config.SMIME_JWT_ISSUER) jwt = jwt.setIssuer(config.SMIME_JWT_ISSUER);
  return jwt.sign(config.jwtSecret);
}

/** Constant-time comparison of an admin credential (hashing first makes the lengths equal). */
export function adminTokenMatches(presented: string | undefined, expected: string | undefined): boolean {
  if (!presented || !expected) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
