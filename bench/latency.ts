// The latency report (issue 9): every operation class of the seed's consistency table (§7), from
// each of the five edge regions, through the simulation with its realistic latency profile (the
// round trip between the user's edge and the home region is injected at the home cell's proxy,
// DESIGN §2's matrix). p50/p95/p99 per (operation, user region), and the median of each part:
// network (the injected round trip), edge (the Worker's own time: routing, auth, forwarding),
// app (the cell outside its database) and db (the cell's SQL), from Server-Timing; replication
// (commit → the DR standby has it) and projection (commit → public status visible at that edge)
// are measured by polling. Checked against docs/slo.md. Run: pnpm bench:latency (not in tests).
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { signDevToken } from "@homeroute/service-kit";
import postgres from "postgres";
import { type SimProcess, startSimProcess } from "../test/support/sim.js";
import { percentile } from "./stats.js";

const SAMPLES = Number(process.env.LATENCY_SAMPLES ?? 20);
const EDGES = ["ap-id", "ap-sg", "eu", "us", "ap-au"];
const topology = JSON.parse(readFileSync(new URL("../infra/topology.json", import.meta.url), "utf8"));
const rtt = (a: string, b: string): number => {
  if (a === b) return topology.rttMs.intraRegion;
  const pair = topology.rttMs.pairs.find(
    ([x, y]: [string, string]) => (x === a && y === b) || (x === b && y === a),
  );
  return pair ? pair[2] : topology.rttMs.intraRegion;
};

// p95 objectives per operation class (docs/slo.md), for a user whose edge is in the home region
// and for the farthest user; what the seed's table allows each class.
const SLO_P95_MS: Record<string, { near: number; far: number }> = {
  "create case": { near: 150, far: 450 },
  "update case status": { near: 150, far: 450 },
  "assign task": { near: 150, far: 450 },
  "view case detail": { near: 100, far: 400 },
  "public status check": { near: 50, far: 50 },
  "reference lookup": { near: 50, far: 50 },
  "role change": { near: 150, far: 450 },
  "evidence upload": { near: 250, far: 600 },
};
// The global report (seed §7: warehouse, eventual, reproducible) is not per tenant: it goes to the
// catalog (eu), which reads the warehouse and reconciles against every cell. "near" is a user at
// the catalog's edge.
const REPORT = "global dashboard (report)";
const REPORT_REGION = "eu";
const REPORT_SLO_P95_MS = { near: 1500, far: 2000 };

interface Sample {
  total: number;
  edge: number;
  app: number;
  db: number;
  network: number;
}

function timing(h: Headers): { edge: number; app: number; db: number } {
  const out = { edge: 0, app: 0, db: 0 };
  for (const part of (h.get("server-timing") ?? "").split(",")) {
    const m = /\s*(\w+);dur=([\d.]+)/.exec(part);
    if (m && m[1]! in out) out[m[1] as keyof typeof out] = Number(m[2]);
  }
  return out;
}

let sim: SimProcess | undefined;
const rows: string[] = [];
const extra: string[] = [];
try {
  const started = await startSimProcess({ LOG_LEVEL: "silent" });
  sim = started;
  const { edgeUrl, simUrl } = started.topo;
  await fetch(`${simUrl}/sim/latency`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ profile: "realistic" }),
  });
  const homes = ["ap-sg", "us"].map((h) => started.topo.demo.tenants.find((t: any) => t.homeRegion === h)!);
  const user = (tenantId: string, role: string) =>
    started.topo.demo.users.find((u: any) => u.tenantId === tenantId && u.roles.includes(role))!
      .userId as string;
  const token = (tenantId: string, role: string) =>
    signDevToken(started.secret, { sub: user(tenantId, role), tid: tenantId });

  const call = async (
    edge: string,
    method: string,
    path: string,
    tokenValue: string | null,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const started = performance.now();
    const res = await fetch(`${edgeUrl}${path}`, {
      method,
      headers: {
        "x-sim-edge-region": edge,
        "idempotency-key": crypto.randomUUID(),
        ...(tokenValue ? { authorization: `Bearer ${tokenValue}` } : {}),
        ...(body !== undefined && typeof body !== "string" ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const total = performance.now() - started;
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers, total };
  };

  for (const tenant of homes) {
    const home = tenant.homeRegion as string;
    const t = tenant.tenantId as string;
    const [reporter, investigator, admin] = await Promise.all([
      token(t, "reporter"),
      token(t, "investigator"),
      token(t, "tenant_admin"),
    ]);
    const newCase = { category: "licensing", countryCode: "SG", summary: "latency report", channel: "web" };
    const results = new Map<string, Sample[]>();
    const record = (
      op: string,
      edge: string,
      r: { status: number; headers: Headers; total: number },
      ok: number,
    ) => {
      if (r.status !== ok && !(ok === 201 && r.status === 200))
        throw new Error(`${op} from ${edge}: ${r.status}`);
      const s = timing(r.headers);
      // Served at the edge from its own copy: no trip to the home region.
      const network = op === "public status check" || op === "reference lookup" ? 0 : rtt(edge, home);
      const key = `${op}|${edge}`;
      const list = results.get(key) ?? [];
      list.push({ total: r.total, edge: s.edge, app: Math.max(0, s.app - s.db), db: s.db, network });
      results.set(key, list);
    };
    const projection: Record<string, number[]> = {};
    await Promise.all(
      EDGES.map(async (edge) => {
        for (let i = 0; i < SAMPLES; i++) {
          const created = await call(edge, "POST", `/v1/tenants/${t}/cases`, reporter, newCase);
          record("create case", edge, created, 201);
          const c = created.body;
          // Projection: commit → the public status is served at this edge.
          const committedAt = performance.now();
          for (;;) {
            const s = await call(
              edge,
              "GET",
              `/v1/public/tenants/${t}/cases/${c.caseNumber}/status`,
              null,
              undefined,
              {
                "x-access-code": c.accessCode,
              },
            );
            if (s.status === 200) {
              projection[edge] = [...(projection[edge] ?? []), performance.now() - committedAt];
              record("public status check", edge, s, 200);
              break;
            }
            await new Promise((r) => setTimeout(r, 25));
          }
          const moved = await call(
            edge,
            "POST",
            `/v1/tenants/${t}/cases/${c.caseId}/transitions`,
            investigator,
            {
              to: "TRIAGE",
              expectedStatus: c.status,
              expectedVersion: c.version,
              reason: "latency report",
            },
          );
          record("update case status", edge, moved, 200);
          record(
            "assign task",
            edge,
            await call(edge, "POST", `/v1/tenants/${t}/cases/${c.caseId}/tasks`, investigator, {
              title: "check",
              assigneeId: user(t, "investigator"),
            }),
            201,
          );
          record(
            "view case detail",
            edge,
            await call(edge, "GET", `/v1/tenants/${t}/cases/${c.caseId}?consistency=strong`, investigator),
            200,
          );
          record("reference lookup", edge, await call(edge, "GET", "/v1/reference/countries", null), 200);
          record(
            "role change",
            edge,
            await call(edge, "POST", `/v1/tenants/${t}/grants`, admin, {
              userId: crypto.randomUUID(),
              role: "reviewer",
            }),
            201,
          );
          record(
            "evidence upload",
            edge,
            await call(
              edge,
              "POST",
              `/v1/tenants/${t}/cases/${c.caseId}/evidence`,
              investigator,
              "scanned letter",
              {
                "content-type": "application/pdf",
                "x-evidence-filename": "letter.pdf",
              },
            ),
            201,
          );
        }
      }),
    );
    // Replication: commit at home → the DR standby (first allowed region other than home) has it.
    const dr = "ap-id"; // a standby of both tenants measured (APAC_SHARED and GLOBAL_STANDARD allow it)
    const standby = postgres(started.dbUrl(`homeroute_sim_${dr.replace(/-/g, "_")}`), {
      max: 1,
      onnotice: () => {},
    });
    const replication: number[] = [];
    try {
      for (let i = 0; i < SAMPLES; i++) {
        const created = await call(home, "POST", `/v1/tenants/${t}/cases`, reporter, newCase);
        const committedAt = performance.now();
        for (;;) {
          const [r] =
            await standby`SELECT 1 AS ok FROM regulatory_case WHERE case_id = ${created.body.caseId}`;
          if (r) break;
          await new Promise((res) => setTimeout(res, 10));
        }
        replication.push(performance.now() - committedAt);
      }
    } finally {
      await standby.end();
    }
    const med = (xs: number[]) =>
      percentile(
        [...xs].sort((a, b) => a - b),
        50,
      );
    for (const op of Object.keys(SLO_P95_MS)) {
      for (const edge of EDGES) {
        const s = results.get(`${op}|${edge}`) ?? [];
        const totals = s.map((x) => x.total).sort((a, b) => a - b);
        const p95 = percentile(totals, 95);
        const slo = edge === home ? SLO_P95_MS[op]!.near : SLO_P95_MS[op]!.far;
        const edgeOwn = med(s.map((x) => Math.max(0, x.edge - x.app - x.db - x.network)));
        rows.push(
          `| ${op} | ${home} | ${edge} | ${s.length} | ${percentile(totals, 50).toFixed(1)} | ${p95.toFixed(1)} | ` +
            `${percentile(totals, 99).toFixed(1)} | ${med(s.map((x) => x.network)).toFixed(0)} | ${edgeOwn.toFixed(1)} | ` +
            `${med(s.map((x) => x.app)).toFixed(1)} | ${med(s.map((x) => x.db)).toFixed(1)} | ` +
            `${op === "public status check" ? med(projection[edge] ?? []).toFixed(0) : "—"} | ${slo} | ${p95 <= slo ? "met" : "**missed**"} |`,
        );
      }
    }
    const r = [...replication].sort((a, b) => a - b);
    extra.push(
      `replication ${home} → ${dr} (commit → standby row): p50 ${percentile(r, 50).toFixed(0)} ms, p95 ${percentile(r, 95).toFixed(0)} ms, p99 ${percentile(r, 99).toFixed(0)} ms (n=${r.length})`,
    );
  }
  // The global report: an operator's GET from each edge; its figures come from the warehouse.
  const ops = await signDevToken(started.secret, { sub: crypto.randomUUID(), ops: true });
  for (const edge of EDGES) {
    const totals: number[] = [];
    const edgeOwn: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const r = await call(edge, "GET", "/v1/reports/cases-by-status", ops);
      if (r.status !== 200) throw new Error(`${REPORT} from ${edge}: ${r.status}`);
      totals.push(r.total);
      edgeOwn.push(Math.max(0, timing(r.headers).edge - rtt(edge, REPORT_REGION)));
    }
    totals.sort((a, b) => a - b);
    edgeOwn.sort((a, b) => a - b);
    const p95 = percentile(totals, 95);
    const slo = edge === REPORT_REGION ? REPORT_SLO_P95_MS.near : REPORT_SLO_P95_MS.far;
    // The catalog's time (the warehouse query and the reconciliation against every cell) is in
    // "edge": the catalog reports no Server-Timing of its own.
    rows.push(
      `| ${REPORT} | ${REPORT_REGION} (catalog) | ${edge} | ${totals.length} | ${percentile(totals, 50).toFixed(1)} | ` +
        `${p95.toFixed(1)} | ${percentile(totals, 99).toFixed(1)} | ${rtt(edge, REPORT_REGION)} | ` +
        `${percentile(edgeOwn, 50).toFixed(1)} | — | — | — | ${slo} | ${p95 <= slo ? "met" : "**missed**"} |`,
    );
  }
} finally {
  await sim?.stop();
}

console.info(
  `\nMachine: ${cpus().length}× ${cpus()[0]?.model}; Node ${process.version}; ${SAMPLES} samples per row`,
);
console.info(
  "| operation | home | user's edge | n | p50 ms | p95 ms | p99 ms | network (injected RTT) | edge | app | db | projection (commit → visible here) | SLO p95 | |",
);
console.info("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) console.info(r);
for (const e of extra) console.info(`\n${e}`);
