import { type AuditLinkMessage, auditLinkMessage } from "@homeroute/contracts";
import {
  type AuditLinkRecord,
  type AuditLinkRow,
  auditLinkRowColumns,
  toAuditLinkRecord,
} from "@homeroute/db/cell";
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

const encoder = new TextEncoder();

/** Publishes up to `batchSize` new links of each of up to 50 tenants; returns how many went. */
export async function publishAuditLinks(
  sql: Sql,
  js: JetStreamClient,
  root: string,
  region: string,
  batchSize: number,
): Promise<number> {
  // The columns and text forms are the db package's (auditLinkRowColumns), the same the cell
  // reads to backfill a replica: the replica recomputes each hash from them, so there is one
  // definition. chain_seq beside them is the bigint, for the order.
  const rows = await sql<(AuditLinkRow & { chain_seq: number })[]>`
    SELECT e.* FROM (
      SELECT h.tenant_id, coalesce(p.last_chain_seq, 0) AS after_seq FROM audit_chain_head h
      JOIN tenant_registration t ON t.tenant_id = h.tenant_id AND t.home_region = ${region}
      LEFT JOIN audit_relay_progress p ON p.tenant_id = h.tenant_id
      WHERE h.last_seq > coalesce(p.last_chain_seq, 0)
      ORDER BY h.tenant_id LIMIT 50) b
    CROSS JOIN LATERAL (
      SELECT chain_seq, ${auditLinkRowColumns(sql)}
      FROM global_audit_event WHERE tenant_id = b.tenant_id AND chain_seq > b.after_seq
      ORDER BY global_audit_event.chain_seq LIMIT ${batchSize}) e
    ORDER BY e.tenant_id, e.chain_seq`;
  if (rows.length === 0) return 0;
  const byTenant = new Map<string, AuditLinkRecord[]>();
  for (const r of rows) {
    const link = toAuditLinkRecord(r);
    byTenant.set(link.tenantId, [...(byTenant.get(link.tenantId) ?? []), link]);
  }
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
  links: AuditLinkRecord[],
): Promise<number> {
  let last = 0;
  try {
    for (const link of links) {
      // Consecutive links only: the stream must never hold a link ahead of the one before it.
      if (last > 0 && link.chainSeq !== last + 1) break;
      const message: AuditLinkMessage = auditLinkMessage.parse({
        type: "audit.link",
        sourceRegion: region,
        link,
      });
      await js.publish(auditSubjectFor(root, region, tenantId), encoder.encode(JSON.stringify(message)), {
        msgID: `audit:${region}:${tenantId}:${link.chainSeq}`,
      });
      last = link.chainSeq;
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
