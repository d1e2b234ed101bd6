import type { AuditReplicaLinksBody, AuditReplicaLinksResult } from "@homeroute/contracts";
import { DomainError } from "@homeroute/contracts";
import { GENESIS_HASH } from "@homeroute/db/cell";
import type { CellDeps } from "../deps.js";

// The replica's half of the protected audit replica (DESIGN §13, docs/audit.md): links of another
// region's chain of a tenant, kept verbatim in audit_replica_event (append-only). A link is taken
// only if it continues the copy — the next chain_seq, and prev_hash equal to the head's hash — so
// the copy is always a prefix of the home's chain; the sender sends again in order.

/** Takes the links that continue the copy, in order; stops at the first one that does not. */
export async function acceptReplicaLinks(
  deps: CellDeps,
  tenantId: string,
  body: AuditReplicaLinksBody,
): Promise<AuditReplicaLinksResult> {
  if (body.links.some((l) => l.tenantId !== tenantId)) {
    throw new DomainError("VALIDATION_FAILED", "every link must be of the tenant in the path", {
      issues: [{ path: ["body", "links"], message: "tenantId differs from the path" }],
    });
  }
  const source = body.sourceRegion;
  return deps.sql.begin(async (tx) => {
    // The head row is the copy's lock: two deliveries of the same chain take turns.
    await tx`
      INSERT INTO audit_replica_head (tenant_id, source_region, chain_seq, hash)
      VALUES (${tenantId}, ${source}, 0, ${GENESIS_HASH}) ON CONFLICT DO NOTHING`;
    const [head] = await tx<{ chain_seq: string; hash: string }[]>`
      SELECT chain_seq::text, hash FROM audit_replica_head
      WHERE tenant_id = ${tenantId} AND source_region = ${source} FOR UPDATE`;
    let seq = Number(head!.chain_seq);
    let hash = head!.hash;
    let accepted = 0;
    let duplicates = 0;
    let refused: AuditReplicaLinksResult["refused"];
    for (const l of body.links) {
      if (l.chainSeq <= seq) {
        const [held] = await tx<{ hash: string }[]>`
          SELECT hash FROM audit_replica_event
          WHERE tenant_id = ${tenantId} AND source_region = ${source} AND chain_seq = ${l.chainSeq}`;
        if (held?.hash === l.hash) {
          duplicates++;
          continue;
        }
        refused = {
          chainSeq: l.chainSeq,
          reason: "diverged",
          detail: `link ${l.chainSeq} differs from the one the replica holds`,
        };
        break;
      }
      if (l.chainSeq > seq + 1) {
        refused = { chainSeq: l.chainSeq, reason: "gap", detail: `the replica's head is link ${seq}` };
        break;
      }
      if (l.prevHash !== hash) {
        refused = {
          chainSeq: l.chainSeq,
          reason: "diverged",
          detail: `prev_hash of link ${l.chainSeq} is not the hash of the replica's link ${seq}`,
        };
        break;
      }
      await tx`
        INSERT INTO audit_replica_event (tenant_id, source_region, chain_seq, audit_event_id, home_region,
          region_epoch, actor_id, action_type, aggregate_type, aggregate_id, aggregate_version, command_id,
          correlation_id, causation_id, occurred_at, recorded_at, payload_hash, metadata, prev_hash, hash)
        VALUES (${tenantId}, ${source}, ${l.chainSeq}, ${l.auditEventId}, ${l.homeRegion}, ${l.regionEpoch},
          ${l.actorId}, ${l.actionType}, ${l.aggregateType}, ${l.aggregateId}, ${l.aggregateVersion},
          ${l.commandId}, ${l.correlationId}, ${l.causationId}, ${l.occurredAt}::timestamptz,
          ${l.recordedAt}::timestamptz, ${l.payloadHash}, ${l.metadataText}::text::jsonb, ${l.prevHash}, ${l.hash})`;
      seq = l.chainSeq;
      hash = l.hash;
      accepted++;
    }
    if (accepted > 0) {
      await tx`
        UPDATE audit_replica_head SET chain_seq = ${seq}, hash = ${hash}, updated_at = now()
        WHERE tenant_id = ${tenantId} AND source_region = ${source}`;
    }
    return { accepted, duplicates, head: { seq, hash }, ...(refused ? { refused } : {}) };
  });
}

/** The copy's head as recorded when links were taken (0 and the genesis hash before any). */
export async function replicaHead(
  deps: CellDeps,
  tenantId: string,
  sourceRegion: string,
): Promise<{ seq: number; hash: string } | null> {
  const [h] = await deps.sql<{ chain_seq: string; hash: string }[]>`
    SELECT chain_seq::text, hash FROM audit_replica_head
    WHERE tenant_id = ${tenantId} AND source_region = ${sourceRegion}`;
  return h ? { seq: Number(h.chain_seq), hash: h.hash } : null;
}
