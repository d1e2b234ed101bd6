import { mkdir, readdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isAlive } from "@homeroute/service-kit";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";

const root = fileURLToPath(new URL("../../../", import.meta.url));

/** Bundles the edge Worker the way wrangler does (ESM, workerd conditions). */
export async function bundleEdgeWorker(outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const outfile = join(outDir, `edge-${process.pid}.mjs`);
  // One bundle per process, named by its pid. Those of processes that are gone are removed here
  // rather than at stop, which a Ctrl-C (the whole process group signalled at once) does not
  // always reach; a live process's bundle (a test or bench running beside) is left alone.
  for (const f of await readdir(outDir)) {
    const pid = /^edge-(\d+)\.mjs$/.exec(f)?.[1];
    if (pid && !isAlive(Number(pid))) await rm(join(outDir, f), { force: true });
  }
  await build({
    entryPoints: [join(root, "apps/edge-router/src/index.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    mainFields: ["browser", "module", "main"],
    conditions: ["workerd", "worker", "browser", "import"],
    outfile,
    logLevel: "silent",
  });
  return outfile;
}

export interface EdgeOptions {
  scriptPath: string;
  port: number;
  catalogUrl: string;
  cellUrls: Record<string, string>;
  jwtSecret: string;
  internalToken: string;
  snapshotTtlSeconds?: number;
  cellTimeoutMs?: number;
  /** Directory for KV data that survives restarts; in-memory when absent. */
  persistDir?: string;
  /** More vars (PUBLIC_STALE_AFTER_SECONDS, AUTHZ_CACHE_SECONDS, ...). */
  extraBindings?: Record<string, string>;
}

export interface RunningEdge {
  mf: Miniflare;
  url: string;
  close(): Promise<void>;
}

/** The real Worker in workerd via Miniflare, reachable over loopback HTTP. */
export async function startEdge(o: EdgeOptions): Promise<RunningEdge> {
  // Miniflare 5 (the one wrangler 4.164 ships) reads the classic option shape through its shim.
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      name: "edge",
      modules: true,
      scriptPath: o.scriptPath,
      modulesRoot: dirname(o.scriptPath),
      compatibilityDate: "2026-11-01",
      kvNamespaces: ["ROUTING", "PROJECTIONS", "REFERENCE"],
      durableObjects: { INTAKE: "IntakeQueue" },
      ...(o.persistDir
        ? { kvPersist: join(o.persistDir, "kv"), durableObjectsPersist: join(o.persistDir, "do") }
        : {}),
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
        ...o.extraBindings,
      },
      host: "127.0.0.1",
      port: o.port,
    }),
  );
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return { mf, url, close: () => mf.dispose() };
}
