import { serveStatus } from "@homeroute/service-kit";
import type { ProjectorEnv } from "./env.js";
import { createProjectorMetrics } from "./metrics.js";
import { Projector } from "./projector.js";

export interface RunningProjector {
  projector: Projector;
  url: string;
  close(): Promise<void>;
}

/** The projector plus GET /status (per-region watermarks and lag, standby backlog), /healthz, /metrics. */
export async function startProjector(env: ProjectorEnv): Promise<RunningProjector> {
  const projector = new Projector(env);
  await projector.start();
  const registry = createProjectorMetrics(projector.sql, () => projector.standbyLag());
  const http = await serveStatus(() => projector.status(), env.PORT, env.HOST, registry);
  return {
    projector,
    url: http.url,
    async close() {
      await http.close();
      await projector.stop();
    },
  };
}
