import { createServer, type Server } from "node:http";
import type { RelayEnv } from "./env.js";
import { Relay } from "./relay.js";

export interface RunningRelay {
  relay: Relay;
  url: string;
  close(): Promise<void>;
}

/** The relay plus a tiny status endpoint (backlog, oldest unpublished age): GET /status, /healthz. */
export async function startRelay(env: RelayEnv): Promise<RunningRelay> {
  const relay = new Relay(env);
  await relay.start();
  const server: Server = createServer((req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
      return;
    }
    if (req.url === "/status") {
      relay
        .status()
        .then((s) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(s)))
        .catch(() =>
          res.writeHead(503, { "content-type": "application/json" }).end('{"code":"REGION_UNAVAILABLE"}'),
        );
      return;
    }
    res
      .writeHead(404, { "content-type": "application/problem+json" })
      .end('{"code":"NOT_FOUND","status":404}');
  });
  await new Promise<void>((r) => server.listen(env.PORT, env.HOST, () => r()));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : env.PORT;
  return {
    relay,
    url: `http://${env.HOST}:${port}`,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await relay.stop();
    },
  };
}
