import { uuidv7 } from "@homeroute/ids";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EventPipeline, startEventPipeline } from "./support/event-pipeline.js";
import { createAtCell, edgeCall, type Planet, placeTenant, startPlanet } from "./support/planet.js";
import { until } from "./support/until.js";

// Tenant migration by epoch cutover, under load, on real cells, catalog, Worker, NATS, projector.

const newCase = { category: "licensing", countryCode: "SG", summary: "Migration", channel: "web" };
let p: Planet;
let ev: EventPipeline;

beforeAll(async () => {
  p = await startPlanet("migration", ["ap-sg", "ap-id"]);
  ev = await startEventPipeline(p);
}, 120_000);
afterAll(async () => {
  await ev?.close();
  await p?.close();
});

const migration = (id: string) =>
  edgeCall(p, "GET", `/v1/ops/migrations/${id}`, undefined, { token: p.opsToken });

describe("tenant migration", () => {
  it("a migration left mid-way by a stopped catalog is rolled back at its next start: the tenant is not left frozen", async () => {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter"]);
    // What a crashed orchestrator leaves behind: a CUTOVER row and a MIGRATING fence.
    const sql = p.catalog.deps.sql;
    const [f] =
      await sql`SELECT epoch FROM region_write_epoch WHERE logical_scope = ${`tenant:${t.tenantId}`}`;
    await sql`UPDATE region_write_epoch SET epoch = ${Number(f!.epoch) + 1}, status = 'MIGRATING' WHERE logical_scope = ${`tenant:${t.tenantId}`}`;
    await sql`INSERT INTO tenant_region_migration (migration_id, tenant_id, source_region, target_region, status, reason, started_at)
      VALUES (${uuidv7()}, ${t.tenantId}, 'ap-sg', 'ap-id', 'CUTOVER', 'crash test', now())`;
    await p.stopCatalog();
    await p.startCatalogAgain();
    await p.settle();
    const [m] = await p.catalog.deps
      .sql`SELECT status FROM tenant_region_migration WHERE tenant_id = ${t.tenantId}`;
    expect(m!.status).toBe("ROLLED_BACK");
    const w = await until("writable again", async () => {
      const r = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
        token: t.tokens.reporter,
      });
      return r.status === 201 ? r : null;
    });
    expect(w.headers.get("x-served-by-region")).toBe("ap-sg");
  });

  it("moves a tenant while a load generator writes: every acknowledged write is at the target, counts and checksums equal", async () => {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter"]);
    for (let i = 0; i < 10; i++) {
      await Promise.all(
        Array.from({ length: 10 }, () =>
          edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token: t.tokens.reporter }),
        ),
      );
    }
    const acked: string[] = [];
    const outcomes: Record<string, number> = {};
    let running = true;
    const load = (async () => {
      while (running) {
        const r = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
          token: t.tokens.reporter,
        });
        const k = r.status === 201 ? "201" : `${r.status} ${r.body.code}`;
        outcomes[k] = (outcomes[k] ?? 0) + 1;
        if (r.status === 201) acked.push(r.body.caseId);
        else await new Promise((res) => setTimeout(res, 50));
      }
    })();
    const started = await edgeCall(
      p,
      "POST",
      `/v1/tenants/${t.tenantId}/migrations`.replace("/v1/tenants", "/v1/ops/tenants"),
      {
        targetRegion: "ap-id",
        reason: "rebalance",
      },
      { token: p.opsToken },
    );
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const done = await until(
      "migration finished",
      async () => {
        const m = await migration(started.body.migrationId);
        return ["COMPLETED", "ROLLED_BACK"].includes(m.body.status) ? m.body : null;
      },
      60_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    running = false;
    await load;
    expect(done.status, JSON.stringify(done)).toBe("COMPLETED");
    expect(done.validation.valid).toBe(true);
    for (const table of done.validation.tables) {
      expect(table.sourceCount).toBe(table.targetCount);
      expect(table.sourceChecksum).toBe(table.targetChecksum);
    }
    expect(done.writeFreezeMs).toBeGreaterThanOrEqual(0);
    console.info(
      `migration: ${JSON.stringify({ stepTimings: done.stepTimings, writeFreezeMs: done.writeFreezeMs, outcomes })}`,
    );
    // Writes saw only success or TENANT_MIGRATING.
    for (const k of Object.keys(outcomes)) expect(["201", "503 TENANT_MIGRATING"]).toContain(k);
    // Every acknowledged write is at the target.
    const rows = await p.cells["ap-id"]!.deps
      .sql`SELECT case_id FROM regulatory_case WHERE tenant_id = ${t.tenantId}`;
    const atTarget = new Set(rows.map((r) => r.case_id));
    expect(acked.filter((id) => !atTarget.has(id))).toEqual([]);
    // The source refuses afterwards; the target takes writes at the new epoch.
    const old = await createAtCell(p, "ap-sg", t.tenantId, t.tokens.reporter!, newCase);
    expect(old.status).toBe(421);
    const after = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
      token: t.tokens.reporter,
    });
    expect(after.headers.get("x-served-by-region")).toBe("ap-id");
  }, 90_000);

  it("the target killed during COPYING: automatic rollback, the source stays authoritative, one writer per epoch", async () => {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter"]);
    // A steady writer keeps the copy busy while the target dies under it.
    let running = true;
    const load = (async () => {
      while (running) {
        await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token: t.tokens.reporter });
      }
    })();
    await ev.stopProjector(); // the copy cannot catch up: the migration sits in COPYING
    const started = await edgeCall(
      p,
      "POST",
      `/v1/ops/tenants/${t.tenantId}/migrations`,
      { targetRegion: "ap-id", reason: "doomed" },
      {
        token: p.opsToken,
      },
    );
    expect(started.status).toBe(202);
    await until("COPYING", async () => (await migration(started.body.migrationId)).body.status === "COPYING");
    await p.stopCell("ap-id");
    try {
      const done = await until(
        "rolled back",
        async () => {
          const m = await migration(started.body.migrationId);
          return ["COMPLETED", "ROLLED_BACK"].includes(m.body.status) ? m.body : null;
        },
        30_000,
      );
      expect(done.status).toBe("ROLLED_BACK");
      expect(done.errorMessage).toMatch(/ap-id does not answer/);
      const w = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
        token: t.tokens.reporter,
      });
      expect(w.status).toBe(201);
      expect(w.headers.get("x-served-by-region")).toBe("ap-sg");
    } finally {
      running = false;
      await load;
      await p.restartCell("ap-id");
      await ev.startProjectorAgain();
    }
    const { checkSingleWriter, collectHistory } = await import("./support/history.js");
    expect(checkSingleWriter(await collectHistory(p, t.tenantId))).toEqual([]);
  }, 60_000);

  it("refuses a target outside the tenant's policy (451)", async () => {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter"]);
    const r = await edgeCall(
      p,
      "POST",
      `/v1/ops/tenants/${t.tenantId}/migrations`,
      { targetRegion: "eu", reason: "no" },
      { token: p.opsToken },
    );
    expect(r.status).toBe(451);
  });

  it("rolls back on request: the source stays authoritative at a fresh epoch", async () => {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter"]);
    const started = await edgeCall(
      p,
      "POST",
      `/v1/ops/tenants/${t.tenantId}/migrations`,
      { targetRegion: "ap-id", reason: "try" },
      {
        token: p.opsToken,
      },
    );
    const rb = await edgeCall(
      p,
      "POST",
      `/v1/ops/migrations/${started.body.migrationId}/rollback`,
      {},
      { token: p.opsToken },
    );
    if (rb.status === 200) {
      const done = await until("rolled back", async () => {
        const m = await migration(started.body.migrationId);
        return ["COMPLETED", "ROLLED_BACK"].includes(m.body.status) ? m.body : null;
      });
      expect(done.status).toBe("ROLLED_BACK");
      const w = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
        token: t.tokens.reporter,
      });
      expect(w.status).toBe(201);
      expect(w.headers.get("x-served-by-region")).toBe("ap-sg");
    } else {
      // Too late to roll back (already past COPYING): the answer says so.
      expect(rb.body.code).toBe("INVALID_TRANSITION");
    }
  });
});
