import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Topology, topologySchema } from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import { signDevToken } from "@homeroute/service-kit";
import { type ServerType, serve } from "@hono/node-server";
import { ports, type SimConfig } from "./config.js";
import { simController } from "./controller.js";
import { dashboardHtml } from "./dashboard.js";
import { bundleEdgeWorker, type RunningEdge, startEdge } from "./edge.js";
import { FaultRegistry, type FaultTarget } from "./faults.js";
import { HttpFaultProxy } from "./http-proxy.js";
import { rttMatrix } from "./latency.js";
import { type SimNats, startNats } from "./nats.js";
import { opsDashboardProcess, opsDashboardUrl } from "./ops-dashboard.js";
import { type SimPostgres, startPostgres } from "./postgres.js";
import { type Demo, seedDemo } from "./seed.js";
import { ManagedProcess } from "./supervisor.js";
import { TcpFaultProxy } from "./tcp-proxy.js";

export interface TopologyFile {
  edgeUrl: string;
  catalogUrl: string;
  simUrl: string;
  dashboardUrl: string;
  natsUrl: string;
  cells: Record<string, string>;
  /** Each region's evidence object store (through its fault proxy), reached with the internal token. */
  objectStores: Record<string, string>;
  demo: Demo;
}

export interface Simulation {
  topology: TopologyFile;
  startupMs: number;
  stop(): Promise<void>;
}

const url = (port: number) => `http://127.0.0.1:${port}`;

export function makeToken(
  secret: string,
  claims: { sub: string; tid?: string; ops?: boolean },
  ttl = 8 * 3600,
) {
  return signDevToken(secret, claims, ttl);
}

/**
 * Starts the whole planet (DESIGN §15): Postgres, NATS, the catalog, five cells and each region's
 * evidence store as their own processes behind fault proxies, the edge Worker in Miniflare, and
 * the simulation controller.
 */
export async function startSimulation(cfg: SimConfig, log: (line: string) => void): Promise<Simulation> {
  const started = Date.now();
  const p = ports(cfg.portBase);
  const topology: Topology = topologySchema.parse(
    JSON.parse(readFileSync(join(cfg.root, "infra/topology.json"), "utf8")),
  );
  const regions = topology.regions.map((r) => r.code);
  const rtt = rttMatrix(topology);
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        log(`while stopping: ${(e as Error).message}`);
      }
    }
  };

  try {
    log(`postgres: ${cfg.databaseUrl ? "DATABASE_URL" : `embedded, data in ${join(cfg.stateDir, "pg")}`}`);
    const pg: SimPostgres = await startPostgres(cfg.stateDir, p.postgres, cfg.databaseUrl);
    cleanups.push(() => pg.stop());
    const dbName = (what: string) => `homeroute_sim_${what.replace(/-/g, "_")}`;
    if (cfg.fresh && pg.source === "external") {
      for (const r of regions) await pg.dropDatabase(dbName(r));
      await pg.dropDatabase(dbName("catalog"));
    }
    if (cfg.fresh && pg.source === "external") {
      await pg.dropDatabase(dbName("projector"));
      await pg.dropDatabase(dbName("warehouse"));
    }
    for (const r of regions) await pg.ensureDatabase(dbName(r));
    await pg.ensureDatabase(dbName("catalog"));
    await pg.ensureDatabase(dbName("projector"));
    await pg.ensureDatabase(dbName("warehouse"));

    const nats: SimNats = await startNats(cfg.stateDir, p.nats, cfg.root, cfg.logDir);
    if (nats.process) cleanups.push(() => nats.process!.stop());
    const natsTarget = new URL(nats.url);
    const natsProxy = new TcpFaultProxy(
      "nats",
      p.natsProxy,
      natsTarget.hostname,
      Number(natsTarget.port || 4222),
    );
    await natsProxy.start();
    cleanups.push(() => natsProxy.stop());
    log(`nats: ${nats.url} (cells reach it through a fault proxy on ${p.natsProxy})`);

    // Proxies first, so every hop of the planet goes through something a fault can cut.
    const dbProxies: Record<string, TcpFaultProxy> = {};
    const cellProxies: Record<string, HttpFaultProxy> = {};
    for (const [i, r] of regions.entries()) {
      dbProxies[r] = new TcpFaultProxy(`db:${r}`, p.dbProxy(i), pg.host, pg.port);
      cellProxies[r] = new HttpFaultProxy(`cell:${r}`, p.cellProxy(i), p.cell(i), "eu");
      await dbProxies[r].start();
      await cellProxies[r].start();
      cleanups.push(
        () => dbProxies[r]!.stop(),
        () => cellProxies[r]!.stop(),
      );
    }
    const catalogProxy = new HttpFaultProxy("catalog", p.catalogProxy, p.catalog, "eu");
    await catalogProxy.start();
    cleanups.push(() => catalogProxy.stop());
    // The catalog asks the warehouse for reports through this one, so a partition cuts that hop.
    const warehouseProxy = new HttpFaultProxy("warehouse", p.warehouseProxy, p.warehouse, "us");
    await warehouseProxy.start();
    cleanups.push(() => warehouseProxy.stop());

    const common = {
      INTERNAL_TOKEN: cfg.internalToken,
      AUTH_JWT_SECRET: cfg.jwtSecret,
      LOG_LEVEL: "info",
      HOMEROUTE_PARENT_PID: String(process.pid),
    };
    // One evidence object store per region (issue 8; production: a bucket per jurisdiction,
    // infra/object-stores.json), each its own process over its own directory objects/<region>,
    // reached only by that region's cell, through a proxy a `store:<region>` fault can cut.
    const stores: Record<string, ManagedProcess> = {};
    const storeProxies: Record<string, HttpFaultProxy> = {};
    for (const [i, r] of regions.entries()) {
      storeProxies[r] = new HttpFaultProxy(`store:${r}`, p.storeProxy(i), p.store(i), r);
      await storeProxies[r].start();
      cleanups.push(() => storeProxies[r]!.stop());
      stores[r] = new ManagedProcess(
        {
          name: `store-${r}`,
          entry: "apps/cell/src/evidence/store-main.ts",
          env: {
            INTERNAL_TOKEN: cfg.internalToken,
            HOMEROUTE_PARENT_PID: String(process.pid),
            REGION: r,
            PORT: String(p.store(i)),
            OBJECT_STORE_DIR: join(cfg.stateDir, "objects"),
          },
          readyUrl: `${url(p.store(i))}/healthz`,
        },
        cfg.root,
        cfg.logDir,
      );
    }
    const cells: Record<string, ManagedProcess> = {};
    for (const [i, r] of regions.entries()) {
      cells[r] = new ManagedProcess(
        {
          name: `cell-${r}`,
          entry: "apps/cell/src/main.ts",
          env: {
            ...common,
            REGION: r,
            PORT: String(p.cell(i)),
            DATABASE_URL: pg.urlFor(dbName(r), p.dbProxy(i)).replace(`@${pg.host}:`, "@127.0.0.1:"),
            OBJECT_STORE_URL: url(p.storeProxy(i)),
            // Bytes waiting for a store that is down stay on the cell's side, in its region.
            EVIDENCE_SPOOL_DIR: join(cfg.stateDir, "spool"),
            EXPORT_STORE_DIR: join(cfg.stateDir, "exports"),
            BACKUP_STORE_DIR: join(cfg.stateDir, "backups"),
            CATALOG_URL: url(p.catalogProxy),
            NATS_URL: `nats://127.0.0.1:${p.natsProxy}`,
          },
          readyUrl: `${url(p.cell(i))}/readyz`,
        },
        cfg.root,
        cfg.logDir,
      );
    }
    const catalog = new ManagedProcess(
      {
        name: "catalog",
        entry: "apps/catalog/src/main.ts",
        env: {
          ...common,
          REGION: "eu",
          PORT: String(p.catalog),
          LEASE_TTL_SECONDS: String(cfg.leaseTtlSeconds),
          DATABASE_URL: pg.urlFor(dbName("catalog")),
          CELL_URLS: JSON.stringify(Object.fromEntries(regions.map((r, i) => [r, url(p.cellProxy(i))]))),
          RELAY_URLS: JSON.stringify(Object.fromEntries(regions.map((r, i) => [r, url(p.relay(i))]))),
          PROJECTOR_URL: url(p.projector),
          WAREHOUSE_URL: url(p.warehouseProxy),
          EDGE_URL: url(p.edge),
        },
        readyUrl: `${url(p.catalog)}/readyz`,
      },
      cfg.root,
      cfg.logDir,
    );
    log("starting the catalog, five cells and their evidence stores (each its own process)...");
    await Promise.all([
      catalog.start(),
      ...Object.values(stores).map((s) => s.start()),
      ...Object.values(cells).map((c) => c.start()),
    ]);
    // Stopped after the cells (cleanups run in reverse), so no upload meets a store already gone.
    cleanups.push(...Object.values(stores).map((s) => () => s.stop()));
    // Boot fencing: each cell is read-only until its first lease renewal; wait for all five.
    for (const [i, r] of regions.entries()) await waitForLease(url(p.cellProxy(i)), r, cfg.internalToken);
    cleanups.push(() => catalog.stop(), ...Object.values(cells).map((c) => () => c.stop()));

    const scriptPath = await bundleEdgeWorker(join(cfg.stateDir, "edge"));
    const edge: RunningEdge = await startEdge({
      scriptPath,
      port: p.edge,
      catalogUrl: url(p.catalogProxy),
      cellUrls: Object.fromEntries(regions.map((r, i) => [r, url(p.cellProxy(i))])),
      jwtSecret: cfg.jwtSecret,
      internalToken: cfg.internalToken,
      snapshotTtlSeconds: 5,
      cellTimeoutMs: 2000,
      persistDir: join(cfg.stateDir, "edge"),
    });
    cleanups.push(() => edge.close());
    log(`edge: ${edge.url} (the Worker in workerd via Miniflare)`);

    // The event pipeline: a relay beside each cell (through the same database and NATS proxies),
    // and the projector feeding the edge.
    const natsViaProxy = `nats://127.0.0.1:${p.natsProxy}`;
    const relays: Record<string, ManagedProcess> = {};
    for (const [i, r] of regions.entries()) {
      relays[r] = new ManagedProcess(
        {
          name: `relay-${r}`,
          entry: "apps/relay/src/main.ts",
          env: {
            ...common,
            REGION: r,
            PORT: String(p.relay(i)),
            DATABASE_URL: pg.urlFor(dbName(r), p.dbProxy(i)).replace(`@${pg.host}:`, "@127.0.0.1:"),
            NATS_URL: natsViaProxy,
          },
          readyUrl: `${url(p.relay(i))}/healthz`,
        },
        cfg.root,
        cfg.logDir,
      );
    }
    const projector = new ManagedProcess(
      {
        name: "projector",
        entry: "apps/projector/src/main.ts",
        env: {
          ...common,
          PORT: String(p.projector),
          DATABASE_URL: pg.urlFor(dbName("projector")),
          NATS_URL: natsViaProxy,
          REGIONS: regions.join(","),
          EDGE_URL: edge.url,
          CATALOG_URL: url(p.catalogProxy),
          // DR standby delivery goes through the cells' fault proxies like every other hop.
          CELL_URLS: JSON.stringify(Object.fromEntries(regions.map((r, i) => [r, url(p.cellProxy(i))]))),
        },
        readyUrl: `${url(p.projector)}/healthz`,
      },
      cfg.root,
      cfg.logDir,
    );
    // The warehouse in the analytics region (us), with its own database; reports go through the catalog.
    const warehouse = new ManagedProcess(
      {
        name: "warehouse",
        entry: "apps/projector/src/warehouse/main.ts",
        env: {
          ...common,
          PORT: String(p.warehouse),
          DATABASE_URL: pg.urlFor(dbName("warehouse")),
          NATS_URL: natsViaProxy,
          REGIONS: regions.join(","),
          ANALYTICS_REGION: "us",
          CATALOG_URL: url(p.catalogProxy),
        },
        readyUrl: `${url(p.warehouse)}/healthz`,
      },
      cfg.root,
      cfg.logDir,
    );
    const dashboard = opsDashboardProcess(cfg, regions, edge.url);
    log("starting the relays, the projector and the ops dashboard...");
    await Promise.all([projector.start(), dashboard.start(), ...Object.values(relays).map((r) => r.start())]);
    cleanups.push(
      () => projector.stop(),
      () => dashboard.stop(),
      ...Object.values(relays).map((r) => () => r.stop()),
    );
    log("starting the warehouse (analytics region)...");
    await warehouse.start();
    cleanups.push(() => warehouse.stop());

    let profile: "realistic" | "none" = "none";
    const setLatency = (next: "realistic" | "none") => {
      profile = next;
      for (const r of regions) cellProxies[r]!.latency = next === "realistic" ? (from) => rtt(from, r) : null;
      catalogProxy.latency = next === "realistic" ? (from) => rtt(from, "eu") : null;
    };
    const targets = (name: string): FaultTarget | undefined => {
      const [kind, region] = name.split(":") as [string, string | undefined];
      if (kind === "cell" && region && cells[region]) {
        const i = regions.indexOf(region);
        return {
          process: cells[region],
          proxy: cellProxies[region],
          // A restarted cell is boot-fenced until its first renewal: heal returns once it can write.
          afterRestart: () => waitForLease(url(p.cellProxy(i)), region, cfg.internalToken),
        };
      }
      if (kind === "db" && region && dbProxies[region]) return { proxy: dbProxies[region] };
      if (kind === "catalog") return { process: catalog, proxy: catalogProxy };
      if (kind === "nats")
        return nats.process ? { process: nats.process, proxy: natsProxy } : { proxy: natsProxy };
      if (kind === "relay" && region && relays[region]) return { process: relays[region] };
      if (kind === "projector") return { process: projector };
      if (kind === "store" && region && stores[region])
        return { process: stores[region], proxy: storeProxies[region] };
      // Its own process (apps/projector/src/warehouse/main.ts), apart from the projector.
      if (kind === "warehouse") return { process: warehouse, proxy: warehouseProxy };
      return undefined;
    };
    const faults = new FaultRegistry(targets);
    cleanups.push(() => faults.healAll());

    const opsToken = await makeToken(cfg.jwtSecret, { sub: uuidv7(), ops: true });
    const demo = await seedDemo(cfg.stateDir, {
      async placeTenant(t, adminUserIds) {
        const res = await fetch(`${edge.url}/v1/ops/tenants`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${opsToken}`,
            "idempotency-key": uuidv7(),
            "content-type": "application/json",
          },
          body: JSON.stringify({ ...t, adminUserIds }),
        });
        if (res.status !== 201) throw new Error(`seeding ${t.name}: ${res.status} ${await res.text()}`);
      },
      async grant(homeRegion, tenantId, userId, role) {
        const i = regions.indexOf(homeRegion);
        const res = await fetch(
          `${url(p.cellProxy(i))}/internal/v1/tenants/${tenantId}/grants/${userId}/${role}`,
          {
            method: "PUT",
            headers: { authorization: `Bearer ${cfg.internalToken}` },
          },
        );
        if (!res.ok) throw new Error(`granting ${role}: ${res.status} ${await res.text()}`);
      },
    });
    // The catalog registers tenants in their cells asynchronously; wait until it has.
    for (const t of demo.tenants)
      await waitForTenant(url(p.cellProxy(regions.indexOf(t.homeRegion))), t.tenantId, cfg.internalToken);

    const topologyFile: TopologyFile = {
      edgeUrl: edge.url,
      catalogUrl: url(p.catalogProxy),
      simUrl: url(p.sim),
      dashboardUrl: opsDashboardUrl(cfg),
      natsUrl: nats.url,
      cells: Object.fromEntries(regions.map((r, i) => [r, url(p.cellProxy(i))])),
      objectStores: Object.fromEntries(regions.map((r, i) => [r, url(p.storeProxy(i))])),
      demo,
    };
    const status = () => ({
      startedAt: new Date(started).toISOString(),
      latency: profile,
      processes: Object.fromEntries(
        [
          ["catalog", catalog] as const,
          ["projector", projector] as const,
          ["warehouse", warehouse] as const,
          ["ops-dashboard", dashboard] as const,
          ...Object.entries(cells).map(([r, c]) => [`cell:${r}`, c] as const),
          ...Object.entries(stores).map(([r, c]) => [`store:${r}`, c] as const),
          ...Object.entries(relays).map(([r, c]) => [`relay:${r}`, c] as const),
          ...(nats.process ? [["nats", nats.process] as const] : []),
        ].map(([name, proc]) => [
          name,
          { pid: proc.pid ?? null, state: proc.state, restarts: proc.restarts },
        ]),
      ),
      faults: faults.list(),
      topology: topologyFile,
    });
    const controller = simController({
      faults,
      latencyProfile: () => profile,
      setLatency,
      status,
      dashboardHtml: () => dashboardHtml(status()),
    });
    const server: ServerType = await new Promise((resolve) => {
      const s = serve({ fetch: controller.fetch, port: p.sim, hostname: "127.0.0.1" }, () => resolve(s));
    });
    cleanups.push(() => new Promise((r) => server.close(() => r(undefined))));
    writeFileSync(join(cfg.stateDir, "topology.json"), JSON.stringify(topologyFile, null, 2));
    return { topology: topologyFile, startupMs: Date.now() - started, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function waitForLease(cellUrl: string, region: string, token: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${cellUrl}/internal/v1/fences`, {
      headers: { authorization: `Bearer ${token}` },
    }).catch(() => null);
    if (res?.ok) {
      const body = (await res.json()) as { items: { scope: string; leaseExpiresAt: string | null }[] };
      const f = body.items.find((x) => x.scope === `region:${region}`);
      if (f?.leaseExpiresAt && Date.parse(f.leaseExpiresAt) > Date.now()) return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`cell ${region} did not get its first write lease`);
}

async function waitForTenant(cellUrl: string, tenantId: string, token: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${cellUrl}/internal/v1/fences`, {
      headers: { authorization: `Bearer ${token}` },
    }).catch(() => null);
    if (res?.ok) {
      const body = (await res.json()) as { items: { scope: string }[] };
      if (body.items.some((f) => f.scope === `tenant:${tenantId}`)) return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tenant ${tenantId} was not registered in its cell in time`);
}
