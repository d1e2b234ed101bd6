import { readFileSync } from "node:fs";
import { type ResidencyPolicy, topologySchema } from "@homeroute/contracts";

/**
 * The seeded residency policies by code, from the same topology file the catalog seeds its
 * `residency_policy` table from (per-sink lists absent: they are the allowed regions, which is
 * also what the catalog seeds). The cell needs them for the sinks it guards itself (support access,
 * evidence uploads: where the bytes go and whether they may wait in the spool).
 */
export function loadResidencyPolicies(topologyFile: string): ReadonlyMap<string, ResidencyPolicy> {
  const topology = topologySchema.parse(JSON.parse(readFileSync(topologyFile, "utf8")));
  return new Map(topology.residencyPolicies.map((p) => [p.policyCode, p]));
}

/**
 * A policy code this cell does not know (added to the catalog after the cell's topology file) is
 * read as the strictest policy: the tenant's home only. Failing closed keeps data home.
 */
export function policyFor(
  policies: ReadonlyMap<string, ResidencyPolicy>,
  code: string,
  homeRegion: string,
): ResidencyPolicy {
  return (
    policies.get(code) ?? {
      policyCode: code,
      allowedRegions: [homeRegion],
      backupRegions: [homeRegion],
      analyticsAllowed: false,
      crossBorderExportAllowed: false,
      deferredUploadAllowed: false,
    }
  );
}
