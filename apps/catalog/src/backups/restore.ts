import {
  cellRestoreResult,
  DomainError,
  decide,
  type ResidencyRefusal,
  type RestoreBody,
  residencyViolation,
} from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import { appendCatalogAudit } from "../audit.js";
import { cellCall } from "../cells.js";
import type { CatalogDeps } from "../deps.js";
import type { Actor } from "../placement/place-tenant.js";
import { loadPolicy, requireRegion } from "../placement/policies.js";
import { BACKUP_TIMEOUT_MS, cellProblem, loadBackup } from "./backup.js";

// `POST /v1/ops/restores` (issue 8, docs/backups.md). Every tenant restored must pass
// `restore_target` (the backup read from one of its backup regions, the target one of its allowed
// regions) under its current policy; one refusal refuses the whole restore: 451, audited per
// tenant and counted. An allowed restore goes into a fresh database beside the target region's
// cell, and is checked here against what the catalog recorded at backup time: each table's row
// count and checksum must be equal, and the audit chain must verify.

export async function restoreBackup(deps: CatalogDeps, body: RestoreBody, actor: Actor) {
  const backup = await loadBackup(deps, body.backupId);
  if (backup.status !== "COMPLETED" || !backup.manifest) {
    throw new DomainError(
      "INVALID_TRANSITION",
      `the backup is ${backup.status}; only a COMPLETED one restores`,
      {
        allowed: [],
      },
    );
  }
  await requireRegion(deps.sql, body.targetRegion, "targetRegion");
  const tenants = body.tenantId
    ? backup.included.filter((t) => t.tenantId === body.tenantId)
    : backup.included;
  if (body.tenantId && tenants.length === 0) {
    throw new DomainError("NOT_FOUND", "the backup holds no such tenant");
  }
  if (tenants.length === 0) {
    throw new DomainError("INVALID_TRANSITION", "the backup holds no tenants", { allowed: [] });
  }

  // The tenant's policy today decides (a policy tightened since the backup wins); the one
  // recorded at backup time stands in for a tenant the catalog no longer places.
  const current = await deps.sql<{ tenant_id: string; residency_policy: string }[]>`
    SELECT tenant_id, residency_policy FROM tenant_region_assignment
    WHERE tenant_id = ANY(${tenants.map((t) => t.tenantId)}::uuid[])`;
  const refusals: { tenantId: string; refusal: ResidencyRefusal }[] = [];
  const policyOf = new Map<string, string>();
  for (const t of tenants) {
    const code = current.find((c) => c.tenant_id === t.tenantId)?.residency_policy ?? t.policy;
    policyOf.set(t.tenantId, code);
    const d = decide(await loadPolicy(deps.sql, code), {
      sink: "restore_target",
      backupRegion: backup.storeRegion,
      targetRegion: body.targetRegion,
    });
    if (!d.allowed) refusals.push({ tenantId: t.tenantId, refusal: d });
  }
  if (refusals.length > 0) {
    await deps.sql.begin(async (tx) => {
      for (const { tenantId, refusal } of refusals) {
        deps.metrics.countResidencyViolation(refusal.policy, refusal.targetRegion);
        await appendCatalogAudit(tx, {
          actorId: actor.actorId,
          actionType: "cell.restore",
          tenantId,
          targetRegion: refusal.targetRegion,
          outcome: "REFUSED",
          correlationId: actor.correlationId,
          metadata: {
            reason: "RESIDENCY_VIOLATION",
            sink: refusal.sink,
            refusal: refusal.reason,
            policy: refusal.policy,
            backupId: backup.backupId,
            backupRegion: backup.storeRegion,
          },
        });
      }
    });
    throw residencyViolation(refusals[0]!.refusal);
  }

  if (!deps.env.CELL_URLS[body.targetRegion]) {
    throw new DomainError("REGION_UNAVAILABLE", `${body.targetRegion}: no cell is configured there`, {
      region: body.targetRegion,
      retryAfterSeconds: 30,
    });
  }
  const manifest = backup.manifest;
  const restoreId = uuidv7();
  const restored = await cellCall<unknown>(
    deps,
    body.targetRegion,
    "POST",
    "/internal/v1/restores",
    {
      restoreId,
      backupId: backup.backupId,
      storeRegion: backup.storeRegion,
      tenants: tenants.map((t) => ({
        tenantId: t.tenantId,
        sha256: manifest.tenants.find((m) => m.tenantId === t.tenantId)!.file.sha256,
      })),
    },
    BACKUP_TIMEOUT_MS,
  );
  const failed = async (error: string) =>
    appendCatalogAudit(deps.sql, {
      actorId: actor.actorId,
      actionType: "cell.restore.failed",
      targetRegion: body.targetRegion,
      outcome: "ACCEPTED",
      correlationId: actor.correlationId,
      metadata: { backupId: backup.backupId, restoreId, error },
    });
  if (restored?.status !== 201) {
    const err = restored
      ? cellProblem(body.targetRegion, restored)
      : new DomainError("REGION_UNAVAILABLE", `${body.targetRegion}: the cell is unreachable`, {
          region: body.targetRegion,
          retryAfterSeconds: 30,
        });
    await failed(err.message);
    throw err;
  }
  const parsed = cellRestoreResult.safeParse(restored.body);
  if (!parsed.success) {
    await failed("the cell's answer is not a restore result");
    throw new DomainError("REGION_UNAVAILABLE", `${body.targetRegion}: the restore's result is unreadable`, {
      region: body.targetRegion,
    });
  }

  // The proof: what the restored database holds equals what was backed up, table by table.
  const results = tenants.map((t) => {
    const expected = manifest.tenants.find((m) => m.tenantId === t.tenantId)!;
    const got = parsed.data.tenants.find((r) => r.tenantId === t.tenantId);
    const tables = expected.tables.map((e) => {
      const r = got?.tables.find((x) => x.name === e.name);
      return {
        name: e.name,
        expectedCount: e.count,
        restoredCount: r?.count ?? null,
        expectedChecksum: e.checksum,
        restoredChecksum: r?.checksum ?? null,
        equal: r !== undefined && r.count === e.count && r.checksum === e.checksum,
      };
    });
    const auditChain = got?.auditChain ?? null;
    return {
      tenantId: t.tenantId,
      policy: policyOf.get(t.tenantId)!,
      verified: tables.every((x) => x.equal) && auditChain?.ok === true,
      auditChain,
      tables,
    };
  });
  const verified = results.every((r) => r.verified);
  await deps.sql.begin(async (tx) => {
    for (const r of results) {
      await appendCatalogAudit(tx, {
        actorId: actor.actorId,
        actionType: "cell.restore",
        tenantId: r.tenantId,
        targetRegion: body.targetRegion,
        outcome: "ACCEPTED",
        correlationId: actor.correlationId,
        metadata: {
          backupId: backup.backupId,
          backupRegion: backup.storeRegion,
          restoreId,
          database: parsed.data.database,
          policy: r.policy,
          verified: r.verified,
        },
      });
    }
  });
  return {
    restoreId,
    backupId: backup.backupId,
    sourceRegion: backup.sourceRegion,
    storeRegion: backup.storeRegion,
    targetRegion: body.targetRegion,
    database: parsed.data.database,
    verified,
    tenants: results,
  };
}
