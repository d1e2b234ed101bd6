import { readFileSync } from "node:fs";
import { createHono, createLogger, type Listening, listen } from "@homeroute/service-kit";
import { Collector } from "./collect.js";
import type { DashboardEnv } from "./env.js";

// The ops dashboard (DESIGN §14): one page, polling GET /api/state, which this server builds from
// the catalog's ops API and every service's /metrics. Read-only: it holds an operator token but
// only ever GETs.

const asset = (name: string) => readFileSync(new URL(`./public/${name}`, import.meta.url), "utf8");

export interface RunningDashboard extends Listening {
  collector: Collector;
}

export function dashboardApp(env: DashboardEnv, collector: Collector) {
  const base = createLogger(env.LOG_LEVEL, "global");
  // The page polls every second: successful polls are not worth a log line each.
  const log = {
    ...base,
    request: (l: Parameters<typeof base.request>[0]) => {
      if (l.route === "/api/state" && l.status === 200) return;
      base.request({ ...l, service: "ops-dashboard" });
    },
  };
  const app = createHono({ region: "global", log });
  const files = { html: asset("index.html"), js: asset("app.js"), css: asset("style.css") };
  const noStore = { "cache-control": "no-store" };
  app.get("/", (c) => c.html(files.html, 200, noStore));
  app.get("/app.js", (c) =>
    c.body(files.js, 200, { ...noStore, "content-type": "text/javascript; charset=utf-8" }),
  );
  app.get("/style.css", (c) =>
    c.body(files.css, 200, { ...noStore, "content-type": "text/css; charset=utf-8" }),
  );
  app.get("/api/state", (c) => c.json(collector.state(), 200, noStore));
  app.get("/healthz", (c) => c.json({ ok: true }));
  return app;
}

export async function startDashboard(env: DashboardEnv): Promise<RunningDashboard> {
  const collector = new Collector(env);
  collector.start();
  const http = await listen(dashboardApp(env, collector).fetch, env.PORT, env.HOST);
  return {
    ...http,
    collector,
    async close() {
      collector.stop();
      await http.close();
    },
  };
}
