import { DomainError, drTargetOf, type TenantPlacementView } from "@homeroute/contracts";
import type { Sql, TransactionSql } from "postgres";

interface Row {
  tenant_id: string;
  name: string;
  home_region: string;
  residency_policy: string;
  status: TenantPlacementView["status"];
  epoch: number;
  fence_status: TenantPlacementView["fenceStatus"];
  allowed_regions: string[];
  backup_regions: string[];
  analytics_allowed: boolean;
  cross_border_export_allowed: boolean;
  deferred_upload_allowed: boolean;
  created_at: Date;
  updated_at: Date;
}

function view(r: Row): TenantPlacementView {
  const policy = {
    allowedRegions: r.allowed_regions,
    backupRegions: r.backup_regions,
    analyticsAllowed: r.analytics_allowed,
    crossBorderExportAllowed: r.cross_border_export_allowed,
    deferredUploadAllowed: r.deferred_upload_allowed,
  };
  return {
    tenantId: r.tenant_id,
    name: r.name,
    homeRegion: r.home_region,
    residencyPolicy: r.residency_policy,
    status: r.status,
    regionEpoch: r.epoch,
    fenceStatus: r.fence_status,
    policy,
    drTarget: drTargetOf({ policyCode: r.residency_policy, ...policy }, r.home_region),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

const select = (sql: Sql | TransactionSql) => sql`
  SELECT a.tenant_id, a.name, f.active_region AS home_region, a.residency_policy, a.status, f.epoch,
    f.status AS fence_status, p.allowed_regions, p.backup_regions, p.analytics_allowed,
    p.cross_border_export_allowed, p.deferred_upload_allowed, a.created_at, a.updated_at
  FROM tenant_region_assignment a
  JOIN region_write_epoch f ON f.logical_scope = 'tenant:' || a.tenant_id
  JOIN residency_policy p ON p.policy_code = a.residency_policy`;

export async function getTenant(sql: Sql | TransactionSql, tenantId: string): Promise<TenantPlacementView> {
  const [r] = await sql<Row[]>`${select(sql)} WHERE a.tenant_id = ${tenantId}`;
  if (!r) throw new DomainError("NOT_FOUND", "unknown tenant");
  return view(r);
}

export async function listTenants(sql: Sql): Promise<TenantPlacementView[]> {
  const rows = await sql<Row[]>`${select(sql)} ORDER BY a.created_at, a.tenant_id`;
  return rows.map(view);
}
