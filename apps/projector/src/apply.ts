import { type DomainEvent, PUBLIC_STATUS_OF } from "@homeroute/contracts";
import type { TransactionSql } from "postgres";

// Applying one validated event to the projection, idempotently and order-tolerantly: a version
// is applied only if newer than what is held; static facts (number, access-code hash) are kept
// whichever event brought them first.

export interface CaseChange {
  kind: "case";
  tenantId: string;
  caseId: string;
}
export interface GrantChange {
  kind: "grant";
  tenantId: string;
  userId: string;
}
export type Change = CaseChange | GrantChange;

/** `keepPersonal`: whether this store may hold the tenant's personal fields (the summary). */
export async function applyEvent(
  tx: TransactionSql,
  e: DomainEvent,
  keepPersonal = false,
): Promise<Change | null> {
  switch (e.type) {
    case "case.created": {
      const p = e.payload;
      const rows = await tx`
        INSERT INTO case_projection (tenant_id, case_id, case_number, home_region, region_epoch, status, public_status,
          version, category, country_code, summary, access_code_hash, created_at, updated_at)
        VALUES (${e.tenantId}, ${e.aggregateId}, ${p.caseNumber}, ${e.homeRegion}, ${e.regionEpoch}, ${p.status},
          ${PUBLIC_STATUS_OF[p.status]}, ${e.aggregateVersion}, ${p.category}, ${p.countryCode}, ${keepPersonal ? p.summary : null},
          ${p.accessCodeHash}, ${e.occurredAt}, ${e.occurredAt})
        ON CONFLICT (tenant_id, case_id) DO UPDATE SET
          case_number = coalesce(case_projection.case_number, EXCLUDED.case_number),
          access_code_hash = coalesce(case_projection.access_code_hash, EXCLUDED.access_code_hash),
          category = coalesce(case_projection.category, EXCLUDED.category),
          country_code = coalesce(case_projection.country_code, EXCLUDED.country_code),
          summary = coalesce(case_projection.summary, EXCLUDED.summary),
          created_at = coalesce(case_projection.created_at, EXCLUDED.created_at)
        RETURNING 1`;
      return rows.length ? { kind: "case", tenantId: e.tenantId, caseId: e.aggregateId } : null;
    }
    case "case.status_changed":
    case "case.decision_recorded": {
      const to = e.payload.to;
      const rows = await tx`
        INSERT INTO case_projection (tenant_id, case_id, case_number, home_region, region_epoch, status, public_status,
          version, updated_at)
        VALUES (${e.tenantId}, ${e.aggregateId}, ${e.payload.caseNumber}, ${e.homeRegion}, ${e.regionEpoch}, ${to},
          ${PUBLIC_STATUS_OF[to]}, ${e.aggregateVersion}, ${e.occurredAt})
        ON CONFLICT (tenant_id, case_id) DO UPDATE SET status = EXCLUDED.status, public_status = EXCLUDED.public_status,
          version = EXCLUDED.version, region_epoch = EXCLUDED.region_epoch, home_region = EXCLUDED.home_region,
          updated_at = EXCLUDED.updated_at, applied_at = now()
        WHERE case_projection.version < EXCLUDED.version
        RETURNING 1`;
      return rows.length ? { kind: "case", tenantId: e.tenantId, caseId: e.aggregateId } : null;
    }
    case "grant.granted":
    case "grant.revoked": {
      const { userId, role } = e.payload;
      const granted = e.type === "grant.granted";
      const rows = await tx`
        INSERT INTO grant_projection (tenant_id, user_id, roles, version)
        VALUES (${e.tenantId}, ${userId}, ${granted ? [role] : []}, ${e.aggregateVersion})
        ON CONFLICT (tenant_id, user_id) DO UPDATE SET
          roles = CASE WHEN ${granted}
            THEN (SELECT array_agg(DISTINCT r) FROM unnest(array_append(grant_projection.roles, ${role}::text)) r)
            ELSE array_remove(grant_projection.roles, ${role}::text) END,
          version = EXCLUDED.version
        WHERE grant_projection.version < EXCLUDED.version
        RETURNING 1`;
      return rows.length ? { kind: "grant", tenantId: e.tenantId, userId } : null;
    }
    default:
      // Tasks, evidence and reviews have no projection yet (warehouse and DR standby consume them).
      return null;
  }
}
