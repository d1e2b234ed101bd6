import { uuidv7 } from "@homeroute/ids";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EventPipeline, startEventPipeline } from "./support/event-pipeline.js";
import { edgeCall, type Planet, placeTenant, startPlanet } from "./support/planet.js";
import { type Hit, scanDatabase, scanKv, scanStreams } from "./support/residency-sweep.js";
import { until } from "./support/until.js";

// Residency beyond the primary store (DESIGN §10, issue 8): after strict and shared tenants have
// written, every store this planet has — each cell database, each region's JetStream stream, the
// projector's database, the catalog's database and the edge's KV — is scanned for each tenant's
// personal data (a unique case summary) and, for strict tenants, for the tenant id itself.

const REGIONS = ["ap-id", "ap-sg", "eu"];
let p: Planet;
let ev: EventPipeline;

beforeAll(async () => {
  p = await startPlanet("residency_backbone", REGIONS);
  ev = await startEventPipeline(p);
}, 120_000);
afterAll(async () => {
  await ev?.close();
  await p?.close();
});

interface Placed {
  policy: string;
  home: string;
  tenantId: string;
  summary: string;
}

async function scanEverything(markers: string[]): Promise<Hit[]> {
  const hits: Hit[] = [];
  for (const [region, cell] of Object.entries(p.cells))
    hits.push(...(await scanDatabase(`cell ${region}`, cell.deps.sql, markers)));
  hits.push(...(await scanDatabase("catalog", p.catalog.deps.sql, markers)));
  const projector = (await import("postgres")).default(ev.projectorDb.url, { max: 1, onnotice: () => {} });
  try {
    hits.push(...(await scanDatabase("projector", projector, markers)));
  } finally {
    await projector.end();
  }
  hits.push(...(await scanStreams(ev.nats.url, ev.root, REGIONS, markers)));
  hits.push(...(await scanKv(p.edge.mf, ["PROJECTIONS", "ROUTING"], markers)));
  return hits;
}

describe("residency on the event backbone and every copy", () => {
  it("a strict tenant's data is only in its region's database and stream; shared tenants' personal data only where their policy allows", async () => {
    const placed: Placed[] = [];
    for (const [policy, home] of [
      ["ID_STRICT", "ap-id"],
      ["EU_GDPR", "eu"],
      ["APAC_SHARED", "ap-sg"],
      ["GLOBAL_STANDARD", "ap-sg"],
    ] as const) {
      const t = await placeTenant(p, home, policy, ["reporter"]);
      const summary = `personal-${policy}-${uuidv7()}`;
      for (let i = 0; i < 3; i++) {
        const r = await edgeCall(
          p,
          "POST",
          `/v1/tenants/${t.tenantId}/cases`,
          { category: "licensing", countryCode: "SG", summary, channel: "web" },
          { token: t.tokens.reporter },
        );
        expect(r.status, JSON.stringify(r.body)).toBe(201);
      }
      placed.push({ policy, home, tenantId: t.tenantId, summary });
    }
    // Let the pipeline settle: standbys where allowed have every case; public status is at the edge.
    const shared = placed.find((x) => x.policy === "APAC_SHARED")!;
    await until("APAC standby copy in ap-id", async () => {
      const [r] = await p.cells["ap-id"]!.deps
        .sql`SELECT count(*)::int AS n FROM regulatory_case WHERE tenant_id = ${shared.tenantId}`;
      return r!.n === 3;
    });
    const global = placed.find((x) => x.policy === "GLOBAL_STANDARD")!;
    await until("GLOBAL standby copy in eu", async () => {
      const [r] = await p.cells.eu!.deps
        .sql`SELECT count(*)::int AS n FROM regulatory_case WHERE tenant_id = ${global.tenantId}`;
      return r!.n === 3;
    });
    await until("projector caught up", async () => {
      const s = (await (await fetch(`${ev.projector.url}/status`)).json()) as { applied: number };
      return s.applied >= 12;
    });

    const hits = await scanEverything(placed.flatMap((x) => [x.summary, x.tenantId]));
    const storesOf = (marker: string) =>
      [...new Set(hits.filter((h) => h.marker === marker).map((h) => h.store))].sort();
    const streamOf = (r: string) =>
      `stream ${ev.root.toUpperCase()}_EVENTS_${r.toUpperCase().replace(/\W/g, "_")}`;

    // Personal data (the summary): the cells and streams of allowed regions, never a global store.
    const id = placed.find((x) => x.policy === "ID_STRICT")!;
    const eu = placed.find((x) => x.policy === "EU_GDPR")!;
    expect(storesOf(id.summary)).toEqual(["cell ap-id", streamOf("ap-id")].sort());
    expect(storesOf(eu.summary)).toEqual(["cell eu", streamOf("eu")].sort());
    expect(storesOf(shared.summary)).toEqual(["cell ap-id", "cell ap-sg", streamOf("ap-sg")].sort());
    // A tenant allowed everywhere may have its case view at every edge.
    expect(storesOf(global.summary)).toEqual(
      ["cell ap-id", "cell ap-sg", "cell eu", "edge KV PROJECTIONS", "projector", streamOf("ap-sg")].sort(),
    );
    // A strict tenant's id (not personal) may be in the control plane and the public-status
    // projection, but in no other region's database or stream.
    for (const strict of [id, eu]) {
      const where = storesOf(strict.tenantId);
      const otherRegions = REGIONS.filter((r) => r !== strict.home);
      for (const r of otherRegions) {
        expect(where).not.toContain(`cell ${r}`);
        expect(where).not.toContain(streamOf(r));
      }
    }
  }, 120_000);
});
