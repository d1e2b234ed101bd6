import { DomainError, type ResidencyPolicy } from "@homeroute/contracts";
import type { Sql, TransactionSql } from "postgres";

export async function loadPolicy(sql: Sql | TransactionSql, code: string): Promise<ResidencyPolicy> {
  const [p] = await sql<
    {
      policy_code: string;
      allowed_regions: string[];
      backup_regions: string[];
      analytics_allowed: boolean;
      cross_border_export_allowed: boolean;
    }[]
  >`SELECT policy_code, allowed_regions, backup_regions, analytics_allowed, cross_border_export_allowed
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
    crossBorderExportAllowed: p.cross_border_export_allowed,
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
