import { createHash } from "node:crypto";
import type { Sql } from "postgres";

// Independent re-computation of the per-tenant audit hash chain (DESIGN §13). Mirrors
// audit_canonical() in drizzle/cell/0001_audit_chain.sql; the database links, this checks.

export const GENESIS_HASH = "0".repeat(64);

export interface AuditVerifyResult {
  ok: boolean;
  checked: number;
  firstBrokenAt?: { auditEventId: string; chainSeq: number; reason: string };
}

interface ChainRow {
  audit_event_id: string;
  chain_seq: string;
  prev_hash: string;
  hash: string;
  payload_hash: string;
  metadata_text: string;
  canonical_fields: string[];
}

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

export async function verifyAuditChain(sql: Sql, tenantId: string): Promise<AuditVerifyResult> {
  const rows = await sql<ChainRow[]>`
    SELECT audit_event_id, chain_seq::text, prev_hash, hash, payload_hash, metadata::text AS metadata_text,
      ARRAY[audit_event_id::text, tenant_id::text, home_region, coalesce(region_epoch::text, ''),
        coalesce(actor_id::text, ''), action_type, aggregate_type, aggregate_id::text,
        coalesce(aggregate_version::text, ''), coalesce(command_id::text, ''), coalesce(correlation_id, ''),
        coalesce(causation_id, ''), (extract(epoch FROM occurred_at) * 1000000)::bigint::text] AS canonical_fields
    FROM global_audit_event WHERE tenant_id = ${tenantId} ORDER BY global_audit_event.chain_seq`;
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  for (const r of rows) {
    const broken = (reason: string): AuditVerifyResult => ({
      ok: false,
      checked: expectedSeq - 1,
      firstBrokenAt: { auditEventId: r.audit_event_id, chainSeq: Number(r.chain_seq), reason },
    });
    if (Number(r.chain_seq) !== expectedSeq) return broken("sequence gap");
    if (r.prev_hash !== prev) return broken("prev_hash does not match the previous event");
    if (sha256(r.metadata_text) !== r.payload_hash) return broken("payload does not match payload_hash");
    const canonical = [r.chain_seq, r.prev_hash, ...r.canonical_fields, r.payload_hash].join("|");
    if (sha256(canonical) !== r.hash) return broken("hash does not match the event's content");
    prev = r.hash;
    expectedSeq++;
  }
  return { ok: true, checked: rows.length };
}
