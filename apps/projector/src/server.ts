import { createServer, type Server } from "node:http";
import type { ProjectorEnv } from "./env.js";
import { Projector } from "./projector.js";

export interface RunningProjector {
  projector: Projector;
  url: string;
  close(): Promise<void>;
}

/** The projector plus GET /status (per-region watermarks and lag) and /healthz. */
export async function startProjector(env: ProjectorEnv): Promise<RunningProjector> {
  const projector = new Projector(env);
  await projector.start();
  const server: Server = createServer((req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
      return;
    }
    if (req.url === "/status") {
      projector
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
    projector,
    url: `http://${env.HOST}:${port}`,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await projector.stop();
    },
  };
}
