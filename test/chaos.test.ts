import { uuidv7 } from "@homeroute/ids";
import { makeToken } from "@homeroute/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, type SimProcess, startSimProcess } from "./support/sim.js";

// Chaos with real processes: the home cell is frozen with SIGSTOP in the middle of a command, the
// tenant is promoted away, and the frozen writer is thawed. Every operation is recorded
// (invoke → ok / fail / unknown, with region and epoch) and the invariants are checked from what
// the databases hold, not from what the code intends.

let sim: SimProcess;
const TTL = 3;

beforeAll(async () => {
  sim = await startSimProcess({ SIM_LEASE_TTL_SECONDS: String(TTL) });
}, 120_000);
afterAll(() => sim?.stop());

interface Op {
  op: string;
  outcome: "ok" | "fail" | "unknown";
  status: number;
  code?: string;
  region?: string | null;
  epoch?: string | null;
}

describe("chaos: a frozen home, a promotion, a thaw", () => {
  it("the stale writer commits nothing under the old epoch; one writer per epoch; nothing acknowledged is lost", async () => {
    const t = sim.topo.demo.tenants.find((x: any) => x.homeRegion === "ap-sg");
    const user = sim.topo.demo.users.find(
      (u: any) => u.tenantId === t.tenantId && u.roles.includes("investigator"),
    );
    const token = await makeToken({ sub: user.userId, tid: t.tenantId, secret: sim.secret });
    const ops = await makeToken({ sub: uuidv7(), ops: true, secret: sim.secret });
    const edge = sim.topo.edgeUrl as string;
    const history: Op[] = [];
    const record = (op: string, r: { status: number; body: any; headers: Headers }) => {
      const outcome = r.status < 300 ? "ok" : r.body?.code === "REGION_UNAVAILABLE" ? "unknown" : "fail";
      history.push({
        op,
        outcome,
        status: r.status,
        code: r.body?.code,
        region: r.headers.get("x-served-by-region"),
        epoch: r.headers.get("x-region-epoch"),
      });
      return r;
    };
    const sg = postgres(sim.dbUrl("homeroute_sim_ap_sg"), { max: 2, onnotice: () => {} });
    const id = postgres(sim.dbUrl("homeroute_sim_ap_id"), { max: 2, onnotice: () => {} });
    try {
      const c = record(
        "create",
        await post(
          `${edge}/v1/tenants/${t.tenantId}/cases`,
          {
            category: "market_abuse",
            countryCode: "SG",
            summary: "chaos",
            channel: "web",
          },
          token,
        ),
      );
      expect(c.status).toBe(201);
      // The DR standby in ap-id has the case before the incident.
      let standby = 0;
      for (let i = 0; i < 150 && standby === 0; i++) {
        const [r] = await id`SELECT count(*)::int AS n FROM regulatory_case WHERE case_id = ${c.body.caseId}`;
        standby = r!.n;
        if (standby === 0) await new Promise((res) => setTimeout(res, 100));
      }
      expect(standby).toBe(1);
      // Freeze the home and send a command into it.
      const pause = await post(`${sim.topo.simUrl}/sim/faults`, { target: "cell:ap-sg", kind: "pause" });
      expect(pause.status).toBe(201);
      const inFlight = post(
        `${edge}/v1/tenants/${t.tenantId}/cases/${c.body.caseId}/transitions`,
        {
          to: "TRIAGE",
          expectedVersion: 1,
          reason: "sent into a frozen home",
        },
        token,
      );
      // Promote: no acknowledgement is possible, so the catalog waits out the frozen home's lease.
      const promo = await post(
        `${edge}/v1/ops/tenants/${t.tenantId}/promotions`,
        {
          targetRegion: "ap-id",
          reason: "chaos drill",
          approvedBy: "test",
        },
        ops,
      );
      expect(promo.status, JSON.stringify(promo.body)).toBe(200);
      expect(promo.body.fencedBy).toBe("lease_expiry");
      record("transition (into the frozen home)", await inFlight);
      // Thaw the stale writer and give it time to process what it was holding.
      await fetch(`${sim.topo.simUrl}/sim/faults/${pause.body.faultId}`, { method: "DELETE" });
      await new Promise((r) => setTimeout(r, 1500));
      // The new home takes the write, at the new epoch.
      const after = record(
        "transition (new home)",
        await post(
          `${edge}/v1/tenants/${t.tenantId}/cases/${c.body.caseId}/transitions`,
          {
            to: "TRIAGE",
            expectedVersion: 1,
            reason: "decided at the new home",
          },
          token,
        ),
      );
      expect(after.status, JSON.stringify(after.body)).toBe(200);
      expect(after.headers.get("x-served-by-region")).toBe("ap-id");

      // Invariant 1: the thawed writer committed nothing for the case after version 1.
      const stale = await sg`
        SELECT aggregate_version, region_epoch FROM global_audit_event
        WHERE aggregate_id = ${c.body.caseId} AND command_id IS NOT NULL AND NOT (metadata ? 'replicatedFrom')`;
      expect(stale.map((r) => Number(r.aggregate_version))).toEqual([1]);
      // Invariant 2: at most one region commits under any epoch (from both cells' audit chains).
      const writes = [
        ...(await sg`SELECT home_region, region_epoch FROM global_audit_event
          WHERE tenant_id = ${t.tenantId} AND command_id IS NOT NULL AND NOT (metadata ? 'replicatedFrom')`),
        ...(await id`SELECT home_region, region_epoch FROM global_audit_event
          WHERE tenant_id = ${t.tenantId} AND command_id IS NOT NULL AND NOT (metadata ? 'replicatedFrom')`),
      ];
      const byEpoch = new Map<string, Set<string>>();
      for (const w of writes)
        byEpoch.set(
          String(w.region_epoch),
          (byEpoch.get(String(w.region_epoch)) ?? new Set()).add(w.home_region),
        );
      for (const [epoch, regions] of byEpoch)
        expect({ epoch, regions: regions.size }).toEqual({ epoch, regions: 1 });
      // Invariant 3: every acknowledged write is at the new home.
      const [atNewHome] =
        await id`SELECT version, status FROM regulatory_case WHERE case_id = ${c.body.caseId}`;
      expect(atNewHome).toMatchObject({ status: "TRIAGE", version: "2" });
      // The history says what happened, in order.
      expect(history.map((h) => [h.op, h.outcome])).toEqual([
        ["create", "ok"],
        ["transition (into the frozen home)", "unknown"],
        ["transition (new home)", "ok"],
      ]);
    } finally {
      await sg.end();
      await id.end();
    }
  }, 90_000);
});

describe("globalctl drill", () => {
  it("kills the home, promotes, measures RTO and RPO, fails back, and records DR readiness", async () => {
    const t = sim.topo.demo.tenants.find((x: any) => x.homeRegion === "ap-au");
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const { repoRoot } = await import("./support/sim.js");
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "apps/ops/src/globalctl.ts", "drill", t.tenantId, "--json"],
      { cwd: repoRoot, env: sim.env, timeout: 80_000 },
    ).catch((e: { stdout: string; stderr: string }) => {
      throw new Error(`drill failed: ${e.stdout} ${e.stderr}`);
    });
    const drill = JSON.parse(stdout);
    expect(drill).toMatchObject({
      tenantId: t.tenantId,
      fromRegion: "ap-au",
      toRegion: "ap-id",
      fencedBy: "override",
      failedBack: "yes",
    });
    expect(drill.rtoMs).toBeGreaterThan(0);
    const ops = await makeToken({ sub: uuidv7(), ops: true, secret: sim.secret });
    const shown = await (
      await fetch(`${sim.topo.edgeUrl}/v1/ops/tenants/${t.tenantId}`, {
        headers: { authorization: `Bearer ${ops}` },
      })
    ).json();
    expect((shown as any).drReadiness).toMatchObject({ rtoMs: drill.rtoMs, drilledTo: "ap-id" });
    expect((shown as any).homeRegion).toBe("ap-au");
  }, 90_000);
});
