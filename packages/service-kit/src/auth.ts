import {
  DEV_JWT_ALGORITHMS,
  DEV_JWT_ISSUER,
  DomainError,
  JWT_AUDIENCE,
  jwtClaims,
} from "@homeroute/contracts";
import { jwtVerify } from "jose";

export interface Principal {
  userId: string;
  tenantId: string | undefined;
  ops: boolean;
}

/**
 * Verifies `Authorization: Bearer <JWT>`: HS256 only (algorithms pinned, so `none` and key
 * confusion are refused), issuer, audience and expiry checked. Roles are not in the token: they
 * come from the tenant's grants at home (CONTRACT.md "Auth").
 */
export async function authenticate(header: string | undefined, key: Uint8Array): Promise<Principal> {
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
  return { userId: claims.data.sub, tenantId: claims.data.tid, ops: claims.data.ops === true };
}

/** A token for tenant A never reaches tenant B; the same answer whether B exists or not. */
export function requireTenant(principal: Principal, tenantId: string): void {
  if (principal.tenantId !== tenantId) throw new DomainError("FORBIDDEN", "the token is not for this tenant");
}
