/**
 * Issues and verifies access tokens: HS256 JWTs with `sub` (identity), `scope`, `iss`, `aud`, `iat`, `exp`,
 * and, for a token whose scopes restrict channels (the channel-permission extension,
 * protocol/src/permissions.ts), the `channels` claim: signed like the rest, so it cannot be changed.
 * Verification is pinned to HS256 (no `alg: none`, no algorithm confusion) and allows a small clock skew.
 */
import { randomBytes } from 'node:crypto';

import {
  CHANNELS_CLAIM,
  channelPermissionsOfScopes,
  channelsClaim,
  isChannelScope,
  permissionsOfClaim,
  systemClock,
  type ChannelPermissions,
  type Clock,
} from '@backchannel/protocol';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';

import { TokenError } from '../errors.js';

export const VOIP_SCOPE = 'voip';
const ALGORITHM = 'HS256';

export interface IssuedToken {
  token: string;
  /** ISO 8601, as the reference identity API returns it. */
  expiresOn: string;
}

export interface VerifiedToken {
  identity: string;
  /** The identity's token generation when the token was issued (see IdentityStore). */
  generation: number;
  scopes: string[];
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** The channels it may send on and receive from (unrestricted without the claim). */
  channels: ChannelPermissions;
}

/** Issues and verifies the server's access tokens (see the module comment). */
export class TokenService {
  readonly #key: Uint8Array;
  readonly #issuer: string;
  readonly #leewaySeconds: number;
  readonly #clock: Clock;

  /**
   * `secret` undefined: a random one for this process (tokens die with it). `clock`'s wall time stamps
   * issued tokens and is the time tokens are verified at.
   */
  constructor(secret: string | undefined, issuer: string, leewaySeconds: number, clock: Clock = systemClock) {
    this.#key = secret ? new TextEncoder().encode(secret) : randomBytes(32);
    this.#issuer = issuer;
    this.#leewaySeconds = leewaySeconds;
    this.#clock = clock;
  }

  /** Clock skew allowed around `exp` and `nbf`, milliseconds. */
  get leewayMs(): number {
    return this.#leewaySeconds * 1000;
  }

  /**
   * Issues a token for `identity`, valid `ttlMinutes` from now, under the identity's token `generation`.
   * Channel scopes (`channels.send:…`, `channels.receive:…`) become the `channels` claim, the others the
   * `scope` claim; a malformed channel scope throws a `RangeError` (the routes validate them first).
   */
  async issue(identity: string, scopes: string[], ttlMinutes: number, generation: number): Promise<IssuedToken> {
    const now = Math.floor(this.#clock.wallNow() / 1000);
    const exp = now + Math.round(ttlMinutes * 60);
    const channels = channelsClaim(channelPermissionsOfScopes(scopes));
    const claims: Record<string, unknown> = { scope: scopes.filter((s) => !isChannelScope(s)).join(' '), gen: generation };
    if (channels) claims[CHANNELS_CLAIM] = channels;
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(identity)
      .setIssuer(this.#issuer)
      .setAudience(this.#issuer)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.#key);
    return { token, expiresOn: new Date(exp * 1000).toISOString() };
  }

  /**
   * Verifies signature, algorithm, issuer, audience, expiry, not-before and the `voip` scope, at the clock's
   * wall time. Throws {@link TokenError} for any token it refuses.
   */
  async verify(token: string): Promise<VerifiedToken> {
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        algorithms: [ALGORITHM],
        issuer: this.#issuer,
        audience: this.#issuer,
        clockTolerance: this.#leewaySeconds,
        requiredClaims: ['sub', 'exp'],
        currentDate: new Date(this.#clock.wallNow()),
      });
      const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
      if (!scopes.includes(VOIP_SCOPE)) throw new TokenError(`token lacks the '${VOIP_SCOPE}' scope`);
      const generation = typeof payload.gen === 'number' ? payload.gen : -1;
      const channels = permissionsOfClaim(payload[CHANNELS_CLAIM]);
      if (!channels) throw new TokenError(`token has a malformed '${CHANNELS_CLAIM}' claim`);
      return { identity: payload.sub!, generation, scopes, expiresAt: payload.exp! * 1000, channels };
    } catch (error) {
      if (error instanceof TokenError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new TokenError('token expired', { cause: error });
      if (error instanceof joseErrors.JOSEError) throw new TokenError(`token refused: ${error.message}`, { cause: error });
      throw new TokenError('token is malformed', { cause: error });
    }
  }
}
