import { DomainError, type ResidencyPolicy } from "@homeroute/contracts";
import type { Sql, TransactionSql } from "postgres";

export async function loadPolicy(sql: Sql | TransactionSql, code: string): Promise<ResidencyPolicy> {
  const [p] = await sql<
    {
      policy_code: string;
      allowed_regions: string[];
      backup_regions: string[];
      analytics_allowed: boolean;
      analytics_mode: string;
      cross_border_export_allowed: boolean;
      deferred_upload_allowed: boolean;
      projection_regions: string[];
      search_regions: string[];
      log_regions: string[];
      support_regions: string[];
    }[]
  >`SELECT policy_code, allowed_regions, backup_regions, analytics_allowed, analytics_mode,
      cross_border_export_allowed, deferred_upload_allowed, projection_regions, search_regions, log_regions,
      support_regions
    FROM residency_policy WHERE policy_code = ${code}`;
  if (!p) {
    throw new DomainError("VALIDATION_FAILED", `unknown residency policy ${code}`, {
      issues: [{ path: ["body", "residencyPolicy"], message: "unknown policy code" }],
    });
  }
  return {
    policyCode: p.policy_code,
    allowedRegions: p.allowed_regions,
    backupRegions: p.backup_regions,
    analyticsAllowed: p.analytics_allowed,
    // EU_GDPR: analytics only ever sees aggregates (the residency module needs the mode).
    analyticsMode: p.analytics_mode === "anonymised" ? "anonymised" : "full",
    crossBorderExportAllowed: p.cross_border_export_allowed,
    deferredUploadAllowed: p.deferred_upload_allowed,
    projectionRegions: p.projection_regions,
    searchRegions: p.search_regions,
    logRegions: p.log_regions,
    supportRegions: p.support_regions,
  };
}

export async function requireRegion(sql: Sql | TransactionSql, code: string, field: string): Promise<void> {
  const [r] = await sql`SELECT 1 FROM region WHERE code = ${code}`;
  if (!r) {
    throw new DomainError("VALIDATION_FAILED", `unknown region ${code}`, {
      issues: [{ path: ["body", field], message: "not a region of the topology" }],
    });
  }
}
