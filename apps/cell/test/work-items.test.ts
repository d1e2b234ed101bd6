import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { uuidv7 } from "@homeroute/ids";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CellHarness,
  call,
  createCase,
  setupTenant,
  startCellHarness,
  type TenantFixture,
} from "./harness.js";

let h: CellHarness;
let t: TenantFixture;
beforeAll(async () => {
  h = await startCellHarness("work_items");
  t = await setupTenant(h);
});
afterAll(() => h?.close());

describe("tasks", () => {
  it("creates and completes a task with optimistic versions", async () => {
    const c = await createCase(h, t);
    const assigneeId = t.users.investigator!.userId;
    const created = await call(
      h,
      "POST",
      `/v1/tenants/${t.tenantId}/cases/${c.caseId}/tasks`,
      { title: "Interview the broker", assigneeId, dueAt: "2026-12-01T00:00:00Z" },
      { token: t.users.supervisor!.token },
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      status: "OPEN",
      version: 1,
      assigneeId,
      dueAt: "2026-12-01T00:00:00.000Z",
    });
    const path = `/v1/tenants/${t.tenantId}/cases/${c.caseId}/tasks/${created.body.taskId}/complete`;
    const token = t.users.investigator!.token;
    const stale = await call(h, "POST", path, { expectedVersion: 5 }, { token });
    expect(stale.body).toMatchObject({ code: "VERSION_CONFLICT", currentVersion: 1 });
    const done = await call(h, "POST", path, { expectedVersion: 1 }, { token });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: "COMPLETED", version: 2 });
    const again = await call(h, "POST", path, { expectedVersion: 2 }, { token });
    expect(again.body.code).toBe("INVALID_TRANSITION");
  });

  it("a task id under another case is NOT_FOUND", async () => {
    const a = await createCase(h, t);
    const b = await createCase(h, t);
    const task = await call(
      h,
      "POST",
      `/v1/tenants/${t.tenantId}/cases/${a.caseId}/tasks`,
      { title: "x", assigneeId: t.users.investigator!.userId },
      { token: t.users.supervisor!.token },
    );
    const r = await call(
      h,
      "POST",
      `/v1/tenants/${t.tenantId}/cases/${b.caseId}/tasks/${task.body.taskId}/complete`,
      { expectedVersion: 1 },
      { token: t.users.supervisor!.token },
    );
    expect(r.status).toBe(404);
  });
});

describe("evidence", () => {
  it("stores the bytes in this region's store and commits sha256 + size metadata", async () => {
    const c = await createCase(h, t);
    const bytes = Buffer.from("%PDF-1.7 evidence bytes");
    const res = await fetch(`${h.cell.url}/v1/tenants/${t.tenantId}/cases/${c.caseId}/evidence`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${t.users.investigator!.token}`,
        "idempotency-key": uuidv7(),
        "content-type": "application/pdf",
        "x-evidence-filename": "trade-log.pdf",
      },
      body: bytes,
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as any;
    const sha = createHash("sha256").update(bytes).digest("hex");
    expect(body).toMatchObject({
      sha256: sha,
      size: bytes.length,
      storageRegion: "ap-id",
      filename: "trade-log.pdf",
    });
    const [row] = await h.sql`SELECT object_key FROM evidence_object WHERE evidence_id = ${body.evidenceId}`;
    const stored = await readFile(join(h.objectStoreDir, "ap-id", row!.object_key));
    expect(stored.equals(bytes)).toBe(true);
  });

  it("a refused upload leaves no blob behind", async () => {
    const c = await createCase(h, t);
    const res = await fetch(`${h.cell.url}/v1/tenants/${t.tenantId}/cases/${c.caseId}/evidence`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${t.users.investigator!.token}`,
        "idempotency-key": uuidv7(),
        "x-region-epoch": "99",
        "content-type": "image/png",
        "x-evidence-filename": "photo.png",
      },
      body: Buffer.from("png"),
    });
    expect(res.status).toBe(409);
    const [n] = await h.sql`SELECT count(*)::int AS n FROM evidence_object WHERE case_id = ${c.caseId}`;
    expect(n!.n).toBe(0);
  });

  it("refuses a path in the file name", async () => {
    const c = await createCase(h, t);
    const res = await fetch(`${h.cell.url}/v1/tenants/${t.tenantId}/cases/${c.caseId}/evidence`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${t.users.investigator!.token}`,
        "idempotency-key": uuidv7(),
        "content-type": "text/plain",
        "x-evidence-filename": "../../etc/passwd",
      },
      body: "x",
    });
    expect(res.status).toBe(400);
  });
});

describe("review recommendations", () => {
  it("records the reviewer's region at home without changing the case", async () => {
    const c = await createCase(h, t);
    const r = await call(
      h,
      "POST",
      `/v1/tenants/${t.tenantId}/cases/${c.caseId}/review-recommendations`,
      { recommendation: "ESCALATE", rationale: "EU legal review advises escalation" },
      { token: t.users.reviewer!.token, headers: { "x-edge-region": "eu" } },
    );
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ reviewerRegion: "eu", recommendation: "ESCALATE", caseId: c.caseId });
    const read = await call(h, "GET", `/v1/tenants/${t.tenantId}/cases/${c.caseId}`, undefined, {
      token: t.users.reviewer!.token,
    });
    expect(read.body).toMatchObject({ status: "INTAKE", version: 1 });
  });
});

describe("listing", () => {
  it("pages newest first with an opaque cursor and filters by status", async () => {
    const other = await setupTenant(h);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createCase(h, other)).caseId);
    const token = other.users.auditor!.token;
    const p1 = await call(h, "GET", `/v1/tenants/${other.tenantId}/cases?limit=2`, undefined, { token });
    expect(p1.body.items.map((c: { caseId: string }) => c.caseId)).toEqual([ids[4], ids[3]]);
    const p2 = await call(
      h,
      "GET",
      `/v1/tenants/${other.tenantId}/cases?limit=2&cursor=${p1.body.nextCursor}`,
      undefined,
      {
        token,
      },
    );
    expect(p2.body.items.map((c: { caseId: string }) => c.caseId)).toEqual([ids[2], ids[1]]);
    const p3 = await call(
      h,
      "GET",
      `/v1/tenants/${other.tenantId}/cases?limit=2&cursor=${p2.body.nextCursor}`,
      undefined,
      {
        token,
      },
    );
    expect(p3.body).toEqual({ items: [expect.objectContaining({ caseId: ids[0] })], nextCursor: null });
    const triage = await call(h, "GET", `/v1/tenants/${other.tenantId}/cases?status=TRIAGE`, undefined, {
      token,
    });
    expect(triage.body.items).toEqual([]);
    const bad = await call(h, "GET", `/v1/tenants/${other.tenantId}/cases?cursor=zzz`, undefined, { token });
    expect(bad.status).toBe(400);
  });
});

describe("grants", () => {
  it("a tenant admin grants and revokes at home; the role takes effect at once; versions order the events", async () => {
    const other = await setupTenant(h);
    const admin = other.users.tenant_admin!.token;
    const newcomer = uuidv7();
    const { makeToken } = await import("@homeroute/testkit");
    const token = await makeToken({ sub: newcomer, tid: other.tenantId });
    const denied = await call(
      h,
      "POST",
      `/v1/tenants/${other.tenantId}/cases`,
      { category: "fraud", countryCode: "SG", summary: "x", channel: "web" },
      { token },
    );
    expect(denied.status).toBe(403);
    const g = await call(
      h,
      "POST",
      `/v1/tenants/${other.tenantId}/grants`,
      { userId: newcomer, role: "reporter" },
      { token: admin },
    );
    expect(g.status).toBe(201);
    expect(g.body).toMatchObject({ status: "GRANTED", grantVersion: 1 });
    const allowed = await call(
      h,
      "POST",
      `/v1/tenants/${other.tenantId}/cases`,
      { category: "fraud", countryCode: "SG", summary: "x", channel: "web" },
      { token },
    );
    expect(allowed.status).toBe(201);
    const r = await call(
      h,
      "DELETE",
      `/v1/tenants/${other.tenantId}/grants/${newcomer}/reporter`,
      undefined,
      { token: admin },
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: "REVOKED", grantVersion: 2 });
    const again = await call(
      h,
      "POST",
      `/v1/tenants/${other.tenantId}/cases`,
      { category: "fraud", countryCode: "SG", summary: "x", channel: "web" },
      { token },
    );
    expect(again.status).toBe(403);
    const events =
      await h.sql`SELECT event_type, aggregate_version FROM outbox_event WHERE aggregate_id = ${newcomer} ORDER BY seq`;
    expect(events.map((e) => [e.event_type, e.aggregate_version])).toEqual([
      ["grant.granted", "1"],
      ["grant.revoked", "2"],
    ]);
    const twice = await call(
      h,
      "DELETE",
      `/v1/tenants/${other.tenantId}/grants/${newcomer}/reporter`,
      undefined,
      { token: admin },
    );
    expect(twice.status).toBe(404);
  });

  it("only a tenant admin manages grants", async () => {
    const r = await call(
      h,
      "POST",
      `/v1/tenants/${t.tenantId}/grants`,
      { userId: uuidv7(), role: "supervisor" },
      { token: t.users.supervisor!.token },
    );
    expect(r.status).toBe(403);
  });
});
