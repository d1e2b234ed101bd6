// Migration figures (issue 7): copy throughput (rows/s) and the write-freeze window at 1k, 10k and
// 50k cases. Real cells, catalog, Worker (Miniflare), NATS, relays, projector. For each size a
// tenant's cases are written with the standby copy stopped, so the first migration copies them all
// (cold copy); then the tenant is moved back and forth while a writer keeps writing through the
// edge (warm copies), which gives the freeze samples. The freeze is reported twice: as the catalog
// measures it (source fenced → target live) and as the writer saw it (longest gap between two
// acknowledged writes, which adds the edges' snapshot refresh).
// Run: pnpm bench:migration [sizes, default 1000,10000,50000] (not part of the test suite).
import { cpus } from "node:os";
import { startEventPipeline } from "../test/support/event-pipeline.js";
import { createAtCell, edgeCall, placeTenant, startPlanet } from "../test/support/planet.js";
import { summarize } from "./stats.js";

const SIZES = (process.argv[2] ?? "1000,10000,50000").split(",").map(Number);
const WARM_ROUNDS = Number(process.env.WARM_ROUNDS ?? 6);
const newCase = { category: "licensing", countryCode: "SG", summary: "migration bench", channel: "web" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const p = await startPlanet("bench_migration", ["ap-sg", "ap-id"]);
const ev = await startEventPipeline(p);

interface Finished {
  status: string;
  stepTimings: Record<string, number>;
  writeFreezeMs: number;
  validation: { tables: { name: string; sourceCount: number }[] };
  errorMessage: string | null;
}

async function migrate(tenantId: string, targetRegion: string, onCopying?: () => Promise<void>) {
  const started = await edgeCall(
    p,
    "POST",
    `/v1/ops/tenants/${tenantId}/migrations`,
    { targetRegion, reason: "bench" },
    { token: p.opsToken },
  );
  if (started.status !== 202) throw new Error(`migration refused: ${JSON.stringify(started.body)}`);
  if (onCopying) await onCopying();
  for (;;) {
    const m = await edgeCall(p, "GET", `/v1/ops/migrations/${started.body.migrationId}`, undefined, {
      token: p.opsToken,
    });
    if (m.body.status === "COMPLETED") return m.body as Finished;
    if (m.body.status === "ROLLED_BACK")
      throw new Error(`rolled back: ${m.body.errorMessage} ${JSON.stringify(m.body.validation)}`);
    await sleep(50);
  }
}

/** One client writing through the edge, one command at a time; gaps between acks bound the freeze. */
function writer(tenantId: string, token: string) {
  let running = true;
  let lastAck = Date.now();
  let maxGap = 0;
  const outcomes: Record<string, number> = {};
  const done = (async () => {
    while (running) {
      // A reset connection is an outcome to count (the write is unacknowledged), not a crash.
      const r = await edgeCall(p, "POST", `/v1/tenants/${tenantId}/cases`, newCase, { token }).catch(
        (e: Error) => ({ status: 0, body: { code: (e.cause as Error | undefined)?.message ?? e.message } }),
      );
      const k = r.status === 201 ? "201" : `${r.status} ${r.body.code}`;
      outcomes[k] = (outcomes[k] ?? 0) + 1;
      if (r.status === 201) {
        maxGap = Math.max(maxGap, Date.now() - lastAck);
        lastAck = Date.now();
      } else await sleep(20);
    }
  })();
  return {
    outcomes,
    resetGap() {
      maxGap = 0;
      lastAck = Date.now();
    },
    gap: () => maxGap,
    async stop() {
      running = false;
      await done;
    },
  };
}

const rows: string[] = [];
try {
  for (const size of SIZES) {
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter"]);
    const token = t.tokens.reporter!;
    // Cold: the target's standby gets nothing while the cases are written.
    await ev.stopProjector();
    const loadStarted = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 24 }, async () => {
        while (next < size) {
          next++;
          // A reused keep-alive connection the server just closed resets; such a write is retried.
          const r = await createAtCell(p, "ap-sg", t.tenantId, token, newCase).catch(() =>
            createAtCell(p, "ap-sg", t.tenantId, token, newCase),
          );
          if (r.status !== 201) throw new Error(`seed write failed: ${r.status} ${await r.text()}`);
        }
      }),
    );
    const loadMs = Date.now() - loadStarted;
    const w = writer(t.tenantId, token);
    const cold = await migrate(t.tenantId, "ap-id", () => ev.startProjectorAgain());
    const copiedRows = cold.validation.tables.reduce((a, x) => a + x.sourceCount, 0);
    const copyS = (cold.stepTimings.copyMs ?? 0) / 1000;
    const freezes = [cold.writeFreezeMs];
    const seen: number[] = [];
    for (let i = 0; i < WARM_ROUNDS; i++) {
      await sleep(300);
      w.resetGap();
      const m = await migrate(t.tenantId, i % 2 === 0 ? "ap-sg" : "ap-id");
      await sleep(300);
      freezes.push(m.writeFreezeMs);
      seen.push(w.gap());
    }
    await w.stop();
    const f = summarize(freezes);
    const g = summarize(seen);
    const v = cold.stepTimings;
    rows.push(
      `| ${size} | ${copiedRows} | ${copyS.toFixed(1)} | ${Math.round(copiedRows / Math.max(copyS, 0.001))} | ` +
        `${v.chainsVerifiedMs! - v.copyMs!} | ${v.cutoverMs! - v.chainsVerifiedMs!} / ${v.validateMs! - v.cutoverMs!} / ${v.completedMs! - v.validateMs!} | ` +
        `${Math.round(f.p50)} / ${Math.round(f.p99)} (n=${f.n}) | ${Math.round(g.p50)} / ${Math.round(g.p99)} (n=${g.n}) | ` +
        `${JSON.stringify(w.outcomes)} |`,
    );
    console.info(
      `size ${size}: seeded in ${(loadMs / 1000).toFixed(1)} s; cold ${JSON.stringify(cold.stepTimings)}; freezes ${freezes.join(",")}; writer gaps ${seen.join(",")}`,
    );
  }
} finally {
  await ev.close();
  await p.close();
}

console.info(`\nMachine: ${cpus().length}× ${cpus()[0]?.model}; Node ${process.version}`);
console.info(
  "| cases | rows copied (all tables) | cold copy s | copy rows/s | cold: audit chains verified before the freeze, ms | cold: drain / validate / complete ms | freeze p50 / p99 ms (catalog) | freeze p50 / p99 ms (writer's longest gap) | writer outcomes |",
);
console.info("|---|---|---|---|---|---|---|---|---|");
for (const r of rows) console.info(r);
