import { createServer, type Server } from "node:http";
import { type ServerType, serve } from "@hono/node-server";
import postgres, { type Options, type Sql } from "postgres";
import type { Registry } from "prom-client";
import { exitWhenParentDies } from "./lifecycle.js";
import { enableProcessMetrics, METRICS_CONTENT_TYPE, metricsText } from "./metrics.js";

// What every Node service of homeroute does the same way: its Postgres client, its listening
// socket, a tiny status endpoint for background workers, and its process lifecycle.

/** int8 columns (versions, epochs, sizes, sequences) as JS numbers: they never approach 2^53. */
const int8AsNumber = {
  to: 20,
  from: [20],
  serialize: (x: number) => String(x),
  parse: (x: string) => Number(x),
};

export function createSql(url: string, options: Options<Record<string, postgres.PostgresType>> = {}): Sql {
  return postgres(url, {
    onnotice: () => {},
    // Fail fast when the database is cut off; callers answer 503, never hang for 30 s.
    connect_timeout: 5,
    ...options,
    types: { bigint: int8AsNumber, ...options.types },
  }) as unknown as Sql;
}

export interface Listening {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Serves a fetch handler (a Hono app) on host:port; port 0 picks a free one. */
export async function listen(
  fetch: (req: Request) => Response | Promise<Response>,
  port: number,
  host: string,
): Promise<Listening> {
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch, port, hostname: host }, () => resolve(s));
  });
  const address = server.address();
  const actual = typeof address === "object" && address ? address.port : port;
  return {
    port: actual,
    url: `http://${host}:${actual}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

/**
 * GET /status (JSON from `status`), /healthz and, with a registry, /metrics: for workers without an
 * HTTP API (relay, projector).
 */
export async function serveStatus(
  status: () => Promise<unknown>,
  port: number,
  host: string,
  registry?: Registry,
): Promise<Listening> {
  const server: Server = createServer((req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
      return;
    }
    if (req.url === "/status") {
      status()
        .then((s) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(s)))
        .catch(() =>
          res.writeHead(503, { "content-type": "application/json" }).end('{"code":"REGION_UNAVAILABLE"}'),
        );
      return;
    }
    if (req.url === "/metrics" && registry) {
      metricsText(registry)
        .then((text) => res.writeHead(200, { "content-type": METRICS_CONTENT_TYPE }).end(text))
        .catch(() => res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n"));
      return;
    }
    res
      .writeHead(404, { "content-type": "application/problem+json" })
      .end('{"code":"NOT_FOUND","status":404}');
  });
  await new Promise<void>((r) => server.listen(port, host, () => r()));
  const addr = server.address();
  const actual = typeof addr === "object" && addr ? addr.port : port;
  return {
    port: actual,
    url: `http://${host}:${actual}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A service's main: start it, stop it cleanly on SIGINT/SIGTERM, exit 1 with the reason if it cannot start. */
export async function runService(start: () => Promise<{ close(): Promise<void> }>): Promise<void> {
  exitWhenParentDies();
  enableProcessMetrics();
  try {
    const running = await start();
    const stop = async () => {
      await running.close();
      process.exit(0);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
