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

/**
 * A link in the form that travels to the protected replica (contracts' `auditLink`): every field
 * exactly as stored — the times as UTC text with microseconds, the metadata as the database
 * renders it — so the replica recomputes the same hash.
 */
export interface AuditLinkRecord {
  chainSeq: number;
  prevHash: string;
  hash: string;
  auditEventId: string;
  tenantId: string;
  homeRegion: string;
  regionEpoch: number | null;
  actorId: string | null;
  actionType: string;
  aggregateType: string;
  aggregateId: string;
  aggregateVersion: number | null;
  commandId: string | null;
  correlationId: string | null;
  causationId: string | null;
  occurredAt: string;
  recordedAt: string;
  payloadHash: string;
  metadataText: string;
}

export interface AuditLinkRow {
  link_seq: string;
  prev_hash: string;
  hash: string;
  audit_event_id: string;
  tenant_id: string;
  home_region: string;
  link_region_epoch: string | null;
  actor_id: string | null;
  action_type: string;
  aggregate_type: string;
  aggregate_id: string;
  link_aggregate_version: string | null;
  command_id: string | null;
  correlation_id: string | null;
  causation_id: string | null;
  payload_hash: string;
  metadata_text: string;
  occurred_at_text: string;
  recorded_at_text: string;
}

/** global_audit_event's columns as AuditLinkRow (text forms under their own names: order by the table's). */
export const auditLinkRowColumns = (sql: Sql) => sql`
  chain_seq::text AS link_seq, prev_hash, hash, audit_event_id, tenant_id, home_region,
  region_epoch::text AS link_region_epoch, actor_id, action_type, aggregate_type, aggregate_id,
  aggregate_version::text AS link_aggregate_version, command_id, correlation_id, causation_id, payload_hash,
  metadata::text AS metadata_text,
  to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at_text,
  to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS recorded_at_text`;

const num = (s: string | null) => (s === null ? null : Number(s));

export function toAuditLinkRecord(r: AuditLinkRow): AuditLinkRecord {
  return {
    chainSeq: Number(r.link_seq),
    prevHash: r.prev_hash,
    hash: r.hash,
    auditEventId: r.audit_event_id,
    tenantId: r.tenant_id,
    homeRegion: r.home_region,
    regionEpoch: num(r.link_region_epoch),
    actorId: r.actor_id,
    actionType: r.action_type,
    aggregateType: r.aggregate_type,
    aggregateId: r.aggregate_id,
    aggregateVersion: num(r.link_aggregate_version),
    commandId: r.command_id,
    correlationId: r.correlation_id,
    causationId: r.causation_id,
    occurredAt: r.occurred_at_text,
    recordedAt: r.recorded_at_text,
    payloadHash: r.payload_hash,
    metadataText: r.metadata_text,
  };
}

/** Up to `limit` links of the tenant's chain after `afterSeq`, in chain order. */
export async function readAuditLinks(
  sql: Sql,
  tenantId: string,
  afterSeq: number,
  limit: number,
): Promise<AuditLinkRecord[]> {
  const rows = await sql<AuditLinkRow[]>`
    SELECT ${auditLinkRowColumns(sql)} FROM global_audit_event
    WHERE tenant_id = ${tenantId} AND chain_seq > ${afterSeq}
    ORDER BY global_audit_event.chain_seq LIMIT ${limit}`;
  return rows.map(toAuditLinkRecord);
}
