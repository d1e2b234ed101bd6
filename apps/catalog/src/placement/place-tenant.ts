import { allowsPlacement, DomainError, type PlaceTenantBody } from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import { appendCatalogAudit } from "../audit.js";
import { runCatalogCommand } from "../command.js";
import type { CatalogDeps } from "../deps.js";
import { publishSnapshot } from "../snapshot/publish.js";
import { deliverPending, queueCellCall } from "../sync/cell-sync.js";
import { loadPolicy, requireRegion } from "./policies.js";
import { getTenant } from "./tenants.js";

export interface Actor {
  actorId: string;
  commandId: string;
  correlationId: string;
}

/**
 * Places a tenant in a home region its residency policy allows (DESIGN §10): the assignment, its
 * fence at epoch 1 and the cell registration (tenant, fence, admins' grants) commit together,
 * the cell calls through the sync outbox. A refusal is 451, audited and counted, and writes
 * nothing else.
 */
export async function placeTenant(deps: CatalogDeps, body: PlaceTenantBody, actor: Actor) {
  const policy = await loadPolicy(deps.sql, body.residencyPolicy);
  await requireRegion(deps.sql, body.homeRegion, "homeRegion");
  if (!allowsPlacement(policy, body.homeRegion)) {
    deps.metrics.countResidencyViolation(policy.policyCode, body.homeRegion);
    await appendCatalogAudit(deps.sql, {
      actorId: actor.actorId,
      actionType: "tenant.place",
      tenantId: body.tenantId ?? null,
      targetRegion: body.homeRegion,
      outcome: "REFUSED",
      correlationId: actor.correlationId,
      metadata: {
        reason: "RESIDENCY_VIOLATION",
        policy: policy.policyCode,
        allowedRegions: policy.allowedRegions,
      },
    });
    throw new DomainError(
      "RESIDENCY_VIOLATION",
      `policy ${policy.policyCode} does not allow ${body.homeRegion}; allowed: ${policy.allowedRegions.join(", ")}`,
      { policy: policy.policyCode, targetRegion: body.homeRegion },
    );
  }
  // Queued intake holds complaints at the edge, whose storage is not tied to one jurisdiction:
  // only for tenants whose policy lets their data be in every region.
  if (body.queuedIntake && !deps.topology.regions.every((r) => policy.allowedRegions.includes(r.code))) {
    deps.metrics.countResidencyViolation(policy.policyCode, "edge");
    throw new DomainError(
      "RESIDENCY_VIOLATION",
      `policy ${policy.policyCode} does not allow holding intake at the edge`,
      {
        policy: policy.policyCode,
        targetRegion: "edge",
      },
    );
  }
  const tenantId = body.tenantId ?? uuidv7();
  const result = await runCatalogCommand(
    deps,
    { commandId: actor.commandId, operation: "tenant.place", actorId: actor.actorId, request: body },
    async (tx) => {
      const [exists] = await tx`SELECT 1 FROM tenant_region_assignment WHERE tenant_id = ${tenantId}`;
      if (exists) {
        throw new DomainError(
          "INVALID_TRANSITION",
          "the tenant is already placed; move it with a migration",
          {
            allowed: [],
          },
        );
      }
      await tx`
        INSERT INTO tenant_region_assignment (tenant_id, name, home_region, residency_policy, status, queued_intake)
        VALUES (${tenantId}, ${body.name}, ${body.homeRegion}, ${policy.policyCode}, 'ACTIVE', ${body.queuedIntake === true})`;
      await tx`
        INSERT INTO region_write_epoch (logical_scope, active_region, epoch, status)
        VALUES (${`tenant:${tenantId}`}, ${body.homeRegion}, 1, 'WRITABLE')`;
      const home = body.homeRegion;
      await queueCellCall(tx, home, "PUT", `/internal/v1/tenants/${tenantId}`, {
        name: body.name,
        homeRegion: home,
        status: "ACTIVE",
        residencyPolicy: policy.policyCode,
      });
      await queueCellCall(tx, home, "PUT", `/internal/v1/fences/tenant:${tenantId}`, {
        activeRegion: home,
        epoch: 1,
        status: "WRITABLE",
      });
      // Standbys live in the cells of the tenant's other allowed regions (the first is its DR target):
      // each learns the tenant and whose it is, and refuses its writes until a promotion.
      for (const dr of policy.allowedRegions.filter((r) => r !== home)) {
        await queueCellCall(tx, dr, "PUT", `/internal/v1/tenants/${tenantId}`, {
          name: body.name,
          homeRegion: home,
          status: "ACTIVE",
          residencyPolicy: policy.policyCode,
        });
        await queueCellCall(tx, dr, "PUT", `/internal/v1/fences/tenant:${tenantId}`, {
          activeRegion: home,
          epoch: 1,
          status: "WRITABLE",
        });
      }
      for (const userId of body.adminUserIds ?? []) {
        await queueCellCall(
          tx,
          home,
          "PUT",
          `/internal/v1/tenants/${tenantId}/grants/${userId}/tenant_admin`,
          undefined,
        );
      }
      await appendCatalogAudit(tx, {
        actorId: actor.actorId,
        actionType: "tenant.place",
        tenantId,
        targetRegion: home,
        outcome: "ACCEPTED",
        correlationId: actor.correlationId,
        metadata: { policy: policy.policyCode, adminUserIds: body.adminUserIds ?? [] },
      });
      const snapshotVersion = await publishSnapshot(tx);
      return { statusCode: 201, body: { ...(await getTenant(tx, tenantId)), snapshotVersion } };
    },
  );
  deps.kickSync();
  // Try to have the home cell registered before answering, so the tenant is usable at once; if
  // the cell is down, the sync loop keeps trying and the answer says so.
  if (!result.replayed) {
    const tenantId = result.body.tenantId as string;
    const registered = await Promise.race([
      deliverPending(deps).then(async () => {
        const [left] = await deps.sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM cell_sync_task
          WHERE done_at IS NULL AND region = ${body.homeRegion} AND path LIKE ${`%${tenantId}%`}`;
        return left!.n === 0;
      }),
      new Promise<boolean>((r) => setTimeout(() => r(false), 3000)),
    ]).catch(() => false);
    result.body = { ...result.body, cellRegistered: registered };
  }
  return result;
}
