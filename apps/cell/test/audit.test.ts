import { verifyAuditChain } from "@homeroute/db/cell";
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
  h = await startCellHarness("audit");
  t = await setupTenant(h);
  for (let i = 0; i < 5; i++) {
    const c = await createCase(h, t);
    await call(
      h,
      "POST",
      `/v1/tenants/${t.tenantId}/cases/${c.caseId}/transitions`,
      { to: "TRIAGE", expectedVersion: 1, reason: "audit chain" },
      { token: t.users.investigator!.token },
    );
  }
});
afterAll(() => h?.close());

describe("append-only hash-chained audit", () => {
  it("refuses UPDATE, DELETE and TRUNCATE in the database itself", async () => {
    await expect(
      h.sql`UPDATE global_audit_event SET action_type = 'x' WHERE tenant_id = ${t.tenantId}`,
    ).rejects.toThrow(/append-only/);
    await expect(h.sql`DELETE FROM global_audit_event WHERE tenant_id = ${t.tenantId}`).rejects.toThrow(
      /append-only/,
    );
    await expect(h.sql`TRUNCATE global_audit_event`).rejects.toThrow(/append-only/);
  });

  it("links every event to the previous one per tenant, and the chain verifies", async () => {
    const r = await verifyAuditChain(h.sql, t.tenantId);
    // 6 bootstrap grants + 5 creates + 5 transitions
    expect(r).toMatchObject({ ok: true, checked: 16 });
    const rows =
      await h.sql`SELECT chain_seq, prev_hash, hash FROM global_audit_event WHERE tenant_id = ${t.tenantId} ORDER BY chain_seq`;
    expect(rows[0]!.prev_hash).toBe("0".repeat(64));
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.hash);
  });

  it("finds a row altered by a superuser who bypassed the triggers", async () => {
    const other = await setupTenant(h);
    const c = await createCase(h, other);
    await createCase(h, other);
    const [victim] = await h.sql`
      SELECT audit_event_id, chain_seq FROM global_audit_event WHERE aggregate_id = ${c.caseId}`;
    await h.sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      await tx`UPDATE global_audit_event SET metadata = jsonb_set(metadata, '{payload,category}', '"forged"')
        WHERE audit_event_id = ${victim!.audit_event_id}`;
    });
    const r = await verifyAuditChain(h.sql, other.tenantId);
    expect(r.ok).toBe(false);
    expect(r.firstBrokenAt).toMatchObject({
      auditEventId: victim!.audit_event_id,
      reason: expect.stringMatching(/payload/),
    });
    // The first tenant's chain is untouched.
    expect((await verifyAuditChain(h.sql, t.tenantId)).ok).toBe(true);
  });

  it("finds a deleted row as a break in the chain", async () => {
    const other = await setupTenant(h);
    const c = await createCase(h, other);
    await createCase(h, other);
    await h.sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      await tx`DELETE FROM global_audit_event WHERE aggregate_id = ${c.caseId}`;
    });
    const r = await verifyAuditChain(h.sql, other.tenantId);
    expect(r.ok).toBe(false);
    expect(r.firstBrokenAt?.reason).toMatch(/sequence gap/);
  });

  it("records correlation id, command id, epoch and version in each audit row", async () => {
    const r = await call(
      h,
      "POST",
      `/v1/tenants/${t.tenantId}/cases`,
      {
        category: "fraud",
        countryCode: "SG",
        summary: "x",
        channel: "email",
      },
      { token: t.users.reporter!.token, headers: { "x-correlation-id": "corr-123" } },
    );
    expect(r.headers.get("x-correlation-id")).toBe("corr-123");
    const [row] = await h.sql`SELECT * FROM global_audit_event WHERE aggregate_id = ${r.body.caseId}`;
    expect(row).toMatchObject({
      correlation_id: "corr-123",
      region_epoch: "1",
      aggregate_version: "1",
      home_region: "ap-id",
    });
    const [ob] = await h.sql`SELECT envelope FROM outbox_event WHERE aggregate_id = ${r.body.caseId}`;
    expect(ob!.envelope).toMatchObject({
      type: "case.created",
      correlationId: "corr-123",
      homeRegion: "ap-id",
      regionEpoch: 1,
      payload: { caseNumber: r.body.caseNumber },
    });
  });
});
