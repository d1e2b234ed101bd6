import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { uuidv7 } from "@homeroute/ids";
import { signDevToken } from "@homeroute/service-kit";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Hit, scanDatabase, scanStreams } from "./support/residency-sweep.js";
import { type SimProcess, startSimProcess } from "./support/sim.js";
import { until } from "./support/until.js";

// The residency sweep (issue 8): a busy day in the one-command simulation — creates, transitions,
// evidence (one upload deferred while its region's store is down, one refused), exports allowed
// and refused, backups into allowed and disallowed stores, a restore, a migration, a promotion —
// then every store the planet has is scanned for each tenant's personal data: each region's cell
// database (with its standby copies and audit replicas), restored databases, the catalog's, the
// projector's and the warehouse's databases, every region's event and audit JetStream streams,
// each region's evidence object store and cell spool, the export and backup stores, the edge's
// persisted KV and every process's log. No ID_STRICT or EU_GDPR personal field may sit outside
// the tenant's allowed regions.

const REGIONS = ["ap-id", "ap-sg", "eu", "us", "ap-au"];
const ALLOWED: Record<string, string[]> = {
  ID_STRICT: ["ap-id"],
  EU_GDPR: ["eu"],
  APAC_SHARED: ["ap-id", "ap-sg", "ap-au"],
  GLOBAL_STANDARD: REGIONS,
};
/** A store serving every region (control plane, global read models, the edge) is region "*". */
const EVERYWHERE = "*";
const BACKUP_REGIONS: Record<string, string[]> = {
  ID_STRICT: ["ap-id"],
  EU_GDPR: ["eu"],
  APAC_SHARED: ["ap-sg", "ap-au"],
  GLOBAL_STANDARD: REGIONS,
};
// Exports of the busy day: [policy, kind, target region, status]. Each allowed one writes the
// tenant's rows (or, anonymised, counts only) into the target region's export store, scanned below.
const EXPORTS: [string, "support" | "analytics" | "backup", string, number][] = [
  ["ID_STRICT", "support", "ap-id", 201],
  ["ID_STRICT", "support", "ap-sg", 451],
  ["ID_STRICT", "analytics", "us", 451],
  ["EU_GDPR", "support", "eu", 201],
  ["EU_GDPR", "support", "us", 451],
  ["EU_GDPR", "analytics", "us", 201], // anonymised aggregates
  ["APAC_SHARED", "backup", "ap-au", 201],
  ["APAC_SHARED", "support", "eu", 451],
  ["GLOBAL_STANDARD", "support", "ap-au", 201],
];
// Backups, cell region → store regions: each strict tenant's home into its own region's store
// (included) and into another (left out, audited); the scan then greps every backup file.
const BACKUPS: Record<string, string[]> = { "ap-id": ["ap-id", "ap-sg"], eu: ["eu", "us"] };
const dbRegion = (r: string) => r.replace(/-/g, "_");

let sim: SimProcess;
beforeAll(async () => {
  sim = await startSimProcess();
}, 120_000);
afterAll(async () => {
  await sim?.stop();
});

interface Located extends Hit {
  region: string;
}

function scanFiles(dir: string, markers: string[], regionOf: (path: string) => string | null): Located[] {
  const hits: Located[] = [];
  const walk = (d: string) => {
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      return;
    }
    for (const name of entries) {
      const path = join(d, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      else if (st.size < 50 * 1024 * 1024) {
        const region = regionOf(relative(sim.stateDir, path));
        if (region === null) continue;
        const text = readFileSync(path).toString("latin1");
        for (const marker of markers)
          if (text.includes(marker))
            hits.push({ store: relative(sim.stateDir, path), where: "file", marker, region });
      }
    }
  };
  walk(dir);
  return hits;
}

describe("the residency sweep after a busy day", () => {
  it("finds no strict tenant's personal data outside its allowed regions, in any store", async () => {
    const { edgeUrl } = sim.topo;
    const ops = await signDevToken(sim.secret, { sub: uuidv7(), ops: true });
    const call = async (
      method: string,
      path: string,
      token: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) => {
      const res = await fetch(`${edgeUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          "idempotency-key": uuidv7(),
          ...(typeof body === "object" ? { "content-type": "application/json" } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json().catch(() => null)) as any };
    };

    /** `nowhere`: bytes of a refused upload, which no store may hold, even at home. */
    const markers: { policy: string; kind: string; value: string; nowhere?: boolean }[] = [];
    const tenants = sim.topo.demo.tenants as {
      tenantId: string;
      homeRegion: string;
      residencyPolicy: string;
    }[];
    const firstCase: Record<string, string> = {};
    const tagOf: Record<string, string> = {};
    for (const t of tenants) {
      const user = (role: string) =>
        sim.topo.demo.users.find((u: any) => u.tenantId === t.tenantId && u.roles.includes(role))
          .userId as string;
      const reporter = await signDevToken(sim.secret, { sub: user("reporter"), tid: t.tenantId });
      const investigator = await signDevToken(sim.secret, { sub: user("investigator"), tid: t.tenantId });
      const tag = `${t.residencyPolicy}-${uuidv7().slice(-12)}`;
      tagOf[t.tenantId] = tag;
      const summary = `SUMMARY-${tag}`;
      const filename = `FILENAME-${tag}.pdf`;
      const bytes = `EVIDENCE-BYTES-${tag}`;
      markers.push(
        { policy: t.residencyPolicy, kind: "summary", value: summary },
        { policy: t.residencyPolicy, kind: "filename", value: filename },
        { policy: t.residencyPolicy, kind: "evidence bytes", value: bytes },
      );
      for (let i = 0; i < 3; i++) {
        const c = await call("POST", `/v1/tenants/${t.tenantId}/cases`, reporter, {
          category: "licensing",
          countryCode: "SG",
          summary,
          channel: "web",
        });
        expect(c.status, JSON.stringify(c.body)).toBe(201);
        if (i > 0) continue;
        firstCase[t.tenantId] = c.body.caseId;
        const moved = await call(
          "POST",
          `/v1/tenants/${t.tenantId}/cases/${c.body.caseId}/transitions`,
          investigator,
          {
            to: "TRIAGE",
            expectedStatus: c.body.status,
            expectedVersion: c.body.version,
            reason: "triage",
          },
        );
        expect(moved.status, JSON.stringify(moved.body)).toBe(200);
        const ev = await call(
          "POST",
          `/v1/tenants/${t.tenantId}/cases/${c.body.caseId}/evidence`,
          investigator,
          bytes,
          {
            "content-type": "application/pdf",
            "x-evidence-filename": filename,
          },
        );
        expect(ev.status, JSON.stringify(ev.body)).toBe(201);
      }
    }
    const tenantOf = (policy: string) => tenants.find((t) => t.residencyPolicy === policy)!;
    const tokenOf = async (t: (typeof tenants)[number], role: string) =>
      signDevToken(sim.secret, {
        sub: sim.topo.demo.users.find((u: any) => u.tenantId === t.tenantId && u.roles.includes(role)).userId,
        tid: t.tenantId,
      });
    const upload = async (t: (typeof tenants)[number], bytes: string) =>
      call(
        "POST",
        `/v1/tenants/${t.tenantId}/cases/${firstCase[t.tenantId]}/evidence`,
        await tokenOf(t, "investigator"),
        bytes,
        {
          "content-type": "application/pdf",
          "x-evidence-filename": `FILENAME-${tagOf[t.tenantId]}.pdf`,
        },
      );
    const fault = async (target: string, kind: string) => {
      const res = await fetch(`${sim.topo.simUrl}/sim/faults`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ target, kind }),
      });
      expect(res.status).toBe(201);
      const { faultId } = (await res.json()) as { faultId: string };
      return () => fetch(`${sim.topo.simUrl}/sim/faults/${faultId}`, { method: "DELETE" });
    };
    const file = (...parts: string[]) => join(sim.stateDir, ...parts);

    // The EU store down (its process killed): the EU tenant's upload commits metadata now and its
    // bytes wait in the eu cell's spool, then go to the eu store when it is back. The ID_STRICT
    // tenant's store cut: its policy allows no deferred upload, so 503 and no byte written anywhere.
    const eu = tenantOf("EU_GDPR");
    const deferredBytes = `EVIDENCE-DEFERRED-${tagOf[eu.tenantId]}`;
    markers.push({ policy: "EU_GDPR", kind: "deferred evidence bytes", value: deferredBytes });
    const healEu = await fault("store:eu", "kill");
    const deferred = await upload(eu, deferredBytes);
    expect(deferred.status, JSON.stringify(deferred.body)).toBe(201);
    expect(deferred.body.upload).toBe("DEFERRED");
    const key = `${eu.tenantId}/${firstCase[eu.tenantId]}/${deferred.body.evidenceId}`;
    expect(readFileSync(file("spool", "eu", key), "utf8")).toBe(deferredBytes);
    expect(existsSync(file("objects", "eu", key))).toBe(false);
    const strict = tenantOf("ID_STRICT");
    const refusedBytes = `EVIDENCE-REFUSED-${tagOf[strict.tenantId]}`;
    markers.push({ policy: "ID_STRICT", kind: "refused evidence bytes", value: refusedBytes, nowhere: true });
    const healId = await fault("store:ap-id", "partition");
    const refused = await upload(strict, refusedBytes);
    expect(refused.status, JSON.stringify(refused.body)).toBe(503);
    expect(refused.body.code).toBe("REGION_UNAVAILABLE");
    await healId();
    await healEu();
    await until(
      "the deferred upload stored in eu",
      async () => existsSync(file("objects", "eu", key)),
      20_000,
    );
    expect(readFileSync(file("objects", "eu", key), "utf8")).toBe(deferredBytes);
    await until("the eu spool drained", async () => !existsSync(file("spool", "eu", key)), 10_000);

    // Exports, allowed and refused, as the policy table says.
    for (const [policy, kind, targetRegion, status] of EXPORTS) {
      const t = tenantOf(policy);
      const x = await call("POST", "/v1/ops/exports", ops, { tenantId: t.tenantId, kind, targetRegion });
      expect(x.status, `${policy} ${kind} → ${targetRegion}: ${JSON.stringify(x.body)}`).toBe(status);
      if (status === 451) expect(x.body.code).toBe("RESIDENCY_VIOLATION");
    }

    // Backups: a tenant is in a store only if the store is one of its backup regions.
    const backup = async (region: string, storeRegion: string): Promise<string> => {
      const b = await call("POST", "/v1/ops/backups", ops, { region, storeRegion });
      expect(b.status, `${region} → ${storeRegion}: ${JSON.stringify(b.body)}`).toBe(201);
      expect(b.body.status).toBe("COMPLETED");
      for (const x of b.body.tenants) expect(BACKUP_REGIONS[x.policy]).toContain(storeRegion);
      for (const x of b.body.excluded) {
        expect(BACKUP_REGIONS[x.policy]).not.toContain(storeRegion);
        expect(x.reason).toBe("not_a_backup_region");
      }
      const homedHere = tenants.filter((t) => t.homeRegion === region).map((t) => t.tenantId);
      const listed = [...b.body.tenants, ...b.body.excluded].map((x: any) => x.tenantId);
      for (const id of homedHere) expect(listed).toContain(id);
      return b.body.backupId;
    };
    // The two cells side by side; each cell's own backups one after the other.
    const [idBackup] = await Promise.all(
      Object.entries(BACKUPS).map(async ([region, stores]) => {
        const ids: string[] = [];
        for (const storeRegion of stores) ids.push(await backup(region, storeRegion));
        return ids[0]!;
      }),
    );
    // The ap-id backup in ap-id's store restores in ap-id only: a fresh database there, scanned too.
    const restored = await call("POST", "/v1/ops/restores", ops, {
      backupId: idBackup,
      targetRegion: "ap-id",
    });
    expect(restored.status, JSON.stringify(restored.body)).toBe(201);
    expect(restored.body.verified).toBe(true);
    const outside = await call("POST", "/v1/ops/restores", ops, {
      backupId: idBackup,
      targetRegion: "ap-sg",
    });
    expect(outside.status, JSON.stringify(outside.body)).toBe(451);

    // A migration of the shared tenant inside its policy, and a promotion of the global one.
    const apac = tenants.find((t) => t.residencyPolicy === "APAC_SHARED")!;
    const m = await call("POST", `/v1/ops/tenants/${apac.tenantId}/migrations`, ops, {
      targetRegion: apac.homeRegion === "ap-au" ? "ap-sg" : "ap-au",
      reason: "residency sweep",
    });
    expect(m.status, JSON.stringify(m.body)).toBe(202);
    await until(
      "migration finished",
      async () => {
        const r = await call("GET", `/v1/ops/migrations/${m.body.migrationId}`, ops);
        return ["COMPLETED", "ROLLED_BACK"].includes(r.body.status) ? r.body : null;
      },
      60_000,
    );
    const global = tenants.find((t) => t.residencyPolicy === "GLOBAL_STANDARD")!;
    const promo = await call("POST", `/v1/ops/tenants/${global.tenantId}/promotions`, ops, {
      targetRegion: global.homeRegion === "eu" ? "us" : "eu",
      reason: "residency sweep",
      approvedBy: "duty officer",
    });
    expect(promo.status, JSON.stringify(promo.body)).toBe(200);
    // Let the pipeline carry everything where it goes (standbys, projections, the warehouse).
    await new Promise((r) => setTimeout(r, 5000));

    // The sweep.
    const values = markers.map((x) => x.value);
    const hits: Located[] = [];
    const db = async (name: string, store: string, region: string) => {
      const sql = postgres(sim.dbUrl(name), { max: 1, onnotice: () => {} });
      try {
        for (const h of await scanDatabase(store, sql, values)) hits.push({ ...h, region });
      } finally {
        await sql.end();
      }
    };
    for (const r of REGIONS) await db(`homeroute_sim_${dbRegion(r)}`, `cell ${r}`, r);
    // Databases restored beside a cell (hr_restore_<region>_…) are in that cell's region.
    const admin = postgres(sim.dbUrl("postgres"), { max: 1, onnotice: () => {} });
    const restoredDbs = (
      await admin<{ datname: string }[]>`SELECT datname FROM pg_database WHERE datname LIKE 'hr_restore_%'`
    ).map((r) => r.datname);
    await admin.end();
    expect(restoredDbs).toContain(restored.body.database);
    for (const name of restoredDbs) {
      const region = REGIONS.find((r) => name.startsWith(`hr_restore_${dbRegion(r)}_`)) ?? EVERYWHERE;
      await db(name, `restored ${name}`, region);
    }
    await db("homeroute_sim_catalog", "catalog", EVERYWHERE);
    await db("homeroute_sim_projector", "projector", EVERYWHERE);
    await db("homeroute_sim_warehouse", "warehouse", "us");
    for (const h of await scanStreams(sim.topo.natsUrl, "gr", REGIONS, values, ["events", "audit"])) {
      const region = REGIONS.find((r) => h.store.endsWith(`_${r.toUpperCase().replace(/\W/g, "_")}`))!;
      hits.push({ ...h, region });
    }
    const regionOfFile = (path: string): string | null => {
      if (path.startsWith("pg/") || path.startsWith("nats")) return null; // the databases and streams, scanned above
      // Stores kept one directory per region: each region's evidence object store, each cell's
      // spool, and the export and backup stores (a bucket per jurisdiction in production).
      const store = /^(objects|spool|exports|backups)\/([^/]+)\//.exec(path);
      if (store && REGIONS.includes(store[2]!)) return store[2]!;
      const region = REGIONS.find((r) => path.match(new RegExp(`(cell|relay|store)-${r}\\.log$`)));
      return region ?? EVERYWHERE;
    };
    hits.push(...scanFiles(sim.stateDir, values, regionOfFile));

    // Each tenant's personal data sits only where its policy allows; a store serving every region
    // may hold it only for a tenant allowed everywhere.
    const leaks = hits.filter((h) => {
      const policy = markers.find((x) => x.value === h.marker)!.policy;
      const allowed = ALLOWED[policy]!;
      return h.region === EVERYWHERE ? allowed.length < REGIONS.length : !allowed.includes(h.region);
    });
    expect(leaks).toEqual([]);
    // Not vacuous: every marker was found in its home region's stores, and each kind of store the
    // busy day wrote holds the strict tenants' data where it may (so the scan does look there).
    for (const x of markers.filter((m) => !m.nowhere)) {
      const home = tenants.find((t) => t.residencyPolicy === x.policy)!.homeRegion;
      const where = hits.filter((h) => h.marker === x.value).map((h) => h.region);
      expect(where.length, `${x.kind} of ${x.policy}`).toBeGreaterThan(0);
      expect(where.some((r) => ALLOWED[x.policy]!.includes(r) || r === home)).toBe(true);
    }
    const found = (policy: string, where: RegExp) =>
      hits.some((h) => markers.find((x) => x.value === h.marker)!.policy === policy && where.test(h.store));
    expect(found("ID_STRICT", /^backups\/ap-id\//)).toBe(true);
    expect(found("EU_GDPR", /^backups\/eu\//)).toBe(true);
    expect(found("ID_STRICT", /^exports\/ap-id\//)).toBe(true);
    expect(found("EU_GDPR", /^exports\/eu\//)).toBe(true);
    expect(found("ID_STRICT", /^objects\/ap-id\//)).toBe(true);
    expect(found("EU_GDPR", /^objects\/eu\//)).toBe(true);
    expect(found("ID_STRICT", /^stream GR_AUDIT_AP_ID$/)).toBe(true);
    expect(found("EU_GDPR", /^stream GR_AUDIT_EU$/)).toBe(true);
    expect(found("ID_STRICT", new RegExp(`^restored ${restored.body.database}$`))).toBe(true);
    // The refused upload's bytes are nowhere, not even in the ap-id spool or store.
    expect(hits.filter((h) => h.marker === refusedBytes)).toEqual([]);

    const kindOf = (store: string) =>
      /^(cell|restored|catalog|projector|warehouse)\b/.exec(store)?.[1] ??
      (store.startsWith("stream GR_AUDIT_")
        ? "audit stream"
        : store.startsWith("stream ")
          ? "event stream"
          : null) ??
      /^(objects|spool|exports|backups)\//.exec(store)?.[1] ??
      (store.startsWith("logs/") ? "logs" : store.split("/")[0]!);
    const byKind = new Map<string, number>();
    for (const h of hits) byKind.set(kindOf(h.store), (byKind.get(kindOf(h.store)) ?? 0) + 1);
    console.info(
      `residency sweep: ${hits.length} placements of ${markers.length} markers across ${new Set(hits.map((h) => h.store)).size} stores (${[...byKind].map(([k, n]) => `${k} ${n}`).join(", ")}), 0 outside policy`,
    );
  }, 240_000);
});
