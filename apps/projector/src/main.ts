import { runService } from "@homeroute/service-kit";
import { loadProjectorEnv } from "./env.js";
import { startProjector } from "./server.js";

await runService(() => startProjector(loadProjectorEnv()));
