import { uuidv7 } from "@homeroute/ids";
import postgres from "postgres";
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

  it("moves a tenant of 5,000 cases and its evidence while a load generator writes: every acknowledged write is at the target, counts and checksums equal", async () => {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter"]);
    let next = 0;
    const seeded: string[] = [];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < 5000) {
          next++;
          const r = await createAtCell(p, "ap-sg", t.tenantId, t.tokens.reporter!, newCase);
          expect(r.status).toBe(201);
          seeded.push(((await r.json()) as { caseId: string }).caseId);
        }
      }),
    );
    // Evidence: metadata travels with the events, the bytes with the migration's blob copy.
    const blobs: { key: string; bytes: string }[] = [];
    for (const caseId of seeded.slice(0, 3)) {
      const bytes = `scanned letter for ${caseId}`;
      const r = await fetch(`${p.cells["ap-sg"]!.url}/v1/tenants/${t.tenantId}/cases/${caseId}/evidence`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${t.tokens.reporter}`,
          "idempotency-key": uuidv7(),
          "content-type": "application/pdf",
          "x-evidence-filename": "letter.pdf",
        },
        body: bytes,
      });
      expect(r.status).toBe(201);
      const body = (await r.json()) as { evidenceId: string };
      blobs.push({ key: `${t.tenantId}/${caseId}/${body.evidenceId}`, bytes });
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
    expect(done.validation.auditChains.target.ok).toBe(true);
    expect(done.validation.tables.map((x: { name: string }) => x.name)).toEqual(
      expect.arrayContaining(["regulatory_case", "evidence_object", "evidence_blob", "global_audit_event"]),
    );
    expect(
      done.validation.tables.find((x: { name: string }) => x.name === "regulatory_case").targetCount,
    ).toBeGreaterThanOrEqual(5000);
    expect(done.writeFreezeMs).toBeGreaterThanOrEqual(0);
    // The blobs are in the target region's store, byte for byte.
    for (const b of blobs) {
      const held = await p.cells["ap-id"]!.deps.objectStore.get(b.key);
      expect(held && new TextDecoder().decode(held)).toBe(b.bytes);
    }
    // Every step is an audit event of the catalog.
    const steps = await p.catalog.deps.sql<{ action_type: string }[]>`
      SELECT action_type FROM catalog_audit_event WHERE tenant_id = ${t.tenantId}
        AND action_type LIKE 'tenant.migrate%' ORDER BY occurred_at, audit_event_id`;
    expect(steps.map((r) => r.action_type)).toEqual([
      "tenant.migrate.planned",
      "tenant.migrate.copying",
      "tenant.migrate.cutover",
      "tenant.migrate.validating",
      "tenant.migrate.completed",
    ]);
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
  }, 180_000);

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
    // Two projector stops and a cell restart: bounded each, but slow together on a loaded 2-core CI.
  }, 120_000);

  it("the source killed during CUTOVER: the migration rolls back, never two writers, no acknowledged write lost", async () => {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter"]);
    for (let i = 0; i < 20; i++)
      await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token: t.tokens.reporter });
    const acked: string[] = [];
    let running = true;
    const load = (async () => {
      while (running) {
        const r = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
          token: t.tokens.reporter,
        });
        if (r.status === 201) acked.push(r.body.caseId);
        else await new Promise((res) => setTimeout(res, 50));
      }
    })();
    // Hold the source's fence row: the cutover's fence at the source cannot land, so the migration
    // sits in CUTOVER, and the source dies there.
    const source = p.cells["ap-sg"]!;
    const holder = postgres(source.deps.env.DATABASE_URL, { max: 1, onnotice: () => {} });
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const lock = holder
      .begin(async (tx) => {
        await tx`SELECT 1 FROM region_write_epoch WHERE logical_scope = ${`tenant:${t.tenantId}`} FOR UPDATE`;
        await held;
      })
      .catch(() => {});
    try {
      const started = await edgeCall(
        p,
        "POST",
        `/v1/ops/tenants/${t.tenantId}/migrations`,
        { targetRegion: "ap-id", reason: "source dies" },
        { token: p.opsToken },
      );
      expect(started.status).toBe(202);
      await until(
        "CUTOVER",
        async () => (await migration(started.body.migrationId)).body.status === "CUTOVER",
        20_000,
      );
      await p.stopCell("ap-sg");
      release();
      await lock;
      const done = await until(
        "finished",
        async () => {
          const m = await migration(started.body.migrationId);
          return ["COMPLETED", "ROLLED_BACK"].includes(m.body.status) ? m.body : null;
        },
        30_000,
      );
      expect(done.status).toBe("ROLLED_BACK");
      // Back up, the source is the one writer again, at the fresh epoch.
      await p.restartCell("ap-sg");
      p.catalog.deps.kickSync();
      const w = await until("writable again", async () => {
        const r = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
          token: t.tokens.reporter,
        });
        return r.status === 201 ? r : null;
      });
      expect(w.headers.get("x-served-by-region")).toBe("ap-sg");
      const target = await createAtCell(p, "ap-id", t.tenantId, t.tokens.reporter!, newCase);
      expect(target.status).toBe(421);
    } finally {
      running = false;
      release();
      await load;
      await holder.end();
    }
    const rows = await p.cells["ap-sg"]!.deps
      .sql`SELECT case_id FROM regulatory_case WHERE tenant_id = ${t.tenantId}`;
    const atSource = new Set(rows.map((r) => r.case_id));
    expect(acked.filter((id) => !atSource.has(id))).toEqual([]);
    const { checkSingleWriter, collectHistory } = await import("./support/history.js");
    expect(checkSingleWriter(await collectHistory(p, t.tenantId))).toEqual([]);
  }, 90_000);

  it("a tampered audit chain stops the migration before the freeze: rolled back, the source still writable", async () => {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter"]);
    for (let i = 0; i < 3; i++)
      await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token: t.tokens.reporter });
    // A superuser rewrites one audit row behind the triggers' back, at the source.
    await p.cells["ap-sg"]!.deps.sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      await tx`UPDATE global_audit_event SET metadata = jsonb_set(metadata, '{payload,category}', '"forged"')
        WHERE tenant_id = ${t.tenantId} AND chain_seq = 2`;
    });
    const started = await edgeCall(
      p,
      "POST",
      `/v1/ops/tenants/${t.tenantId}/migrations`,
      { targetRegion: "ap-id", reason: "tampered" },
      { token: p.opsToken },
    );
    const done = await until("finished", async () => {
      const m = await migration(started.body.migrationId);
      return ["COMPLETED", "ROLLED_BACK"].includes(m.body.status) ? m.body : null;
    });
    expect(done.status).toBe("ROLLED_BACK");
    expect(done.errorMessage).toMatch(/audit chain is broken.*chainSeq":2/);
    expect(done.cutoverAt).toBeNull();
    const w = await until("writable", async () => {
      const r = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
        token: t.tokens.reporter,
      });
      return r.status === 201 ? r : null;
    });
    expect(w.headers.get("x-served-by-region")).toBe("ap-sg");
  });

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

  it("rolls back on request: the source stays authoritative at a fresh epoch; the target is a standby again, nothing more", async () => {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter"]);
    await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token: t.tokens.reporter });
    // The copy cannot finish while the standby gets nothing: the migration waits in COPYING.
    await ev.stopProjector();
    try {
      await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token: t.tokens.reporter });
      const started = await edgeCall(
        p,
        "POST",
        `/v1/ops/tenants/${t.tenantId}/migrations`,
        { targetRegion: "ap-id", reason: "try" },
        { token: p.opsToken },
      );
      await until(
        "COPYING",
        async () => (await migration(started.body.migrationId)).body.status === "COPYING",
      );
      const rb = await edgeCall(
        p,
        "POST",
        `/v1/ops/migrations/${started.body.migrationId}/rollback`,
        {},
        { token: p.opsToken },
      );
      expect(rb.status).toBe(200);
      const done = await until("rolled back", async () => {
        const m = await migration(started.body.migrationId);
        return ["COMPLETED", "ROLLED_BACK"].includes(m.body.status) ? m.body : null;
      });
      expect(done.status).toBe("ROLLED_BACK");
      const again = await edgeCall(
        p,
        "POST",
        `/v1/ops/migrations/${started.body.migrationId}/rollback`,
        {},
        { token: p.opsToken },
      );
      expect(again.body.code).toBe("INVALID_TRANSITION");
    } finally {
      await ev.startProjectorAgain();
    }
    const w = await until("writable", async () => {
      const r = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
        token: t.tokens.reporter,
      });
      return r.status === 201 ? r : null;
    });
    expect(w.headers.get("x-served-by-region")).toBe("ap-sg");
    // The target keeps the tenant's standby copy it had before (its DR copy): never writable, and
    // never holding a row the source does not have.
    expect((await createAtCell(p, "ap-id", t.tenantId, t.tokens.reporter!, newCase)).status).toBe(421);
    const ids = async (region: string) =>
      new Set(
        (
          await p.cells[region]!.deps.sql`SELECT case_id FROM regulatory_case WHERE tenant_id = ${t.tenantId}`
        ).map((r) => r.case_id as string),
      );
    const [src, dst] = [await ids("ap-sg"), await ids("ap-id")];
    expect([...dst].filter((id) => !src.has(id))).toEqual([]);
  });
});
