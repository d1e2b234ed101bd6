import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { verifyAuditChain } from "@homeroute/db/cell";
import { uuidv7 } from "@homeroute/ids";
import { makeToken, TEST_JWT_SECRET } from "@homeroute/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runGlobalctl } from "./support/globalctl.js";
import { edgeCall, INTERNAL_TOKEN, type Planet, placeTenant, startPlanet } from "./support/planet.js";

// Exports (POST /v1/ops/exports, globalctl export) and support access, through the real edge
// Worker, catalog and cells: every seeded policy × kind × region is allowed or refused exactly as
// the tables below say (the same matrix as docs/residency.md), refusals audited and counted.

const REGIONS = ["ap-id", "ap-sg", "eu", "us", "ap-au"] as const;
const KINDS = ["analytics", "support", "backup"] as const;
type Kind = (typeof KINDS)[number];

// Per policy, per kind, one cell per region in REGIONS order. `ok`: 201 with every row; `anon`:
// 201 with counts only; refusals 451 with the audited reason: A! analytics_not_allowed,
// X! cross_border_export_not_allowed, B! not_a_backup_region.
const EXPORTS: Record<string, { home: string } & Record<Kind, string>> = {
  ID_STRICT: {
    home: "ap-id",
    analytics: "A!   A!   A!   A!   A!",
    support: "  ok   X!   X!   X!   X!",
    backup: "   ok   B!   B!   B!   B!",
  },
  EU_GDPR: {
    home: "eu",
    analytics: "anon anon anon anon anon",
    support: "  X!   X!   ok   X!   X!",
    backup: "   B!   B!   ok   B!   B!",
  },
  APAC_SHARED: {
    home: "ap-id",
    analytics: "ok   ok   anon anon ok",
    support: "  ok   ok   X!   X!   ok",
    backup: "   B!   ok   B!   B!   ok",
  },
  GLOBAL_STANDARD: {
    home: "eu",
    analytics: "ok   ok   ok   ok   ok",
    support: "  ok   ok   ok   ok   ok",
    backup: "   ok   ok   ok   ok   ok",
  },
};

// Support access (sink `support_access`): a support user sitting in each region reads the
// tenant's cases. `ok` 200, `R!` 451 region_not_allowed.
const SUPPORT_ACCESS: Record<string, string> = {
  ID_STRICT: "ok R! R! R! R!",
  EU_GDPR: "R! R! ok R! R!",
  APAC_SHARED: "ok ok R! R! ok",
  GLOBAL_STANDARD: "ok ok ok ok ok",
};

const REFUSALS: Record<string, string> = {
  "A!": "analytics_not_allowed",
  "X!": "cross_border_export_not_allowed",
  "B!": "not_a_backup_region",
  "R!": "region_not_allowed",
};

const cells = (row: string) => row.trim().split(/\s+/);

interface Tenant {
  policy: string;
  home: string;
  tenantId: string;
  tokens: Record<string, string>;
  users: Record<string, string>;
  summaries: string[];
  caseIds: string[];
  caseNumbers: string[];
}

let p: Planet;
let exportDir: string;
const tenants: Record<string, Tenant> = {};

beforeAll(async () => {
  p = await startPlanet("exports", ["ap-id", "eu"]);
  exportDir = await mkdtemp(join(tmpdir(), "hr-exports-"));
  // The export store is read per export, so a test may point the cells at its own directory.
  for (const cell of Object.values(p.cells)) cell.deps.env.EXPORT_STORE_DIR = exportDir;
  for (const [policy, e] of Object.entries(EXPORTS)) {
    const t = await placeTenant(p, e.home, policy, ["reporter", "investigator", "support"]);
    const tenant: Tenant = {
      policy,
      home: e.home,
      tenantId: t.tenantId,
      tokens: t.tokens,
      users: t.users,
      summaries: [],
      caseIds: [],
      caseNumbers: [],
    };
    for (let i = 0; i < 2; i++) {
      const summary = `Personal complaint ${i} of ${policy} ${uuidv7()}`;
      const r = await edgeCall(
        p,
        "POST",
        `/v1/tenants/${t.tenantId}/cases`,
        { category: i === 0 ? "fraud" : "licensing", countryCode: "ID", summary, channel: "web" },
        { token: t.tokens.reporter },
      );
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      tenant.summaries.push(summary);
      tenant.caseIds.push(r.body.caseId);
      tenant.caseNumbers.push(r.body.caseNumber);
    }
    tenants[policy] = tenant;
  }
}, 120_000);

afterAll(async () => {
  await p?.close();
  if (exportDir) await rm(exportDir, { recursive: true, force: true });
});

const exportCall = (body: unknown, o: { token?: string; key?: string } = {}) =>
  edgeCall(p, "POST", "/v1/ops/exports", body, { token: o.token ?? p.opsToken, key: o.key });

const auditRows = (tenantId: string, outcome: string) =>
  p.catalog.deps.sql<{ target_region: string; metadata: Record<string, unknown> }[]>`
    SELECT target_region, metadata FROM catalog_audit_event
    WHERE tenant_id = ${tenantId} AND action_type = 'tenant.export' AND outcome = ${outcome}
    ORDER BY occurred_at, audit_event_id`;

const filesUnder = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".json"))
    : [];

describe("POST /v1/ops/exports: the policy table", () => {
  for (const [policy, expected] of Object.entries(EXPORTS)) {
    for (const kind of KINDS) {
      it(`${policy} ${kind}: ${cells(expected[kind]).join(" ")}`, async () => {
        const t = tenants[policy]!;
        const outcomes = cells(expected[kind]);
        for (const [i, targetRegion] of REGIONS.entries()) {
          const want = outcomes[i]!;
          const what = `${policy} ${kind} → ${targetRegion}`;
          const store = join(exportDir, targetRegion, t.tenantId);
          const filesBefore = filesUnder(store).length;
          const countedBefore =
            p.catalog.deps.metrics.residencyViolationAttempts.get(`${policy}|${targetRegion}`) ?? 0;
          const refusedBefore = (await auditRows(t.tenantId, "REFUSED")).length;
          const r = await exportCall({ tenantId: t.tenantId, kind, targetRegion });

          if (want === "ok" || want === "anon") {
            expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBe(201);
            const mode = want === "ok" ? "full" : "anonymised_aggregates";
            expect(r.body).toMatchObject({
              tenantId: t.tenantId,
              kind,
              targetRegion,
              sourceRegion: t.home,
              mode,
            });
            // The file is in the target region's store, under the tenant.
            expect(resolve(r.body.location)).toBe(join(store, `${r.body.exportId}.json`));
            const text = readFileSync(r.body.location, "utf8");
            const file = JSON.parse(text);
            expect(file).toMatchObject({ exportId: r.body.exportId, tenantId: t.tenantId, kind, mode });
            if (mode === "full") {
              expect(file.cases.map((c: { summary: string }) => c.summary).sort()).toEqual(
                [...t.summaries].sort(),
              );
              expect(r.body.rowCount).toBe(2);
            } else {
              // Counts by status and category, and nothing that names or describes a case.
              expect(file.cases).toBeUndefined();
              expect(file.counts).toEqual([
                { status: "INTAKE", category: "fraud", cases: 1 },
                { status: "INTAKE", category: "licensing", cases: 1 },
              ]);
              for (const personal of [...t.summaries, ...t.caseIds, ...t.caseNumbers, "summary"]) {
                expect(text, what).not.toContain(personal);
              }
            }
            const [row] = await p.catalog.deps.sql`
              SELECT tenant_id, kind, target_region, source_region, mode, location, row_count, actor_id
              FROM tenant_export WHERE export_id = ${r.body.exportId}`;
            expect(row).toMatchObject({
              tenant_id: t.tenantId,
              kind,
              target_region: targetRegion,
              source_region: t.home,
              mode,
              location: r.body.location,
              row_count: r.body.rowCount,
            });
            const accepted = await auditRows(t.tenantId, "ACCEPTED");
            expect(accepted.some((a) => a.metadata.exportId === r.body.exportId)).toBe(true);
          } else {
            expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBe(451);
            expect(r.headers.get("content-type")).toContain("application/problem+json");
            expect(r.body).toMatchObject({ code: "RESIDENCY_VIOLATION", policy, targetRegion });
            // Nothing written, the attempt counted and audited with the residency module's reason.
            expect(filesUnder(store).length, what).toBe(filesBefore);
            expect(p.catalog.deps.metrics.residencyViolationAttempts.get(`${policy}|${targetRegion}`)).toBe(
              countedBefore + 1,
            );
            const refused = await auditRows(t.tenantId, "REFUSED");
            expect(refused.length).toBe(refusedBefore + 1);
            expect(refused.at(-1)).toMatchObject({
              target_region: targetRegion,
              metadata: {
                reason: "RESIDENCY_VIOLATION",
                sink: "export",
                refusal: REFUSALS[want],
                policy,
                kind,
              },
            });
          }
        }
      });
    }
  }

  it("exports nothing of a strict tenant outside its region: every file of ID_STRICT and EU_GDPR is in an allowed region", () => {
    for (const policy of ["ID_STRICT", "EU_GDPR"]) {
      const t = tenants[policy]!;
      for (const region of REGIONS) {
        const files = filesUnder(join(exportDir, region, t.tenantId));
        if (region === t.home) continue;
        // EU_GDPR analytics may leave as counts only; anything else stays home.
        for (const f of files) {
          const text = readFileSync(join(exportDir, region, t.tenantId, f), "utf8");
          expect(JSON.parse(text).mode, `${policy} in ${region}`).toBe("anonymised_aggregates");
          for (const s of t.summaries) expect(text).not.toContain(s);
        }
      }
    }
  });

  it("the counter is served at the catalog's /metrics by policy and target region", async () => {
    const text = await (await fetch(`${p.catalog.url}/metrics`)).text();
    expect(text).toMatch(
      /homeroute_residency_violation_attempts_total\{[^}]*policy="ID_STRICT"[^}]*target_region="us"[^}]*\} [1-9]/,
    );
  });
});

describe("POST /v1/ops/exports: contract", () => {
  it("a replayed Idempotency-Key answers the same export, and writes no second file", async () => {
    const t = tenants.GLOBAL_STANDARD!;
    const key = uuidv7();
    const body = { tenantId: t.tenantId, kind: "support", targetRegion: "us" };
    const first = await exportCall(body, { key });
    expect(first.status).toBe(201);
    const before = filesUnder(join(exportDir, "us", t.tenantId)).length;
    const again = await exportCall(body, { key });
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.exportId).toBe(first.body.exportId);
    expect(filesUnder(join(exportDir, "us", t.tenantId)).length).toBe(before);
    const reused = await exportCall({ ...body, kind: "backup" }, { key });
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
  });

  it("validates the body, needs an operator, and never reveals an unknown tenant", async () => {
    const t = tenants.APAC_SHARED!;
    const bad = await exportCall({ tenantId: t.tenantId, kind: "everything", targetRegion: "ap-sg" });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe("VALIDATION_FAILED");
    const region = await exportCall({ tenantId: t.tenantId, kind: "support", targetRegion: "mars" });
    expect(region.status).toBe(400);
    const unknown = await exportCall({ tenantId: uuidv7(), kind: "support", targetRegion: "ap-sg" });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe("NOT_FOUND");
    const staff = await exportCall(
      { tenantId: t.tenantId, kind: "support", targetRegion: "ap-sg" },
      { token: t.tokens.investigator },
    );
    expect(staff.status).toBe(403);
    const none = await edgeCall(p, "POST", "/v1/ops/exports", {
      tenantId: t.tenantId,
      kind: "support",
      targetRegion: "ap-sg",
    });
    expect(none.status).toBe(401);
  });

  it("the home being down is 503 REGION_UNAVAILABLE, and nothing is recorded", async () => {
    const t = tenants.ID_STRICT!;
    await p.stopCell("ap-id");
    try {
      const r = await exportCall({ tenantId: t.tenantId, kind: "support", targetRegion: "ap-id" });
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({ code: "REGION_UNAVAILABLE", region: "ap-id" });
    } finally {
      await p.restartCell("ap-id");
      p.cells["ap-id"]!.deps.env.EXPORT_STORE_DIR = exportDir;
    }
  });

  it("globalctl export prints where the export went, or exits 1 with RESIDENCY_VIOLATION", async () => {
    const t = tenants.APAC_SHARED!;
    const globalctl = async (...args: string[]) => {
      const r = await runGlobalctl(
        {
          ...process.env,
          HOMEROUTE_EDGE_URL: p.edge.url,
          AUTH_JWT_SECRET: TEST_JWT_SECRET,
          SIM_STATE_DIR: exportDir,
        },
        args,
      );
      return { code: r.code, out: JSON.parse(r.stdout) };
    };

    // The form every version of the verb takes (`export T --kind K --to R`); it also takes
    // `--tenant T --target-region R`.
    const ok = await globalctl("export", t.tenantId, "--kind", "backup", "--to", "ap-au", "--json");
    expect(ok.code).toBe(0);
    expect(ok.out).toMatchObject({
      tenantId: t.tenantId,
      kind: "backup",
      targetRegion: "ap-au",
      mode: "full",
    });
    expect(existsSync(ok.out.location)).toBe(true);
    const refused = await globalctl("export", t.tenantId, "--kind", "backup", "--to", "us", "--json");
    expect(refused.code).toBe(1);
    expect(refused.out).toMatchObject({
      code: "RESIDENCY_VIOLATION",
      problem: { status: 451, policy: "APAC_SHARED", targetRegion: "us" },
    });
  });
});

describe("support access", () => {
  const supportToken = (t: Tenant, supportRegion?: string) =>
    makeToken({ sub: t.users.support!, tid: t.tenantId, ...(supportRegion ? { supportRegion } : {}) });
  const violations = async (home: string, policy: string, targetRegion: string) => {
    const m = await p.cells[home]!.deps.metrics.residencyViolations.get();
    return (
      m.values.find((v) => v.labels.policy === policy && v.labels.target_region === targetRegion)?.value ?? 0
    );
  };
  const supportAudits = (t: Tenant, actionType: string) =>
    p.cells[t.home]!.deps.sql<{ actor_id: string; metadata: Record<string, any> }[]>`
      SELECT actor_id, metadata FROM global_audit_event
      WHERE tenant_id = ${t.tenantId} AND action_type = ${actionType} ORDER BY chain_seq`;
  const refusedAudits = (t: Tenant) => supportAudits(t, "support.access_refused");
  const allowedAudits = (t: Tenant) => supportAudits(t, "support.access_allowed");

  for (const [policy, row] of Object.entries(SUPPORT_ACCESS)) {
    it(`${policy}: a support user in ${REGIONS.join(", ")} → ${row}`, async () => {
      const t = tenants[policy]!;
      for (const [i, region] of REGIONS.entries()) {
        const want = cells(row)[i]!;
        const token = await supportToken(t, region);
        const before = await violations(t.home, policy, region);
        const auditsBefore = (await refusedAudits(t)).length;
        const allowedBefore = (await allowedAudits(t)).length;
        // Through the edge nearest the support user, a list and a single case (eventual: the edge
        // must still send a support session home, where the policy is checked).
        const list = await edgeCall(p, "GET", `/v1/tenants/${t.tenantId}/cases`, undefined, {
          token,
          edgeRegion: region,
        });
        const one = await edgeCall(
          p,
          "GET",
          `/v1/tenants/${t.tenantId}/cases/${t.caseIds[0]}?consistency=eventual`,
          undefined,
          { token, edgeRegion: region },
        );
        if (want === "ok") {
          expect(list.status, `${policy} from ${region}: ${JSON.stringify(list.body)}`).toBe(200);
          expect(list.body.items).toHaveLength(2);
          expect(one.status).toBe(200);
          expect(one.body.source).toBe("home");
          expect(await violations(t.home, policy, region)).toBe(before);
          expect((await refusedAudits(t)).length).toBe(auditsBefore);
          // Every allowed support read is recorded at home too: the list, then the case.
          const allowed = await allowedAudits(t);
          expect(allowed.slice(allowedBefore)).toMatchObject([
            {
              actor_id: t.users.support,
              metadata: {
                outcome: "ALLOWED",
                sink: "support_access",
                policy,
                targetRegion: region,
                payload: { permission: "case.read", resource: "case_list", supportRegion: region },
              },
            },
            {
              actor_id: t.users.support,
              metadata: {
                outcome: "ALLOWED",
                payload: {
                  permission: "case.read",
                  resource: "case",
                  caseId: t.caseIds[0],
                  supportRegion: region,
                },
              },
            },
          ]);
        } else {
          for (const r of [list, one]) {
            expect(r.status, `${policy} from ${region}: ${JSON.stringify(r.body)}`).toBe(451);
            expect(r.body).toMatchObject({ code: "RESIDENCY_VIOLATION", policy, targetRegion: region });
            expect(JSON.stringify(r.body)).not.toContain(t.summaries[0]);
          }
          expect(await violations(t.home, policy, region)).toBe(before + 2);
          const audits = await refusedAudits(t);
          expect(audits.length).toBe(auditsBefore + 2);
          expect((await allowedAudits(t)).length).toBe(allowedBefore);
          expect(audits.at(-1)).toMatchObject({
            actor_id: t.users.support,
            metadata: {
              outcome: "REFUSED",
              reason: "RESIDENCY_VIOLATION",
              sink: "support_access",
              refusal: REFUSALS[want],
              policy,
              targetRegion: region,
              payload: { permission: "case.read", caseId: t.caseIds[0], supportRegion: region },
            },
          });
        }
      }
    });
  }

  it("a refused support read shows in the case's audit trail, and the tenant's chain still verifies", async () => {
    const t = tenants.ID_STRICT!;
    const auditor = await edgeCall(
      p,
      "GET",
      `/v1/tenants/${t.tenantId}/cases/${t.caseIds[0]}/audit`,
      undefined,
      {
        token: await supportToken(t, "ap-id"),
      },
    );
    expect(auditor.status).toBe(200);
    expect(auditor.body.items.map((i: { actionType: string }) => i.actionType)).toContain(
      "support.access_refused",
    );
    const chain = await verifyAuditChain(p.cells["ap-id"]!.deps.sql, t.tenantId);
    expect(chain.ok).toBe(true);
  });

  it("the support role without a supportRegion claim reads nothing; a support session writes nothing", async () => {
    const t = tenants.GLOBAL_STANDARD!;
    const bare = await edgeCall(p, "GET", `/v1/tenants/${t.tenantId}/cases`, undefined, {
      token: await supportToken(t),
    });
    expect(bare.status).toBe(403);
    expect(bare.body.code).toBe("FORBIDDEN");
    const write = await edgeCall(
      p,
      "POST",
      `/v1/tenants/${t.tenantId}/cases`,
      { category: "fraud", countryCode: "ID", summary: "from support", channel: "web" },
      { token: await supportToken(t, "eu") },
    );
    expect(write.status).toBe(403);
    // A tenant's own staff are not support: no claim, no residency check on their reads.
    const staff = await edgeCall(p, "GET", `/v1/tenants/${t.tenantId}/cases`, undefined, {
      token: t.tokens.investigator,
      edgeRegion: "us",
    });
    expect(staff.status).toBe(200);
  });

  it("the edge never serves a support session from its copy of the case, even where it holds one", async () => {
    // GLOBAL_STANDARD may have case views at every edge: put one there, as the projector would.
    const t = tenants.GLOBAL_STANDARD!;
    const now = new Date().toISOString();
    const pushed = await fetch(`${p.edge.url}/internal/v1/projections`, {
      method: "PUT",
      headers: { authorization: `Bearer ${INTERNAL_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        cases: [
          {
            tenantId: t.tenantId,
            caseId: t.caseIds[0],
            caseNumber: t.caseNumbers[0],
            publicStatus: "RECEIVED",
            accessCodeHash: null,
            homeRegion: t.home,
            version: 1,
            updatedAt: now,
            view: {
              caseId: t.caseIds[0],
              tenantId: t.tenantId,
              summary: "the edge's copy",
              version: 1,
              updatedAt: now,
            },
          },
        ],
        grants: [
          { tenantId: t.tenantId, userId: t.users.investigator, roles: ["investigator"], version: 1 },
          { tenantId: t.tenantId, userId: t.users.support, roles: ["support"], version: 1 },
        ],
        watermarks: { [t.home]: now },
      }),
    });
    expect(pushed.status).toBe(200);
    const path = `/v1/tenants/${t.tenantId}/cases/${t.caseIds[0]}?consistency=eventual`;
    const staff = await edgeCall(p, "GET", path, undefined, {
      token: t.tokens.investigator,
      edgeRegion: "us",
    });
    expect(staff.status).toBe(200);
    expect(staff.body.source).toBe("edge_projection");
    const support = await edgeCall(p, "GET", path, undefined, {
      token: await supportToken(t, "us"),
      edgeRegion: "us",
    });
    expect(support.status).toBe(200);
    expect(support.body.source).toBe("home");
    const bare = await edgeCall(p, "GET", path, undefined, {
      token: await supportToken(t),
      edgeRegion: "us",
    });
    expect(bare.status).toBe(403);
  });

  it("the cell's counter is served at its /metrics", async () => {
    const text = await (await fetch(`${p.cells["ap-id"]!.url}/metrics`)).text();
    expect(text).toMatch(
      /homeroute_residency_violation_attempts_total\{[^}]*policy="ID_STRICT"[^}]*target_region="eu"[^}]*\} [1-9]/,
    );
  });
});
