import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { catalogEnvSchema, type RunningCatalog, startCatalog } from "@homeroute/catalog";
import { cellEnvSchema, type RunningCell, startCell } from "@homeroute/cell";
import { uuidv7 } from "@homeroute/ids";
import {
  createTestDatabase,
  freePort,
  makeToken,
  TEST_JWT_SECRET,
  type TestDatabase,
} from "@homeroute/testkit";
import { type RunningEdge, startEdge } from "./edge-worker.js";
import { teardownStep } from "./teardown.js";

export const INTERNAL_TOKEN = "internal-test-token-0123456789";

/**
 * A small planet for cross-service tests: a real catalog and real cells (Node, HTTP on loopback,
 * each with its own fresh PostgreSQL database) and the real edge Worker in Miniflare.
 */
export interface Planet {
  label: string;
  catalog: RunningCatalog;
  cells: Record<string, RunningCell>;
  edge: RunningEdge;
  opsToken: string;
  stopCatalog(): Promise<void>;
  startCatalogAgain(): Promise<void>;
  stopCell(region: string): Promise<void>;
  /** Starts a stopped cell again on the same port and database (its data survives). */
  restartCell(region: string): Promise<void>;
  /** Waits until the catalog has delivered every queued cell call it can. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export async function startPlanet(
  label: string,
  regions: string[],
  o: {
    snapshotTtlSeconds?: number;
    edgeBindings?: Record<string, string>;
    leaseTtlSeconds?: number;
    /** Per-region extra cell environment (e.g. CLOCK_SKEW_MS). */
    cellEnv?: Record<string, Record<string, string>>;
  } = {},
): Promise<Planet> {
  const dbs: TestDatabase[] = [];
  const objects = await mkdtemp(join(tmpdir(), "hr-planet-"));
  const cells: Record<string, RunningCell> = {};
  // The catalog's port is chosen first: cells renew their write leases there from boot.
  const catalogPort = await freePort();
  const cellEnvs: Record<string, ReturnType<typeof cellEnvSchema.parse>> = {};
  for (const region of regions) {
    const db = await createTestDatabase("cell", `${label}_${region}`);
    dbs.push(db);
    cellEnvs[region] = cellEnvSchema.parse({
      REGION: region,
      PORT: 0,
      DATABASE_URL: db.url,
      INTERNAL_TOKEN,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      OBJECT_STORE_DIR: objects,
      LOG_LEVEL: process.env.CELL_LOG_LEVEL ?? "silent",
      CATALOG_URL: `http://127.0.0.1:${catalogPort}`,
      ...o.cellEnv?.[region],
    });
    cells[region] = await startCell(cellEnvs[region]!);
  }
  const catalogDb = await createTestDatabase("catalog", label);
  dbs.push(catalogDb);
  const cellUrls = Object.fromEntries(Object.entries(cells).map(([r, c]) => [r, c.url]));
  const catalogEnv = catalogEnvSchema.parse({
    PORT: catalogPort,
    LEASE_TTL_SECONDS: String(o.leaseTtlSeconds ?? 6),
    DATABASE_URL: catalogDb.url,
    INTERNAL_TOKEN,
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    CELL_URLS: JSON.stringify(cellUrls),
    SYNC_INTERVAL_MS: "200",
    HEALTH_INTERVAL_MS: "500",
    LOG_LEVEL: "silent",
  });
  let catalog = await startCatalog(catalogEnv);
  await waitForLeases(cells);
  const edge = await startEdge({
    catalogUrl: catalog.url,
    cellUrls,
    jwtSecret: TEST_JWT_SECRET,
    internalToken: INTERNAL_TOKEN,
    snapshotTtlSeconds: o.snapshotTtlSeconds,
    extraBindings: o.edgeBindings,
  });
  catalog.deps.env.EDGE_URL = edge.url;
  let catalogRunning = true;
  const planet: Planet = {
    label,
    get catalog() {
      return catalog;
    },
    cells,
    edge,
    opsToken: await makeToken({ sub: uuidv7(), ops: true }),
    async stopCatalog() {
      if (!catalogRunning) return;
      catalogRunning = false;
      await catalog.close();
    },
    async startCatalogAgain() {
      catalog = await startCatalog({ ...catalogEnv, PORT: catalogPort, EDGE_URL: edge.url });
      catalogRunning = true;
    },
    async stopCell(region) {
      await cells[region]!.close();
    },
    async restartCell(region) {
      cells[region] = await startCell({ ...cellEnvs[region]!, PORT: cells[region]!.port });
      await waitForLeases({ [region]: cells[region]! });
    },
    async settle() {
      for (let i = 0; i < 50; i++) {
        const [row] = await catalog.deps.sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM cell_sync_task
          WHERE done_at IS NULL AND region = ANY(${Object.keys(catalog.deps.env.CELL_URLS)})`;
        if (row!.n === 0) return;
        catalog.deps.kickSync();
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error("cell sync did not settle");
    },
    async close() {
      await teardownStep("edge (Miniflare)", () => edge.close());
      if (catalogRunning) await teardownStep("catalog", () => catalog.close());
      // A cell the test stopped is already closed: closing it again is not a failure.
      for (const [region, c] of Object.entries(cells)) {
        await teardownStep(`cell ${region}`, () => c.close().catch(() => {}));
      }
      for (const db of dbs) await teardownStep("test database", () => db.drop());
      await rm(objects, { recursive: true, force: true });
    },
  };
  return planet;
}

/** Boot fencing: each cell is read-only until its first lease renewal; wait for all of them. */
export async function waitForLeases(cells: Record<string, RunningCell>): Promise<void> {
  for (const [region, cell] of Object.entries(cells)) {
    for (let i = 0; ; i++) {
      const [row] = await cell.deps.sql<{ ok: boolean }[]>`
        SELECT lease_expires_at > now() AS ok FROM region_write_epoch WHERE logical_scope = ${`region:${region}`}`;
      if (row?.ok) break;
      if (i > 200) throw new Error(`cell ${region} never got a lease`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A regional staff call straight to one cell (no edge): creates a case there, returns the raw response. */
export function createAtCell(
  p: Planet,
  region: string,
  tenantId: string,
  token: string,
  body: unknown,
): Promise<Response> {
  return fetch(`${p.cells[region]!.url}/v1/tenants/${tenantId}/cases`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "idempotency-key": uuidv7(),
      "content-type": "application/json",
    },
    body: JSON.stringify(body),
  });
}

export async function edgeCall(
  p: Planet,
  method: string,
  path: string,
  body?: unknown,
  o: { token?: string; key?: string | null; edgeRegion?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { "content-type": "application/json", ...o.headers };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (method !== "GET" && o.key !== null) headers["idempotency-key"] = o.key ?? uuidv7();
  if (o.edgeRegion) headers["x-sim-edge-region"] = o.edgeRegion;
  const res = await fetch(`${p.edge.url}${path}`, {
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

export async function placeTenant(
  p: Planet,
  homeRegion: string,
  residencyPolicy: string,
  roles: string[] = ["investigator"],
) {
  const users = Object.fromEntries(roles.map((r) => [r, uuidv7()]));
  const adminId = uuidv7();
  const r = await edgeCall(
    p,
    "POST",
    "/v1/ops/tenants",
    {
      name: `Regulator ${homeRegion}`,
      homeRegion,
      residencyPolicy,
      adminUserIds: [adminId],
    },
    { token: p.opsToken },
  );
  if (r.status !== 201) throw new Error(`placement failed: ${r.status} ${JSON.stringify(r.body)}`);
  const tenantId = r.body.tenantId as string;
  await p.settle();
  const cell = p.cells[homeRegion]!;
  for (const [role, userId] of Object.entries(users)) {
    await fetch(`${cell.url}/internal/v1/tenants/${tenantId}/grants/${userId}/${role}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${INTERNAL_TOKEN}` },
    });
  }
  const tokens = Object.fromEntries(
    await Promise.all(
      Object.entries(users).map(async ([role, sub]) => [role, await makeToken({ sub, tid: tenantId })]),
    ),
  ) as Record<string, string>;
  return { tenantId, users, tokens, placement: r.body };
}
