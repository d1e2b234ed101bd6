import { loadEnv } from "@homeroute/service-kit";
import { z } from "zod";

export const projectorEnvSchema = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//),
  NATS_URL: z.string().regex(/^nats:\/\//),
  /** Source regions whose streams this projector consumes. */
  REGIONS: z
    .string()
    .default("ap-id,ap-sg,eu,us,ap-au")
    .transform((s) =>
      s
        .split(",")
        .map((r) => r.trim())
        .filter(Boolean),
    ),
  SUBJECT_ROOT: z
    .string()
    .regex(/^[a-z][a-z0-9]{0,15}$/)
    .default("gr"),
  EDGE_URL: z.url().optional(),
  CATALOG_URL: z.url().optional(),
  /** Cells by region, for DR standby delivery (JSON object region → URL). */
  CELL_URLS: z
    .string()
    .default("{}")
    .transform((s) => z.record(z.string(), z.url()).parse(JSON.parse(s))),
  INTERNAL_TOKEN: z.string().min(16),
  PORT: z.coerce.number().int().min(0).max(65535).default(0),
  HOST: z.string().default("127.0.0.1"),
  /** Flush pending edge updates at least this often, or after this many. */
  PUSH_INTERVAL_MS: z.coerce.number().int().positive().default(50),
  PUSH_BATCH: z.coerce.number().int().positive().default(200),
  LOG_LEVEL: z.enum(["info", "silent"]).default("info"),
});
export type ProjectorEnv = z.infer<typeof projectorEnvSchema>;

export function loadProjectorEnv(source: NodeJS.ProcessEnv = process.env): ProjectorEnv {
  return loadEnv("projector", projectorEnvSchema, source);
}
