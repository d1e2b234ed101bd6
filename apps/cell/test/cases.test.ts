import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CellHarness,
  call,
  createCase,
  newCase,
  setupTenant,
  startCellHarness,
  type TenantFixture,
} from "./harness.js";

let h: CellHarness;
let t: TenantFixture;
beforeAll(async () => {
  h = await startCellHarness("cases");
  t = await setupTenant(h);
});
afterAll(() => h?.close());

describe("case lifecycle at home", () => {
  it("creates a case with a display number, an access code and routing headers", async () => {
    const r = await call(h, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
      token: t.users.reporter!.token,
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ status: "INTAKE", version: 1, homeRegion: "ap-id", regionEpoch: 1 });
    expect(r.body.caseNumber).toMatch(/^ID-\d{4}-\d{8}$/);
    expect(r.body.accessCode).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    expect(r.headers.get("x-served-by-region")).toBe("ap-id");
    expect(r.headers.get("x-region-epoch")).toBe("1");
    expect(r.headers.get("x-consistency-token")).toMatch(/^ct1\./);
    const [row] = await h.sql`SELECT access_code_hash FROM regulatory_case WHERE case_id = ${r.body.caseId}`;
    expect(row!.access_code_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(r.body.accessCode);
  });

  it("walks the machine to a decision, and reads it back with source and freshness", async () => {
    const c = await createCase(h, t);
    const inv = t.users.investigator!.token;
    let v = c.version;
    for (const to of ["TRIAGE", "INVESTIGATING", "UNDER_REVIEW", "DECISION_PENDING"]) {
      const r = await call(
        h,
        "POST",
        `/v1/tenants/${t.tenantId}/cases/${c.caseId}/transitions`,
        {
          to,
          expectedVersion: v,
          reason: "next step",
        },
        { token: inv },
      );
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.status).toBe(to);
      v = r.body.version;
    }
    const forbidden = await call(
      h,
      "POST",
      `/v1/tenants/${t.tenantId}/cases/${c.caseId}/decision`,
      {
        outcome: "ENFORCEMENT_ACTION",
        expectedVersion: v,
        rationale: "proven",
      },
      { token: inv },
    );
    expect(forbidden.status).toBe(403);
    const decided = await call(
      h,
      "POST",
      `/v1/tenants/${t.tenantId}/cases/${c.caseId}/decision`,
      {
        outcome: "ENFORCEMENT_ACTION",
        expectedVersion: v,
        rationale: "proven",
      },
      { token: t.users.supervisor!.token },
    );
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({ status: "ENFORCEMENT_ACTION", version: v + 1 });
    const read = await call(h, "GET", `/v1/tenants/${t.tenantId}/cases/${c.caseId}`, undefined, {
      token: t.users.auditor!.token,
    });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      status: "ENFORCEMENT_ACTION",
      source: "home",
      dataFreshness: { lagSeconds: 0 },
    });
    const audit = await call(h, "GET", `/v1/tenants/${t.tenantId}/cases/${c.caseId}/audit`, undefined, {
      token: t.users.auditor!.token,
    });
    expect(audit.body.items.map((i: { actionType: string }) => i.actionType)).toEqual([
      "case.created",
      "case.status_changed",
      "case.status_changed",
      "case.status_changed",
      "case.status_changed",
      "case.decision_recorded",
    ]);
    expect(audit.body.items.map((i: { aggregateVersion: number }) => i.aggregateVersion)).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
  });
});
