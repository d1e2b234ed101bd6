import { runService } from "@homeroute/service-kit";
import { loadDashboardEnv } from "./env.js";
import { startDashboard } from "./server.js";

await runService(() => startDashboard(loadDashboardEnv()));
