import { z } from "zod";
import type { EdgeBindings } from "../env.js";

// The edge's projections in KV (DESIGN §4, §6), written only by the projector's batched pushes.
//   pub:<tenant>:<caseNumber>  public status (no personal data), every tenant
//   case:<tenant>:<caseId>     full case view, only tenants whose policy allows it at every edge
//   wm:<region>                how far the projection of that region's events is complete
//   authz:<tenant>:<user>      roles, for non-sensitive checks at the edge

export const edgeBatchSchema = z.object({
  cases: z.array(
    z.object({
      tenantId: z.uuid(),
      caseId: z.uuid(),
      caseNumber: z.string().nullable(),
      publicStatus: z.string().nullable(),
      accessCodeHash: z.string().nullable(),
      homeRegion: z.string(),
      version: z.number().int(),
      updatedAt: z.string(),
      view: z.record(z.string(), z.unknown()).nullable(),
    }),
  ),
  grants: z.array(
    z.object({ tenantId: z.uuid(), userId: z.uuid(), roles: z.array(z.string()), version: z.number().int() }),
  ),
  watermarks: z.record(z.string(), z.string()),
});
export type EdgeBatch = z.infer<typeof edgeBatchSchema>;

export interface PublicEntry {
  caseId: string;
  caseNumber: string;
  publicStatus: string;
  updatedAt: string;
  accessCodeHash: string;
  homeRegion: string;
  version: number;
}
export interface CaseEntry {
  view: Record<string, unknown>;
  version: number;
  homeRegion: string;
}
export interface AuthzEntry {
  roles: string[];
  version: number;
}

export const keys = {
  pub: (tenantId: string, caseNumber: string) => `pub:${tenantId}:${caseNumber}`,
  case: (tenantId: string, caseId: string) => `case:${tenantId}:${caseId}`,
  watermark: (region: string) => `wm:${region}`,
  authz: (tenantId: string, userId: string) => `authz:${tenantId}:${userId}`,
};

export async function writeBatch(env: EdgeBindings, b: EdgeBatch): Promise<void> {
  const kv = env.PROJECTIONS;
  const puts: Promise<void>[] = [];
  for (const c of b.cases) {
    if (c.caseNumber && c.publicStatus && c.accessCodeHash) {
      const entry: PublicEntry = {
        caseId: c.caseId,
        caseNumber: c.caseNumber,
        publicStatus: c.publicStatus,
        updatedAt: c.updatedAt,
        accessCodeHash: c.accessCodeHash,
        homeRegion: c.homeRegion,
        version: c.version,
      };
      puts.push(kv.put(keys.pub(c.tenantId, c.caseNumber), JSON.stringify(entry)));
    }
    if (c.view) {
      const entry: CaseEntry = { view: c.view, version: c.version, homeRegion: c.homeRegion };
      puts.push(kv.put(keys.case(c.tenantId, c.caseId), JSON.stringify(entry)));
    }
  }
  for (const g of b.grants) {
    puts.push(
      kv.put(keys.authz(g.tenantId, g.userId), JSON.stringify({ roles: g.roles, version: g.version })),
    );
  }
  for (const [region, asOf] of Object.entries(b.watermarks)) {
    puts.push(kv.put(keys.watermark(region), JSON.stringify({ asOf })));
  }
  await Promise.all(puts);
}

/** `asOf` and lag of a projection entry: the watermark of its home region's events. */
export async function freshness(
  env: EdgeBindings,
  homeRegion: string,
  staleAfterSeconds: number,
  fallbackAsOf: string,
) {
  const wm = await env.PROJECTIONS.get<{ asOf: string }>(keys.watermark(homeRegion), "json");
  const asOf = wm?.asOf ?? fallbackAsOf;
  const lagSeconds = Math.max(0, Math.round((Date.now() - Date.parse(asOf)) / 100) / 10);
  return { asOf, lagSeconds, stale: lagSeconds > staleAfterSeconds };
}
