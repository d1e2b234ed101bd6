import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { type CliContext, CliError, call, edge, signToken } from "./context.js";

// A DR drill in the simulation (issue 6): kill the tenant's home cell, promote to its DR region
// (the drill itself confirms the source is down), measure RTO as "promotion requested → first write
// accepted at the new home", take RPO from the promotion's unreplicated window, heal the old home,
// fail back (fenced by acknowledgement this time), and record the figures as the tenant's DR readiness.

interface Demo {
  users: { userId: string; tenantId: string; roles: string[] }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runDrill(ctx: CliContext, tenantId: string, log: (line: string) => void) {
  if (!ctx.simUrl)
    throw new CliError("CONFIG", "a drill breaks things on purpose: it runs only against the simulation");
  const base = edge(ctx);
  const tenant = (await call(ctx, "GET", `${base}/v1/ops/tenants/${tenantId}`)) as {
    homeRegion: string;
    drTarget: string | null;
    residencyPolicy: string;
  };
  if (!tenant.drTarget) {
    throw new CliError(
      "RESIDENCY_VIOLATION",
      `policy ${tenant.residencyPolicy} allows no DR target: nothing to drill`,
    );
  }
  const topoFile = resolve(process.env.SIM_STATE_DIR ?? ".sim", "topology.json");
  const demo = existsSync(topoFile)
    ? (JSON.parse(readFileSync(topoFile, "utf8")) as { demo: Demo }).demo
    : null;
  const writer = demo?.users.find(
    (u) => u.tenantId === tenantId && u.roles.some((r) => ["reporter", "investigator"].includes(r)),
  );
  if (!writer) throw new CliError("CONFIG", "no demo user of this tenant can create cases");
  const token = await signToken(ctx, { sub: writer.userId, tid: tenantId }, 600);
  const write = async () => {
    const res = await fetch(`${base}/v1/tenants/${tenantId}/cases`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "idempotency-key": crypto.randomUUID(),
        "content-type": "application/json",
      },
      body: JSON.stringify({
        category: "fraud",
        countryCode: "SG",
        summary: "DR drill probe",
        channel: "web",
      }),
    });
    return { status: res.status, servedBy: res.headers.get("x-served-by-region") };
  };
  const from = tenant.homeRegion;
  const to = tenant.drTarget;

  log(`drill: ${tenantId} home ${from}, DR target ${to}`);
  if ((await write()).status !== 201)
    throw new CliError("REGION_UNAVAILABLE", `the home ${from} does not take writes before the drill`);
  await sleep(1500); // let the probe replicate, as steady traffic would
  const fault = (await call(ctx, "POST", `${ctx.simUrl}/sim/faults`, {
    target: `cell:${from}`,
    kind: "kill",
  })) as { faultId: string };
  const killedAt = Date.now();
  log(`drill: killed cell:${from}`);
  const promotion = (await call(ctx, "POST", `${base}/v1/ops/tenants/${tenantId}/promotions`, {
    targetRegion: to,
    reason: "DR drill",
    approvedBy: "globalctl drill",
    confirmedSourceDown: true,
  })) as { fencedBy: string; unreplicatedWindow: { replicatedUpTo: string | null } };
  let accepted = null;
  for (let i = 0; i < 300 && !accepted; i++) {
    const w = await write();
    if (w.status === 201 && w.servedBy === to) accepted = w;
    else await sleep(100);
  }
  const rtoMs = Date.now() - killedAt;
  if (!accepted)
    throw new CliError("REGION_UNAVAILABLE", `no write was accepted at ${to} after the promotion`);
  const replicatedUpTo = promotion.unreplicatedWindow.replicatedUpTo;
  const rpoSeconds = replicatedUpTo ? Math.max(0, (killedAt - Date.parse(replicatedUpTo)) / 1000) : null;
  log(
    `drill: ${to} took writes after ${rtoMs} ms (fenced by ${promotion.fencedBy}); RPO ≤ ${rpoSeconds ?? "?"} s`,
  );

  await call(ctx, "DELETE", `${ctx.simUrl}/sim/faults/${fault.faultId}`);
  log(`drill: cell:${from} restarted; failing back`);
  let failedBack: "yes" | "no" = "no";
  let failback: unknown = null;
  try {
    await sleep(1500);
    failback = await call(ctx, "POST", `${base}/v1/ops/tenants/${tenantId}/promotions`, {
      targetRegion: from,
      reason: "DR drill fail-back",
      approvedBy: "globalctl drill",
    });
    for (let i = 0; i < 100 && failedBack === "no"; i++) {
      const w = await write();
      if (w.status === 201 && w.servedBy === from) failedBack = "yes";
      else await sleep(100);
    }
  } catch (e) {
    log(`drill: fail-back refused: ${(e as Error).message}`);
  }
  const result = { promotion, failback };
  return call(ctx, "POST", `${base}/v1/ops/dr-drills`, {
    tenantId,
    fromRegion: from,
    toRegion: to,
    fencedBy: promotion.fencedBy,
    rtoMs,
    rpoSeconds,
    failedBack,
    result,
  });
}
