import { auditVerifyResponse } from "@homeroute/contracts";
import { auditStreamName, connectNats } from "@homeroute/events";
import { TEST_JWT_SECRET } from "@homeroute/testkit";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EventPipeline, startEventPipeline } from "./support/event-pipeline.js";
import { runGlobalctl } from "./support/globalctl.js";
import { edgeCall, type Planet, placeTenant, startPlanet } from "./support/planet.js";
import { until } from "./support/until.js";

// Protected audit replica (DESIGN §13, issue 8, docs/audit.md), on real cells and catalog, the
// Worker in Miniflare, a real nats-server, the relays and the projector's audit replicator.
// APAC_SHARED homed in ap-sg keeps its replica in ap-au (the first backup region other than home);
// ID_STRICT has none and says so.

const REGIONS = ["ap-sg", "ap-au", "ap-id"];
const newCase = { category: "market_abuse", countryCode: "SG", summary: "Audit replica", channel: "web" };
let p: Planet;
let ev: EventPipeline;

beforeAll(async () => {
  p = await startPlanet("auditreplica", REGIONS);
  ev = await startEventPipeline(p);
}, 120_000);
afterAll(async () => {
  await ev?.close();
  await p?.close();
});

const verify = async (tenantId: string) => {
  const r = await edgeCall(p, "GET", `/v1/ops/audit/verify?tenantId=${tenantId}`, undefined, {
    token: p.opsToken,
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return auditVerifyResponse.parse(r.body);
};

/** A tenant with a few audited writes (cases and a transition), its replica caught up. */
async function busyTenant(homeRegion: string, policy: string, cases = 3) {
  const t = await placeTenant(p, homeRegion, policy, ["reporter", "investigator"]);
  let first: { caseId: string } | undefined;
  for (let i = 0; i < cases; i++) {
    const r = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
      token: t.tokens.reporter,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    first ??= r.body;
  }
  const tr = await edgeCall(
    p,
    "POST",
    `/v1/tenants/${t.tenantId}/cases/${first!.caseId}/transitions`,
    { to: "TRIAGE", expectedVersion: 1, reason: "audited" },
    { token: t.tokens.investigator },
  );
  expect(tr.status, JSON.stringify(tr.body)).toBe(200);
  return t;
}

const caughtUp = (tenantId: string) =>
  until(
    "the audit replica to catch up with home",
    async () => {
      const v = await verify(tenantId);
      return v.replica && v.replica.behindByLinks === 0 && v.replica.lastSeq > 0 ? v : null;
    },
    30_000,
  );

const auditRowsIn = async (region: string, tenantId: string) => {
  const [r] = await p.cells[region]!.deps.sql<{ home: number; replica: number }[]>`
    SELECT (SELECT count(*)::int FROM global_audit_event WHERE tenant_id = ${tenantId}) AS home,
      (SELECT count(*)::int FROM audit_replica_event WHERE tenant_id = ${tenantId}) AS replica`;
  return r!;
};

/** The projector's audit replica series (docs/metrics.md), keyed `<name without prefix>|<source region>`. */
async function replicaMetrics(): Promise<Map<string, number>> {
  const res = await fetch(`${ev.projector.url}/metrics`);
  expect(res.status).toBe(200);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    const m = /^homeroute_audit_replica_(\w+)\{(?:.*,)?source_region="([^"]+)"(?:,.*)?\}\s+(\S+)$/.exec(line);
    if (m) out.set(`${m[1]}|${m[2]}`, Number(m[3]));
  }
  return out;
}

/** Alters a stored row as a superuser who bypasses the append-only triggers would. */
const tamper = (
  region: string,
  table: "global_audit_event" | "audit_replica_event",
  tenantId: string,
  seq: number,
) =>
  p.cells[region]!.deps.sql.begin(async (tx) => {
    await tx`SET LOCAL session_replication_role = replica`;
    const [row] = await tx<{ audit_event_id: string }[]>`
      UPDATE ${tx(table)} SET metadata = jsonb_set(metadata, '{forged}', 'true')
      WHERE tenant_id = ${tenantId} AND chain_seq = ${seq} RETURNING audit_event_id`;
    return row!.audit_event_id;
  });

describe("protected audit replica", () => {
  it("copies an APAC_SHARED tenant's chain from ap-sg to ap-au only; both verify with equal heads", async () => {
    const stats = ev.projector.auditReplicator!.stats;
    const gapsBefore = stats.linksRedeliveredAfterGap + stats.linksBackfilled;
    // More than 9 links: link 10 must follow link 9, not link 1 (text order).
    const t = await busyTenant("ap-sg", "APAC_SHARED", 12);
    const v = await caughtUp(t.tenantId);
    // Published in chain order: the replica never lacked an earlier link.
    const after = ev.projector.auditReplicator!.stats;
    expect(after.linksRedeliveredAfterGap + after.linksBackfilled).toBe(gapsBefore);
    // The same counts on the projector's /metrics, by source region (the chain's home), every
    // series present for every region from the start.
    const counts = ev.projector.auditReplicator!.countsByRegion;
    const replicatedBefore = counts["ap-sg"]!.linksReplicated;
    const m = await replicaMetrics();
    expect(m.get("links_replicated_total|ap-sg")).toBeGreaterThanOrEqual(replicatedBefore);
    expect(m.get("links_replicated_total|ap-sg")).toBeLessThanOrEqual(counts["ap-sg"]!.linksReplicated);
    expect(m.get("links_replicated_total|ap-sg")).toBeGreaterThanOrEqual(13);
    for (const region of REGIONS) {
      for (const name of [
        "replicated",
        "backfilled",
        "deferred",
        "without_replica",
        "redelivered_after_gap",
        "diverged",
      ]) {
        expect(m.get(`links_${name}_total|${region}`), `${name} ${region}`).toBeGreaterThanOrEqual(0);
      }
      expect(m.get(`pending_links|${region}`), region).toBeGreaterThanOrEqual(0);
    }
    expect(m.get("links_diverged_total|ap-sg")).toBe(0);
    expect(v).toMatchObject({
      tenantId: t.tenantId,
      ok: true,
      home: { region: "ap-sg", reachable: true, ok: true },
      replica: { region: "ap-au", reachable: true, ok: true, behindByLinks: 0, headMatchesHome: true },
    });
    expect(v.warning).toBeUndefined();
    const shown = await edgeCall(p, "GET", `/v1/ops/tenants/${t.tenantId}`, undefined, { token: p.opsToken });
    expect(shown.body.drReadiness.auditReplica).toEqual({ region: "ap-au" });
    // placement's grants + 12 creates + 1 transition, every link recomputed on both sides
    expect(v.home.checked).toBeGreaterThanOrEqual(13);
    expect(v.replica!.checked).toBe(v.home.checked);
    expect(v.replica!.head).toEqual(v.home.head);

    // The copy is in ap-au and nowhere else.
    expect((await auditRowsIn("ap-au", t.tenantId)).replica).toBe(v.home.checked);
    expect((await auditRowsIn("ap-sg", t.tenantId)).replica).toBe(0);
    expect((await auditRowsIn("ap-id", t.tenantId)).replica).toBe(0);

    // The replica is append-only in the database itself.
    const au = p.cells["ap-au"]!.deps.sql;
    await expect(
      au`UPDATE audit_replica_event SET action_type = 'x' WHERE tenant_id = ${t.tenantId}`,
    ).rejects.toThrow(/append-only/);
    await expect(au`DELETE FROM audit_replica_event WHERE tenant_id = ${t.tenantId}`).rejects.toThrow(
      /append-only/,
    );

    // Later links follow.
    await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token: t.tokens.reporter });
    const later = await until("the new link at the replica", async () => {
      const x = await verify(t.tenantId);
      return x.replica?.lastSeq === v.home.lastSeq + 1 && x.replica.behindByLinks === 0 ? x : null;
    });
    expect(later.ok).toBe(true);
  });

  it("finds a tampered home link and names it, while the replica still verifies", async () => {
    const t = await busyTenant("ap-sg", "APAC_SHARED");
    const before = await caughtUp(t.tenantId);
    const victim = await tamper("ap-sg", "global_audit_event", t.tenantId, 3);
    const v = await verify(t.tenantId);
    expect(v.ok).toBe(false);
    expect(v.home).toMatchObject({
      region: "ap-sg",
      ok: false,
      checked: 2,
      firstBrokenAt: { auditEventId: victim, chainSeq: 3, reason: expect.stringMatching(/payload/) },
    });
    expect(v.replica).toMatchObject({ region: "ap-au", ok: true, checked: before.home.checked });
    expect(v.replica!.firstBrokenAt).toBeUndefined();
  });

  it("finds a tampered replica link and names it, while home still verifies", async () => {
    const t = await busyTenant("ap-sg", "APAC_SHARED");
    await caughtUp(t.tenantId);
    const victim = await tamper("ap-au", "audit_replica_event", t.tenantId, 2);
    const v = await verify(t.tenantId);
    expect(v.ok).toBe(false);
    expect(v.home).toMatchObject({ ok: true });
    expect(v.replica).toMatchObject({
      region: "ap-au",
      ok: false,
      checked: 1,
      firstBrokenAt: { auditEventId: victim, chainSeq: 2, reason: expect.stringMatching(/payload/) },
    });

    // globalctl names the broken link and exits non-zero.
    const cli = await globalctl("audit", "verify", "--tenant", t.tenantId, "--json");
    expect(cli.code).toBe(1);
    expect(cli.out).toMatchObject({ code: "AUDIT_CHAIN_BROKEN", problem: { replica: { ok: false } } });
    expect(cli.out.detail).toMatch(/replica ap-au: link 2/);
  });

  it("an ID_STRICT tenant has no replica, a DR-readiness warning, and its audit rows stay in ap-id", async () => {
    const t = await busyTenant("ap-id", "ID_STRICT");
    // Wait until the relay published the chain, so it had every chance to travel.
    const home = p.cells["ap-id"]!.deps.sql;
    await until("the ap-id relay published the tenant's links", async () => {
      const [r] = await home<{ behind: boolean }[]>`
        SELECT h.last_seq > coalesce(p.last_chain_seq, 0) AS behind FROM audit_chain_head h
        LEFT JOIN audit_relay_progress p USING (tenant_id) WHERE h.tenant_id = ${t.tenantId}`;
      return r && !r.behind;
    });
    await until("the replicator acknowledged them", async () => {
      const pending = await ev.projector.auditReplicator!.pending();
      return pending["ap-id"] === 0;
    });
    const v = await verify(t.tenantId);
    expect(v).toMatchObject({ ok: true, home: { region: "ap-id", ok: true }, replica: null });
    expect(v.warning).toMatch(/ID_STRICT has no backup region other than ap-id/);
    // Counted as links without a replica, and nothing of ap-id's stream left pending.
    const m = await replicaMetrics();
    expect(m.get("links_without_replica_total|ap-id")).toBeGreaterThanOrEqual(v.home.checked);
    expect(m.get("pending_links|ap-id")).toBe(0);
    expect((await auditRowsIn("ap-id", t.tenantId)).home).toBe(v.home.checked);
    for (const region of ["ap-sg", "ap-au"]) {
      expect(await auditRowsIn(region, t.tenantId), region).toEqual({ home: 0, replica: 0 });
    }
    // Its links are in ap-id's audit stream only.
    const streams = await auditStreamHits(t.tenantId);
    expect(streams["ap-id"]).toBe(v.home.checked);
    expect(streams["ap-sg"]).toBe(0);
    expect(streams["ap-au"]).toBe(0);
    // The same warning is part of the tenant's DR readiness.
    const shown = await edgeCall(p, "GET", `/v1/ops/tenants/${t.tenantId}`, undefined, { token: p.opsToken });
    expect(shown.body.drReadiness.auditReplica).toEqual({ region: null, warning: v.warning });
    const cli = await globalctl("audit", "verify", "--tenant", t.tenantId, "--json");
    expect(cli.code).toBe(0);
    expect(cli.out).toMatchObject({ ok: true, replica: null, warning: expect.any(String) });
  });

  it("a replica region that is down gets its links in order when it returns; other tenants' copies go on", async () => {
    const shared = await busyTenant("ap-sg", "APAC_SHARED");
    await caughtUp(shared.tenantId);
    // A GLOBAL_STANDARD tenant homed in ap-sg keeps its replica in ap-id (the first backup region
    // other than home): its copy must not be held back by ap-au being away.
    const global = await placeTenant(p, "ap-sg", "GLOBAL_STANDARD", ["reporter"]);
    const write = async (t: { tenantId: string; tokens: Record<string, string> }) => {
      const r = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
        token: t.tokens.reporter,
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    };
    const deferredBefore = (await replicaMetrics()).get("links_deferred_total|ap-sg") ?? 0;
    await p.stopCell("ap-au");
    try {
      for (let i = 0; i < 3; i++) await write(shared);
      const away = await verify(shared.tenantId);
      expect(away.ok).toBe(false);
      expect(away.replica).toMatchObject({ region: "ap-au", reachable: false, ok: false });
      for (let i = 0; i < 3; i++) await write(global);
      const g = await caughtUp(global.tenantId);
      expect(g).toMatchObject({ ok: true, replica: { region: "ap-id", ok: true, headMatchesHome: true } });
      expect((await auditRowsIn("ap-id", global.tenantId)).replica).toBe(g.home.checked);
      // The shared tenant's links waited: sent back to the stream for later, and counted so.
      await until("links to the away replica counted as deferred", async () => {
        const n = (await replicaMetrics()).get("links_deferred_total|ap-sg") ?? 0;
        return n > deferredBefore;
      });
    } finally {
      await p.restartCell("ap-au");
    }
    const back = await caughtUp(shared.tenantId);
    expect(back).toMatchObject({ ok: true, replica: { region: "ap-au", ok: true, headMatchesHome: true } });
    expect(back.replica!.checked).toBe(back.home.checked);
    expect((await auditRowsIn("ap-au", global.tenantId)).replica).toBe(0);
  });

  it("links the stream no longer has are filled from the home's cell", async () => {
    const t = await busyTenant("ap-sg", "APAC_SHARED");
    const before = await caughtUp(t.tenantId);
    // The replicator is away while the stream loses what it held (retention, a purge).
    await ev.stopProjector();
    try {
      for (let i = 0; i < 2; i++) {
        const r = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
          token: t.tokens.reporter,
        });
        expect(r.status).toBe(201);
      }
      await until("the relay published them", async () => {
        const [r] = await p.cells["ap-sg"]!.deps.sql<{ n: number }[]>`
          SELECT last_chain_seq::int AS n FROM audit_relay_progress WHERE tenant_id = ${t.tenantId}`;
        return r && r.n >= before.home.lastSeq + 2;
      });
      const nc = await connectNats(ev.nats.url, "audit-replica-test");
      await (await jetstreamManager(nc)).streams.purge(auditStreamName(ev.root, "ap-sg"));
      await nc.close();
      const r = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
        token: t.tokens.reporter,
      });
      expect(r.status).toBe(201);
    } finally {
      await ev.startProjectorAgain();
    }
    const v = await caughtUp(t.tenantId);
    expect(v).toMatchObject({ ok: true, replica: { ok: true, headMatchesHome: true } });
    expect(v.replica!.lastSeq).toBeGreaterThanOrEqual(before.home.lastSeq + 3);
    expect(ev.projector.auditReplicator!.stats.linksBackfilled).toBeGreaterThanOrEqual(2);
    // This projector process started after the purge: its counters hold exactly this backfill.
    const m = await replicaMetrics();
    expect(m.get("links_backfilled_total|ap-sg")).toBeGreaterThanOrEqual(2);
    expect(m.get("links_replicated_total|ap-sg")).toBeGreaterThanOrEqual(
      m.get("links_backfilled_total|ap-sg")!,
    );
  });

  it("the verification is for operators only, and names what it cannot check", async () => {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter"]);
    const path = `/v1/ops/audit/verify?tenantId=${t.tenantId}`;
    expect((await edgeCall(p, "GET", path)).status).toBe(401);
    expect((await edgeCall(p, "GET", path, undefined, { token: t.tokens.reporter })).status).toBe(403);
    const noTenant = await edgeCall(p, "GET", "/v1/ops/audit/verify", undefined, { token: p.opsToken });
    expect(noTenant.status).toBe(400);
    expect(noTenant.body.code).toBe("VALIDATION_FAILED");
    const unknown = await edgeCall(
      p,
      "GET",
      "/v1/ops/audit/verify?tenantId=01900000-0000-7000-8000-000000000000",
      undefined,
      { token: p.opsToken },
    );
    expect(unknown.status).toBe(404);
  });

  it("the replica survives the home region being killed: verify still gives the replica's verdict", async () => {
    const t = await busyTenant("ap-sg", "APAC_SHARED");
    const before = await caughtUp(t.tenantId);
    await p.stopCell("ap-sg");
    try {
      const v = await verify(t.tenantId);
      expect(v.ok).toBe(false);
      expect(v.home).toMatchObject({ region: "ap-sg", reachable: false, ok: false });
      expect(v.replica).toMatchObject({
        region: "ap-au",
        reachable: true,
        ok: true,
        checked: before.home.checked,
        head: before.home.head,
        behindByLinks: null,
        headMatchesHome: null,
      });
      const cli = await globalctl("audit", "verify", "--tenant", t.tenantId, "--json");
      expect(cli.code).toBe(1);
      expect(cli.out).toMatchObject({ code: "AUDIT_HOME_UNREACHABLE", problem: { replica: { ok: true } } });
    } finally {
      await p.restartCell("ap-sg");
    }
  });
});

/** Per region: the messages of its audit stream that carry the tenant's id. */
async function auditStreamHits(tenantId: string): Promise<Record<string, number>> {
  const nc = await connectNats(ev.nats.url, "audit-replica-test");
  try {
    const jsm = await jetstreamManager(nc);
    const out: Record<string, number> = {};
    for (const region of REGIONS) {
      const name = auditStreamName(ev.root, region);
      const info = await jsm.streams.info(name);
      out[region] = 0;
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
        const m = await jsm.streams.getMessage(name, { seq }).catch(() => null);
        if (m && new TextDecoder().decode(m.data).includes(tenantId)) out[region]++;
      }
    }
    return out;
  } finally {
    await nc.close();
  }
}

async function globalctl(...args: string[]): Promise<{ code: number; out: any }> {
  const r = await runGlobalctl(
    {
      ...process.env,
      HOMEROUTE_EDGE_URL: p.edge.url,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      SIM_STATE_DIR: "/nonexistent-sim-state",
    },
    args,
  );
  return { code: r.code, out: JSON.parse(r.stdout) };
}
