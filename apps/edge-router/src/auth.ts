import {
  DEV_JWT_ALGORITHMS,
  DEV_JWT_ISSUER,
  DomainError,
  JWT_AUDIENCE,
  jwtClaims,
} from "@homeroute/contracts";
import { jwtVerify } from "jose";

export interface EdgePrincipal {
  userId: string;
  tenantId: string | undefined;
  ops: boolean;
  /** A support session: the region the support user sits in (checked at the tenant's home). */
  supportRegion: string | undefined;
}

/**
 * Verified at the edge before anything is forwarded (algorithms pinned: `none` and key confusion
 * are refused). Production swaps the HS256 dev key for the JWKS of the identity provider.
 */
export async function verifyBearer(header: string | undefined, key: Uint8Array): Promise<EdgePrincipal> {
  // The scheme name is case-insensitive (RFC 9110 §11.1).
  if (!header || !/^bearer /i.test(header))
    throw new DomainError("UNAUTHENTICATED", "a bearer token is required");
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(header.slice(7).trim(), key, {
      algorithms: [...DEV_JWT_ALGORITHMS],
      issuer: DEV_JWT_ISSUER,
      audience: JWT_AUDIENCE,
      requiredClaims: ["exp", "sub"],
    }));
  } catch {
    throw new DomainError("UNAUTHENTICATED", "the token is invalid or expired");
  }
  const claims = jwtClaims.safeParse(payload);
  if (!claims.success) throw new DomainError("UNAUTHENTICATED", "the token's claims are malformed");
  return {
    userId: claims.data.sub,
    tenantId: claims.data.tid,
    ops: claims.data.ops === true,
    supportRegion: claims.data.supportRegion,
  };
}
