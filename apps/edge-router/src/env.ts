import { regionCode } from "@homeroute/contracts";
import { z } from "zod";

/** Worker bindings (wrangler.toml): KV namespaces, vars and secrets. */
export interface EdgeBindings {
  ROUTING: KVNamespace;
  PROJECTIONS: KVNamespace;
  REFERENCE: KVNamespace;
  INTAKE: DurableObjectNamespace;
  CATALOG_URL: string;
  CELL_URLS: string;
  AUTH_JWT_SECRET: string;
  INTERNAL_TOKEN: string;
  SIMULATION?: string;
  EDGE_REGION?: string;
  SNAPSHOT_TTL_SECONDS?: string;
  CELL_TIMEOUT_MS?: string;
  CATALOG_TIMEOUT_MS?: string;
  REFERENCE_TTL_SECONDS?: string;
  PUBLIC_STALE_AFTER_SECONDS?: string;
  AUTHZ_CACHE_SECONDS?: string;
  OPS_TIMEOUT_MS?: string;
}

const edgeConfigSchema = z.object({
  CATALOG_URL: z.url(),
  CELL_URLS: z.string().transform((s, ctx) => {
    try {
      return z.record(regionCode, z.url()).parse(JSON.parse(s));
    } catch {
      ctx.addIssue({ code: "custom", message: "a JSON object region → URL" });
      return z.NEVER;
    }
  }),
  AUTH_JWT_SECRET: z.string().min(32),
  INTERNAL_TOKEN: z.string().min(16),
  SIMULATION: z.enum(["true", "false"]).default("false"),
  EDGE_REGION: regionCode.default("eu"),
  SNAPSHOT_TTL_SECONDS: z.coerce.number().positive().default(5),
  CELL_TIMEOUT_MS: z.coerce.number().int().positive().default(3000),
  CATALOG_TIMEOUT_MS: z.coerce.number().int().positive().default(1500),
  REFERENCE_TTL_SECONDS: z.coerce.number().positive().default(300),
  /** A projection whose home region's watermark is older than this is served marked stale. */
  PUBLIC_STALE_AFTER_SECONDS: z.coerce.number().positive().default(60),
  /** How long an edge isolate may use roles it read, for non-sensitive checks. */
  AUTHZ_CACHE_SECONDS: z.coerce.number().positive().default(10),
  /** Bound for proxied control-plane calls; above the lease TTL, since a promotion may wait it out. */
  OPS_TIMEOUT_MS: z.coerce.number().int().positive().default(65_000),
});
export type EdgeConfig = z.infer<typeof edgeConfigSchema> & { jwtKey: Uint8Array };

let memo: { source: EdgeBindings; config: EdgeConfig } | null = null;

/** Validated once per isolate (STYLE §2); a misconfigured edge fails loudly, naming the variable. */
export function edgeConfig(env: EdgeBindings): EdgeConfig {
  if (memo && memo.source === env) return memo.config;
  const parsed = edgeConfigSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`edge: invalid bindings: ${parsed.error.issues.map((i) => i.path.join(".")).join(", ")}`);
  }
  const config = { ...parsed.data, jwtKey: new TextEncoder().encode(parsed.data.AUTH_JWT_SECRET) };
  memo = { source: env, config };
  return config;
}
