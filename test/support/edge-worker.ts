import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";

const root = fileURLToPath(new URL("../../", import.meta.url));
let bundled: Promise<string> | null = null;

/** Bundles the Worker the way wrangler does (ESM, workerd conditions), once per test process. */
export function bundleEdgeWorker(entry = "apps/edge-router/src/index.ts"): Promise<string> {
  if (entry === "apps/edge-router/src/index.ts" && bundled) return bundled;
  const out = `${root}.tmp/edge-${process.pid}-${entry.replace(/\W+/g, "_")}.mjs`;
  const p = (async () => {
    await mkdir(`${root}.tmp`, { recursive: true });
    await build({
      entryPoints: [`${root}${entry}`],
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      mainFields: ["browser", "module", "main"],
      conditions: ["workerd", "worker", "browser", "import"],
      outfile: out,
      logLevel: "silent",
    });
    return out;
  })();
  if (entry === "apps/edge-router/src/index.ts") bundled = p;
  return p;
}

export interface EdgeOptions {
  catalogUrl: string;
  cellUrls: Record<string, string>;
  jwtSecret: string;
  internalToken: string;
  snapshotTtlSeconds?: number;
  cellTimeoutMs?: number;
}

export interface RunningEdge {
  mf: Miniflare;
  url: string;
  close(): Promise<void>;
}

/** The real Worker in workerd via Miniflare, reachable over loopback HTTP. */
export async function startEdge(o: EdgeOptions): Promise<RunningEdge> {
  const scriptPath = await bundleEdgeWorker();
  // Miniflare 5 (the one wrangler 4.164 ships) reads the classic option shape through its shim.
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      name: "edge",
      modules: true,
      scriptPath,
      compatibilityDate: "2026-11-01",
      kvNamespaces: ["ROUTING", "PROJECTIONS", "REFERENCE"],
      bindings: {
        CATALOG_URL: o.catalogUrl,
        CELL_URLS: JSON.stringify(o.cellUrls),
        AUTH_JWT_SECRET: o.jwtSecret,
        INTERNAL_TOKEN: o.internalToken,
        SIMULATION: "true",
        EDGE_REGION: "eu",
        SNAPSHOT_TTL_SECONDS: String(o.snapshotTtlSeconds ?? 60),
        CELL_TIMEOUT_MS: String(o.cellTimeoutMs ?? 1500),
        CATALOG_TIMEOUT_MS: "1000",
        REFERENCE_TTL_SECONDS: "300",
      },
      host: "127.0.0.1",
      port: 0,
    }),
  );
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return { mf, url, close: () => mf.dispose() };
}
