import { createHash } from "node:crypto";
import type { Sql } from "postgres";

// Independent re-computation of the per-tenant audit hash chain (DESIGN §13). Mirrors
// audit_canonical() in drizzle/cell/0001_audit_chain.sql; the database links, this checks. The
// home chain (global_audit_event) and its protected replica (audit_replica_event) are checked by
// the same function, so a replica verifies exactly as its home does.

export const GENESIS_HASH = "0".repeat(64);

export interface AuditVerifyResult {
  ok: boolean;
  checked: number;
  /** The last link verified: a later check can start after it. */
  head?: { seq: number; hash: string };
  firstBrokenAt?: { auditEventId: string; chainSeq: number; reason: string };
}

/** One link as stored: its chain fields, the metadata as the database renders it, and the rest. */
export interface AuditChainLink {
  audit_event_id: string;
  chain_seq: string;
  prev_hash: string;
  hash: string;
  payload_hash: string;
  metadata_text: string;
  /** audit_canonical()'s fields between prev_hash and payload_hash, as text. */
  canonical_fields: string[];
}

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

/** The hash a link must carry: sha256 of audit_canonical() of its fields. */
export function auditLinkHash(
  l: Pick<AuditChainLink, "chain_seq" | "prev_hash" | "payload_hash" | "canonical_fields">,
) {
  return sha256([l.chain_seq, l.prev_hash, ...l.canonical_fields, l.payload_hash].join("|"));
}

/** Checks links in chain order, from genesis or from a link verified before (`after`). */
export function checkAuditChain(
  links: Iterable<AuditChainLink>,
  after?: { seq: number; hash: string },
): AuditVerifyResult {
  let prev = after?.hash ?? GENESIS_HASH;
  let expectedSeq = (after?.seq ?? 0) + 1;
  for (const r of links) {
    const broken = (reason: string): AuditVerifyResult => ({
      ok: false,
      checked: expectedSeq - 1,
      firstBrokenAt: { auditEventId: r.audit_event_id, chainSeq: Number(r.chain_seq), reason },
    });
    if (Number(r.chain_seq) !== expectedSeq) return broken("sequence gap");
    if (r.prev_hash !== prev) return broken("prev_hash does not match the previous event");
    if (sha256(r.metadata_text) !== r.payload_hash) return broken("payload does not match payload_hash");
    if (auditLinkHash(r) !== r.hash) return broken("hash does not match the event's content");
    prev = r.hash;
    expectedSeq++;
  }
  return {
    ok: true,
    checked: expectedSeq - 1,
    head: expectedSeq > 1 ? { seq: expectedSeq - 1, hash: prev } : undefined,
  };
}

/**
 * Both tables have the same link columns; this reads them as audit_canonical() does. It selects
 * `chain_seq::text AS chain_seq`, so callers order by the table's column (`t.chain_seq`): the
 * bare name would sort the text, putting link 10 before link 2.
 */
const linkColumns = (sql: Sql) => sql`
  audit_event_id, chain_seq::text, prev_hash, hash, payload_hash, metadata::text AS metadata_text,
  ARRAY[audit_event_id::text, tenant_id::text, home_region, coalesce(region_epoch::text, ''),
    coalesce(actor_id::text, ''), action_type, aggregate_type, aggregate_id::text,
    coalesce(aggregate_version::text, ''), coalesce(command_id::text, ''), coalesce(correlation_id, ''),
    coalesce(causation_id, ''), (extract(epoch FROM occurred_at) * 1000000)::bigint::text] AS canonical_fields`;

/**
 * Verifies the tenant's chain from genesis, or from a link a previous verification ended at
 * (`after`): the links after it must follow from its hash.
 */
export async function verifyAuditChain(
  sql: Sql,
  tenantId: string,
  after?: { seq: number; hash: string },
): Promise<AuditVerifyResult> {
  const rows = await sql<AuditChainLink[]>`
    SELECT ${linkColumns(sql)}
    FROM global_audit_event WHERE tenant_id = ${tenantId} AND chain_seq > ${after?.seq ?? 0}
    ORDER BY global_audit_event.chain_seq`;
  return checkAuditChain(rows, after);
}

/**
 * Verifies the protected replica of `sourceRegion`'s chain of the tenant held in this database
 * (audit_replica_event), with the same canonical form as the home.
 */
export async function verifyAuditReplicaChain(
  sql: Sql,
  tenantId: string,
  sourceRegion: string,
): Promise<AuditVerifyResult> {
  const rows = await sql<AuditChainLink[]>`
    SELECT ${linkColumns(sql)}
    FROM audit_replica_event WHERE tenant_id = ${tenantId} AND source_region = ${sourceRegion}
    ORDER BY audit_replica_event.chain_seq`;
  return checkAuditChain(rows);
}
