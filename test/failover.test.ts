import { uuidv7 } from "@homeroute/ids";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EventPipeline, startEventPipeline } from "./support/event-pipeline.js";
import { checkSingleWriter, collectHistory } from "./support/history.js";
import { createAtCell, edgeCall, type Planet, placeTenant, startPlanet } from "./support/planet.js";
import { until } from "./support/until.js";

// Promotion with fencing, the DR standby, and orphaned writes turned into conflict cases, on real
// cells, a real catalog, the Worker in Miniflare, a real nats-server, relays and the projector.

const TTL = 2;
const newCase = { category: "market_abuse", countryCode: "SG", summary: "Failover", channel: "web" };
let p: Planet;
let ev: EventPipeline;

const promote = (tenantId: string, targetRegion: string, extra: Record<string, unknown> = {}) =>
  edgeCall(
    p,
    "POST",
    `/v1/ops/tenants/${tenantId}/promotions`,
    { targetRegion, reason: "region incident drill", approvedBy: "duty officer", ...extra },
    { token: p.opsToken },
  );

const standbyCases = async (tenantId: string) => {
  const [r] = await p.cells["ap-id"]!.deps.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM regulatory_case WHERE tenant_id = ${tenantId}`;
  return r!.n;
};

beforeAll(async () => {
  p = await startPlanet("failover", ["ap-sg", "ap-id"], { leaseTtlSeconds: TTL });
  ev = await startEventPipeline(p);
}, 120_000);
afterAll(async () => {
  await ev?.close();
  await p?.close();
});

describe("DR standby and promotion", () => {
  it("keeps a standby in the DR region; promotion by ack moves the home, bumps the epoch, loses nothing", async () => {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter", "investigator"]);
    const cases = [];
    for (let i = 0; i < 5; i++) {
      cases.push(
        (await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token: t.tokens.reporter }))
          .body,
      );
    }
    await edgeCall(
      p,
      "POST",
      `/v1/tenants/${t.tenantId}/cases/${cases[0].caseId}/transitions`,
      {
        to: "TRIAGE",
        expectedVersion: 1,
        reason: "before the incident",
      },
      { token: t.tokens.investigator },
    );
    await until("standby has the cases", async () => (await standbyCases(t.tenantId)) === 5);
    // The DR cell refuses writes for a tenant it only stands by for.
    const direct = await createAtCell(p, "ap-id", t.tenantId, t.tokens.reporter!, newCase);
    expect(direct.status).toBe(421);

    const r = await promote(t.tenantId, "ap-id");
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ fromRegion: "ap-sg", toRegion: "ap-id", newEpoch: 2, fencedBy: "ack" });
    expect(r.body.unreplicatedWindow.caughtUp).toBe(true);

    // The next write lands at the new home, at the new epoch; the old home's copy is intact there.
    const after = await edgeCall(
      p,
      "POST",
      `/v1/tenants/${t.tenantId}/cases/${cases[0].caseId}/transitions`,
      {
        to: "INVESTIGATING",
        expectedVersion: 2,
        reason: "after the promotion",
      },
      { token: t.tokens.investigator },
    );
    expect(after.status, JSON.stringify(after.body)).toBe(200);
    expect(after.headers.get("x-served-by-region")).toBe("ap-id");
    expect(after.headers.get("x-region-epoch")).toBe("2");
    expect(after.body.homeRegion).toBe("ap-id");
    const created = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
      token: t.tokens.reporter,
    });
    expect(created.status).toBe(201);
    expect(created.body.caseNumber).toMatch(/^ID-/);
    // The former home now refuses: it knows who owns the tenant.
    const old = await createAtCell(p, "ap-sg", t.tenantId, t.tokens.reporter!, newCase);
    expect(old.status).toBe(421);
    expect(((await old.json()) as any).homeRegion).toBe("ap-id");
    const history = await collectHistory(p, t.tenantId);
    expect(checkSingleWriter(history)).toEqual([]);
  });

  it("refuses promotion with 451 when the policy allows no other region (ID_STRICT), audited", async () => {
    const t = await placeTenant(p, "ap-id", "ID_STRICT", ["reporter"]);
    const r = await promote(t.tenantId, "ap-sg");
    expect(r.status).toBe(451);
    expect(r.body).toMatchObject({ code: "RESIDENCY_VIOLATION", policy: "ID_STRICT", targetRegion: "ap-sg" });
    const [audit] = await p.catalog.deps.sql`
      SELECT outcome FROM catalog_audit_event WHERE tenant_id = ${t.tenantId} AND action_type = 'tenant.promote'`;
    expect(audit!.outcome).toBe("REFUSED");
  });

  it("home down: writes fail fast; promotion by lease expiry; the old home returns fenced; its unrelayed writes become conflict cases", async () => {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter", "investigator"]);
    const c = (
      await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token: t.tokens.reporter })
    ).body;
    await until("standby", async () => (await standbyCases(t.tenantId)) === 1);
    // Cut the relay so the next writes at the home are committed but never leave it.
    await ev.relays["ap-sg"]!.close();
    const orphan = await edgeCall(
      p,
      "POST",
      `/v1/tenants/${t.tenantId}/cases/${c.caseId}/transitions`,
      {
        to: "TRIAGE",
        expectedVersion: 1,
        reason: "committed, never relayed",
      },
      { token: t.tokens.investigator },
    );
    expect(orphan.status).toBe(200);
    // The home region goes down.
    await p.stopCell("ap-sg");
    const down = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
      token: t.tokens.reporter,
    });
    expect(down.status).toBe(503);
    expect(down.body.code).toBe("REGION_UNAVAILABLE");
    // No acknowledgement is possible: the promotion waits out the old home's last lease.
    const r = await promote(t.tenantId, "ap-id");
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.fencedBy).toBe("lease_expiry");
    expect(r.body.unreplicatedWindow.caughtUp).toBeNull();
    // The new home serves the replicated state (version 1: the orphaned transition is not there).
    const read = await edgeCall(p, "GET", `/v1/tenants/${t.tenantId}/cases/${c.caseId}`, undefined, {
      token: t.tokens.investigator,
    });
    expect(read.body).toMatchObject({ status: "INTAKE", version: 1, homeRegion: "ap-id" });
    const w = await edgeCall(
      p,
      "POST",
      `/v1/tenants/${t.tenantId}/cases/${c.caseId}/transitions`,
      {
        to: "WITHDRAWN",
        expectedVersion: 1,
        reason: "decided at the new home",
      },
      { token: t.tokens.investigator },
    );
    expect(w.status).toBe(200);
    // The old home returns: boot-fenced, it learns the new fence at its first renewal.
    await p.restartCell("ap-sg");
    const stale = await createAtCell(p, "ap-sg", t.tenantId, t.tokens.reporter!, newCase);
    expect(stale.status).toBe(421);
    // Its relay comes back and publishes the orphaned write: filed as a conflict, never applied.
    const { relayEnvSchema, startRelay } = await import("@homeroute/relay");
    ev.relays["ap-sg"] = await startRelay(
      relayEnvSchema.parse({
        REGION: "ap-sg",
        DATABASE_URL: p.cells["ap-sg"]!.deps.env.DATABASE_URL,
        NATS_URL: ev.nats.url,
        SUBJECT_ROOT: ev.root,
        POLL_MS: "200",
        LOG_LEVEL: "silent",
      }),
    );
    const conflicts = await until("conflict case", async () => {
      const r2 = await edgeCall(p, "GET", "/v1/ops/conflicts", undefined, { token: p.opsToken });
      const mine = r2.body.items.filter((i: any) => i.tenantId === t.tenantId && i.aggregateType === "case");
      return mine.length > 0 ? mine : null;
    });
    expect(conflicts[0]).toMatchObject({
      aggregateId: c.caseId,
      homeRegion: "ap-id",
      conflictingRegion: "ap-sg",
      remoteVersion: 2,
      status: "OPEN",
    });
    const stillNew = await edgeCall(p, "GET", `/v1/tenants/${t.tenantId}/cases/${c.caseId}`, undefined, {
      token: t.tokens.investigator,
    });
    expect(stillNew.body.status).toBe("WITHDRAWN"); // never last-write-wins
    // Resolving is an audited command.
    const resolved = await edgeCall(
      p,
      "POST",
      `/v1/ops/conflicts/${conflicts[0].conflictId}/resolve`,
      {
        note: "triage superseded by withdrawal at the new home",
      },
      { token: p.opsToken },
    );
    expect(resolved.status).toBe(200);
    const history = await collectHistory(p, t.tenantId);
    expect(checkSingleWriter(history)).toEqual([]);
  }, 60_000);

  it("a promotion racing 20 in-flight commands: one writer per epoch, every command committed once or refused cleanly", async () => {
    const t = await placeTenant(p, "ap-id", "APAC_SHARED", ["reporter"]);
    // ap-id's DR target is ap-sg.
    const inflight = Array.from({ length: 20 }, () =>
      edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token: t.tokens.reporter }),
    );
    const r = await promote(t.tenantId, "ap-sg");
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const outcomes = await Promise.all(inflight);
    for (const o of outcomes) {
      expect([201, 421, 409, 503]).toContain(o.status);
      if (o.status !== 201) expect(o.headers.get("content-type")).toContain("problem+json");
    }
    const history = await collectHistory(p, t.tenantId);
    expect(checkSingleWriter(history)).toEqual([]);
    // Every acknowledged create exists at the new home (replicated before the target went live).
    const acked = outcomes.filter((o) => o.status === 201).map((o) => o.body.caseId);
    const rows = await p.cells["ap-sg"]!.deps
      .sql`SELECT case_id FROM regulatory_case WHERE tenant_id = ${t.tenantId}`;
    const atNewHome = new Set(rows.map((x) => x.case_id));
    expect(acked.filter((id) => !atNewHome.has(id))).toEqual([]);
  }, 60_000);
});

describe("the seed's chaos scenario", () => {
  it("the seed's case C: concurrent transitions on one case while its region turns read-only; C advanced exactly once per success, no other region wrote C", async () => {
    const t = await placeTenant(p, "ap-id", "APAC_SHARED", ["reporter", "investigator"]);
    const c = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
      token: t.tokens.reporter,
    });
    // INTAKE → TRIAGE, then back and forth between INVESTIGATING and UNDER_REVIEW: each request
    // names the version it expects, so exactly one of each pair of racers can win.
    const moved = await edgeCall(
      p,
      "POST",
      `/v1/tenants/${t.tenantId}/cases/${c.body.caseId}/transitions`,
      { to: "TRIAGE", expectedVersion: 1, reason: "triage" },
      { token: t.tokens.investigator },
    );
    expect(moved.status).toBe(200);
    const mode = (m: string) =>
      edgeCall(
        p,
        "POST",
        "/v1/ops/regions/ap-id/mode",
        { mode: m, reason: "chaos C" },
        { token: p.opsToken },
      );
    const racers = Array.from({ length: 12 }, () =>
      edgeCall(
        p,
        "POST",
        `/v1/tenants/${t.tenantId}/cases/${c.body.caseId}/transitions`,
        { to: "INVESTIGATING", expectedVersion: 2, reason: "race" },
        { token: t.tokens.investigator },
      ),
    );
    await new Promise((r) => setTimeout(r, 5));
    expect((await mode("READ_ONLY")).status).toBe(200);
    await p.settle();
    try {
      const outcomes = await Promise.all(racers);
      const ok = outcomes.filter((o) => o.status === 200);
      // Every refusal is a clean, named refusal: the version race or the read-only region.
      for (const o of outcomes.filter((x) => x.status !== 200))
        expect(["VERSION_CONFLICT", "REGION_READ_ONLY", "STATUS_PRECONDITION_FAILED"]).toContain(o.body.code);
      expect(ok.length).toBeLessThanOrEqual(1);
      // C's version advanced by exactly the number of successes, and its audit says so.
      const sql = p.cells["ap-id"]!.deps.sql;
      const [row] = await sql`SELECT version, status FROM regulatory_case WHERE case_id = ${c.body.caseId}`;
      expect(Number(row!.version)).toBe(2 + ok.length);
      const audit = await sql`
        SELECT aggregate_version FROM global_audit_event WHERE aggregate_id = ${c.body.caseId} ORDER BY aggregate_version`;
      expect(audit.map((a) => Number(a.aggregate_version))).toEqual(
        Array.from({ length: 2 + ok.length }, (_, i) => i + 1),
      );
      // No other cell holds a write of C of its own.
      const [elsewhere] = await p.cells["ap-sg"]!.deps.sql`
        SELECT count(*)::int AS n FROM global_audit_event WHERE aggregate_id = ${c.body.caseId}
          AND NOT (metadata ? 'replicatedFrom')`;
      expect(elsewhere!.n).toBe(0);
    } finally {
      await mode("WRITABLE");
      await p.settle();
    }
  });

  it("the home region becomes read-only mid-request: each command commits once or fails cleanly, audit holds the outcome", async () => {
    const t = await placeTenant(p, "ap-id", "APAC_SHARED", ["reporter"]);
    const keys = Array.from({ length: 30 }, () => uuidv7());
    const inflight = keys.map((key) =>
      edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token: t.tokens.reporter, key }),
    );
    const mode = (m: string) =>
      edgeCall(p, "POST", "/v1/ops/regions/ap-id/mode", { mode: m, reason: "chaos" }, { token: p.opsToken });
    await new Promise((r) => setTimeout(r, 5));
    expect((await mode("READ_ONLY")).status).toBe(200);
    await p.settle();
    const outcomes = await Promise.all(inflight);
    try {
      const sql = p.cells["ap-id"]!.deps.sql;
      for (const [i, o] of outcomes.entries()) {
        const [logged] = await sql`SELECT count(*)::int AS n FROM command_log WHERE command_id = ${keys[i]!}`;
        const [audited] =
          await sql`SELECT count(*)::int AS n FROM global_audit_event WHERE command_id = ${keys[i]!}`;
        if (o.status === 201) {
          expect([logged!.n, audited!.n]).toEqual([1, 1]); // committed once, audited
        } else {
          expect(o.body.code).toBe("REGION_READ_ONLY"); // failed cleanly...
          expect([logged!.n, audited!.n]).toEqual([0, 0]); // ...and wrote nothing
        }
      }
      // No other region accepted a write for the tenant.
      const [elsewhere] = await p.cells["ap-sg"]!.deps.sql`
        SELECT count(*)::int AS n FROM global_audit_event WHERE tenant_id = ${t.tenantId} AND command_id IS NOT NULL
          AND NOT (metadata ? 'replicatedFrom')`;
      expect(elsewhere!.n).toBe(0);
      // After the mode change, writes are refused.
      const late = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
        token: t.tokens.reporter,
      });
      expect(late.body.code).toBe("REGION_READ_ONLY");
    } finally {
      await mode("WRITABLE");
      await p.settle();
    }
  });
});
