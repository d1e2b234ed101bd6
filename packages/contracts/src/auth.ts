import { z } from "zod";
import { type Role, regionCode, SUPPORT_ROLE } from "./common.js";

export const DEV_JWT_ISSUER = "homeroute-dev";
export const JWT_AUDIENCE = "homeroute";
/** Pinned: anything else (none, RS256 with an HMAC key, ...) is refused. */
export const DEV_JWT_ALGORITHMS = ["HS256"] as const;

export const jwtClaims = z.object({
  sub: z.uuid(),
  tid: z.uuid().optional(),
  ops: z.boolean().optional(),
  region: z.string().optional(),
  /**
   * Where a support user sits (set by the identity provider from the support desk's location).
   * A token carrying it is a support session: read-only, and only where the tenant's policy allows
   * support access from that region (sink `support_access`, docs/residency.md).
   */
  supportRegion: regionCode.optional(),
  exp: z.number(),
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
});
export type JwtClaims = z.infer<typeof jwtClaims>;

/** Who may do what. Sensitive actions (decision, grants) are always checked at home. */
export const PERMISSIONS = {
  "case.create": ["reporter", "investigator", "supervisor", "tenant_admin"],
  "case.read": ["reporter", "investigator", "reviewer", "supervisor", "tenant_admin", "auditor", "support"],
  "case.transition": ["investigator", "supervisor"],
  "case.decide": ["supervisor"],
  "task.create": ["investigator", "supervisor"],
  "task.complete": ["investigator", "supervisor"],
  "evidence.attach": ["reporter", "investigator", "supervisor"],
  "review.recommend": ["reviewer", "supervisor"],
  "audit.read": ["auditor", "supervisor", "tenant_admin", "support"],
  "grant.manage": ["tenant_admin"],
} as const satisfies Record<string, readonly Role[]>;
export type Permission = keyof typeof PERMISSIONS;

export function allows(roles: readonly string[], permission: Permission): boolean {
  const allowed: readonly string[] = PERMISSIONS[permission];
  return roles.some((r) => allowed.includes(r));
}

/**
 * Whether a read is support access, checked against the tenant's policy (sink `support_access`):
 * any read of a support session (a token with `supportRegion`), and any read the caller may do only
 * through the `support` role. Call it once `allows(roles, permission)` holds.
 */
export function readsAsSupport(
  roles: readonly string[],
  permission: Permission,
  supportRegion: string | undefined,
): boolean {
  return (
    supportRegion !== undefined ||
    !allows(
      roles.filter((r) => r !== SUPPORT_ROLE),
      permission,
    )
  );
}
