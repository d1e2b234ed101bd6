import { serveStatus } from "@homeroute/service-kit";
import type { RelayEnv } from "./env.js";
import { Relay } from "./relay.js";

export interface RunningRelay {
  relay: Relay;
  url: string;
  close(): Promise<void>;
}

/** The relay plus its status endpoint (backlog, oldest unpublished age): GET /status, /healthz. */
export async function startRelay(env: RelayEnv): Promise<RunningRelay> {
  const relay = new Relay(env);
  await relay.start();
  const http = await serveStatus(() => relay.status(), env.PORT, env.HOST);
  return {
    relay,
    url: http.url,
    async close() {
      await http.close();
      await relay.stop();
    },
  };
}
