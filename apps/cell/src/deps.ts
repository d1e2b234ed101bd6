import { join } from "node:path";
import type { ResidencyPolicy } from "@homeroute/contracts";
import { createLogger, createSql, type Logger } from "@homeroute/service-kit";
import type { Sql } from "postgres";
import { type CellEnv, displayPrefixFor } from "./env.js";
import { createDeferredUploads, type DeferredUploads } from "./evidence/deferred-uploads.js";
import { createHttpObjectStore } from "./evidence/http-object-store.js";
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
  /** Evidence bytes spooled while the store was down, uploaded when it answers again. */
  deferredUploads: DeferredUploads;
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
  const log = createLogger(env.LOG_LEVEL);
  const objectStore = env.OBJECT_STORE_URL
    ? createHttpObjectStore(env.OBJECT_STORE_URL, env.REGION, env.INTERNAL_TOKEN, env.OBJECT_STORE_TIMEOUT_MS)
    : createObjectStore(env.OBJECT_STORE_DIR, env.REGION);
  return {
    env,
    region: env.REGION,
    displayPrefix: displayPrefixFor(env),
    sql,
    objectStore,
    deferredUploads: createDeferredUploads(
      env.EVIDENCE_SPOOL_DIR ?? join(env.OBJECT_STORE_DIR, ".spool"),
      objectStore,
      log,
    ),
    log,
    jwtKey: new TextEncoder().encode(env.AUTH_JWT_SECRET),
    metrics,
    residencyPolicies: loadResidencyPolicies(env.TOPOLOGY_FILE),
    registry: metrics.registry,
  };
}
