import { uuidv7 } from "@homeroute/ids";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { edgeCall, type Planet, placeTenant, startPlanet } from "./support/planet.js";

// The catalog's control routes through the real edge Worker, against real cells.

const newCase = { category: "fraud", countryCode: "SG", summary: "Control plane test", channel: "email" };
let p: Planet;

beforeAll(async () => {
  p = await startPlanet("control_plane", ["ap-id", "ap-sg"]);
}, 120_000);
afterAll(() => p?.close());

describe("region modes", () => {
  it("READ_ONLY refuses writes with 503 REGION_READ_ONLY + Retry-After, reads go on, WRITABLE restores", async () => {
    const t = await placeTenant(p, "ap-id", "APAC_SHARED", ["reporter", "investigator"]);
    const c = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
      token: t.tokens.reporter,
    });
    const mode = (m: string) =>
      edgeCall(
        p,
        "POST",
        "/v1/ops/regions/ap-id/mode",
        { mode: m, reason: "incident drill" },
        { token: p.opsToken },
      );
    expect((await mode("READ_ONLY")).status).toBe(200);
    await p.settle();
    try {
      const refused = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
        token: t.tokens.reporter,
      });
      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({ code: "REGION_READ_ONLY", region: "ap-id" });
      expect(refused.headers.get("retry-after")).toBe("5");
      const read = await edgeCall(p, "GET", `/v1/tenants/${t.tenantId}/cases/${c.body.caseId}`, undefined, {
        token: t.tokens.investigator,
      });
      expect(read.status).toBe(200);
      const regions = await edgeCall(p, "GET", "/v1/ops/regions", undefined, { token: p.opsToken });
      expect(regions.body.find((r: { region: string }) => r.region === "ap-id")).toMatchObject({
        mode: "READ_ONLY",
        modeReason: "incident drill",
      });
    } finally {
      expect((await mode("WRITABLE")).status).toBe(200);
      await p.settle();
    }
    const ok = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
      token: t.tokens.reporter,
    });
    expect(ok.status).toBe(201);
    const [audit] = await p.catalog.deps.sql`
      SELECT count(*)::int AS n FROM catalog_audit_event WHERE action_type = 'region.mode' AND target_region = 'ap-id'`;
    expect(audit!.n).toBe(2);
  });

  it("lists every region of the topology with health from the catalog's probe", async () => {
    await new Promise((r) => setTimeout(r, 700));
    const r = await edgeCall(p, "GET", "/v1/ops/regions", undefined, { token: p.opsToken });
    expect(r.body.map((x: { region: string }) => x.region).sort()).toEqual([
      "ap-au",
      "ap-id",
      "ap-sg",
      "eu",
      "us",
    ]);
    const byRegion = Object.fromEntries(
      r.body.map((x: { region: string; healthy: boolean }) => [x.region, x.healthy]),
    );
    expect(byRegion).toMatchObject({ "ap-id": true, "ap-sg": true, us: false });
  });
});

describe("placement is idempotent and reaches a cell that was down", () => {
  it("same key and body: the stored placement with Idempotent-Replayed; another body: 422", async () => {
    const key = uuidv7();
    const body = { name: "Idempotent regulator", homeRegion: "ap-sg", residencyPolicy: "APAC_SHARED" };
    const a = await edgeCall(p, "POST", "/v1/ops/tenants", body, { token: p.opsToken, key });
    const b = await edgeCall(p, "POST", "/v1/ops/tenants", body, { token: p.opsToken, key });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    expect(b.body.tenantId).toBe(a.body.tenantId);
    const c = await edgeCall(
      p,
      "POST",
      "/v1/ops/tenants",
      { ...body, name: "Other" },
      { token: p.opsToken, key },
    );
    expect(c.status).toBe(422);
    expect(c.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    const [n] = await p.catalog.deps
      .sql`SELECT count(*)::int AS n FROM tenant_region_assignment WHERE name = ${body.name}`;
    expect(n!.n).toBe(1);
  });

  it("a tenant placed while its home cell is down is registered there when the cell returns", async () => {
    await p.stopCell("ap-sg");
    const placed = await edgeCall(
      p,
      "POST",
      "/v1/ops/tenants",
      {
        name: "Placed during outage",
        homeRegion: "ap-sg",
        residencyPolicy: "APAC_SHARED",
        adminUserIds: [uuidv7()],
      },
      { token: p.opsToken },
    );
    expect(placed.status).toBe(201);
    const tenantId = placed.body.tenantId as string;
    await new Promise((r) => setTimeout(r, 400));
    const [pending] = await p.catalog.deps.sql`
      SELECT count(*)::int AS n, max(attempts)::int AS attempts FROM cell_sync_task
      WHERE region = 'ap-sg' AND done_at IS NULL AND path LIKE ${`%${tenantId}%`}`;
    expect(pending!.n).toBe(3); // tenant, fence, admin grant
    expect(pending!.attempts).toBeGreaterThanOrEqual(1);
    await p.restartCell("ap-sg");
    // Backoff may have pushed the next attempt out; make it due now, as an operator's retry would.
    await p.catalog.deps.sql`UPDATE cell_sync_task SET next_attempt_at = now() WHERE done_at IS NULL`;
    await p.settle();
    const [registered] = await p.cells["ap-sg"]!.deps.sql`
      SELECT status FROM tenant_registration WHERE tenant_id = ${tenantId}`;
    expect(registered!.status).toBe("ACTIVE");
    const grants = await p.cells["ap-sg"]!.deps
      .sql`SELECT role FROM authorization_grant WHERE tenant_id = ${tenantId}`;
    expect(grants.map((g) => g.role)).toEqual(["tenant_admin"]);
  });

  it("refuses an unknown policy or region with 400, and a duplicate tenant id with 422", async () => {
    const bad = await edgeCall(
      p,
      "POST",
      "/v1/ops/tenants",
      {
        name: "x",
        homeRegion: "ap-sg",
        residencyPolicy: "MARS_ONLY",
      },
      { token: p.opsToken },
    );
    expect(bad.status).toBe(400);
    const noRegion = await edgeCall(
      p,
      "POST",
      "/v1/ops/tenants",
      {
        name: "x",
        homeRegion: "mx",
        residencyPolicy: "GLOBAL_STANDARD",
      },
      { token: p.opsToken },
    );
    expect(noRegion.status).toBe(400);
    const tenantId = uuidv7();
    const body = { tenantId, name: "dup", homeRegion: "ap-id", residencyPolicy: "APAC_SHARED" };
    expect((await edgeCall(p, "POST", "/v1/ops/tenants", body, { token: p.opsToken })).status).toBe(201);
    const dup = await edgeCall(p, "POST", "/v1/ops/tenants", body, { token: p.opsToken });
    expect(dup.status).toBe(422);
  });
});

describe("residency policies", () => {
  it("deferred_upload_allowed is seeded from infra/topology.json and shown in the tenant's placement", async () => {
    const rows = await p.catalog.deps.sql<{ policy_code: string; deferred_upload_allowed: boolean }[]>`
      SELECT policy_code, deferred_upload_allowed FROM residency_policy ORDER BY policy_code`;
    expect(Object.fromEntries(rows.map((r) => [r.policy_code, r.deferred_upload_allowed]))).toEqual({
      APAC_SHARED: true,
      EU_GDPR: true,
      GLOBAL_STANDARD: true,
      ID_STRICT: false,
    });
    for (const [policy, deferredUploadAllowed] of [
      ["ID_STRICT", false],
      ["APAC_SHARED", true],
    ] as const) {
      const placed = await edgeCall(
        p,
        "POST",
        "/v1/ops/tenants",
        { name: `Deferral ${policy}`, homeRegion: "ap-id", residencyPolicy: policy },
        { token: p.opsToken },
      );
      expect(placed.status).toBe(201);
      const shown = await edgeCall(p, "GET", `/v1/ops/tenants/${placed.body.tenantId}`, undefined, {
        token: p.opsToken,
      });
      expect(shown.body.policy).toMatchObject({ deferredUploadAllowed });
    }
  });
});

describe("reference data survives a catalog outage", () => {
  it("serves the last valid version from the edge's copy", async () => {
    const first = await edgeCall(p, "GET", "/v1/reference/countries");
    expect(first.status).toBe(200);
    await p.stopCatalog();
    try {
      const again = await edgeCall(p, "GET", "/v1/reference/countries");
      expect(again.status).toBe(200);
      expect(again.body.version).toBe(first.body.version);
      expect(again.body.source).toBe("edge_projection");
    } finally {
      await p.startCatalogAgain();
    }
  });
});
