import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { uuidv7 } from "@homeroute/ids";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startObjectStoreServer } from "../src/evidence/store-server.js";
import {
  type CellHarness,
  call,
  createCase,
  INTERNAL_TOKEN,
  setupTenant,
  startCellHarness,
} from "./harness.js";

// The region's evidence store as its own service (seed §19 "evidence object store down"): up, the
// bytes go to it before the metadata commits; down, the upload commits metadata only and the bytes
// wait in the cell's spool (same region) where the policy allows; back, the spool drains into it.

let h: CellHarness;
let storeDir: string;
let spoolDir: string;
let store: { url: string; close(): Promise<void> };
let port: number;

beforeAll(async () => {
  storeDir = await mkdtemp(join(tmpdir(), "hr-store-"));
  spoolDir = await mkdtemp(join(tmpdir(), "hr-spool-"));
  store = await startObjectStoreServer({ dir: storeDir, region: "ap-sg", token: INTERNAL_TOKEN });
  port = Number(new URL(store.url).port);
  h = await startCellHarness("evidence_store", "ap-sg", {
    OBJECT_STORE_URL: store.url,
    EVIDENCE_SPOOL_DIR: spoolDir,
    DEFERRED_UPLOAD_INTERVAL_MS: 200,
  });
});
afterAll(async () => {
  await h?.close();
  await store?.close().catch(() => {});
  await rm(storeDir, { recursive: true, force: true });
  await rm(spoolDir, { recursive: true, force: true });
});

const upload = (tenantId: string, caseId: string, token: string, bytes: string) =>
  call(h, "POST", `/v1/tenants/${tenantId}/cases/${caseId}/evidence`, bytes, {
    token,
    headers: { "content-type": "application/pdf", "x-evidence-filename": "letter.pdf" },
  });
const inStore = (key: string) => readFile(join(storeDir, "ap-sg", key), "utf8").catch(() => null);
const inSpool = (key: string) => readFile(join(spoolDir, "ap-sg", key), "utf8").catch(() => null);

describe("the region's evidence store", () => {
  it("up: the bytes are in the store before the metadata commits", async () => {
    const t = await setupTenant(h);
    const c = await createCase(h, t);
    const r = await upload(t.tenantId, c.caseId, t.users.investigator!.token, "scanned letter");
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ upload: "STORED", storageRegion: "ap-sg" });
    expect(await inStore(`${t.tenantId}/${c.caseId}/${r.body.evidenceId}`)).toBe("scanned letter");
  });

  it("down: metadata only, the bytes spooled in the region; back: the spool drains into the store", async () => {
    const t = await setupTenant(h);
    const c = await createCase(h, t);
    await store.close();
    const r = await upload(
      t.tenantId,
      c.caseId,
      t.users.investigator!.token,
      "bytes while the store is down",
    );
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.upload).toBe("DEFERRED");
    const key = `${t.tenantId}/${c.caseId}/${r.body.evidenceId}`;
    const [row] =
      await h.sql`SELECT sha256, storage_region FROM evidence_object WHERE evidence_id = ${r.body.evidenceId}`;
    expect(row).toMatchObject({ sha256: r.body.sha256, storage_region: "ap-sg" });
    expect(await inSpool(key)).toBe("bytes while the store is down");
    expect(await inStore(key)).toBeNull();
    // The store returns (same address): the deferred upload completes on its own.
    store = await startObjectStoreServer({ dir: storeDir, region: "ap-sg", token: INTERNAL_TOKEN, port });
    for (let i = 0; i < 100 && (await inStore(key)) === null; i++)
      await new Promise((res) => setTimeout(res, 100));
    expect(await inStore(key)).toBe("bytes while the store is down");
    expect(await inSpool(key)).toBeNull();
    expect(await h.cell.deps.deferredUploads.pending()).toEqual([]);
  });

  it("refuses bytes for a tenant whose policy does not allow this region's store (451), writing nothing", async () => {
    // The catalog never homes such a tenant here; the cell still checks (defence in depth).
    const t = await setupTenant(h);
    await h.sql`UPDATE tenant_registration SET residency_policy = 'ID_STRICT' WHERE tenant_id = ${t.tenantId}`;
    const c = await createCase(h, t);
    const before =
      await h.sql`SELECT count(*)::int AS n FROM evidence_object WHERE tenant_id = ${t.tenantId}`;
    const r = await upload(t.tenantId, c.caseId, t.users.investigator!.token, uuidv7());
    expect(r.status).toBe(451);
    expect(r.body.code).toBe("RESIDENCY_VIOLATION");
    const after = await h.sql`SELECT count(*)::int AS n FROM evidence_object WHERE tenant_id = ${t.tenantId}`;
    expect(after[0]!.n).toBe(before[0]!.n);
    // Audited in the tenant's chain and counted, like every residency refusal.
    const [audit] = await h.sql`
      SELECT metadata FROM global_audit_event WHERE tenant_id = ${t.tenantId} AND action_type = 'evidence.store_refused'`;
    expect(audit!.metadata).toMatchObject({ outcome: "REFUSED", policy: "ID_STRICT", targetRegion: "ap-sg" });
    const metrics = await (await fetch(`${h.cell.url}/metrics`)).text();
    expect(metrics).toMatch(
      /homeroute_residency_violation_attempts_total\{[^}]*policy="ID_STRICT"[^}]*\} [1-9]/,
    );
  });
});
