import { fileURLToPath } from "node:url";
import { regionCode } from "@homeroute/contracts";
import { loadEnv } from "@homeroute/service-kit";
import { z } from "zod";

const infra = (f: string) => fileURLToPath(new URL(`../../../infra/${f}`, import.meta.url));

// Validated once at startup; a missing or malformed variable stops the process with what is wrong.
export const catalogEnvSchema = z.object({
  REGION: regionCode.default("eu"),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default("127.0.0.1"),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "a postgres:// URL"),
  INTERNAL_TOKEN: z.string().min(16, "at least 16 characters"),
  AUTH_JWT_SECRET: z.string().min(32, "at least 32 characters (HS256 key)"),
  TOPOLOGY_FILE: z.string().default(infra("topology.json")),
  REFERENCE_DATA_FILE: z.string().default(infra("reference-data.json")),
  /** JSON object region → cell base URL. */
  CELL_URLS: z
    .string()
    .default("{}")
    .transform((s, ctx) => {
      const r = z.record(regionCode, z.url()).safeParse(JSON.parse(s));
      if (!r.success) {
        ctx.addIssue({ code: "custom", message: 'a JSON object like {"ap-id":"http://127.0.0.1:4101"}' });
        return z.NEVER;
      }
      return r.data;
    }),
  /** Relays' status endpoints (region → URL) and the projector's: backlog and lag for /v1/ops/regions. */
  RELAY_URLS: z
    .string()
    .default("{}")
    .transform((s) => z.record(regionCode, z.url()).parse(JSON.parse(s))),
  PROJECTOR_URL: z.url().optional(),
  /** The warehouse in the analytics region: reports are built there (GET /v1/reports/*). */
  WAREHOUSE_URL: z.url().optional(),
  /** The edge's base URL; snapshots are pushed there as they are published. */
  EDGE_URL: z.url().optional(),
  /** Write lease length granted to cells (30 s in the simulation, seconds in tests). */
  LEASE_TTL_SECONDS: z.coerce.number().positive().default(30),
  SYNC_INTERVAL_MS: z.coerce.number().int().positive().default(1000),
  HEALTH_INTERVAL_MS: z.coerce.number().int().positive().default(2000),
  LOG_LEVEL: z.enum(["info", "silent"]).default("info"),
});
export type CatalogEnv = z.infer<typeof catalogEnvSchema>;

export function loadCatalogEnv(source: NodeJS.ProcessEnv = process.env): CatalogEnv {
  return loadEnv("catalog", catalogEnvSchema, source);
}
