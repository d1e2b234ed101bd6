import type { CatalogDeps } from "./deps.js";
import { publishSnapshot } from "./snapshot/publish.js";
import { queueCellCall } from "./sync/cell-sync.js";

/**
 * Makes the database say what infra/topology.json and infra/reference-data.json say: regions,
 * residency policies, reference data versions, and a region fence per region (epoch 1, WRITABLE
 * unless an operator changed it). Re-queues every region fence to its cell, so a cell that lost
 * its copy gets it back. Idempotent: run at every start.
 */
export async function seedCatalog(deps: CatalogDeps): Promise<void> {
  const { topology, referenceData, env } = deps;
  await deps.sql.begin(async (tx) => {
    for (const r of topology.regions) {
      await tx`
        INSERT INTO region (code, display_prefix, jurisdiction, cell_url)
        VALUES (${r.code}, ${r.displayPrefix}, ${r.jurisdiction}, ${env.CELL_URLS[r.code] ?? null})
        ON CONFLICT (code) DO UPDATE SET display_prefix = EXCLUDED.display_prefix,
          jurisdiction = EXCLUDED.jurisdiction, cell_url = EXCLUDED.cell_url`;
      await tx`
        INSERT INTO region_write_epoch (logical_scope, active_region, epoch, status)
        VALUES (${`region:${r.code}`}, ${r.code}, 1, 'WRITABLE') ON CONFLICT DO NOTHING`;
    }
    for (const p of topology.residencyPolicies) {
      // Secondary sinks default to the allowed regions; issue 8 makes each one explicit.
      await tx`
        INSERT INTO residency_policy (policy_code, allowed_regions, backup_regions, analytics_allowed, analytics_mode,
          cross_border_export_allowed, deferred_upload_allowed, projection_regions, search_regions, log_regions,
          support_regions, description, effective_from)
        VALUES (${p.policyCode}, ${p.allowedRegions}, ${p.backupRegions}, ${p.analyticsAllowed},
          ${p.analyticsMode ?? "full"}, ${p.crossBorderExportAllowed}, ${p.deferredUploadAllowed}, ${p.allowedRegions},
          ${p.allowedRegions}, ${p.allowedRegions}, ${p.allowedRegions}, ${p.policyCode}, '2026-01-01')
        ON CONFLICT (policy_code) DO UPDATE SET allowed_regions = EXCLUDED.allowed_regions,
          backup_regions = EXCLUDED.backup_regions, analytics_allowed = EXCLUDED.analytics_allowed,
          analytics_mode = EXCLUDED.analytics_mode, cross_border_export_allowed = EXCLUDED.cross_border_export_allowed,
          deferred_upload_allowed = EXCLUDED.deferred_upload_allowed`;
    }
    for (const kind of ["countries", "violation-categories"] as const) {
      const d = referenceData[kind];
      await tx`
        INSERT INTO reference_data (kind, version, items) VALUES (${kind}, ${d.version}, ${tx.json(d.items as never)})
        ON CONFLICT DO NOTHING`;
    }
    const fences = await tx<
      { logical_scope: string; active_region: string; epoch: number; status: string }[]
    >`
      SELECT logical_scope, active_region, epoch, status FROM region_write_epoch WHERE logical_scope LIKE 'region:%'`;
    for (const f of fences) {
      await queueCellCall(tx, f.active_region, "PUT", `/internal/v1/fences/${f.logical_scope}`, {
        activeRegion: f.active_region,
        epoch: f.epoch,
        status: f.status,
      });
    }
    await publishSnapshot(tx);
  });
}
