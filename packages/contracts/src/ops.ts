import { z } from "zod";
import {
  epoch,
  fenceStatus,
  isoTime,
  regionCode,
  residencyPolicyCode,
  storableText,
  tenantStatus,
  uuid,
} from "./common.js";
import { EXPORT_KINDS } from "./residency.js";

// Control-plane bodies and views (CONTRACT.md "Control plane").

export const placeTenantBody = z.strictObject({
  tenantId: uuid.optional(),
  name: storableText(1, 200),
  homeRegion: regionCode,
  residencyPolicy: residencyPolicyCode,
  adminUserIds: z.array(uuid).max(50).optional(),
  /** Accept new complaints at the edge (202 + receipt) while the home is unreachable. */
  queuedIntake: z.boolean().optional(),
});
export type PlaceTenantBody = z.infer<typeof placeTenantBody>;

export const regionModeBody = z.strictObject({
  mode: z.enum(["WRITABLE", "READ_ONLY"]),
  reason: storableText(1, 2000),
});
export type RegionModeBody = z.infer<typeof regionModeBody>;

export const tenantPlacementView = z.object({
  tenantId: uuid,
  name: z.string(),
  homeRegion: regionCode,
  residencyPolicy: residencyPolicyCode,
  status: tenantStatus,
  regionEpoch: epoch,
  fenceStatus,
  policy: z.object({
    allowedRegions: z.array(regionCode),
    backupRegions: z.array(regionCode),
    analyticsAllowed: z.boolean(),
    crossBorderExportAllowed: z.boolean(),
    deferredUploadAllowed: z.boolean(),
  }),
  drTarget: regionCode.nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
});
export type TenantPlacementView = z.infer<typeof tenantPlacementView>;

/**
 * What edges route from: O(1) maps keyed by tenant and by entity. Immutable per version.
 * `allowedRegions` travels with each tenant so the edge can refuse a forbidden home by itself.
 */
export const routingSnapshot = z.object({
  version: z.number().int().positive(),
  generatedAt: isoTime,
  regions: z.record(z.string(), z.object({ mode: z.enum(["WRITABLE", "READ_ONLY"]) })),
  tenants: z.record(
    z.string(),
    z.object({
      homeRegion: regionCode,
      epoch,
      status: tenantStatus,
      policy: residencyPolicyCode,
      allowedRegions: z.array(regionCode),
      queuedIntake: z.boolean().optional(),
    }),
  ),
  entities: z.record(z.string(), z.object({ homeRegion: regionCode, epoch })),
});
export type RoutingSnapshot = z.infer<typeof routingSnapshot>;

export const promotionBody = z.strictObject({
  targetRegion: regionCode,
  reason: storableText(1, 2000),
  approvedBy: storableText(1, 200),
  /** An operator's audited statement that the old home is down: skips waiting for its lease. */
  confirmedSourceDown: z.boolean().optional(),
});
export type PromotionBody = z.infer<typeof promotionBody>;

/** `POST /v1/ops/exports` (CONTRACT.md): decided by the residency module, sink `export`. */
export const exportBody = z.strictObject({
  tenantId: uuid,
  kind: z.enum(EXPORT_KINDS),
  targetRegion: regionCode,
});
export type ExportBody = z.infer<typeof exportBody>;

/** What an export may carry: every row of the tenant, or counts only (no personal field). */
export const EXPORT_MODES = ["full", "anonymised_aggregates"] as const;
export const exportMode = z.enum(EXPORT_MODES);
export type ExportMode = z.infer<typeof exportMode>;

/** Where an export went: the 201 of `POST /v1/ops/exports`, one `tenant_export` row. */
export const exportView = z.object({
  exportId: uuid,
  tenantId: uuid,
  kind: z.enum(EXPORT_KINDS),
  targetRegion: regionCode,
  /** The tenant's home, which wrote the export straight into the target region's store. */
  sourceRegion: regionCode,
  mode: exportMode,
  location: z.string(),
  rowCount: z.number().int().nonnegative(),
  sha256: z.string(),
  createdAt: isoTime,
});
export type ExportView = z.infer<typeof exportView>;
