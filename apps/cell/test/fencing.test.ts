import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CellHarness,
  call,
  countRows,
  createCase,
  setupTenant,
  startCellHarness,
  type TenantFixture,
} from "./harness.js";

let h: CellHarness;
beforeAll(async () => {
  h = await startCellHarness("fencing");
});
afterAll(() => h?.close());

const transition = (t: TenantFixture, caseId: string, expectedVersion: number, epoch?: number) =>
  call(
    h,
    "POST",
    `/v1/tenants/${t.tenantId}/cases/${caseId}/transitions`,
    { to: "TRIAGE", expectedVersion, reason: "fence test" },
    { token: t.users.investigator!.token, ...(epoch === undefined ? {} : { epoch }) },
  );

async function refusedWithNothingWritten(
  t: TenantFixture,
  caseId: string,
  act: () => Promise<{ status: number; body: any; headers: Headers }>,
) {
  const before = await countRows(h, t.tenantId);
  const r = await act();
  expect(await countRows(h, t.tenantId)).toEqual(before);
  const [row] = await h.sql`SELECT status, version FROM regulatory_case WHERE case_id = ${caseId}`;
  expect(row).toMatchObject({ status: "INTAKE", version: "1" });
  return r;
}

describe("each refusal has its own code and writes nothing", () => {
  it("WRONG_REGION (421) when another region holds the tenant's fence", async () => {
    const t = await setupTenant(h);
    const c = await createCase(h, t);
    await h.internal("PUT", `/internal/v1/fences/tenant:${t.tenantId}`, {
      activeRegion: "ap-sg",
      epoch: 2,
      status: "WRITABLE",
    });
    const r = await refusedWithNothingWritten(t, c.caseId, () => transition(t, c.caseId, 1));
    expect(r.status).toBe(421);
    expect(r.body).toMatchObject({ code: "WRONG_REGION", homeRegion: "ap-sg" });
  });

  it("STALE_REGION_EPOCH (409) for an old epoch; the current epoch passes", async () => {
    const t = await setupTenant(h, { epoch: 4 });
    const c = await createCase(h, t);
    const r = await refusedWithNothingWritten(t, c.caseId, () => transition(t, c.caseId, 1, 3));
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: "STALE_REGION_EPOCH", currentEpoch: 4, homeRegion: "ap-id" });
    expect((await transition(t, c.caseId, 1, 4)).status).toBe(200);
  });

  it("REGION_READ_ONLY (503 + Retry-After) when the region is read-only; reads go on", async () => {
    const t = await setupTenant(h);
    const c = await createCase(h, t);
    await h.internal("PUT", `/internal/v1/fences/region:${h.region}`, {
      activeRegion: h.region,
      epoch: 1,
      status: "READ_ONLY",
    });
    try {
      const r = await refusedWithNothingWritten(t, c.caseId, () => transition(t, c.caseId, 1));
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({ code: "REGION_READ_ONLY", region: h.region, retryAfterSeconds: 5 });
      expect(r.headers.get("retry-after")).toBe("5");
      const read = await call(h, "GET", `/v1/tenants/${t.tenantId}/cases/${c.caseId}`, undefined, {
        token: t.users.investigator!.token,
      });
      expect(read.status).toBe(200);
    } finally {
      await h.internal("PUT", `/internal/v1/fences/region:${h.region}`, {
        activeRegion: h.region,
        epoch: 1,
        status: "WRITABLE",
      });
    }
  });

  it("a fence change that names no lease keeps the region's lease; an explicit null clears it", async () => {
    const scope = `region:${h.region}`;
    const leaseOf = async () => {
      const r = (await (await h.internal("GET", "/internal/v1/fences")).json()) as {
        items: { scope: string; leaseExpiresAt: string | null }[];
      };
      return r.items.find((f) => f.scope === scope)!.leaseExpiresAt;
    };
    const lease = new Date(Date.now() + 60_000).toISOString();
    try {
      await h.internal("PUT", `/internal/v1/fences/${scope}`, {
        activeRegion: h.region,
        epoch: 1,
        status: "WRITABLE",
        leaseExpiresAt: lease,
      });
      expect(await leaseOf()).toBe(lease);
      // The catalog re-sending the region's mode (its start, a mode change): the lease stays.
      const r = await h.internal("PUT", `/internal/v1/fences/${scope}`, {
        activeRegion: h.region,
        epoch: 1,
        status: "READ_ONLY",
      });
      expect(((await r.json()) as { leaseExpiresAt: string }).leaseExpiresAt).toBe(lease);
      expect(await leaseOf()).toBe(lease);
    } finally {
      await h.internal("PUT", `/internal/v1/fences/${scope}`, {
        activeRegion: h.region,
        epoch: 1,
        status: "WRITABLE",
        leaseExpiresAt: null,
      });
    }
    expect(await leaseOf()).toBeNull();
  });

  it("REGION_READ_ONLY when the tenant scope is READ_ONLY or FENCED", async () => {
    for (const status of ["READ_ONLY", "FENCED"]) {
      const t = await setupTenant(h);
      const c = await createCase(h, t);
      await h.internal("PUT", `/internal/v1/fences/tenant:${t.tenantId}`, {
        activeRegion: h.region,
        epoch: 1,
        status,
      });
      const r = await refusedWithNothingWritten(t, c.caseId, () => transition(t, c.caseId, 1));
      expect(r.body.code).toBe("REGION_READ_ONLY");
    }
  });

  it("REGION_READ_ONLY when the lease has expired", async () => {
    const t = await setupTenant(h);
    const c = await createCase(h, t);
    await h.internal("PUT", `/internal/v1/fences/tenant:${t.tenantId}`, {
      activeRegion: h.region,
      epoch: 1,
      status: "WRITABLE",
      leaseExpiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    const r = await refusedWithNothingWritten(t, c.caseId, () => transition(t, c.caseId, 1));
    expect(r.status).toBe(503);
    expect(r.body.code).toBe("REGION_READ_ONLY");
    expect(r.body.detail).toContain("lease");
  });

  it("TENANT_SUSPENDED (423) and TENANT_MIGRATING (503 + Retry-After)", async () => {
    const t = await setupTenant(h);
    const c = await createCase(h, t);
    const put = (status: string) =>
      h.internal("PUT", `/internal/v1/tenants/${t.tenantId}`, {
        name: "Test Regulator",
        homeRegion: h.region,
        status,
        residencyPolicy: "APAC_SHARED",
      });
    await put("SUSPENDED");
    const s = await refusedWithNothingWritten(t, c.caseId, () => transition(t, c.caseId, 1));
    expect(s.status).toBe(423);
    expect(s.body.code).toBe("TENANT_SUSPENDED");
    await put("MIGRATING");
    const m = await refusedWithNothingWritten(t, c.caseId, () => transition(t, c.caseId, 1));
    expect(m.status).toBe(503);
    expect(m.body.code).toBe("TENANT_MIGRATING");
    expect(m.headers.get("retry-after")).toBe("2");
    await put("ACTIVE");
    expect((await transition(t, c.caseId, 1)).status).toBe(200);
  });
});

describe("domain refusals", () => {
  let t: TenantFixture;
  beforeAll(async () => {
    t = await setupTenant(h);
  });
  it("VERSION_CONFLICT carries currentVersion", async () => {
    const c = await createCase(h, t);
    const r = await refusedWithNothingWritten(t, c.caseId, () => transition(t, c.caseId, 7));
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: "VERSION_CONFLICT", currentVersion: 1 });
  });
  it("STATUS_PRECONDITION_FAILED carries currentStatus", async () => {
    const c = await createCase(h, t);
    const r = await refusedWithNothingWritten(t, c.caseId, () =>
      call(
        h,
        "POST",
        `/v1/tenants/${t.tenantId}/cases/${c.caseId}/transitions`,
        { to: "TRIAGE", expectedStatus: "TRIAGE", expectedVersion: 1, reason: "x" },
        { token: t.users.investigator!.token },
      ),
    );
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: "STATUS_PRECONDITION_FAILED", currentStatus: "INTAKE" });
  });
  it("INVALID_TRANSITION (422) lists what is allowed", async () => {
    const c = await createCase(h, t);
    const r = await refusedWithNothingWritten(t, c.caseId, () =>
      call(
        h,
        "POST",
        `/v1/tenants/${t.tenantId}/cases/${c.caseId}/transitions`,
        { to: "CLOSED", expectedVersion: 1, reason: "x" },
        { token: t.users.investigator!.token },
      ),
    );
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ code: "INVALID_TRANSITION", allowed: ["TRIAGE", "WITHDRAWN"] });
  });
  it("a decision outside DECISION_PENDING is INVALID_TRANSITION", async () => {
    const c = await createCase(h, t);
    const r = await refusedWithNothingWritten(t, c.caseId, () =>
      call(
        h,
        "POST",
        `/v1/tenants/${t.tenantId}/cases/${c.caseId}/decision`,
        { outcome: "NO_VIOLATION", expectedVersion: 1, rationale: "x" },
        { token: t.users.supervisor!.token },
      ),
    );
    expect(r.body.code).toBe("INVALID_TRANSITION");
  });
  it("NOT_FOUND for an unknown case, never a 500", async () => {
    const r = await transition(t, "01a21673-5e78-7004-b9d3-ef8d02711d36", 1);
    expect(r.status).toBe(404);
    expect(r.headers.get("content-type")).toContain("application/problem+json");
  });
});
