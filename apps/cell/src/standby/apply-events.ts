import { DomainError, type DomainEvent } from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import type { TransactionSql } from "postgres";
import type { CellDeps } from "../deps.js";
import { tenantScope } from "../fences/write-gate.js";

// The DR standby inside the DR region's own cell (DESIGN §8): events of tenants homed elsewhere are
// applied here, idempotently by version, so a promotion turns these rows into the live copy. The
// cell stays the only writer of its database; the projector only delivers events to it.
//
// Once this cell is the tenant's home, an event from another region is an orphan: a write the old
// home committed but had not relayed before the promotion. It is never applied; it becomes a
// cross_region_conflict_case for explicit review (never last-write-wins).

export interface ApplyOutcome {
  applied: number;
  skipped: number;
  conflicts: number;
}

export async function applyStandbyEvents(deps: CellDeps, events: DomainEvent[]): Promise<ApplyOutcome> {
  // One transaction per batch: a migration's bulk copy arrives through here, and a commit per
  // event capped it at a few hundred rows a second.
  try {
    return await deps.sql.begin(async (tx) => {
      const out: ApplyOutcome = { applied: 0, skipped: 0, conflicts: 0 };
      for (const e of events) out[await applyOne(deps, tx, e)]++;
      return out;
    });
  } catch (error) {
    if (events.length === 1) throw error;
    // One event the batch could not take must not hold back those before it: one by one, so the
    // progress reported is exactly what committed, and the failure still reaches the sender.
    const out: ApplyOutcome = { applied: 0, skipped: 0, conflicts: 0 };
    for (const e of events) out[await deps.sql.begin((tx) => applyOne(deps, tx, e))]++;
    return out;
  }
}

async function applyOne(deps: CellDeps, tx: TransactionSql, e: DomainEvent): Promise<keyof ApplyOutcome> {
  // The fence row is locked shared, like a command: a promotion cannot flip it mid-apply.
  const [fence] = await tx<{ active_region: string; epoch: number }[]>`
    SELECT active_region, epoch FROM region_write_epoch WHERE logical_scope = ${tenantScope(e.tenantId)} FOR SHARE`;
  // Not registered here yet (the catalog's registration may trail the first events): refuse the
  // batch so it is redelivered, rather than acknowledge an event we did not keep.
  if (!fence)
    throw new DomainError("REGION_UNAVAILABLE", "this cell does not stand by for the tenant yet", {
      region: deps.region,
      retryAfterSeconds: 1,
    });
  if (e.homeRegion === deps.region) return "skipped";
  if (fence.active_region === deps.region) {
    const local = await localVersion(tx, e);
    const inserted = await tx`
      INSERT INTO cross_region_conflict_case (conflict_id, tenant_id, aggregate_type, aggregate_id, home_region,
        conflicting_region, conflict_type, local_version, remote_version, payload, source_event_id)
      VALUES (${uuidv7()}, ${e.tenantId}, ${e.aggregateType}, ${e.aggregateId}, ${deps.region}, ${e.homeRegion},
        'UNREPLICATED_WRITE_FROM_FORMER_HOME', ${local}, ${e.aggregateVersion}, ${tx.json(e as never)}, ${e.eventId})
      ON CONFLICT (source_event_id) DO NOTHING RETURNING 1`;
    return inserted.length ? "conflicts" : "skipped";
  }
  const changed = await applyToStandby(tx, e);
  await tx`
    INSERT INTO standby_applied_event (tenant_id, event_id, source_region)
    VALUES (${e.tenantId}, ${e.eventId}, ${e.homeRegion}) ON CONFLICT DO NOTHING`;
  await tx`
    INSERT INTO standby_progress (tenant_id, source_region, last_event_id, last_event_at, last_applied_at, events_applied)
    VALUES (${e.tenantId}, ${e.homeRegion}, ${e.eventId}, ${e.occurredAt}, now(), 1)
    ON CONFLICT (tenant_id) DO UPDATE SET source_region = EXCLUDED.source_region, last_event_id = EXCLUDED.last_event_id,
      last_event_at = greatest(standby_progress.last_event_at, EXCLUDED.last_event_at), last_applied_at = now(),
      events_applied = standby_progress.events_applied + 1`;
  if (changed) {
    await tx`
      INSERT INTO global_audit_event (audit_event_id, tenant_id, home_region, region_epoch, actor_id, action_type,
        aggregate_type, aggregate_id, aggregate_version, command_id, correlation_id, causation_id, occurred_at, metadata)
      VALUES (${uuidv7()}, ${e.tenantId}, ${e.homeRegion}, ${e.regionEpoch}, ${null}, ${e.type}, ${e.aggregateType},
        ${e.aggregateId}, ${e.aggregateVersion}, ${e.commandId}, ${e.correlationId}, ${e.causationId}, ${e.occurredAt},
        ${tx.json({ payload: e.payload, replicatedFrom: e.homeRegion, eventId: e.eventId } as never)})`;
  }
  return changed ? "applied" : "skipped";
}

async function localVersion(tx: TransactionSql, e: DomainEvent): Promise<number | null> {
  const table =
    e.aggregateType === "case"
      ? tx`SELECT version FROM regulatory_case WHERE tenant_id = ${e.tenantId} AND case_id = ${e.aggregateId}`
      : e.aggregateType === "task"
        ? tx`SELECT version FROM case_task WHERE tenant_id = ${e.tenantId} AND task_id = ${e.aggregateId}`
        : null;
  if (!table) return null;
  const [r] = (await table) as unknown as { version: number }[];
  return r?.version ?? null;
}

async function applyToStandby(tx: TransactionSql, e: DomainEvent): Promise<boolean> {
  const t = e.tenantId;
  switch (e.type) {
    case "case.created": {
      const p = e.payload;
      const r = await tx`
        INSERT INTO regulatory_case (tenant_id, case_id, home_region, region_epoch, case_number, status, version, category,
          country_code, summary, channel, access_code_hash, created_at, updated_at)
        VALUES (${t}, ${e.aggregateId}, ${e.homeRegion}, ${e.regionEpoch}, ${p.caseNumber}, ${p.status}, ${e.aggregateVersion},
          ${p.category}, ${p.countryCode}, ${p.summary}, ${p.channel}, ${p.accessCodeHash}, ${e.occurredAt}, ${e.occurredAt})
        ON CONFLICT DO NOTHING RETURNING 1`;
      return r.length > 0;
    }
    case "case.status_changed":
    case "case.decision_recorded": {
      const r = await tx`
        UPDATE regulatory_case SET status = ${e.payload.to}, version = ${e.aggregateVersion}, region_epoch = ${e.regionEpoch},
          updated_at = ${e.occurredAt}
        WHERE tenant_id = ${t} AND case_id = ${e.aggregateId} AND version < ${e.aggregateVersion} RETURNING 1`;
      return r.length > 0;
    }
    case "task.created": {
      const p = e.payload;
      const r = await tx`
        INSERT INTO case_task (tenant_id, task_id, case_id, title, assignee_id, due_at, status, version, created_at, updated_at)
        VALUES (${t}, ${e.aggregateId}, ${p.caseId}, ${p.title}, ${p.assigneeId}, ${p.dueAt}, 'OPEN', ${e.aggregateVersion},
          ${e.occurredAt}, ${e.occurredAt})
        ON CONFLICT DO NOTHING RETURNING 1`;
      return r.length > 0;
    }
    case "task.completed": {
      const r = await tx`
        UPDATE case_task SET status = 'COMPLETED', version = ${e.aggregateVersion}, updated_at = ${e.occurredAt}
        WHERE tenant_id = ${t} AND task_id = ${e.aggregateId} AND version < ${e.aggregateVersion} RETURNING 1`;
      return r.length > 0;
    }
    case "evidence.attached": {
      // Metadata only: the blob stays in the store of its residency region (DESIGN §4).
      const p = e.payload;
      const r = await tx`
        INSERT INTO evidence_object (tenant_id, evidence_id, case_id, sha256, size, content_type, filename, storage_region,
          object_key, uploaded_by, created_at)
        VALUES (${t}, ${e.aggregateId}, ${p.caseId}, ${p.sha256}, ${p.size}, ${p.contentType}, ${p.filename},
          ${p.storageRegion}, ${p.objectKey}, ${p.uploadedBy}, ${e.occurredAt})
        ON CONFLICT DO NOTHING RETURNING 1`;
      return r.length > 0;
    }
    case "review.recommended": {
      const p = e.payload;
      const r = await tx`
        INSERT INTO review_recommendation (tenant_id, recommendation_id, case_id, reviewer_id, reviewer_region,
          recommendation, rationale, created_at)
        VALUES (${t}, ${e.aggregateId}, ${p.caseId}, ${p.reviewerId}, ${p.reviewerRegion}, ${p.recommendation},
          ${p.rationale}, ${e.occurredAt})
        ON CONFLICT DO NOTHING RETURNING 1`;
      return r.length > 0;
    }
    case "grant.granted":
    case "grant.revoked": {
      const v = await tx`
        INSERT INTO grant_version (tenant_id, user_id, version) VALUES (${t}, ${e.payload.userId}, ${e.aggregateVersion})
        ON CONFLICT (tenant_id, user_id) DO UPDATE SET version = EXCLUDED.version
        WHERE grant_version.version < EXCLUDED.version RETURNING 1`;
      if (v.length === 0) return false;
      if (e.type === "grant.granted") {
        await tx`INSERT INTO authorization_grant (tenant_id, user_id, role) VALUES (${t}, ${e.payload.userId}, ${e.payload.role})
          ON CONFLICT DO NOTHING`;
      } else {
        await tx`DELETE FROM authorization_grant WHERE tenant_id = ${t} AND user_id = ${e.payload.userId} AND role = ${e.payload.role}`;
      }
      return true;
    }
  }
}
