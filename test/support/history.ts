import type { Planet } from "./planet.js";

// The history checker: every write any cell ever committed for a tenant is in that cell's audit
// chain with the region and epoch it was committed under. The invariant (DESIGN §7): for any
// scope and epoch, at most one region ever commits a write. Replicated rows (copied by a DR
// standby) carry the region they came from and are not writes of the copying cell.

export interface CommittedWrite {
  cell: string;
  region: string;
  epoch: number;
  action: string;
  aggregateId: string;
  version: number | null;
  replicated: boolean;
}

export async function collectHistory(p: Planet, tenantId: string): Promise<CommittedWrite[]> {
  const out: CommittedWrite[] = [];
  for (const [cell, running] of Object.entries(p.cells)) {
    const rows = await running.deps.sql<
      {
        home_region: string;
        region_epoch: number | null;
        action_type: string;
        aggregate_id: string;
        aggregate_version: number | null;
        replicated: boolean;
      }[]
    >`SELECT home_region, region_epoch, action_type, aggregate_id, aggregate_version,
        (metadata ? 'replicatedFrom') AS replicated
      FROM global_audit_event WHERE tenant_id = ${tenantId} AND command_id IS NOT NULL`;
    for (const r of rows) {
      out.push({
        cell,
        region: r.home_region,
        epoch: r.region_epoch ?? 0,
        action: r.action_type,
        aggregateId: r.aggregate_id,
        version: r.aggregate_version,
        replicated: r.replicated,
      });
    }
  }
  return out;
}

/** Returns the violations: epochs under which more than one region committed a command. */
export function checkSingleWriter(history: CommittedWrite[]): string[] {
  const byEpoch = new Map<number, Set<string>>();
  for (const w of history) {
    if (w.replicated) continue;
    if (w.region !== w.cell) return [`cell ${w.cell} recorded a non-replicated write as ${w.region}`];
    const set = byEpoch.get(w.epoch) ?? new Set();
    set.add(w.region);
    byEpoch.set(w.epoch, set);
  }
  return [...byEpoch]
    .filter(([, regions]) => regions.size > 1)
    .map(([epoch, regions]) => `epoch ${epoch}: ${[...regions].join(", ")}`);
}
