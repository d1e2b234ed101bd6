import { uuidv7 } from "@homeroute/ids";
import type { Sql, TransactionSql } from "postgres";

export interface CatalogAuditInput {
  actorId: string | null;
  actionType: string;
  tenantId?: string | null;
  targetRegion?: string | null;
  outcome: "ACCEPTED" | "REFUSED";
  correlationId: string | null;
  metadata: Record<string, unknown>;
}

/** Every control-plane decision is audited, refusals included (DESIGN §10). */
export async function appendCatalogAudit(sql: Sql | TransactionSql, a: CatalogAuditInput): Promise<void> {
  await sql`
    INSERT INTO catalog_audit_event (audit_event_id, actor_id, action_type, tenant_id, target_region, outcome,
      correlation_id, metadata)
    VALUES (${uuidv7()}, ${a.actorId}, ${a.actionType}, ${a.tenantId ?? null}, ${a.targetRegion ?? null},
      ${a.outcome}, ${a.correlationId}, ${sql.json(a.metadata as never)})`;
}
