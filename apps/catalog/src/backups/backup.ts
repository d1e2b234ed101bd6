import {
  type BackupBody,
  type BackupManifest,
  backupManifest,
  DomainError,
  decide,
  type ResidencyPolicy,
} from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import { appendCatalogAudit } from "../audit.js";
import { cellCall } from "../cells.js";
import type { CatalogDeps } from "../deps.js";
import type { Actor } from "../placement/place-tenant.js";
import { loadPolicy, requireRegion } from "../placement/policies.js";

// `POST /v1/ops/backups` (issue 8, docs/backups.md). The catalog decides, tenant by tenant, whether
// the store's region is one of the tenant's backup_regions (sink `backup_store`); the cell dumps
// only the tenants it is given. A tenant kept out is audited (REFUSED, with the reason) and named
// only here, never in the store. It is not counted as a residency-violation attempt: nothing was
// attempted outside the policy, the filter is how every backup works (a nightly backup to a
// cross-border store would otherwise raise that alarm every night).

/** A backup reads every row of the cell's allowed tenants and runs pg_dump once per tenant. */
export const BACKUP_TIMEOUT_MS = 120_000;

export interface IncludedTenant {
  tenantId: string;
  policy: string;
  homeRegion: string | null;
}
export interface ExcludedTenant {
  tenantId: string;
  policy: string | null;
  reason: string;
  detail: string;
}

const unavailable = (region: string, why: string) =>
  new DomainError("REGION_UNAVAILABLE", `${region}: ${why}`, { region, retryAfterSeconds: 30 });

/** A cell's problem+json, passed on with its code (its detail names no host or database). */
export function cellProblem(region: string, r: { status: number; body: unknown }): DomainError {
  const p = r.body as { code?: string; detail?: string; allowed?: string[] } | null;
  if (p?.code === "REGION_UNAVAILABLE" || p?.code === "NOT_FOUND" || p?.code === "INVALID_TRANSITION") {
    return new DomainError(
      p.code,
      p.detail ?? p.code,
      p.code === "INVALID_TRANSITION" ? { allowed: [] } : { region },
    );
  }
  return unavailable(region, `the cell answered ${r.status}${p?.code ? ` ${p.code}` : ""}`);
}

export async function backupCell(deps: CatalogDeps, body: BackupBody, actor: Actor) {
  const sourceRegion = body.region;
  const storeRegion = body.storeRegion ?? body.region;
  await requireRegion(deps.sql, sourceRegion, "region");
  await requireRegion(deps.sql, storeRegion, "storeRegion");
  if (!deps.env.CELL_URLS[sourceRegion]) throw unavailable(sourceRegion, "no cell is configured there");

  const listed = await cellCall<{ tenantIds: string[] }>(
    deps,
    sourceRegion,
    "GET",
    "/internal/v1/backups/tenants",
    undefined,
    10_000,
  );
  if (!listed) throw unavailable(sourceRegion, "the cell is unreachable");
  if (listed.status !== 200) throw cellProblem(sourceRegion, listed);

  // Every tenant the cell holds rows of (its own and standby copies), decided by its current policy.
  const assignments = await deps.sql<{ tenant_id: string; residency_policy: string; home_region: string }[]>`
    SELECT tenant_id, residency_policy, home_region FROM tenant_region_assignment
    WHERE tenant_id = ANY(${listed.body.tenantIds}::uuid[])`;
  const policies = new Map<string, ResidencyPolicy>();
  const included: IncludedTenant[] = [];
  const excluded: ExcludedTenant[] = [];
  for (const tenantId of listed.body.tenantIds) {
    const a = assignments.find((x) => x.tenant_id === tenantId);
    if (!a) {
      // Rows of a tenant the catalog does not know: no policy says they may go anywhere.
      excluded.push({
        tenantId,
        policy: null,
        reason: "unknown_tenant",
        detail: "no placement in the catalog",
      });
      continue;
    }
    let policy = policies.get(a.residency_policy);
    if (!policy) {
      policy = await loadPolicy(deps.sql, a.residency_policy);
      policies.set(a.residency_policy, policy);
    }
    const d = decide(policy, { sink: "backup_store", targetRegion: storeRegion });
    if (d.allowed) included.push({ tenantId, policy: policy.policyCode, homeRegion: a.home_region });
    else excluded.push({ tenantId, policy: d.policy, reason: d.reason, detail: d.detail });
  }

  const backupId = uuidv7();
  await deps.sql.begin(async (tx) => {
    await tx`
      INSERT INTO cell_backup (backup_id, source_region, store_region, status, requested_by, included_tenants, excluded_tenants)
      VALUES (${backupId}, ${sourceRegion}, ${storeRegion}, 'RUNNING', ${actor.actorId},
        ${tx.json(included as never)}, ${tx.json(excluded as never)})`;
    await appendCatalogAudit(tx, {
      actorId: actor.actorId,
      actionType: "cell.backup.started",
      targetRegion: storeRegion,
      outcome: "ACCEPTED",
      correlationId: actor.correlationId,
      metadata: { backupId, sourceRegion, storeRegion, included: included.length, excluded: excluded.length },
    });
    for (const e of excluded) {
      await appendCatalogAudit(tx, {
        actorId: actor.actorId,
        actionType: "cell.backup.tenant_excluded",
        tenantId: e.tenantId,
        targetRegion: storeRegion,
        outcome: "REFUSED",
        correlationId: actor.correlationId,
        metadata: {
          reason: "RESIDENCY_VIOLATION",
          sink: "backup_store",
          refusal: e.reason,
          policy: e.policy,
          backupId,
          sourceRegion,
        },
      });
    }
  });

  const fail = async (message: string) => {
    await deps.sql.begin(async (tx) => {
      await tx`UPDATE cell_backup SET status = 'FAILED', error_message = ${message}, completed_at = now()
        WHERE backup_id = ${backupId}`;
      await appendCatalogAudit(tx, {
        actorId: actor.actorId,
        actionType: "cell.backup.failed",
        targetRegion: storeRegion,
        outcome: "ACCEPTED",
        correlationId: actor.correlationId,
        metadata: { backupId, sourceRegion, storeRegion, error: message },
      });
    });
  };

  // Excluded tenants travel as counts per policy and reason: the store never learns their ids.
  const counted = new Map<string, { policy: string | null; reason: string; tenants: number }>();
  for (const e of excluded) {
    const key = `${e.policy}|${e.reason}`;
    const c = counted.get(key) ?? { policy: e.policy, reason: e.reason, tenants: 0 };
    c.tenants++;
    counted.set(key, c);
  }
  const dumped = await cellCall<unknown>(
    deps,
    sourceRegion,
    "POST",
    "/internal/v1/backups",
    { backupId, storeRegion, tenants: included, excluded: [...counted.values()] },
    BACKUP_TIMEOUT_MS,
  );
  if (dumped?.status !== 201) {
    const err = dumped
      ? cellProblem(sourceRegion, dumped)
      : unavailable(sourceRegion, "the cell is unreachable");
    await fail(err.message);
    throw err;
  }
  const parsed = backupManifest.safeParse(dumped.body);
  if (!parsed.success || parsed.data.backupId !== backupId) {
    const err = unavailable(sourceRegion, "the cell's manifest is not what was asked for");
    await fail(err.message);
    throw err;
  }
  const manifest = parsed.data;
  await deps.sql.begin(async (tx) => {
    await tx`UPDATE cell_backup SET status = 'COMPLETED', manifest = ${tx.json(manifest as never)}, completed_at = now()
      WHERE backup_id = ${backupId}`;
    await appendCatalogAudit(tx, {
      actorId: actor.actorId,
      actionType: "cell.backup.completed",
      targetRegion: storeRegion,
      outcome: "ACCEPTED",
      correlationId: actor.correlationId,
      metadata: {
        backupId,
        sourceRegion,
        storeRegion,
        tenants: manifest.tenants.map((t) => ({ tenantId: t.tenantId, sha256: t.file.sha256 })),
      },
    });
  });
  return backupView({
    backupId,
    sourceRegion,
    storeRegion,
    status: "COMPLETED",
    included,
    excluded,
    manifest,
    errorMessage: null,
  });
}

interface BackupRecord {
  backupId: string;
  sourceRegion: string;
  storeRegion: string;
  status: string;
  included: IncludedTenant[];
  excluded: ExcludedTenant[];
  manifest: BackupManifest | null;
  errorMessage: string | null;
}

export function backupView(b: BackupRecord) {
  return {
    backupId: b.backupId,
    sourceRegion: b.sourceRegion,
    storeRegion: b.storeRegion,
    status: b.status,
    location: `${b.storeRegion}/${b.backupId}`,
    createdAt: b.manifest?.createdAt ?? null,
    completedAt: b.manifest?.completedAt ?? null,
    tenants: b.included.map((t) => {
      const m = b.manifest?.tenants.find((x) => x.tenantId === t.tenantId);
      return { ...t, file: m?.file ?? null, tables: m?.tables ?? [] };
    }),
    excluded: b.excluded.map(({ tenantId, policy, reason }) => ({ tenantId, policy, reason })),
    tools: b.manifest?.tools ?? null,
    errorMessage: b.errorMessage,
  };
}

export async function loadBackup(deps: CatalogDeps, backupId: string): Promise<BackupRecord> {
  const [r] = await deps.sql<
    {
      backup_id: string;
      source_region: string;
      store_region: string;
      status: string;
      included_tenants: IncludedTenant[];
      excluded_tenants: ExcludedTenant[];
      manifest: BackupManifest | null;
      error_message: string | null;
    }[]
  >`SELECT * FROM cell_backup WHERE backup_id = ${backupId}`;
  if (!r) throw new DomainError("NOT_FOUND", "unknown backup");
  return {
    backupId: r.backup_id,
    sourceRegion: r.source_region,
    storeRegion: r.store_region,
    status: r.status,
    included: r.included_tenants,
    excluded: r.excluded_tenants,
    manifest: r.manifest,
    errorMessage: r.error_message,
  };
}
