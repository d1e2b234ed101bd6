import type { ResidencyPolicy } from "@homeroute/contracts";
import { createLogger, createSql, type Logger } from "@homeroute/service-kit";
import type { Sql } from "postgres";
import { type CellEnv, displayPrefixFor } from "./env.js";
import { createObjectStore, type ObjectStore } from "./evidence/object-store.js";
import { type CellMetrics, createCellMetrics } from "./metrics.js";
import { loadResidencyPolicies } from "./residency/policies.js";

/** Everything a request needs, built once per process (never per request). */
export interface CellDeps {
  env: CellEnv;
  region: string;
  displayPrefix: string;
  sql: Sql;
  objectStore: ObjectStore;
  log: Logger;
  jwtKey: Uint8Array;
  metrics: CellMetrics;
  /** The seeded residency policies by code (for support access, checked here). */
  residencyPolicies: ReadonlyMap<string, ResidencyPolicy>;
  /** Served at GET /metrics by the app factory. */
  registry: CellMetrics["registry"];
}

export function createCellDeps(env: CellEnv): CellDeps {
  const sql = createSql(env.DATABASE_URL, { max: env.DB_POOL_MAX, transform: { undefined: null } });
  const metrics = createCellMetrics(env.REGION, sql);
  return {
    env,
    region: env.REGION,
    displayPrefix: displayPrefixFor(env),
    sql,
    objectStore: createObjectStore(env.OBJECT_STORE_DIR, env.REGION),
    log: createLogger(env.LOG_LEVEL),
    jwtKey: new TextEncoder().encode(env.AUTH_JWT_SECRET),
    metrics,
    residencyPolicies: loadResidencyPolicies(env.TOPOLOGY_FILE),
    registry: metrics.registry,
  };
}
