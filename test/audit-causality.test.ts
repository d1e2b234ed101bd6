import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EventPipeline, startEventPipeline } from "./support/event-pipeline.js";
import { edgeCall, type Planet, placeTenant, startPlanet } from "./support/planet.js";
import { until } from "./support/until.js";

// Audit causality across regions (seed §20): a case written in one region, promoted, and written
// in the next, with the second region's clock two minutes behind. Merged from both cells, its
// audit has one total order — by aggregate version, with epochs that never go back — in which
// ordering by wall-clock time would be wrong. Nothing in the system orders by time.

const SKEW_MS = -120_000;
let p: Planet;
let ev: EventPipeline;

beforeAll(async () => {
  p = await startPlanet("audit_causality", ["ap-sg", "ap-id"], {
    cellEnv: { "ap-id": { CLOCK_SKEW_MS: String(SKEW_MS) } },
  });
  ev = await startEventPipeline(p);
}, 120_000);
afterAll(async () => {
  await ev?.close();
  await p?.close();
});

describe("audit causality across regions", () => {
  it("one total order by (version, epoch) across a promotion, although the new home's clock is behind", async () => {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter", "investigator"]);
    const c = await edgeCall(
      p,
      "POST",
      `/v1/tenants/${t.tenantId}/cases`,
      { category: "licensing", countryCode: "SG", summary: "causality", channel: "web" },
      { token: t.tokens.reporter },
    );
    let version = c.body.version as number;
    const move = async (to: string) => {
      const r = await edgeCall(
        p,
        "POST",
        `/v1/tenants/${t.tenantId}/cases/${c.body.caseId}/transitions`,
        { to, expectedVersion: version, reason: "causality" },
        { token: t.tokens.investigator },
      );
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      version = r.body.version;
      return r;
    };
    await move("TRIAGE");
    await move("INVESTIGATING");
    await until("standby has every version", async () => {
      const [r] = await p.cells["ap-id"]!.deps
        .sql`SELECT version FROM regulatory_case WHERE case_id = ${c.body.caseId}`;
      return Number(r?.version) === version;
    });
    const promo = await edgeCall(
      p,
      "POST",
      `/v1/ops/tenants/${t.tenantId}/promotions`,
      { targetRegion: "ap-id", reason: "causality drill", approvedBy: "duty officer" },
      { token: p.opsToken },
    );
    expect(promo.status, JSON.stringify(promo.body)).toBe(200);
    await until("written at the new home", async () => {
      const r = await edgeCall(
        p,
        "POST",
        `/v1/tenants/${t.tenantId}/cases/${c.body.caseId}/transitions`,
        { to: "UNDER_REVIEW", expectedVersion: version, reason: "causality" },
        { token: t.tokens.investigator },
      );
      if (r.status !== 200) return null;
      expect(r.headers.get("x-served-by-region")).toBe("ap-id");
      version = r.body.version;
      return r;
    });
    await move("INVESTIGATING");

    // Each cell's own writes of the case (a standby's replicated rows are copies, not writes).
    const own = async (region: string) =>
      (
        await p.cells[region]!.deps.sql<
          {
            aggregate_version: number;
            region_epoch: number;
            home_region: string;
            occurred_at: Date;
            command_id: string;
            causation_id: string;
          }[]
        >`SELECT aggregate_version, region_epoch, home_region, occurred_at, command_id, causation_id
          FROM global_audit_event WHERE aggregate_id = ${c.body.caseId} AND NOT (metadata ? 'replicatedFrom')`
      ).map((r) => ({ ...r, cell: region }));
    const merged = [...(await own("ap-sg")), ...(await own("ap-id"))];
    const byVersion = [...merged].sort((a, b) => Number(a.aggregate_version) - Number(b.aggregate_version));
    // A total order: every version once, 1..n, written by exactly one region.
    expect(byVersion.map((r) => Number(r.aggregate_version))).toEqual([1, 2, 3, 4, 5]);
    expect(byVersion.map((r) => r.cell)).toEqual(["ap-sg", "ap-sg", "ap-sg", "ap-id", "ap-id"]);
    // Epochs never go back along the order; the new home wrote under the promoted epoch.
    for (let i = 1; i < byVersion.length; i++)
      expect(Number(byVersion[i]!.region_epoch)).toBeGreaterThanOrEqual(
        Number(byVersion[i - 1]!.region_epoch),
      );
    expect(Number(byVersion[3]!.region_epoch)).toBeGreaterThan(Number(byVersion[2]!.region_epoch));
    // Each write is caused by its own command, once.
    for (const r of byVersion) expect(r.causation_id).toBe(r.command_id);
    expect(new Set(byVersion.map((r) => r.command_id)).size).toBe(5);
    // And ordering by the clocks would have been wrong: the new home's writes look older.
    const byTime = [...merged].sort((a, b) => a.occurred_at.getTime() - b.occurred_at.getTime());
    expect(byTime.map((r) => Number(r.aggregate_version))).not.toEqual([1, 2, 3, 4, 5]);
    expect(byVersion[3]!.occurred_at.getTime()).toBeLessThan(byVersion[2]!.occurred_at.getTime());
  }, 90_000);
});
