import { timingSafeEqual } from "node:crypto";
import {
  DEV_JWT_ALGORITHMS,
  DEV_JWT_ISSUER,
  DomainError,
  JWT_AUDIENCE,
  jwtClaims,
} from "@homeroute/contracts";
import type { MiddlewareHandler } from "hono";
import { jwtVerify, SignJWT } from "jose";

export interface Principal {
  userId: string;
  tenantId: string | undefined;
  ops: boolean;
  /** Set for a support session: the region the support user sits in (docs/residency.md). */
  supportRegion?: string | undefined;
}

/**
 * Verifies `Authorization: Bearer <JWT>`: HS256 only (algorithms pinned, so `none` and key
 * confusion are refused), issuer, audience and expiry checked. Roles are not in the token: they
 * come from the tenant's grants at home (CONTRACT.md "Auth").
 */
// Verified tokens, until they expire: a client sends the same token on every request, and
// verifying it costs more than the rest of a cached lookup (bench/RESULTS.md). Bounded in size.
// One cache per verification key: a token is only ever accepted by a key that verified it.
const verifiedByKey = new WeakMap<Uint8Array, Map<string, { principal: Principal; expMs: number }>>();
const MAX_CACHED_TOKENS = 10_000;

export async function authenticate(header: string | undefined, key: Uint8Array): Promise<Principal> {
  let verified = verifiedByKey.get(key);
  if (!verified) {
    verified = new Map();
    verifiedByKey.set(key, verified);
  }
  const hit = header ? verified.get(header) : undefined;
  if (hit && hit.expMs > Date.now()) return hit.principal;
  const principal = await verifyBearer(header!, key);
  if (verified.size >= MAX_CACHED_TOKENS) verified.clear();
  verified.set(header!, { principal: principal.p, expMs: principal.expMs });
  return principal.p;
}

async function verifyBearer(
  header: string | undefined,
  key: Uint8Array,
): Promise<{ p: Principal; expMs: number }> {
  // The scheme name is case-insensitive (RFC 9110 §11.1).
  if (!header || !/^bearer /i.test(header))
    throw new DomainError("UNAUTHENTICATED", "a bearer token is required");
  const token = header.slice(7).trim();
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [...DEV_JWT_ALGORITHMS],
      issuer: DEV_JWT_ISSUER,
      audience: JWT_AUDIENCE,
      requiredClaims: ["exp", "sub"],
    }));
  } catch {
    // The reason (expired, bad signature, ...) stays server-side: clients learn only that it failed.
    throw new DomainError("UNAUTHENTICATED", "the token is invalid or expired");
  }
  const claims = jwtClaims.safeParse(payload);
  if (!claims.success) throw new DomainError("UNAUTHENTICATED", "the token's claims are malformed");
  return {
    p: {
      userId: claims.data.sub,
      tenantId: claims.data.tid,
      ops: claims.data.ops === true,
      supportRegion: claims.data.supportRegion,
    },
    expMs: claims.data.exp * 1000,
  };
}

/** A token for tenant A never reaches tenant B; the same answer whether B exists or not. */
export function requireTenant(principal: Principal, tenantId: string): void {
  if (principal.tenantId !== tenantId) throw new DomainError("FORBIDDEN", "the token is not for this tenant");
}

/**
 * A development/test token as CONTRACT.md describes: HS256, iss `homeroute-dev`, aud `homeroute`.
 * Production verifies an identity provider's keys instead; nothing in a service signs tokens.
 */
export async function signDevToken(
  secret: string,
  claims: {
    sub: string;
    tid?: string | undefined;
    ops?: boolean | undefined;
    supportRegion?: string | undefined;
  },
  ttlSeconds = 3600,
  overrides: { iss?: string; aud?: string; alg?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const extra: Record<string, unknown> = {};
  if (claims.tid) extra.tid = claims.tid;
  if (claims.ops) extra.ops = true;
  if (claims.supportRegion) extra.supportRegion = claims.supportRegion;
  return new SignJWT(extra)
    .setProtectedHeader({ alg: overrides.alg ?? "HS256", typ: "JWT" })
    .setSubject(claims.sub)
    .setIssuer(overrides.iss ?? DEV_JWT_ISSUER)
    .setAudience(overrides.aud ?? JWT_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}

/** Every /internal/* route needs `Authorization: Bearer <INTERNAL_TOKEN>`, compared in constant time. */
export function internalAuth(token: string): MiddlewareHandler {
  const expected = Buffer.from(`Bearer ${token}`);
  return async (c, next) => {
    const got = Buffer.from(c.req.header("authorization") ?? "");
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      throw new DomainError("UNAUTHENTICATED", "the internal token is required");
    }
    await next();
  };
}
