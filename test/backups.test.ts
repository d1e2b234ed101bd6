import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { uuidv7 } from "@homeroute/ids";
import { ADMIN_URL, makeToken } from "@homeroute/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { edgeCall, INTERNAL_TOKEN, type Planet, placeTenant, startPlanet } from "./support/planet.js";

// Backups that respect jurisdiction (issue 8, docs/backups.md), on real cells, catalog and Worker,
// with the machine's pg_dump and psql against the test PostgreSQL server.

let p: Planet;
let store: string;
const restoredDatabases: string[] = [];
type Fixture = Awaited<ReturnType<typeof placeTenant>> & { summaries: string[] };
const tenants: Record<"strict" | "apac" | "global", Fixture> = {} as never;

const ops = (method: string, path: string, body?: unknown, key?: string) =>
  edgeCall(p, method, path, body, { token: p.opsToken, key });

async function seed(home: string, policy: string, label: string): Promise<Fixture> {
  const t = await placeTenant(p, home, policy, ["reporter", "investigator"]);
  const summaries: string[] = [];
  for (let i = 0; i < 3; i++) {
    const summary = `${label} complaint ${i} ${uuidv7()}`;
    const r = await edgeCall(
      p,
      "POST",
      `/v1/tenants/${t.tenantId}/cases`,
      { category: "market_abuse", countryCode: "ID", summary, channel: "web" },
      { token: t.tokens.reporter },
    );
    expect(r.status).toBe(201);
    summaries.push(summary);
    if (i === 0) {
      const moved = await edgeCall(
        p,
        "POST",
        `/v1/tenants/${t.tenantId}/cases/${r.body.caseId}/transitions`,
        { to: "TRIAGE", expectedStatus: "INTAKE", expectedVersion: 1, reason: `${label} triaged` },
        { token: t.tokens.investigator },
      );
      expect(moved.status).toBe(200);
      const task = await edgeCall(
        p,
        "POST",
        `/v1/tenants/${t.tenantId}/cases/${r.body.caseId}/tasks`,
        { title: `${label} interview the complainant`, assigneeId: t.users.investigator },
        { token: t.tokens.investigator },
      );
      expect(task.status).toBe(201);
    }
  }
  return { ...t, summaries };
}

async function filesUnder(dir: string): Promise<{ path: string; text: string }[]> {
  const out: { path: string; text: string }[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    out.push({ path, text: await readFile(path, "utf8") });
  }
  return out;
}

async function catalogAudit(tenantId: string, actionType: string) {
  return p.catalog.deps.sql<{ outcome: string; target_region: string; metadata: Record<string, unknown> }[]>`
    SELECT outcome, target_region, metadata FROM catalog_audit_event
    WHERE tenant_id = ${tenantId} AND action_type = ${actionType} ORDER BY occurred_at`;
}

beforeAll(async () => {
  store = await mkdtemp(join(tmpdir(), "hr-backups-"));
  // Read by each cell's backup routes when the cell starts (apps/cell/src/backup/settings.ts).
  process.env.BACKUP_STORE_DIR = store;
  p = await startPlanet("backups", ["ap-id", "ap-sg", "eu"]);
  tenants.strict = await seed("ap-id", "ID_STRICT", "strict");
  tenants.apac = await seed("ap-id", "APAC_SHARED", "apac");
  tenants.global = await seed("ap-id", "GLOBAL_STANDARD", "global");
}, 120_000);

afterAll(async () => {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  for (const db of restoredDatabases) await admin.unsafe(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
  await admin.end({ timeout: 5 });
  await p?.close();
  await rm(store, { recursive: true, force: true });
});

describe("backups respect backup_regions", () => {
  let backup: any;

  it("a backup of ap-id into the ap-sg store holds the APAC and global tenants and nothing of the ID_STRICT one", async () => {
    const r = await ops("POST", "/v1/ops/backups", { region: "ap-id", storeRegion: "ap-sg" });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    backup = r.body;
    expect(backup).toMatchObject({ sourceRegion: "ap-id", storeRegion: "ap-sg", status: "COMPLETED" });
    expect(backup.tenants.map((t: { tenantId: string }) => t.tenantId).sort()).toEqual(
      [tenants.apac.tenantId, tenants.global.tenantId].sort(),
    );
    expect(backup.excluded).toEqual([
      { tenantId: tenants.strict.tenantId, policy: "ID_STRICT", reason: "not_a_backup_region" },
    ]);

    // The store: only ap-sg was written; grep every file for the strict tenant: absent.
    expect(await readdir(store)).toEqual(["ap-sg"]);
    const files = await filesUnder(join(store, "ap-sg", backup.backupId));
    const names = files.map((f) => f.path.slice(store.length + 1)).sort();
    expect(names).toEqual(
      [
        "manifest.json",
        "schema.sql",
        `tenants/${tenants.apac.tenantId}.sql`,
        `tenants/${tenants.global.tenantId}.sql`,
      ].map((n) => join("ap-sg", backup.backupId, n)),
    );
    const all = files.map((f) => f.text).join("\n");
    expect(all).not.toContain(tenants.strict.tenantId);
    for (const s of tenants.strict.summaries) expect(all).not.toContain(s);
    // ...while the allowed tenants' rows are there to be found (the grep above would see them).
    for (const s of [...tenants.apac.summaries, ...tenants.global.summaries]) expect(all).toContain(s);
    expect(all).toContain("COPY hr_backup_");

    const manifest = JSON.parse(files.find((f) => f.path.endsWith("manifest.json"))!.text);
    expect(manifest).toMatchObject({
      backupId: backup.backupId,
      sourceRegion: "ap-id",
      storeRegion: "ap-sg",
      format: "pg_dump-plain-per-tenant",
      excluded: [{ policy: "ID_STRICT", reason: "not_a_backup_region", tenants: 1 }],
    });
    expect(manifest.tools.pgDump).toMatch(/^pg_dump \(PostgreSQL\) \d+/);
    for (const t of manifest.tenants) {
      const f = files.find((x) => x.path.endsWith(t.file.path))!;
      expect(createHash("sha256").update(f.text).digest("hex")).toBe(t.file.sha256);
      expect(t.tables.find((x: { name: string }) => x.name === "regulatory_case").count).toBe(3);
      expect(t.rows.regulatory_case).toBe(3);
      expect(t.rows.case_task).toBe(1);
      expect(t.auditChain.ok).toBe(true);
    }

    // The staging schemas are gone from the cell; the catalog recorded and audited it all.
    const [left] = await p.cells["ap-id"]!.deps.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_namespace WHERE nspname LIKE 'hr\\_backup\\_%'`;
    expect(left!.n).toBe(0);
    const [row] = await p.catalog.deps.sql<{ status: string; excluded_tenants: unknown[] }[]>`
      SELECT status, excluded_tenants FROM cell_backup WHERE backup_id = ${backup.backupId}`;
    expect(row!.status).toBe("COMPLETED");
    expect(await catalogAudit(tenants.strict.tenantId, "cell.backup.tenant_excluded")).toEqual([
      expect.objectContaining({
        outcome: "REFUSED",
        target_region: "ap-sg",
        metadata: expect.objectContaining({ sink: "backup_store", refusal: "not_a_backup_region" }),
      }),
    ]);
    const shown = await ops("GET", `/v1/ops/backups/${backup.backupId}`);
    expect(shown.status).toBe(200);
    expect(shown.body.tenants).toHaveLength(2);
    // Backup freshness is a metric of the catalog, which records every backup.
    const metrics = await (await fetch(`${p.catalog.url}/metrics`)).text();
    expect(metrics).toMatch(
      /homeroute_backup_age_seconds\{[^}]*region="ap-id"[^}]*store_region="ap-sg"[^}]*\} [0-9.e+-]+/,
    );
  });

  it("restores an allowed tenant into a fresh database in ap-sg: every table's count and checksum equal the backup's and the source's", async () => {
    const r = await ops("POST", "/v1/ops/restores", {
      backupId: backup.backupId,
      targetRegion: "ap-sg",
      tenantId: tenants.apac.tenantId,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    restoredDatabases.push(r.body.database);
    expect(r.body).toMatchObject({ verified: true, targetRegion: "ap-sg", storeRegion: "ap-sg" });
    expect(r.body.database).toMatch(/^hr_restore_ap_sg_/);
    const [t] = r.body.tenants;
    expect(t.auditChain).toMatchObject({ ok: true });
    expect(t.auditChain.checked).toBeGreaterThan(3);
    for (const x of t.tables) expect(x.equal, x.name).toBe(true);

    // Independently: the restored database against the source cell's own checksums route.
    const src = await fetch(
      `${p.cells["ap-id"]!.url}/internal/v1/tenants/${tenants.apac.tenantId}/checksums`,
      {
        headers: { authorization: `Bearer ${INTERNAL_TOKEN}` },
      },
    ).then((x) => x.json() as Promise<{ tables: { name: string; count: number; checksum: string }[] }>);
    const restored = Object.fromEntries(
      t.tables.map((x: { name: string; restoredCount: number; restoredChecksum: string }) => [
        x.name,
        { count: x.restoredCount, checksum: x.restoredChecksum },
      ]),
    );
    for (const s of src.tables.filter((x) => x.name !== "evidence_blob")) {
      expect(restored[s.name], s.name).toEqual({ count: s.count, checksum: s.checksum });
    }
    const url = new URL(ADMIN_URL);
    url.pathname = `/${r.body.database}`;
    const db = postgres(url.toString(), { max: 1, onnotice: () => {} });
    try {
      const [c] = await db<{ mine: number; others: number }[]>`
        SELECT count(*) FILTER (WHERE tenant_id = ${tenants.apac.tenantId})::int AS mine,
          count(*) FILTER (WHERE tenant_id <> ${tenants.apac.tenantId})::int AS others FROM regulatory_case`;
      expect(c).toEqual({ mine: 3, others: 0 });
      const [s] = await db<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_namespace WHERE nspname LIKE 'hr\\_backup\\_%'`;
      expect(s!.n).toBe(0);
    } finally {
      await db.end({ timeout: 5 });
    }
    expect(await catalogAudit(tenants.apac.tenantId, "cell.restore")).toEqual([
      expect.objectContaining({ outcome: "ACCEPTED", metadata: expect.objectContaining({ verified: true }) }),
    ]);
  });

  it("refuses a restore into a region outside the policy: 451, an audit row, a counted attempt, no database", async () => {
    const before = await databasesLike("hr_restore_eu_%");
    const r = await ops("POST", "/v1/ops/restores", {
      backupId: backup.backupId,
      targetRegion: "eu",
      tenantId: tenants.apac.tenantId,
    });
    expect(r.status).toBe(451);
    expect(r.body).toMatchObject({ code: "RESIDENCY_VIOLATION", policy: "APAC_SHARED", targetRegion: "eu" });
    expect(await catalogAudit(tenants.apac.tenantId, "cell.restore")).toContainEqual(
      expect.objectContaining({
        outcome: "REFUSED",
        target_region: "eu",
        metadata: expect.objectContaining({
          reason: "RESIDENCY_VIOLATION",
          sink: "restore_target",
          refusal: "region_not_allowed",
          backupId: backup.backupId,
        }),
      }),
    );
    expect(p.catalog.deps.metrics.residencyViolationAttempts.get("APAC_SHARED|eu")).toBe(1);
    // The whole backup into eu: the global tenant alone would be allowed, one refusal refuses all.
    const all = await ops("POST", "/v1/ops/restores", { backupId: backup.backupId, targetRegion: "eu" });
    expect(all.status).toBe(451);
    expect(await databasesLike("hr_restore_eu_%")).toEqual(before);
  });

  it("the ID_STRICT tenant is backed up in its own region's store and restores only there", async () => {
    const r = await ops("POST", "/v1/ops/backups", { region: "ap-id" });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.storeRegion).toBe("ap-id");
    expect(r.body.tenants.map((t: { tenantId: string }) => t.tenantId)).toContain(tenants.strict.tenantId);
    // APAC_SHARED backs up to ap-sg and ap-au only: its home's store is not one of them.
    expect(r.body.excluded).toEqual([
      { tenantId: tenants.apac.tenantId, policy: "APAC_SHARED", reason: "not_a_backup_region" },
    ]);
    const away = await ops("POST", "/v1/ops/restores", {
      backupId: r.body.backupId,
      targetRegion: "ap-sg",
      tenantId: tenants.strict.tenantId,
    });
    expect(away.status).toBe(451);
    expect(away.body).toMatchObject({
      code: "RESIDENCY_VIOLATION",
      policy: "ID_STRICT",
      targetRegion: "ap-sg",
    });
    const home = await ops("POST", "/v1/ops/restores", {
      backupId: r.body.backupId,
      targetRegion: "ap-id",
      tenantId: tenants.strict.tenantId,
    });
    expect(home.status, JSON.stringify(home.body)).toBe(201);
    restoredDatabases.push(home.body.database);
    expect(home.body.verified).toBe(true);
  });

  it("answers a repeated Idempotency-Key with the same backup, and refuses non-operators and unknown backups", async () => {
    const key = uuidv7();
    const a = await ops("POST", "/v1/ops/backups", { region: "eu" }, key);
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    const b = await ops("POST", "/v1/ops/backups", { region: "eu" }, key);
    expect(b.status).toBe(201);
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    expect(b.body.backupId).toBe(a.body.backupId);
    const reused = await ops("POST", "/v1/ops/backups", { region: "ap-id" }, key);
    expect(reused.status).toBe(422);

    const staff = await makeToken({ sub: uuidv7(), tid: tenants.global.tenantId });
    const denied = await edgeCall(p, "POST", "/v1/ops/backups", { region: "ap-id" }, { token: staff });
    expect(denied.status).toBe(403);
    const anonymous = await edgeCall(p, "POST", "/v1/ops/restores", {
      backupId: uuidv7(),
      targetRegion: "ap-id",
    });
    expect(anonymous.status).toBe(401);
    const unknown = await ops("POST", "/v1/ops/restores", { backupId: uuidv7(), targetRegion: "ap-id" });
    expect(unknown.status).toBe(404);
    const bad = await ops("POST", "/v1/ops/backups", { region: "ap-id", storeRegion: "mars" });
    expect(bad.status).toBe(400);
  });
});

async function databasesLike(pattern: string): Promise<string[]> {
  const rows = await p.catalog.deps.sql<{ datname: string }[]>`
    SELECT datname FROM pg_database WHERE datname LIKE ${pattern} ORDER BY datname`;
  return rows.map((r) => r.datname);
}
