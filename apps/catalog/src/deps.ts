import { readFileSync } from "node:fs";
import { referenceDataFile, type Topology, topologySchema } from "@homeroute/contracts";
import { createLogger, createSql, type Logger } from "@homeroute/service-kit";
import type { Sql } from "postgres";
import type { z } from "zod";
import type { CatalogEnv } from "./env.js";
import { type CatalogMetrics, createMetrics, registerReadinessMetrics } from "./metrics.js";

export interface CatalogDeps {
  env: CatalogEnv;
  region: string;
  sql: Sql;
  log: Logger;
  topology: Topology;
  referenceData: z.infer<typeof referenceDataFile>;
  jwtKey: Uint8Array;
  metrics: CatalogMetrics;
  /** Served at GET /metrics by the app factory. */
  registry: CatalogMetrics["registry"];
  /** Wakes the cell-sync loop after a commit that queued control calls. */
  kickSync: () => void;
}

export function createCatalogDeps(env: CatalogEnv): CatalogDeps {
  const sql = createSql(env.DATABASE_URL, { max: 8 });
  const metrics = createMetrics();
  registerReadinessMetrics({
    sql,
    metrics,
    cellRegions: () => Object.keys(env.CELL_URLS),
    healthyWithinMs: () => env.HEALTH_INTERVAL_MS * 3,
  });
  return {
    env,
    region: env.REGION,
    sql,
    log: createLogger(env.LOG_LEVEL, "global"),
    topology: topologySchema.parse(JSON.parse(readFileSync(env.TOPOLOGY_FILE, "utf8"))),
    referenceData: referenceDataFile.parse(JSON.parse(readFileSync(env.REFERENCE_DATA_FILE, "utf8"))),
    jwtKey: new TextEncoder().encode(env.AUTH_JWT_SECRET),
    metrics,
    registry: metrics.registry,
    kickSync: () => {},
  };
}
