import { type AuditItemView, DomainError } from "@homeroute/contracts";
import { timeDb } from "@homeroute/service-kit";
import { authorizeRead } from "../cases/read.js";
import { iso } from "../cases/view.js";
import type { CellDeps } from "../deps.js";
import type { Reader } from "../residency/support-access.js";

/**
 * A case's audit trail: the case's own events and those of its tasks, evidence and reviews, in
 * commit order (chain_seq), which within each aggregate is aggregateVersion order.
 */
export async function readCaseAudit(
  deps: CellDeps,
  tenantId: string,
  reader: Reader,
  caseId: string,
): Promise<AuditItemView[]> {
  const prelude = await authorizeRead(deps, tenantId, reader, {
    permission: "audit.read",
    resource: "case_audit",
    caseId,
  });
  if (!prelude.caseRow) throw new DomainError("NOT_FOUND", "unknown case");
  const rows = await timeDb(
    () => deps.sql<Record<string, unknown>[]>`
    SELECT audit_event_id, action_type, actor_id, aggregate_type, aggregate_id, aggregate_version, home_region,
      region_epoch, command_id, correlation_id, occurred_at, recorded_at, payload_hash, prev_hash, hash
    FROM global_audit_event
    WHERE tenant_id = ${tenantId}
      AND (aggregate_id = ${caseId} OR metadata -> 'payload' ->> 'caseId' = ${caseId})
    ORDER BY chain_seq`,
  );
  return rows.map((r) => ({
    auditEventId: r.audit_event_id as string,
    actionType: r.action_type as string,
    actorId: (r.actor_id as string | null) ?? null,
    aggregateType: r.aggregate_type as string,
    aggregateId: r.aggregate_id as string,
    aggregateVersion: (r.aggregate_version as number | null) ?? null,
    homeRegion: r.home_region as string,
    regionEpoch: (r.region_epoch as number | null) ?? null,
    commandId: (r.command_id as string | null) ?? null,
    correlationId: (r.correlation_id as string | null) ?? null,
    occurredAt: iso(r.occurred_at as Date),
    recordedAt: iso(r.recorded_at as Date),
    payloadHash: r.payload_hash as string,
    prevHash: r.prev_hash as string,
    hash: r.hash as string,
  }));
}
