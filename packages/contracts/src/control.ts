import { z } from "zod";
import {
  fenceStatus,
  isoTime,
  regionCode,
  residencyPolicyCode,
  role,
  storableText,
  tenantStatus,
  uuid,
} from "./common.js";
import { exportMode } from "./ops.js";
import { EXPORT_KINDS } from "./residency.js";

// Cell control API (CONTRACT.md "Cell: ... control API"), used by the catalog and tests.

export const putTenantBody = z.strictObject({
  name: storableText(1, 200),
  homeRegion: regionCode,
  status: tenantStatus,
  residencyPolicy: residencyPolicyCode,
});
export type PutTenantBody = z.infer<typeof putTenantBody>;

export const fenceScope = z
  .string()
  .regex(
    /^(tenant:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|region:[a-z]{2}(-[a-z]{2,8})?)$/,
  );
export const putFenceBody = z.strictObject({
  activeRegion: regionCode,
  epoch: z.number().int().positive(),
  status: fenceStatus,
  leaseExpiresAt: isoTime.nullable().optional(),
});
export type PutFenceBody = z.infer<typeof putFenceBody>;

export const fenceView = z.object({
  scope: z.string(),
  activeRegion: regionCode,
  epoch: z.number().int(),
  status: fenceStatus,
  leaseExpiresAt: isoTime.nullable(),
  updatedAt: isoTime,
});
export type FenceView = z.infer<typeof fenceView>;

export const grantBody = z.strictObject({ userId: uuid, role });
export const grantParams = z.object({ tenantId: uuid, userId: uuid, role });

/**
 * `POST /internal/v1/tenants/{tenantId}/exports`: the catalog has decided (sink `export`); the home
 * cell writes the export into the target region's export store itself, so the tenant's rows go
 * from home to the target and never through the control plane.
 */
export const cellExportBody = z.strictObject({
  exportId: uuid,
  kind: z.enum(EXPORT_KINDS),
  mode: exportMode,
  targetRegion: regionCode,
});
export type CellExportBody = z.infer<typeof cellExportBody>;

export const cellExportResult = z.object({
  location: z.string(),
  rowCount: z.number().int().nonnegative(),
  sha256: z.string(),
  bytes: z.number().int().nonnegative(),
});
export type CellExportResult = z.infer<typeof cellExportResult>;
