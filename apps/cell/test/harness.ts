import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CellEnv, cellEnvSchema, type RunningCell, startCell } from "@homeroute/cell";
import { uuidv7 } from "@homeroute/ids";
import { createTestDatabase, makeToken, TEST_JWT_SECRET, type TestDatabase } from "@homeroute/testkit";
import postgres from "postgres";

export const INTERNAL_TOKEN = "internal-test-token-0123456789";

/** A real cell over HTTP on a loopback port, with its own fresh database (one per test file). */
export interface CellHarness {
  cell: RunningCell;
  db: TestDatabase;
  /** A separate connection for assertions and fault setup, like an operator's psql. */
  sql: postgres.Sql;
  region: string;
  objectStoreDir: string;
  internal(method: string, path: string, body?: unknown): Promise<Response>;
  close(): Promise<void>;
}

export async function startCellHarness(
  label: string,
  region = "ap-id",
  extraEnv: Partial<CellEnv> = {},
): Promise<CellHarness> {
  const db = await createTestDatabase("cell", label);
  const objectStoreDir = await mkdtemp(join(tmpdir(), "hr-objects-"));
  const env = cellEnvSchema.parse({
    REGION: region,
    PORT: 0,
    DATABASE_URL: db.url,
    INTERNAL_TOKEN,
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    OBJECT_STORE_DIR: objectStoreDir,
    LOG_LEVEL: process.env.CELL_LOG_LEVEL ?? "silent",
    ...extraEnv,
  });
  const cell = await startCell(env);
  const sql = postgres(db.url, { max: 4, onnotice: () => {} });
  return {
    cell,
    db,
    sql,
    region,
    objectStoreDir,
    internal: (method, path, body) =>
      fetch(`${cell.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${INTERNAL_TOKEN}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    async close() {
      await cell.close();
      await sql.end({ timeout: 5 });
      await db.drop();
      await rm(objectStoreDir, { recursive: true, force: true });
    },
  };
}

export interface TenantFixture {
  tenantId: string;
  users: Record<string, { userId: string; token: string }>;
}

const FIXTURE_ROLES = [
  "reporter",
  "investigator",
  "reviewer",
  "supervisor",
  "tenant_admin",
  "auditor",
] as const;

/** Registers a tenant homed in the harness's region, WRITABLE at epoch 1, with one user per role. */
export async function setupTenant(
  h: CellHarness,
  opts: { epoch?: number; leaseExpiresAt?: string | null } = {},
) {
  const tenantId = uuidv7();
  const ok = async (r: Promise<Response>) => {
    const res = await r;
    if (!res.ok) throw new Error(`setup failed: ${res.status} ${await res.text()}`);
  };
  await ok(
    h.internal("PUT", `/internal/v1/tenants/${tenantId}`, {
      name: "Test Regulator",
      homeRegion: h.region,
      status: "ACTIVE",
      residencyPolicy: "APAC_SHARED",
    }),
  );
  await ok(
    h.internal("PUT", `/internal/v1/fences/tenant:${tenantId}`, {
      activeRegion: h.region,
      epoch: opts.epoch ?? 1,
      status: "WRITABLE",
      leaseExpiresAt: opts.leaseExpiresAt ?? null,
    }),
  );
  await ok(
    h.internal("PUT", `/internal/v1/fences/region:${h.region}`, {
      activeRegion: h.region,
      epoch: 1,
      status: "WRITABLE",
    }),
  );
  const users: TenantFixture["users"] = {};
  for (const role of FIXTURE_ROLES) {
    const userId = uuidv7();
    await ok(h.internal("PUT", `/internal/v1/tenants/${tenantId}/grants/${userId}/${role}`));
    users[role] = { userId, token: await makeToken({ sub: userId, tid: tenantId }) };
  }
  return { tenantId, users } satisfies TenantFixture;
}

export interface CallOptions {
  token?: string;
  key?: string | null;
  epoch?: number;
  headers?: Record<string, string>;
}

export async function call(
  h: CellHarness,
  method: string,
  path: string,
  body?: unknown,
  o: CallOptions = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { "content-type": "application/json", ...o.headers };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (method !== "GET" && o.key !== null) headers["idempotency-key"] = o.key ?? uuidv7();
  if (o.epoch !== undefined) headers["x-region-epoch"] = String(o.epoch);
  const res = await fetch(`${h.cell.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed, headers: res.headers };
}

export const newCase = {
  category: "market_abuse",
  countryCode: "ID",
  summary: "Suspicious trades",
  channel: "web",
};

export async function createCase(h: CellHarness, t: TenantFixture) {
  const r = await call(h, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
    token: t.users.investigator!.token,
  });
  if (r.status !== 201) throw new Error(`create failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as {
    caseId: string;
    version: number;
    status: string;
    caseNumber: string;
    accessCode: string;
  };
}

export async function countRows(h: CellHarness, tenantId: string) {
  const [r] = await h.sql<
    { cases: number; audit: number; outbox: number; commands: number; tasks: number }[]
  >`
    SELECT (SELECT count(*)::int FROM regulatory_case WHERE tenant_id = ${tenantId}) AS cases,
      (SELECT count(*)::int FROM global_audit_event WHERE tenant_id = ${tenantId} AND action_type <> 'grant.granted') AS audit,
      (SELECT count(*)::int FROM outbox_event WHERE tenant_id = ${tenantId}) AS outbox,
      (SELECT count(*)::int FROM command_log WHERE tenant_id = ${tenantId}) AS commands,
      (SELECT count(*)::int FROM case_task WHERE tenant_id = ${tenantId}) AS tasks`;
  return r!;
}
