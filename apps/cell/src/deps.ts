import { createLogger, type Logger } from "@homeroute/service-kit";
import postgres, { type Sql } from "postgres";
import { type CellEnv, displayPrefixFor } from "./env.js";
import { createObjectStore, type ObjectStore } from "./evidence/object-store.js";

/** Everything a request needs, built once per process (never per request). */
export interface CellDeps {
  env: CellEnv;
  region: string;
  displayPrefix: string;
  sql: Sql;
  objectStore: ObjectStore;
  log: Logger;
  jwtKey: Uint8Array;
}

export function createCellDeps(env: CellEnv): CellDeps {
  const sql = postgres(env.DATABASE_URL, {
    max: env.DB_POOL_MAX,
    onnotice: () => {},
    // Fail fast when the database is cut off; the caller gets 503, never a 30 s hang.
    connect_timeout: 5,
    // Why: int8 columns (versions, epochs, sizes) come back as JS numbers; they never approach 2^53.
    types: {
      bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
    },
    transform: { undefined: null },
  });
  return {
    env,
    region: env.REGION,
    displayPrefix: displayPrefixFor(env),
    sql,
    objectStore: createObjectStore(env.OBJECT_STORE_DIR, env.REGION),
    log: createLogger(env.LOG_LEVEL),
    jwtKey: new TextEncoder().encode(env.AUTH_JWT_SECRET),
  };
}
