import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { regionCode, topologySchema } from "@homeroute/contracts";
import { z } from "zod";

// Validated once at startup; a missing or malformed variable stops the process with what is wrong.
export const cellEnvSchema = z.object({
  REGION: regionCode,
  PORT: z.coerce.number().int().min(0).max(65535).default(4100),
  HOST: z.string().default("127.0.0.1"),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "a postgres:// URL"),
  INTERNAL_TOKEN: z.string().min(16, "at least 16 characters"),
  AUTH_JWT_SECRET: z.string().min(32, "at least 32 characters (HS256 key)"),
  TOPOLOGY_FILE: z.string().default(fileURLToPath(new URL("../../../infra/topology.json", import.meta.url))),
  OBJECT_STORE_DIR: z.string().default(".object-store"),
  /** The region's evidence store as a service (store-server.ts; production: R2/S3 in the jurisdiction). */
  OBJECT_STORE_URL: z.url().optional(),
  /**
   * How long the store may take to take the bytes before it counts as down (deferred upload or
   * 503, by policy). Below the edge's CELL_TIMEOUT_MS (sim 2 s, default 3 s): a store that hangs
   * must be decided by the cell, or the client gets 503 while the upload still commits behind it.
   */
  OBJECT_STORE_TIMEOUT_MS: z.coerce.number().int().positive().default(1000),
  /** Where evidence bytes wait while the store is down (the cell's own disk, same region). */
  EVIDENCE_SPOOL_DIR: z.string().optional(),
  DEFERRED_UPLOAD_INTERVAL_MS: z.coerce.number().int().positive().default(1000),
  /**
   * Simulation and tests only: this cell's clock runs ahead (+) or behind (−) by this much, to show
   * that nothing orders writes by wall-clock time (audit order is by version and epoch).
   */
  CLOCK_SKEW_MS: z.coerce.number().int().default(0),
  /**
   * Export store root: `<dir>/<targetRegion>/<tenantId>/<exportId>.json`, one directory per
   * region standing for a bucket in that jurisdiction (production: an R2/S3 bucket per region).
   */
  EXPORT_STORE_DIR: z.string().default(join(tmpdir(), "homeroute-exports")),
  EVIDENCE_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(25 * 1024 * 1024),
  DB_POOL_MAX: z.coerce.number().int().positive().default(16),
  LOG_LEVEL: z.enum(["info", "silent"]).default("info"),
  /** When set, the cell writes only under a lease renewed from this catalog (DESIGN §7). */
  CATALOG_URL: z.url().optional(),
});
export type CellEnv = z.infer<typeof cellEnvSchema>;

export function loadCellEnv(source: NodeJS.ProcessEnv = process.env): CellEnv {
  const parsed = cellEnvSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`cell: invalid environment\n${lines.join("\n")}`);
  }
  return parsed.data;
}

export function displayPrefixFor(env: Pick<CellEnv, "REGION" | "TOPOLOGY_FILE">): string {
  const topology = topologySchema.parse(JSON.parse(readFileSync(env.TOPOLOGY_FILE, "utf8")));
  const region = topology.regions.find((r) => r.code === env.REGION);
  if (!region) throw new Error(`cell: region ${env.REGION} is not in ${env.TOPOLOGY_FILE}`);
  return region.displayPrefix;
}
