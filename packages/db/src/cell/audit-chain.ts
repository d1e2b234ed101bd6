import { createHash } from "node:crypto";
import type { Sql } from "postgres";

// Independent re-computation of the per-tenant audit hash chain (DESIGN §13). Mirrors
// audit_canonical() in drizzle/cell/0001_audit_chain.sql; the database links, this checks.

export const GENESIS_HASH = "0".repeat(64);

export interface AuditVerifyResult {
  ok: boolean;
  checked: number;
  /** The last link verified: a later check can start after it. */
  head?: { seq: number; hash: string };
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

/**
 * Verifies the tenant's chain from genesis, or from a link a previous verification ended at
 * (`after`): the links after it must follow from its hash.
 */
export async function verifyAuditChain(
  sql: Sql,
  tenantId: string,
  after?: { seq: number; hash: string },
): Promise<AuditVerifyResult> {
  const rows = await sql<ChainRow[]>`
    SELECT audit_event_id, chain_seq::text, prev_hash, hash, payload_hash, metadata::text AS metadata_text,
      ARRAY[audit_event_id::text, tenant_id::text, home_region, coalesce(region_epoch::text, ''),
        coalesce(actor_id::text, ''), action_type, aggregate_type, aggregate_id::text,
        coalesce(aggregate_version::text, ''), coalesce(command_id::text, ''), coalesce(correlation_id, ''),
        coalesce(causation_id, ''), (extract(epoch FROM occurred_at) * 1000000)::bigint::text] AS canonical_fields
    FROM global_audit_event WHERE tenant_id = ${tenantId} AND chain_seq > ${after?.seq ?? 0}
    ORDER BY global_audit_event.chain_seq`;
  let prev = after?.hash ?? GENESIS_HASH;
  let expectedSeq = (after?.seq ?? 0) + 1;
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
  return {
    ok: true,
    checked: expectedSeq - 1,
    head: expectedSeq > 1 ? { seq: expectedSeq - 1, hash: prev } : undefined,
  };
}
