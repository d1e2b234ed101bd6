import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { edgeCall, type Planet, placeTenant, startPlanet } from "./support/planet.js";

// Write leases with a 2 s TTL: real catalog, real cells, the edge in Miniflare.

const TTL = 2;
const newCase = { category: "fraud", countryCode: "SG", summary: "Lease test", channel: "web" };
let p: Planet;

beforeAll(async () => {
  p = await startPlanet("leases", ["ap-sg"], { leaseTtlSeconds: TTL });
}, 120_000);
afterAll(() => p?.close());

describe("write leases", () => {
  it("a catalog outage longer than the TTL freezes writes with REGION_READ_ONLY; they resume on their own", async () => {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter", "investigator"]);
    const create = () =>
      edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token: t.tokens.reporter });
    const first = await create();
    expect(first.status).toBe(201);
    const history: { at: number; status: number; code?: string }[] = [];
    await p.stopCatalog();
    const stoppedAt = Date.now();
    try {
      // Shorter than the TTL: writes go on.
      const early = await create();
      history.push({ at: Date.now() - stoppedAt, status: early.status, code: early.body.code });
      expect(early.status).toBe(201);
      // Past the TTL: the cell's lease has run out.
      await new Promise((r) => setTimeout(r, TTL * 1000 + 800));
      const frozen = await create();
      history.push({ at: Date.now() - stoppedAt, status: frozen.status, code: frozen.body.code });
      expect(frozen.status).toBe(503);
      expect(frozen.body).toMatchObject({ code: "REGION_READ_ONLY", region: "ap-sg" });
      expect(frozen.body.detail).toMatch(/lease/);
      // Reads go on.
      const read = await edgeCall(
        p,
        "GET",
        `/v1/tenants/${t.tenantId}/cases/${first.body.caseId}`,
        undefined,
        {
          token: t.tokens.investigator,
        },
      );
      expect(read.status).toBe(200);
    } finally {
      await p.startCatalogAgain();
    }
    let resumed = null;
    for (let i = 0; i < 60 && !resumed; i++) {
      const r = await create();
      history.push({ at: Date.now() - stoppedAt, status: r.status, code: r.body.code });
      if (r.status === 201) resumed = r;
      else await new Promise((res) => setTimeout(res, 100));
    }
    expect(resumed).not.toBeNull();
    // Every refusal in the history was a clean REGION_READ_ONLY, never anything else.
    for (const h of history.filter((x) => x.status !== 201)) expect(h.code).toBe("REGION_READ_ONLY");
  });

  it("a catalog restart re-sends every region's fence without taking the cells' leases away: writes go on", async () => {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter"]);
    const create = () =>
      edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token: t.tokens.reporter });
    expect((await create()).status).toBe(201);
    // Shorter than the TTL: the lease the cell holds is still good when the catalog is back.
    await p.stopCatalog();
    await p.startCatalogAgain();
    // The catalog's start queues a PUT of each region's fence (mode, epoch); once it has landed,
    // the lease renewed by the lease loop must still be there.
    await p.settle();
    const r = await create();
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const [row] = await p.cells["ap-sg"]!.deps.sql<{ lease_expires_at: Date | null }[]>`
      SELECT lease_expires_at FROM region_write_epoch WHERE logical_scope = 'region:ap-sg'`;
    expect(row!.lease_expires_at).not.toBeNull();
  });

  it("boot fencing: a cell restarted while the catalog is down takes no write until its first renewal", async () => {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter"]);
    const create = () =>
      edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token: t.tokens.reporter });
    expect((await create()).status).toBe(201);
    await p.stopCatalog();
    await p.stopCell("ap-sg");
    const { startCell } = await import("@homeroute/cell");
    const cell = p.cells["ap-sg"]!;
    const restarted = await startCell({ ...cell.deps.env, PORT: cell.port });
    p.cells["ap-sg"] = restarted;
    try {
      const r = await create();
      expect(r.status).toBe(503);
      expect(r.body.code).toBe("REGION_READ_ONLY");
    } finally {
      await p.startCatalogAgain();
    }
    let ok = false;
    for (let i = 0; i < 60 && !ok; i++) {
      ok = (await create()).status === 201;
      if (!ok) await new Promise((res) => setTimeout(res, 100));
    }
    expect(ok).toBe(true);
  });
});
