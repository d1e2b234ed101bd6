import { createServer, type Server } from "node:net";
import { bumpTenantEpoch } from "@homeroute/catalog";
import { uuidv7 } from "@homeroute/ids";
import { makeToken, makeUnsignedToken } from "@homeroute/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { edgeCall, type Planet, placeTenant, startPlanet } from "./support/planet.js";

// The Worker runs in workerd (Miniflare) against a real catalog and two real cells on real
// PostgreSQL. Nothing here is mocked.

const newCase = { category: "market_abuse", countryCode: "ID", summary: "Routed intake", channel: "web" };
const REGIONS = ["ap-id", "ap-sg", "eu", "us", "ap-au"];
let p: Planet;

beforeAll(async () => {
  p = await startPlanet("edge_routing", ["ap-id", "ap-sg"]);
}, 120_000);
afterAll(() => p?.close());

describe("placement through the edge", () => {
  it("places a tenant its policy allows: assignment, fence at epoch 1, registered in the home cell", async () => {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED");
    expect(t.placement).toMatchObject({
      homeRegion: "ap-sg",
      regionEpoch: 1,
      residencyPolicy: "APAC_SHARED",
      drTarget: "ap-id",
      status: "ACTIVE",
    });
    const fences: any = await (
      await fetch(`${p.cells["ap-sg"]!.url}/internal/v1/fences`, {
        headers: { authorization: "Bearer internal-test-token-0123456789" },
      })
    ).json();
    expect(fences.items).toContainEqual(
      expect.objectContaining({ scope: `tenant:${t.tenantId}`, activeRegion: "ap-sg", epoch: 1 }),
    );
    const shown = await edgeCall(p, "GET", `/v1/ops/tenants/${t.tenantId}`, undefined, { token: p.opsToken });
    expect(shown.body.homeRegion).toBe("ap-sg");
  });

  it("refuses a home outside the policy with 451, audited and counted, and places nothing", async () => {
    const tenantId = uuidv7();
    const r = await edgeCall(
      p,
      "POST",
      "/v1/ops/tenants",
      {
        tenantId,
        name: "Strict regulator",
        homeRegion: "ap-sg",
        residencyPolicy: "ID_STRICT",
      },
      { token: p.opsToken },
    );
    expect(r.status).toBe(451);
    expect(r.body).toMatchObject({ code: "RESIDENCY_VIOLATION", policy: "ID_STRICT", targetRegion: "ap-sg" });
    const sql = p.catalog.deps.sql;
    const [assigned] =
      await sql`SELECT count(*)::int AS n FROM tenant_region_assignment WHERE tenant_id = ${tenantId}`;
    expect(assigned!.n).toBe(0);
    const [audit] = await sql`
      SELECT outcome FROM catalog_audit_event WHERE tenant_id = ${tenantId} AND action_type = 'tenant.place'`;
    expect(audit!.outcome).toBe("REFUSED");
    expect(p.catalog.deps.metrics.residencyViolationAttempts.get("ID_STRICT|ap-sg")).toBeGreaterThanOrEqual(
      1,
    );
  });

  it("needs an operator token", async () => {
    const t = await makeToken({ sub: uuidv7(), tid: uuidv7() });
    const r = await edgeCall(p, "GET", "/v1/ops/tenants", undefined, { token: t });
    expect(r.status).toBe(403);
    expect((await edgeCall(p, "GET", "/v1/ops/regions")).status).toBe(401);
  });
});

describe("routing every command home", () => {
  it("from every edge region, a command lands in the tenant's home with the routing headers", async () => {
    const t = await placeTenant(p, "ap-id", "ID_STRICT", ["investigator", "reporter"]);
    for (const edgeRegion of REGIONS) {
      const r = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
        token: t.tokens.reporter,
        edgeRegion,
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.headers.get("x-served-by-region")).toBe("ap-id");
      expect(r.headers.get("x-home-region")).toBe("ap-id");
      expect(r.headers.get("x-region-epoch")).toBe("1");
      expect(r.headers.get("x-edge-region")).toBe(edgeRegion);
      expect(r.headers.get("x-consistency-token")).toMatch(/^ct1\./);
      expect(r.body.caseNumber).toMatch(/^ID-/);
    }
    const [n] = await p.cells["ap-id"]!.deps
      .sql`SELECT count(*)::int AS n FROM regulatory_case WHERE tenant_id = ${t.tenantId}`;
    expect(n!.n).toBe(REGIONS.length);
    const [none] = await p.cells["ap-sg"]!.deps
      .sql`SELECT count(*)::int AS n FROM regulatory_case WHERE tenant_id = ${t.tenantId}`;
    expect(none!.n).toBe(0);
  });

  it("after an epoch bump the edge gets STALE_REGION_EPOCH, refreshes, retries exactly once: one effect", async () => {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["investigator", "reporter"]);
    const first = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
      token: t.tokens.reporter,
    });
    expect(first.headers.get("x-region-epoch")).toBe("1");
    // The catalog moves the fence to epoch 2 and the cell learns it; the edge still holds epoch 1
    // (the push to the edge is switched off to keep its copy stale).
    const edgeUrl = p.catalog.deps.env.EDGE_URL;
    p.catalog.deps.env.EDGE_URL = undefined;
    try {
      expect(await bumpTenantEpoch(p.catalog.deps, t.tenantId)).toBe(2);
      await p.settle();
    } finally {
      p.catalog.deps.env.EDGE_URL = edgeUrl;
    }
    const key = uuidv7();
    const r = await edgeCall(
      p,
      "POST",
      `/v1/tenants/${t.tenantId}/cases/${first.body.caseId}/transitions`,
      { to: "TRIAGE", expectedVersion: 1, reason: "after the epoch moved" },
      { token: t.tokens.investigator, key },
    );
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.headers.get("x-routing-retried")).toBe("1");
    expect(r.headers.get("x-region-epoch")).toBe("2");
    const sql = p.cells["ap-sg"]!.deps.sql;
    const audit = await sql`SELECT region_epoch FROM global_audit_event WHERE command_id = ${key}`;
    expect(audit.map((a) => a.region_epoch)).toEqual([2]);
  });

  it("never forwards to a region the policy forbids, whatever the snapshot says", async () => {
    const t = await placeTenant(p, "ap-id", "ID_STRICT", ["reporter"]);
    // Corrupt the routing data at its source: the snapshot now claims ap-sg is home.
    await p.catalog.deps
      .sql`UPDATE region_write_epoch SET active_region = 'ap-sg' WHERE logical_scope = ${`tenant:${t.tenantId}`}`;
    await p.catalog.deps.sql.begin(async (tx) => {
      const { publishSnapshot } = await import("@homeroute/catalog");
      await publishSnapshot(tx);
    });
    p.catalog.deps.kickSync();
    await new Promise((r) => setTimeout(r, 200));
    const r = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
      token: t.tokens.reporter,
    });
    expect(r.status).toBe(451);
    expect(r.body).toMatchObject({ code: "RESIDENCY_VIOLATION", targetRegion: "ap-sg", policy: "ID_STRICT" });
    const [n] = await p.cells["ap-sg"]!.deps
      .sql`SELECT count(*)::int AS n FROM regulatory_case WHERE tenant_id = ${t.tenantId}`;
    expect(n!.n).toBe(0);
  });
});

describe("bad input and auth stop at the edge", () => {
  let t: Awaited<ReturnType<typeof placeTenant>>;
  beforeAll(async () => {
    t = await placeTenant(p, "ap-id", "APAC_SHARED", ["reporter"]);
  });
  it.each([
    ["no token", undefined, 401],
    ["alg none", makeUnsignedToken({ sub: uuidv7(), iss: "homeroute-dev", aud: "homeroute", exp: 2e9 }), 401],
    ["garbage", "not-a-jwt", 401],
  ])("%s → %s", async (_n, token, status) => {
    const r = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token });
    expect(r.status).toBe(status);
    expect(r.headers.get("content-type")).toContain("application/problem+json");
  });
  it("another tenant's token is 403, without saying whether the tenant exists", async () => {
    const other = await makeToken({ sub: uuidv7(), tid: uuidv7() });
    const a = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token: other });
    const b = await edgeCall(p, "POST", `/v1/tenants/${uuidv7()}/cases`, newCase, { token: other });
    expect([a.status, b.status]).toEqual([403, 403]);
    expect(a.body.detail).toBe(b.body.detail);
  });
  it("a malformed body is 400 with zod paths, a missing key is 400, an unknown tenant is 404", async () => {
    const bad = await edgeCall(
      p,
      "POST",
      `/v1/tenants/${t.tenantId}/cases`,
      { ...newCase, countryCode: "idn" },
      {
        token: t.tokens.reporter,
      },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.issues[0].path).toEqual(["body", "countryCode"]);
    const noKey = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
      token: t.tokens.reporter,
      key: null,
    });
    expect(noKey.status).toBe(400);
    const ghost = uuidv7();
    const unknown = await edgeCall(p, "POST", `/v1/tenants/${ghost}/cases`, newCase, {
      token: await makeToken({ sub: uuidv7(), tid: ghost }),
    });
    expect(unknown.status).toBe(404);
  });
  it("a body over 1 MiB is 413", async () => {
    const r = await edgeCall(
      p,
      "POST",
      `/v1/tenants/${t.tenantId}/cases`,
      { ...newCase, summary: "x".repeat(1_100_000) },
      {
        token: t.tokens.reporter,
      },
    );
    expect(r.status).toBe(413);
    expect(r.body.code).toBe("PAYLOAD_TOO_LARGE");
  });
  it("serves reference data with version and freshness", async () => {
    const r = await edgeCall(p, "GET", "/v1/reference/violation-categories");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ version: 1, source: "edge_projection", dataFreshness: { lagSeconds: 0 } });
    expect(r.body.items.map((i: { code: string }) => i.code)).toContain("market_abuse");
  });
});

describe("degraded modes", () => {
  it("a hung cell is 503 REGION_UNAVAILABLE within the bound, never a hang", async () => {
    // A server that accepts connections and never answers.
    const hung: Server = createServer(() => {});
    await new Promise<void>((r) => hung.listen(0, "127.0.0.1", r));
    const port = (hung.address() as { port: number }).port;
    const { startEdge } = await import("./support/edge-worker.js");
    const edge = await startEdge({
      catalogUrl: p.catalog.url,
      cellUrls: { "ap-id": `http://127.0.0.1:${port}`, "ap-sg": p.cells["ap-sg"]!.url },
      jwtSecret: "test-secret-at-least-32-bytes-long-0123456789",
      internalToken: "internal-test-token-0123456789",
      cellTimeoutMs: 800,
    });
    try {
      const t = await placeTenant(p, "ap-id", "APAC_SHARED", ["reporter"]);
      const started = Date.now();
      const res = await fetch(`${edge.url}/v1/tenants/${t.tenantId}/cases`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${t.tokens.reporter}`,
          "idempotency-key": uuidv7(),
          "content-type": "application/json",
        },
        body: JSON.stringify(newCase),
      });
      const body = (await res.json()) as any;
      expect(res.status).toBe(503);
      expect(body).toMatchObject({ code: "REGION_UNAVAILABLE", region: "ap-id" });
      expect(res.headers.get("retry-after")).toBe("5");
      // Not a timing assertion on speed: only that the bound cut the wait (far below a hang).
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      await edge.close();
      hung.close();
    }
  });

  it("catalog stopped: commands still route from the cached snapshot and say so; placements get 503", async () => {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter"]);
    // An edge with a 1 s snapshot TTL, so the outage outlives its copy.
    const { startEdge } = await import("./support/edge-worker.js");
    const edge = await startEdge({
      catalogUrl: p.catalog.url,
      cellUrls: Object.fromEntries(Object.entries(p.cells).map(([r, c]) => [r, c.url])),
      jwtSecret: "test-secret-at-least-32-bytes-long-0123456789",
      internalToken: "internal-test-token-0123456789",
      snapshotTtlSeconds: 1,
    });
    const post = (path: string, body: unknown, token: string) =>
      fetch(`${edge.url}${path}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "idempotency-key": uuidv7(),
          "content-type": "application/json",
        },
        body: JSON.stringify(body),
      });
    try {
      const warm = await post(`/v1/tenants/${t.tenantId}/cases`, newCase, t.tokens.reporter!);
      expect(warm.status).toBe(201);
      expect(warm.headers.get("x-routing-source")).toBe("live");
      await p.stopCatalog();
      await new Promise((r) => setTimeout(r, 1300));
      const r = await post(`/v1/tenants/${t.tenantId}/cases`, newCase, t.tokens.reporter!);
      expect(r.status).toBe(201);
      expect(r.headers.get("x-served-by-region")).toBe("ap-sg");
      expect(r.headers.get("x-routing-source")).toBe("cached");
      expect(Number(r.headers.get("x-routing-age-seconds"))).toBeGreaterThan(1);
      const placement = await post(
        "/v1/ops/tenants",
        {
          name: "During outage",
          homeRegion: "ap-sg",
          residencyPolicy: "APAC_SHARED",
        },
        p.opsToken,
      );
      expect(placement.status).toBe(503);
      expect(((await placement.json()) as any).code).toBe("CATALOG_UNAVAILABLE");
      const migration = await post(
        `/v1/ops/tenants/${t.tenantId}/migrations`,
        { targetRegion: "ap-id", reason: "x" },
        p.opsToken,
      );
      expect(((await migration.json()) as any).code).toBe("CATALOG_UNAVAILABLE");
    } finally {
      await edge.close();
      await p.startCatalogAgain();
    }
  });

  it("a stopped cell is 503 REGION_UNAVAILABLE at once; other regions carry on", async () => {
    const sg = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter"]);
    const id = await placeTenant(p, "ap-id", "APAC_SHARED", ["reporter"]);
    await p.stopCell("ap-sg");
    const r = await edgeCall(p, "POST", `/v1/tenants/${sg.tenantId}/cases`, newCase, {
      token: sg.tokens.reporter,
    });
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ code: "REGION_UNAVAILABLE", region: "ap-sg" });
    const ok = await edgeCall(p, "POST", `/v1/tenants/${id.tenantId}/cases`, newCase, {
      token: id.tokens.reporter,
    });
    expect(ok.status).toBe(201);
  });
});
