import { uuidv7 } from "@homeroute/ids";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CellHarness,
  call,
  countRows,
  createCase,
  newCase,
  setupTenant,
  startCellHarness,
  type TenantFixture,
} from "./harness.js";

let h: CellHarness;
beforeAll(async () => {
  h = await startCellHarness("concurrency");
});
afterAll(() => h?.close());

describe("single writer under concurrency", () => {
  it("20 concurrent transitions with the same expectedVersion: one wins, 19 get 409, one audit and outbox row", async () => {
    const t = await setupTenant(h);
    const c = await createCase(h, t);
    const before = await countRows(h, t.tenantId);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        call(
          h,
          "POST",
          `/v1/tenants/${t.tenantId}/cases/${c.caseId}/transitions`,
          { to: "TRIAGE", expectedVersion: c.version, reason: "race" },
          { token: t.users.investigator!.token },
        ),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    for (const r of results.filter((x) => x.status === 409)) {
      expect(r.body.code).toBe("VERSION_CONFLICT");
      expect(r.body.currentVersion).toBe(2);
    }
    const after = await countRows(h, t.tenantId);
    expect(after.audit - before.audit).toBe(1);
    expect(after.outbox - before.outbox).toBe(1);
    expect(after.commands - before.commands).toBe(1);
  });

  it("50 concurrent creates get 50 distinct, consecutive case numbers", async () => {
    const t = await setupTenant(h);
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        call(h, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token: t.users.reporter!.token }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(201));
    const numbers = results
      .map((r) => Number((r.body.caseNumber as string).split("-")[2]))
      .sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const year = new Date().getUTCFullYear();
    const [counter] =
      await h.sql`SELECT next_value FROM case_number_counter WHERE tenant_id = ${t.tenantId} AND year = ${year}`;
    expect(counter!.next_value).toBe("51");
  });

  it("a refused create consumes no case number (no gaps)", async () => {
    const t = await setupTenant(h);
    await createCase(h, t);
    const refused = await call(h, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
      token: t.users.reporter!.token,
      epoch: 9,
    });
    expect(refused.body.code).toBe("STALE_REGION_EPOCH");
    const next = await createCase(h, t);
    expect(next.caseNumber.endsWith("00000002")).toBe(true);
  });

  it("a fence change waits for in-flight commands; after it, the old epoch never commits", async () => {
    const t = await setupTenant(h);
    const send = (n: number) =>
      Promise.all(
        Array.from({ length: n }, () =>
          call(h, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
            token: t.users.reporter!.token,
            epoch: 1,
          }),
        ),
      );
    const inFlight = send(40);
    await new Promise((r) => setTimeout(r, 5));
    const fenced = await h.internal("PUT", `/internal/v1/fences/tenant:${t.tenantId}`, {
      activeRegion: h.region,
      epoch: 2,
      status: "WRITABLE",
    });
    expect(fenced.status).toBe(200);
    const late = await send(10);
    const early = await inFlight;
    for (const r of early) expect([201, 409]).toContain(r.status);
    for (const r of late) expect(r.body.code).toBe("STALE_REGION_EPOCH");
    // History check: every committed row says epoch 1 and committed before the fence row changed.
    const [fence] =
      await h.sql`SELECT xmin::text::bigint AS x FROM region_write_epoch WHERE logical_scope = ${`tenant:${t.tenantId}`}`;
    const rows =
      await h.sql`SELECT region_epoch, xmin::text::bigint AS x FROM regulatory_case WHERE tenant_id = ${t.tenantId}`;
    expect(rows.length).toBe(early.filter((r) => r.status === 201).length);
    for (const r of rows) {
      expect(r.region_epoch).toBe("1");
      expect(Number(r.x)).toBeLessThan(Number(fence!.x));
    }
  });
});

describe("idempotency", () => {
  let t: TenantFixture;
  beforeAll(async () => {
    t = await setupTenant(h);
  });

  it("replays the stored result for the same key and body, with Idempotent-Replayed", async () => {
    const key = uuidv7();
    const token = t.users.reporter!.token;
    const first = await call(h, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token, key });
    const again = await call(h, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token, key });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const { accessCode, ...stored } = first.body;
    expect(accessCode).toBeTruthy();
    expect(again.body).toEqual(stored); // the access code is shown once, never stored
    const [n] =
      await h.sql`SELECT count(*)::int AS n FROM regulatory_case WHERE case_id = ${first.body.caseId}`;
    expect(n!.n).toBe(1);
  });

  it("refuses the same key with a different body (422) and writes nothing", async () => {
    const key = uuidv7();
    const token = t.users.reporter!.token;
    await call(h, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token, key });
    const before = await countRows(h, t.tenantId);
    const r = await call(
      h,
      "POST",
      `/v1/tenants/${t.tenantId}/cases`,
      { ...newCase, summary: "other" },
      { token, key },
    );
    expect(r.status).toBe(422);
    expect(r.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(await countRows(h, t.tenantId)).toEqual(before);
  });

  it("10 concurrent requests with one key have one effect and one answer", async () => {
    const key = uuidv7();
    const token = t.users.reporter!.token;
    const before = await countRows(h, t.tenantId);
    const rs = await Promise.all(
      Array.from({ length: 10 }, () =>
        call(h, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token, key }),
      ),
    );
    expect(rs.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(new Set(rs.map((r) => r.body.caseId)).size).toBe(1);
    const after = await countRows(h, t.tenantId);
    expect(after.cases - before.cases).toBe(1);
    expect(after.outbox - before.outbox).toBe(1);
  });

  it("needs an Idempotency-Key on every command", async () => {
    const r = await call(h, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
      token: t.users.reporter!.token,
      key: null,
    });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe("VALIDATION_FAILED");
  });

  it("a replayed transition returns the stored case, not a conflict", async () => {
    const c = await createCase(h, t);
    const key = uuidv7();
    const body = { to: "TRIAGE", expectedVersion: c.version, reason: "retry after timeout" };
    const path = `/v1/tenants/${t.tenantId}/cases/${c.caseId}/transitions`;
    const token = t.users.investigator!.token;
    const first = await call(h, "POST", path, body, { token, key });
    const again = await call(h, "POST", path, body, { token, key });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("x-consistency-token")).toBe(first.headers.get("x-consistency-token"));
  });
});
