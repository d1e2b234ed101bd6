import { ports, type SimConfig } from "./config.js";
import { ManagedProcess } from "./supervisor.js";

const url = (port: number) => `http://127.0.0.1:${port}`;

/**
 * The ops dashboard (apps/ops/src/dashboard) as its own process, reading the planet the way an
 * operator would: the catalog and the cells through their fault proxies (a cut region looks cut),
 * relays and the projector on their status ports, the edge's counters with the internal token.
 */
export function opsDashboardProcess(cfg: SimConfig, regions: string[], edgeUrl: string): ManagedProcess {
  const p = ports(cfg.portBase);
  return new ManagedProcess(
    {
      name: "ops-dashboard",
      entry: "apps/ops/src/dashboard/main.ts",
      env: {
        PORT: String(p.dashboard),
        CATALOG_URL: url(p.catalogProxy),
        CELL_URLS: JSON.stringify(Object.fromEntries(regions.map((r, i) => [r, url(p.cellProxy(i))]))),
        RELAY_URLS: JSON.stringify(Object.fromEntries(regions.map((r, i) => [r, url(p.relay(i))]))),
        PROJECTOR_URL: url(p.projector),
        EDGE_URL: edgeUrl,
        SIM_URL: url(p.sim),
        INTERNAL_TOKEN: cfg.internalToken,
        AUTH_JWT_SECRET: cfg.jwtSecret,
        HOMEROUTE_PARENT_PID: String(process.pid),
        LOG_LEVEL: "info",
      },
      readyUrl: `${url(p.dashboard)}/healthz`,
    },
    cfg.root,
    cfg.logDir,
  );
}

export const opsDashboardUrl = (cfg: SimConfig) => `${url(ports(cfg.portBase).dashboard)}/`;
