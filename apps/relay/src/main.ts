import { runService } from "@homeroute/service-kit";
import { loadRelayEnv } from "./env.js";
import { startRelay } from "./server.js";

await runService(() => startRelay(loadRelayEnv()));
