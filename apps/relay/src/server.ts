import { serveStatus } from "@homeroute/service-kit";
import type { RelayEnv } from "./env.js";
import { createRelayMetrics } from "./metrics.js";
import { Relay } from "./relay.js";

export interface RunningRelay {
  relay: Relay;
  url: string;
  close(): Promise<void>;
}

/** The relay plus its status endpoint (backlog, oldest unpublished age): GET /status, /healthz, /metrics. */
export async function startRelay(env: RelayEnv): Promise<RunningRelay> {
  const relay = new Relay(env);
  await relay.start();
  const registry = createRelayMetrics(relay, env.REGION);
  const http = await serveStatus(() => relay.status(), env.PORT, env.HOST, registry);
  return {
    relay,
    url: http.url,
    async close() {
      await http.close();
      await relay.stop();
    },
  };
}
