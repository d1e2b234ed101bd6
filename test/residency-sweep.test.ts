import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { uuidv7 } from "@homeroute/ids";
import { signDevToken } from "@homeroute/service-kit";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Hit, scanDatabase, scanStreams } from "./support/residency-sweep.js";
import { type SimProcess, startSimProcess } from "./support/sim.js";
import { until } from "./support/until.js";

// The residency sweep (issue 8): a busy day in the one-command simulation — creates, transitions,
// evidence, a migration, a promotion — then every store the planet has is scanned for each
// tenant's personal data: each region's cell database (with its standby copies), the catalog's,
// the projector's and the warehouse's databases, every region's JetStream stream, the evidence
// object stores, the edge's persisted KV and every process's log. No ID_STRICT or EU_GDPR
// personal field may sit outside the tenant's allowed regions.

const REGIONS = ["ap-id", "ap-sg", "eu", "us", "ap-au"];
const ALLOWED: Record<string, string[]> = {
  ID_STRICT: ["ap-id"],
  EU_GDPR: ["eu"],
  APAC_SHARED: ["ap-id", "ap-sg", "ap-au"],
  GLOBAL_STANDARD: REGIONS,
};
/** A store serving every region (control plane, global read models, the edge) is region "*". */
const EVERYWHERE = "*";

let sim: SimProcess;
beforeAll(async () => {
  sim = await startSimProcess();
}, 120_000);
afterAll(async () => {
  await sim?.stop();
});

interface Located extends Hit {
  region: string;
}

function scanFiles(dir: string, markers: string[], regionOf: (path: string) => string | null): Located[] {
  const hits: Located[] = [];
  const walk = (d: string) => {
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      return;
    }
    for (const name of entries) {
      const path = join(d, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      else if (st.size < 50 * 1024 * 1024) {
        const region = regionOf(relative(sim.stateDir, path));
        if (region === null) continue;
        const text = readFileSync(path).toString("latin1");
        for (const marker of markers)
          if (text.includes(marker))
            hits.push({ store: relative(sim.stateDir, path), where: "file", marker, region });
      }
    }
  };
  walk(dir);
  return hits;
}

describe("the residency sweep after a busy day", () => {
  it("finds no strict tenant's personal data outside its allowed regions, in any store", async () => {
    const { edgeUrl } = sim.topo;
    const ops = await signDevToken(sim.secret, { sub: uuidv7(), ops: true });
    const call = async (
      method: string,
      path: string,
      token: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) => {
      const res = await fetch(`${edgeUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          "idempotency-key": uuidv7(),
          ...(typeof body === "object" ? { "content-type": "application/json" } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json().catch(() => null)) as any };
    };

    const markers: { policy: string; kind: string; value: string }[] = [];
    const tenants = sim.topo.demo.tenants as {
      tenantId: string;
      homeRegion: string;
      residencyPolicy: string;
    }[];
    for (const t of tenants) {
      const user = (role: string) =>
        sim.topo.demo.users.find((u: any) => u.tenantId === t.tenantId && u.roles.includes(role))
          .userId as string;
      const reporter = await signDevToken(sim.secret, { sub: user("reporter"), tid: t.tenantId });
      const investigator = await signDevToken(sim.secret, { sub: user("investigator"), tid: t.tenantId });
      const tag = `${t.residencyPolicy}-${uuidv7().slice(-12)}`;
      const summary = `SUMMARY-${tag}`;
      const filename = `FILENAME-${tag}.pdf`;
      const bytes = `EVIDENCE-BYTES-${tag}`;
      markers.push(
        { policy: t.residencyPolicy, kind: "summary", value: summary },
        { policy: t.residencyPolicy, kind: "filename", value: filename },
        { policy: t.residencyPolicy, kind: "evidence bytes", value: bytes },
      );
      for (let i = 0; i < 3; i++) {
        const c = await call("POST", `/v1/tenants/${t.tenantId}/cases`, reporter, {
          category: "licensing",
          countryCode: "SG",
          summary,
          channel: "web",
        });
        expect(c.status, JSON.stringify(c.body)).toBe(201);
        if (i > 0) continue;
        const moved = await call(
          "POST",
          `/v1/tenants/${t.tenantId}/cases/${c.body.caseId}/transitions`,
          investigator,
          {
            to: "TRIAGE",
            expectedStatus: c.body.status,
            expectedVersion: c.body.version,
            reason: "triage",
          },
        );
        expect(moved.status, JSON.stringify(moved.body)).toBe(200);
        const ev = await call(
          "POST",
          `/v1/tenants/${t.tenantId}/cases/${c.body.caseId}/evidence`,
          investigator,
          bytes,
          {
            "content-type": "application/pdf",
            "x-evidence-filename": filename,
          },
        );
        expect(ev.status, JSON.stringify(ev.body)).toBe(201);
      }
    }
    // A migration of the shared tenant inside its policy, and a promotion of the global one.
    const apac = tenants.find((t) => t.residencyPolicy === "APAC_SHARED")!;
    const m = await call("POST", `/v1/ops/tenants/${apac.tenantId}/migrations`, ops, {
      targetRegion: apac.homeRegion === "ap-au" ? "ap-sg" : "ap-au",
      reason: "residency sweep",
    });
    expect(m.status, JSON.stringify(m.body)).toBe(202);
    await until(
      "migration finished",
      async () => {
        const r = await call("GET", `/v1/ops/migrations/${m.body.migrationId}`, ops);
        return ["COMPLETED", "ROLLED_BACK"].includes(r.body.status) ? r.body : null;
      },
      60_000,
    );
    const global = tenants.find((t) => t.residencyPolicy === "GLOBAL_STANDARD")!;
    const promo = await call("POST", `/v1/ops/tenants/${global.tenantId}/promotions`, ops, {
      targetRegion: global.homeRegion === "eu" ? "us" : "eu",
      reason: "residency sweep",
      approvedBy: "duty officer",
    });
    expect(promo.status, JSON.stringify(promo.body)).toBe(200);
    // Let the pipeline carry everything where it goes (standbys, projections, the warehouse).
    await new Promise((r) => setTimeout(r, 5000));

    // The sweep.
    const values = markers.map((x) => x.value);
    const hits: Located[] = [];
    const db = async (name: string, store: string, region: string) => {
      const sql = postgres(sim.dbUrl(name), { max: 1, onnotice: () => {} });
      try {
        for (const h of await scanDatabase(store, sql, values)) hits.push({ ...h, region });
      } finally {
        await sql.end();
      }
    };
    for (const r of REGIONS) await db(`homeroute_sim_${r.replace(/-/g, "_")}`, `cell ${r}`, r);
    await db("homeroute_sim_catalog", "catalog", EVERYWHERE);
    await db("homeroute_sim_projector", "projector", EVERYWHERE);
    await db("homeroute_sim_warehouse", "warehouse", "us");
    for (const h of await scanStreams(sim.topo.natsUrl, "gr", REGIONS, values)) {
      const region = REGIONS.find((r) => h.store.endsWith(`_${r.toUpperCase().replace(/\W/g, "_")}`))!;
      hits.push({ ...h, region });
    }
    const regionOfFile = (path: string): string | null => {
      if (path.startsWith("pg/") || path.startsWith("nats")) return null; // the databases and streams, scanned above
      const region = REGIONS.find(
        (r) => path.includes(`objects/${r}/`) || path.match(new RegExp(`(cell|relay)-${r}\\.log$`)),
      );
      return region ?? EVERYWHERE;
    };
    hits.push(...scanFiles(sim.stateDir, values, regionOfFile));

    // Each tenant's personal data sits only where its policy allows; a store serving every region
    // may hold it only for a tenant allowed everywhere.
    const leaks = hits.filter((h) => {
      const policy = markers.find((x) => x.value === h.marker)!.policy;
      const allowed = ALLOWED[policy]!;
      return h.region === EVERYWHERE ? allowed.length < REGIONS.length : !allowed.includes(h.region);
    });
    expect(leaks).toEqual([]);
    // Not vacuous: every marker was found in its home region's stores.
    for (const x of markers) {
      const home = tenants.find((t) => t.residencyPolicy === x.policy)!.homeRegion;
      const where = hits.filter((h) => h.marker === x.value).map((h) => h.region);
      expect(where.length, `${x.kind} of ${x.policy}`).toBeGreaterThan(0);
      expect(where.some((r) => ALLOWED[x.policy]!.includes(r) || r === home)).toBe(true);
    }
    console.info(
      `residency sweep: ${hits.length} placements of ${markers.length} markers across ${new Set(hits.map((h) => h.store)).size} stores, 0 outside policy`,
    );
  }, 240_000);
});
