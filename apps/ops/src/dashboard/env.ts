import { loadEnv } from "@homeroute/service-kit";
import { z } from "zod";

const urlMap = z
  .string()
  .transform((s, ctx) => {
    try {
      return z.record(z.string(), z.url()).parse(JSON.parse(s));
    } catch {
      ctx.addIssue({ code: "custom", message: 'expected JSON {"<region>": "<url>"}' });
      return z.NEVER;
    }
  })
  .default({});

/** The dashboard reads what an operator may read: the catalog's ops API and every /metrics. */
export const dashboardEnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(0),
  HOST: z.string().default("127.0.0.1"),
  CATALOG_URL: z.url(),
  /** Cells as the catalog reaches them (in the simulation: through their fault proxies). */
  CELL_URLS: urlMap,
  /** Relay status ports (backlog, /metrics). */
  RELAY_URLS: urlMap,
  PROJECTOR_URL: z.url().optional(),
  EDGE_URL: z.url().optional(),
  /** Only in the simulation: active faults are shown in a banner. */
  SIM_URL: z.url().optional(),
  INTERNAL_TOKEN: z.string().min(16),
  /** Signs the dashboard's own short-lived operator token for /v1/ops/* (dev/test HS256). */
  AUTH_JWT_SECRET: z.string().min(32),
  /** How often the server collects; the page polls /api/state at about the same pace. */
  DASHBOARD_POLL_MS: z.coerce.number().int().min(200).max(60_000).default(1000),
  /** Points of history kept for the charts. */
  DASHBOARD_HISTORY: z.coerce.number().int().min(10).max(3600).default(120),
  /**
   * A region whose last completed backup is older than this is shown stale: 26 h, a daily backup
   * with two hours' slack for the run itself (docs/dashboard.md).
   */
  DASHBOARD_BACKUP_STALE_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .default(26 * 3600),
  LOG_LEVEL: z.enum(["info", "silent"]).default("info"),
});
export type DashboardEnv = z.infer<typeof dashboardEnvSchema>;

export function loadDashboardEnv(source: NodeJS.ProcessEnv = process.env): DashboardEnv {
  return loadEnv("ops dashboard", dashboardEnvSchema, source);
}
