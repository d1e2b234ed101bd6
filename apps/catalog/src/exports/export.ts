import {
  type CellExportResult,
  DomainError,
  decide,
  type ExportBody,
  type ExportMode,
  type ExportView,
  residencyViolation,
} from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import { appendCatalogAudit } from "../audit.js";
import { cellCall } from "../cells.js";
import { runCatalogCommand } from "../command.js";
import type { CatalogDeps } from "../deps.js";
import type { Actor } from "../placement/place-tenant.js";
import { loadPolicy, requireRegion } from "../placement/policies.js";

// POST /v1/ops/exports (CONTRACT.md; DESIGN §10; docs/residency.md "Exports"). The residency
// module decides (sink `export`); a refusal is 451, audited and counted, and nothing is written.
// An allowed export is written by the tenant's home cell straight into the target region's export
// store — the control plane (in eu) never holds an ID_STRICT tenant's rows — and recorded here.

/** Exports read every row of a tenant: a generous bound, still bounded. */
const EXPORT_TIMEOUT_MS = 30_000;

export async function createExport(deps: CatalogDeps, body: ExportBody, actor: Actor) {
  await requireRegion(deps.sql, body.targetRegion, "targetRegion");
  const [t] = await deps.sql<{ residency_policy: string; active_region: string }[]>`
    SELECT a.residency_policy, f.active_region FROM tenant_region_assignment a
    JOIN region_write_epoch f ON f.logical_scope = 'tenant:' || a.tenant_id WHERE a.tenant_id = ${body.tenantId}`;
  if (!t) throw new DomainError("NOT_FOUND", "unknown tenant");
  const policy = await loadPolicy(deps.sql, t.residency_policy);
  const d = decide(policy, { sink: "export", kind: body.kind, targetRegion: body.targetRegion });
  if (!d.allowed) {
    deps.metrics.countResidencyViolation(d.policy, d.targetRegion);
    await appendCatalogAudit(deps.sql, {
      actorId: actor.actorId,
      actionType: "tenant.export",
      tenantId: body.tenantId,
      targetRegion: d.targetRegion,
      outcome: "REFUSED",
      correlationId: actor.correlationId,
      metadata: {
        reason: "RESIDENCY_VIOLATION",
        sink: d.sink,
        refusal: d.reason,
        policy: d.policy,
        kind: body.kind,
      },
    });
    throw residencyViolation(d);
  }
  // decide() answers `full` or `anonymised_aggregates` for exports; nothing else may be written.
  const mode: ExportMode = d.mode === "anonymised_aggregates" ? "anonymised_aggregates" : "full";
  const sourceRegion = t.active_region;
  return runCatalogCommand(
    deps,
    { commandId: actor.commandId, operation: "tenant.export", actorId: actor.actorId, request: body },
    async (tx) => {
      // Inside the command: a replayed Idempotency-Key answers the stored export, never a second one.
      const exportId = uuidv7();
      const written = await cellCall<CellExportResult & { code?: string; detail?: string }>(
        deps,
        sourceRegion,
        "POST",
        `/internal/v1/tenants/${body.tenantId}/exports`,
        { exportId, kind: body.kind, mode, targetRegion: body.targetRegion },
        EXPORT_TIMEOUT_MS,
      );
      if (!written) {
        throw new DomainError("REGION_UNAVAILABLE", `the tenant's home ${sourceRegion} is unreachable`, {
          region: sourceRegion,
          retryAfterSeconds: 5,
        });
      }
      if (written.status !== 201) {
        // The cell's problem (e.g. WRONG_REGION mid-promotion) is an outage of the export, not a 500.
        throw new DomainError(
          "REGION_UNAVAILABLE",
          `the tenant's home ${sourceRegion} could not write the export (${written.body?.code ?? written.status})`,
          { region: sourceRegion, retryAfterSeconds: 5 },
        );
      }
      const [row] = await tx<{ created_at: Date }[]>`
        INSERT INTO tenant_export (export_id, tenant_id, kind, source_region, target_region, mode, location, row_count,
          sha256, actor_id, correlation_id)
        VALUES (${exportId}, ${body.tenantId}, ${body.kind}, ${sourceRegion}, ${body.targetRegion}, ${mode},
          ${written.body.location}, ${written.body.rowCount}, ${written.body.sha256}, ${actor.actorId},
          ${actor.correlationId})
        RETURNING created_at`;
      const view: ExportView = {
        exportId,
        tenantId: body.tenantId,
        kind: body.kind,
        targetRegion: body.targetRegion,
        sourceRegion,
        mode,
        location: written.body.location,
        rowCount: written.body.rowCount,
        sha256: written.body.sha256,
        createdAt: row!.created_at.toISOString(),
      };
      await appendCatalogAudit(tx, {
        actorId: actor.actorId,
        actionType: "tenant.export",
        tenantId: body.tenantId,
        targetRegion: body.targetRegion,
        outcome: "ACCEPTED",
        correlationId: actor.correlationId,
        metadata: {
          policy: policy.policyCode,
          sink: d.sink,
          exportId,
          kind: body.kind,
          mode,
          sourceRegion,
          rowCount: view.rowCount,
          sha256: view.sha256,
        },
      });
      return { statusCode: 201, body: { ...view } };
    },
  );
}
