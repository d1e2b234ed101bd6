import { allowsPlacement, DomainError } from "@homeroute/contracts";
import { appendCatalogAudit } from "../audit.js";
import { cellCall } from "../cells.js";
import type { CatalogDeps } from "../deps.js";
import type { Actor } from "../placement/place-tenant.js";
import { loadPolicy } from "../placement/policies.js";
import { publishSnapshot } from "../snapshot/publish.js";
import { deliverPending, queueCellCall } from "../sync/cell-sync.js";

// DR promotion of one tenant (DESIGN §7, §8). The new home becomes writable only after the old
// home is known to have stopped writing for the tenant: it acknowledged the fence, or the last
// lease it was granted before the fence has expired, or an operator recorded (audited) that it is
// confirmed down. Then the standby in the target cell becomes the live copy at epoch+1.

export interface PromotionBody {
  targetRegion: string;
  reason: string;
  approvedBy: string;
  confirmedSourceDown?: boolean | undefined;
}

interface StandbyProgress {
  lastEventId: string | null;
  lastEventAt: string | null;
  eventsApplied: number;
  cases: number;
}
interface OutboxHead {
  lastEventId: string | null;
  lastCommittedAt: string | null;
  unpublished: number;
}

const CLOCK_MARGIN_MS = 1000; // leases are compared across machines in production: allow for skew
const CATCH_UP_TIMEOUT_MS = 10_000;

export async function promoteTenant(deps: CatalogDeps, tenantId: string, body: PromotionBody, actor: Actor) {
  const started = Date.now();
  const [row] = await deps.sql<
    { residency_policy: string; active_region: string; epoch: number; status: string }[]
  >`
    SELECT a.residency_policy, f.active_region, f.epoch, f.status FROM tenant_region_assignment a
    JOIN region_write_epoch f ON f.logical_scope = 'tenant:' || a.tenant_id WHERE a.tenant_id = ${tenantId}`;
  if (!row) throw new DomainError("NOT_FOUND", "unknown tenant");
  const source = row.active_region;
  const target = body.targetRegion;
  const policy = await loadPolicy(deps.sql, row.residency_policy);
  if (!allowsPlacement(policy, target) || target === source) {
    if (target !== source) deps.metrics.countResidencyViolation(policy.policyCode, target);
    await appendCatalogAudit(deps.sql, {
      actorId: actor.actorId,
      actionType: "tenant.promote",
      tenantId,
      targetRegion: target,
      outcome: "REFUSED",
      correlationId: actor.correlationId,
      metadata: { reason: body.reason, approvedBy: body.approvedBy, allowedRegions: policy.allowedRegions },
    });
    if (target === source) {
      throw new DomainError("INVALID_TRANSITION", `${target} is already the tenant's home`, { allowed: [] });
    }
    throw new DomainError(
      "RESIDENCY_VIOLATION",
      `policy ${policy.policyCode} allows no DR target in ${target}${policy.allowedRegions.length === 1 ? ": the tenant stays read-only until its home returns" : ""}`,
      { policy: policy.policyCode, targetRegion: target },
    );
  }

  // Readiness: the target must answer, and its standby tells how complete it is.
  const standby = await cellCall<StandbyProgress>(deps, target, "GET", `/internal/v1/standby/${tenantId}`);
  if (standby?.status !== 200) {
    throw new DomainError("REGION_UNAVAILABLE", `the target region ${target} does not answer`, {
      region: target,
      retryAfterSeconds: 5,
    });
  }
  const readiness = {
    targetReachable: true,
    standbyLastEventAt: standby.body.lastEventAt,
    standbyLagSeconds: standby.body.lastEventAt
      ? (Date.now() - Date.parse(standby.body.lastEventAt)) / 1000
      : null,
    standbyEvents: standby.body.eventsApplied,
    standbyCases: standby.body.cases,
  };

  // 1. Fence: new epoch, FENCED, committed together with the last lease the source was granted.
  const newEpoch = row.epoch + 1;
  const leaseAtFence = await deps.sql.begin(async (tx) => {
    const [lease] = await tx<{ lease_expires_at: Date | null }[]>`
      SELECT lease_expires_at FROM region_write_epoch WHERE logical_scope = ${`region:${source}`} FOR UPDATE`;
    const updated = await tx`
      UPDATE region_write_epoch SET epoch = ${newEpoch}, status = 'FENCED', updated_at = now()
      WHERE logical_scope = ${`tenant:${tenantId}`} AND epoch = ${row.epoch} RETURNING 1`;
    if (updated.length === 0)
      throw new DomainError("VERSION_CONFLICT", "the tenant's fence moved; retry", {});
    await queueCellCall(tx, source, "PUT", `/internal/v1/fences/tenant:${tenantId}`, {
      activeRegion: target,
      epoch: newEpoch,
      status: "FENCED",
    });
    await appendCatalogAudit(tx, {
      actorId: actor.actorId,
      actionType: "tenant.promote.fence",
      tenantId,
      targetRegion: target,
      outcome: "ACCEPTED",
      correlationId: actor.correlationId,
      metadata: { fromRegion: source, newEpoch, reason: body.reason, approvedBy: body.approvedBy },
    });
    return lease?.lease_expires_at ?? null;
  });

  // 2. How we know the source stopped.
  let fencedBy: "ack" | "lease_expiry" | "override";
  const ack = await cellCall(deps, source, "PUT", `/internal/v1/fences/tenant:${tenantId}`, {
    activeRegion: target,
    epoch: newEpoch,
    status: "FENCED",
  });
  if (ack && ack.status === 200) {
    fencedBy = "ack";
  } else if (body.confirmedSourceDown) {
    fencedBy = "override";
  } else {
    const until = (leaseAtFence?.getTime() ?? 0) + CLOCK_MARGIN_MS;
    const maxWait = deps.env.LEASE_TTL_SECONDS * 1000 + CLOCK_MARGIN_MS;
    const wait = Math.min(Math.max(0, until - Date.now()), maxWait);
    await new Promise((r) => setTimeout(r, wait));
    fencedBy = "lease_expiry";
  }
  const fencedAt = Date.now();

  // 3a. Whatever the source already relayed is durable in its stream: let the standby take all of it
  // before the target goes live, so only writes that never left the source can be missing.
  const standbyDrain = await waitForStandbyDrain(deps, source);

  // 3b. With the source alive, let its last writes reach the standby before the target goes live.
  let head: OutboxHead | null = null;
  let progress = standby.body;
  if (fencedBy === "ack") {
    const deadline = Date.now() + CATCH_UP_TIMEOUT_MS;
    for (;;) {
      head =
        (await cellCall<OutboxHead>(deps, source, "GET", `/internal/v1/tenants/${tenantId}/outbox-head`))
          ?.body ?? null;
      const p = await cellCall<StandbyProgress>(deps, target, "GET", `/internal/v1/standby/${tenantId}`);
      if (p?.body) progress = p.body;
      if (
        !head ||
        head.lastEventId === null ||
        head.lastEventId === progress.lastEventId ||
        Date.now() > deadline
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const caughtUp = head ? head.lastEventId === null || head.lastEventId === progress.lastEventId : null;

  // 4. Activate the target at the new epoch; publish the routing snapshot.
  await deps.sql.begin(async (tx) => {
    await tx`
      UPDATE region_write_epoch SET active_region = ${target}, status = 'WRITABLE', updated_at = now()
      WHERE logical_scope = ${`tenant:${tenantId}`}`;
    await tx`UPDATE tenant_region_assignment SET home_region = ${target}, updated_at = now() WHERE tenant_id = ${tenantId}`;
    const fence = { activeRegion: target, epoch: newEpoch, status: "WRITABLE" };
    await queueCellCall(tx, target, "PUT", `/internal/v1/fences/tenant:${tenantId}`, fence);
    await queueCellCall(tx, source, "PUT", `/internal/v1/fences/tenant:${tenantId}`, fence);
    await appendCatalogAudit(tx, {
      actorId: actor.actorId,
      actionType: "tenant.promote",
      tenantId,
      targetRegion: target,
      outcome: "ACCEPTED",
      correlationId: actor.correlationId,
      metadata: {
        fromRegion: source,
        newEpoch,
        fencedBy,
        reason: body.reason,
        approvedBy: body.approvedBy,
        confirmedSourceDown: body.confirmedSourceDown === true,
      },
    });
    await publishSnapshot(tx);
  });
  deps.kickSync();
  await Promise.race([deliverPending(deps), new Promise((r) => setTimeout(r, 3000))]).catch(() => {});

  return {
    tenantId,
    fromRegion: source,
    toRegion: target,
    newEpoch,
    fencedBy,
    readiness: { ...readiness, standbyDrain },
    unreplicatedWindow: {
      caughtUp,
      sourceLastCommittedAt: head?.lastCommittedAt ?? null,
      sourceUnpublished: head?.unpublished ?? null,
      replicatedUpTo: progress.lastEventAt,
      lastReplicatedEventId: progress.lastEventId,
      eventsReplicated: progress.eventsApplied,
      casesAtTarget: progress.cases,
      note:
        caughtUp === true
          ? "the source acknowledged the fence and every event it committed reached the standby"
          : "writes the source committed after replicatedUpTo may be missing; if it returns they become conflict cases",
    },
    timings: { fenceMs: fencedAt - started, totalMs: Date.now() - started },
  };
}

/** Polls the projector until the DR standby consumer of the source's stream has nothing pending. */
async function waitForStandbyDrain(
  deps: CatalogDeps,
  source: string,
): Promise<{ drained: boolean | null; waitedMs: number }> {
  const url = deps.env.PROJECTOR_URL;
  const started = Date.now();
  if (!url) return { drained: null, waitedMs: 0 };
  while (Date.now() - started < CATCH_UP_TIMEOUT_MS) {
    try {
      const res = await fetch(`${url}/status`, { signal: AbortSignal.timeout(1000) });
      const s = (await res.json()) as { standbyPending?: Record<string, number> };
      if (s.standbyPending?.[source] === 0) return { drained: true, waitedMs: Date.now() - started };
    } catch {
      // the projector is down: report, do not block the promotion on it
      return { drained: null, waitedMs: Date.now() - started };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { drained: false, waitedMs: Date.now() - started };
}
