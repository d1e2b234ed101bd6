import { type AuditLinkMessage, auditLinkMessage } from "@homeroute/contracts";
import { auditSubjectFor } from "@homeroute/events";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { Sql } from "postgres";

// The home's half of the protected audit replica (DESIGN §13, docs/audit.md): every tenant homed
// in this region has its new audit links published, in chain order, to the region's audit stream;
// audit_relay_progress remembers the last link JetStream acknowledged per tenant.
//
// Links are read straight from global_audit_event, not from the outbox: some audited actions
// (a refused support read, a resolved conflict) have no outbox event, and the replica copies the
// chain itself. A tenant's links commit in chain order (the trigger holds its chain head's row
// lock until commit), so a link after the progress mark is never followed by a missing one.
// Only tenants homed here are published: a standby's own chain of a tenant starts replicating
// when a promotion or migration makes this region its home, from its first link.

// The same reading as readAuditLinks in @homeroute/db/cell (which the cell uses to backfill a
// replica), for many tenants at once; the relay does not depend on the db package.
interface LinkRow {
  tenant_id: string;
  chain_seq: string;
  prev_hash: string;
  hash: string;
  audit_event_id: string;
  home_region: string;
  region_epoch: string | null;
  actor_id: string | null;
  action_type: string;
  aggregate_type: string;
  aggregate_id: string;
  aggregate_version: string | null;
  command_id: string | null;
  correlation_id: string | null;
  causation_id: string | null;
  occurred_at: string;
  recorded_at: string;
  payload_hash: string;
  metadata_text: string;
}

const encoder = new TextEncoder();
const num = (s: string | null) => (s === null ? null : Number(s));

/** Publishes up to `batchSize` new links of each of up to 50 tenants; returns how many went. */
export async function publishAuditLinks(
  sql: Sql,
  js: JetStreamClient,
  root: string,
  region: string,
  batchSize: number,
): Promise<number> {
  const rows = await sql<LinkRow[]>`
    SELECT b.tenant_id, e.* FROM (
      SELECT h.tenant_id, coalesce(p.last_chain_seq, 0) AS after_seq FROM audit_chain_head h
      JOIN tenant_registration t ON t.tenant_id = h.tenant_id AND t.home_region = ${region}
      LEFT JOIN audit_relay_progress p ON p.tenant_id = h.tenant_id
      WHERE h.last_seq > coalesce(p.last_chain_seq, 0)
      ORDER BY h.tenant_id LIMIT 50) b
    CROSS JOIN LATERAL (
      SELECT chain_seq::text, prev_hash, hash, audit_event_id, home_region, region_epoch::text, actor_id,
        action_type, aggregate_type, aggregate_id, aggregate_version::text, command_id, correlation_id,
        causation_id, payload_hash, metadata::text AS metadata_text,
        to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at,
        to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS recorded_at
      FROM global_audit_event e WHERE e.tenant_id = b.tenant_id AND e.chain_seq > b.after_seq
      ORDER BY e.chain_seq LIMIT ${batchSize}) e
    ORDER BY b.tenant_id, e.chain_seq::bigint`;
  if (rows.length === 0) return 0;
  // (The lateral's chain_seq is text, hence the ::bigint above: link 10 goes after link 2.)
  const byTenant = new Map<string, LinkRow[]>();
  for (const r of rows) byTenant.set(r.tenant_id, [...(byTenant.get(r.tenant_id) ?? []), r]);
  const published = await Promise.all(
    [...byTenant].map(([tenantId, links]) => publishChain(sql, js, root, region, tenantId, links)),
  );
  return published.reduce((a, b) => a + b, 0);
}

/**
 * One at a time, in order: a link is published only after the one before it was acknowledged, so
 * the stream never holds a tenant's link ahead of an earlier one that failed. A re-publish after a
 * crash has the same message id, and the stream's duplicate window drops it.
 */
async function publishChain(
  sql: Sql,
  js: JetStreamClient,
  root: string,
  region: string,
  tenantId: string,
  links: LinkRow[],
): Promise<number> {
  let last = 0;
  try {
    for (const r of links) {
      // Consecutive links only: the stream must never hold a link ahead of the one before it.
      if (last > 0 && Number(r.chain_seq) !== last + 1) break;
      const message: AuditLinkMessage = auditLinkMessage.parse({
        type: "audit.link",
        sourceRegion: region,
        link: {
          chainSeq: Number(r.chain_seq),
          prevHash: r.prev_hash,
          hash: r.hash,
          auditEventId: r.audit_event_id,
          tenantId,
          homeRegion: r.home_region,
          regionEpoch: num(r.region_epoch),
          actorId: r.actor_id,
          actionType: r.action_type,
          aggregateType: r.aggregate_type,
          aggregateId: r.aggregate_id,
          aggregateVersion: num(r.aggregate_version),
          commandId: r.command_id,
          correlationId: r.correlation_id,
          causationId: r.causation_id,
          occurredAt: r.occurred_at,
          recordedAt: r.recorded_at,
          payloadHash: r.payload_hash,
          metadataText: r.metadata_text,
        },
      });
      await js.publish(auditSubjectFor(root, region, tenantId), encoder.encode(JSON.stringify(message)), {
        msgID: `audit:${region}:${tenantId}:${r.chain_seq}`,
      });
      last = Number(r.chain_seq);
    }
  } finally {
    if (last > 0) {
      await sql`
        INSERT INTO audit_relay_progress (tenant_id, last_chain_seq) VALUES (${tenantId}, ${last})
        ON CONFLICT (tenant_id) DO UPDATE SET updated_at = now(),
          last_chain_seq = greatest(audit_relay_progress.last_chain_seq, EXCLUDED.last_chain_seq)`;
    }
  }
  return links.length;
}
