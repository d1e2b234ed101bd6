import { z } from "zod";

export const uuid = z.uuid();
/** Region codes are data (infra/topology.json), not a closed enum: adding a region is a data change. */
export const regionCode = z.string().regex(/^[a-z]{2}(-[a-z]{2,8})?$/, "region code like ap-id or eu");
// Lone UTF-16 surrogates and U+0000 pass JSON.parse but PostgreSQL text/jsonb refuse them: they
// are refused here, as input, so they never reach the database as a 500.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
export const storableText = (min: number, max: number) =>
  z
    .string()
    .trim()
    .min(min)
    .max(max)
    .refine((s) => !s.includes("\u0000"), "must not contain U+0000")
    .refine((s) => !LONE_SURROGATE.test(s), "must be well-formed UTF-16 (no lone surrogates)");

/** RFC 3339 with an offset, inside what PostgreSQL's timestamptz and JS Date both hold. */
export const isoTime = z.iso.datetime({ offset: true }).refine((s) => {
  const year = new Date(s).getUTCFullYear();
  return year >= 1 && year <= 9999;
}, "year must be between 0001 and 9999");
export const version = z.number().int().nonnegative();
export const epoch = z.number().int().positive();

export const TENANT_STATUSES = ["ACTIVE", "MIGRATING", "SUSPENDED", "DECOMMISSIONED"] as const;
export const tenantStatus = z.enum(TENANT_STATUSES);
export type TenantStatus = z.infer<typeof tenantStatus>;

export const FENCE_STATUSES = ["WRITABLE", "READ_ONLY", "FENCED", "MIGRATING"] as const;
export const fenceStatus = z.enum(FENCE_STATUSES);
export type FenceStatus = z.infer<typeof fenceStatus>;

export const RESIDENCY_POLICY_CODES = ["ID_STRICT", "EU_GDPR", "APAC_SHARED", "GLOBAL_STANDARD"] as const;
/** Policy codes are seeded data; new ones may be added, so any upper snake code is accepted here. */
export const residencyPolicyCode = z.string().regex(/^[A-Z][A-Z0-9_]{1,63}$/);

export const ROLES = [
  "reporter",
  "investigator",
  "reviewer",
  "supervisor",
  "tenant_admin",
  "auditor",
] as const;
/**
 * The platform's support staff, granted like any role: reads a tenant's data to help it, from the
 * region in the token's `supportRegion` claim, and only where the tenant's policy lets support sit
 * (sink `support_access`, docs/residency.md). Not one of the tenant's own staff roles (ROLES).
 */
export const SUPPORT_ROLE = "support";
export const role = z.enum([...ROLES, SUPPORT_ROLE]);
export type Role = z.infer<typeof role>;

export const dataFreshness = z.object({
  asOf: isoTime,
  lagSeconds: z.number().nonnegative(),
  stale: z.boolean().optional(),
});
export const readSource = z.enum(["home", "regional_projection", "edge_projection", "warehouse"]);
export type ReadSource = z.infer<typeof readSource>;
