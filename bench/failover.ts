// Failover figures (issue 6): RTO = promotion requested → first write accepted at the new home,
// with the old home fenced by acknowledgement, by lease expiry and by an operator's override; and
// RPO under load = time between the last write the old home acknowledged and the last write the
// standby had when the home died. Real cells, catalog, Worker (Miniflare), NATS, relays, projector.
// Run: pnpm bench:failover (not part of the test suite).
import { cpus } from "node:os";
import { startEventPipeline } from "../test/support/event-pipeline.js";
import { edgeCall, placeTenant, startPlanet } from "../test/support/planet.js";

const LEASE_TTL = 3;
const ROUNDS = 3;
const newCase = { category: "fraud", countryCode: "SG", summary: "failover bench", channel: "web" };

const p = await startPlanet("bench_failover", ["ap-sg", "ap-id"], { leaseTtlSeconds: LEASE_TTL });
const ev = await startEventPipeline(p);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function firstWriteAt(
  tenantId: string,
  token: string,
  region: string,
  started: number,
): Promise<number> {
  for (;;) {
    const r = await edgeCall(p, "POST", `/v1/tenants/${tenantId}/cases`, newCase, { token });
    if (r.status === 201 && r.headers.get("x-served-by-region") === region) return Date.now() - started;
    await sleep(20);
  }
}

async function standbyHas(tenantId: string, n: number) {
  for (let i = 0; i < 200; i++) {
    const [r] = await p.cells["ap-id"]!.deps.sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM regulatory_case WHERE tenant_id = ${tenantId}`;
    if (r!.n >= n) return;
    await sleep(50);
  }
}

const results: Record<string, number[]> = { ack: [], lease_expiry: [], override: [] };
const rpo: number[] = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of ["ack", "lease_expiry", "override"] as const) {
      const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter"]);
      const token = t.tokens.reporter!;
      for (let i = 0; i < 5; i++)
        await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token });
      await standbyHas(t.tenantId, 5);
      if (mode !== "ack") await p.stopCell("ap-sg");
      const started = Date.now();
      const promo = await edgeCall(
        p,
        "POST",
        `/v1/ops/tenants/${t.tenantId}/promotions`,
        {
          targetRegion: "ap-id",
          reason: "bench",
          approvedBy: "bench",
          ...(mode === "override" ? { confirmedSourceDown: true } : {}),
        },
        { token: p.opsToken },
      );
      if (promo.status !== 200 || promo.body.fencedBy !== mode)
        throw new Error(`promotion: ${promo.status} ${JSON.stringify(promo.body)}`);
      results[mode]!.push(await firstWriteAt(t.tenantId, token, "ap-id", started));
      if (mode !== "ack") await p.restartCell("ap-sg");
    }
    // RPO under load: 50 writes/s at the home, then the home dies mid-stream.
    const t = await placeTenant(p, "ap-sg", "APAC_SHARED", ["reporter"]);
    const token = t.tokens.reporter!;
    let lastAckAt = 0;
    let running = true;
    const load = (async () => {
      while (running) {
        const r = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token });
        if (r.status === 201) lastAckAt = Date.parse(r.body.createdAt);
        await sleep(20);
      }
    })();
    await sleep(3000);
    await p.stopCell("ap-sg");
    running = false;
    await load;
    const promo = await edgeCall(
      p,
      "POST",
      `/v1/ops/tenants/${t.tenantId}/promotions`,
      {
        targetRegion: "ap-id",
        reason: "bench",
        approvedBy: "bench",
        confirmedSourceDown: true,
      },
      { token: p.opsToken },
    );
    const upTo = promo.body.unreplicatedWindow.replicatedUpTo as string | null;
    rpo.push(upTo ? Math.max(0, lastAckAt - Date.parse(upTo)) : Number.NaN);
    await p.restartCell("ap-sg");
  }
} finally {
  await ev.close();
  await p.close();
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: s[Math.floor(s.length / 2)], max: s[s.length - 1], all: xs.join(", ") };
};
console.log(
  `failover bench — ${new Date().toISOString()} — ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}, lease TTL ${LEASE_TTL} s, ${ROUNDS} rounds`,
);
console.log("| fenced by | RTO p50 ms | RTO max ms | samples |");
console.log("|---|---|---|---|");
for (const [k, v] of Object.entries(results)) {
  const s = stats(v);
  console.log(`| ${k} | ${s.p50} | ${s.max} | ${s.all} |`);
}
const r = stats(rpo);
console.log(
  `\nRPO under ~50 writes/s (last acknowledged write at the dead home − last write the standby had): p50 ${r.p50} ms, max ${r.max} ms (samples ${r.all})`,
);
process.exit(0);
