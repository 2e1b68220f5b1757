/**
 * Demo logins (issue 12). The demo's login hands a user token to anyone who picks a demo user, so it must never be a
 * token the product would accept anywhere else: it is signed with a key of the demo's own (random, in memory only,
 * never SMIME_JWT_SECRET), marked with its own `kid` and audience, and names a demo address only. The product's
 * verifier (auth/tokens.ts) knows nothing of it; in demo mode the demo's entry module puts demoAwareVerifier in front,
 * and only then is a demo token accepted, for a demo address. So a server where the demo was on by mistake gives an
 * attacker a token for alice@demo.example on that server alone, not one for a real user or for another instance that
 * shares the host secret.
 */
import { randomBytes } from 'node:crypto';
import { decodeProtectedHeader, SignJWT } from 'jose';
import { TokenVerifier, type UserTokenVerifier, type VerifiedUser } from '../auth/tokens.ts';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';

/** The `kid` of demo tokens: how demoAwareVerifier tells them from the host's. */
export const DEMO_TOKEN_KID = 'smime-demo';
/** `aud` and `iss` of demo tokens, distinct from SMIME_JWT_AUDIENCE's default. */
export const DEMO_TOKEN_AUDIENCE = 'smime-demo';
/** Bytes of the demo's HS256 key (RFC 7518 section 3.2: at least the hash size). */
const DEMO_KEY_BYTES = 32;

export class DemoTokens {
  private readonly key = new Uint8Array(randomBytes(DEMO_KEY_BYTES));
  private readonly verifier: TokenVerifier;

  constructor(
    private readonly domain: string,
    limits: Pick<Config, 'SMIME_JWT_MAX_LIFETIME_S' | 'SMIME_JWT_CLOCK_TOLERANCE_S'>,
  ) {
    this.verifier = new TokenVerifier({
      jwtSecret: this.key,
      jwtPublicKeyPem: undefined,
      SMIME_JWT_AUDIENCE: DEMO_TOKEN_AUDIENCE,
      SMIME_JWT_ISSUER: DEMO_TOKEN_AUDIENCE,
      SMIME_JWT_MAX_LIFETIME_S: limits.SMIME_JWT_MAX_LIFETIME_S,
      SMIME_JWT_CLOCK_TOLERANCE_S: limits.SMIME_JWT_CLOCK_TOLERANCE_S,
    });
  }

  /** Whether `email` is a demo address (the only ones a demo token may name). */
  isDemoAddress(email: string): boolean {
    return email.toLowerCase().endsWith(`@${this.domain}`);
  }

  async issue(email: string, lifetimeS: number): Promise<string> {
    if (!this.isDemoAddress(email)) throw new AppError('DEMO_USER_UNKNOWN');
    return new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: DEMO_TOKEN_KID })
      .setSubject(email.toLowerCase())
      .setAudience(DEMO_TOKEN_AUDIENCE)
      .setIssuer(DEMO_TOKEN_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + lifetimeS)
      .sign(this.key);
  }

  async verify(token: string): Promise<VerifiedUser> {
    const user = await this.verifier.verify(token);
    if (!this.isDemoAddress(user.email)) throw new AppError('UNAUTHENTICATED');
    return user;
  }
}

function isDemoToken(token: string): boolean {
  try {
    return decodeProtectedHeader(token).kid === DEMO_TOKEN_KID;
  } catch {
    return false; // not a JWT: the host's verifier says so
  }
}

/** The host's verifier, and demo tokens beside it (demo mode only). */
export function demoAwareVerifier(host: UserTokenVerifier, demo: DemoTokens): UserTokenVerifier {
  return { verify: (token) => (isDemoToken(token) ? demo.verify(token) : host.verify(token)) };
}
