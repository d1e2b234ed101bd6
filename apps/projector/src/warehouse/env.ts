import { fileURLToPath } from "node:url";
import { loadEnv } from "@homeroute/service-kit";
import { z } from "zod";

const regionList = z
  .string()
  .default("ap-id,ap-sg,eu,us,ap-au")
  .transform((s) =>
    s
      .split(",")
      .map((r) => r.trim())
      .filter(Boolean),
  );

export const warehouseEnvSchema = z.object({
  /** The warehouse's own database, in the analytics region. */
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//),
  NATS_URL: z.string().regex(/^nats:\/\//),
  REGIONS: regionList,
  SUBJECT_ROOT: z
    .string()
    .regex(/^[a-z][a-z0-9]{0,15}$/)
    .default("gr"),
  /** Where the warehouse sits: the residency module decides what may be ingested there. */
  ANALYTICS_REGION: z.string().default("us"),
  /** Tenants' policy codes come from the catalog's routing snapshot. */
  CATALOG_URL: z.url().optional(),
  /** Policy rules (analytics_allowed, analytics mode) from the topology file the catalog seeds from. */
  TOPOLOGY_FILE: z
    .string()
    .default(fileURLToPath(new URL("../../../../infra/topology.json", import.meta.url))),
  INTERNAL_TOKEN: z.string().min(16),
  /** A region whose watermark is older than this is reported stale. */
  STALE_AFTER_SECONDS: z.coerce.number().positive().default(60),
  PORT: z.coerce.number().int().min(0).max(65535).default(0),
  HOST: z.string().default("127.0.0.1"),
  LOG_LEVEL: z.enum(["info", "silent"]).default("info"),
});
export type WarehouseEnv = z.infer<typeof warehouseEnvSchema>;

export function loadWarehouseEnv(source: NodeJS.ProcessEnv = process.env): WarehouseEnv {
  return loadEnv("warehouse", warehouseEnvSchema, source);
}
