import { uuidv7 } from "@homeroute/ids";
import { makeToken } from "@homeroute/testkit";
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

// Support access at the tenant's home (docs/residency.md "Support access"): every support read is
// recorded in the tenant's own audit chain, allowed (`support.access_allowed`) as well as refused
// (`support.access_refused`), before any data leaves; the tenant's own staff read with no write.
// The tenant is APAC_SHARED in ap-id: support may sit in ap-id, ap-sg or ap-au, not in eu or us.

let h: CellHarness;
let t: TenantFixture;
let caseId: string;
let supportUser: string;
const support = (supportRegion?: string) =>
  makeToken({ sub: supportUser, tid: t.tenantId, ...(supportRegion ? { supportRegion } : {}) });

beforeAll(async () => {
  h = await startCellHarness("support_access", "ap-id");
  t = await setupTenant(h);
  caseId = (await createCase(h, t)).caseId;
  supportUser = uuidv7();
  const granted = await h.internal("PUT", `/internal/v1/tenants/${t.tenantId}/grants/${supportUser}/support`);
  expect(granted.status).toBeLessThan(300);
});
afterAll(() => h?.close());

interface AuditRow {
  audit_event_id: string;
  action_type: string;
  actor_id: string;
  home_region: string;
  region_epoch: number | null;
  aggregate_type: string;
  aggregate_id: string;
  command_id: string | null;
  correlation_id: string | null;
  occurred_at: Date;
  metadata: Record<string, any>;
}
const auditRows = () =>
  h.sql<AuditRow[]>`
    SELECT audit_event_id, action_type, actor_id, home_region, region_epoch::int, aggregate_type, aggregate_id,
      command_id, correlation_id, occurred_at, metadata
    FROM global_audit_event WHERE tenant_id = ${t.tenantId} ORDER BY chain_seq`;
const counts = async () => {
  const [r] = await h.sql<{ audit: number; outbox: number; commands: number }[]>`
    SELECT (SELECT count(*)::int FROM global_audit_event WHERE tenant_id = ${t.tenantId}) AS audit,
      (SELECT count(*)::int FROM outbox_event WHERE tenant_id = ${t.tenantId}) AS outbox,
      (SELECT count(*)::int FROM command_log WHERE tenant_id = ${t.tenantId}) AS commands`;
  return r!;
};
/** The audit rows one call added, checking that it added nothing else anywhere. */
async function added(fn: () => Promise<unknown>): Promise<AuditRow[]> {
  const before = await counts();
  const seen = new Set((await auditRows()).map((r) => r.audit_event_id));
  await fn();
  const after = await counts();
  expect(after.outbox).toBe(before.outbox);
  expect(after.commands).toBe(before.commands);
  return (await auditRows()).filter((r) => !seen.has(r.audit_event_id));
}
const read = (path: string, token: string, correlationId?: string) =>
  call(h, "GET", `/v1/tenants/${t.tenantId}${path}`, undefined, {
    token,
    ...(correlationId ? { headers: { "x-correlation-id": correlationId } } : {}),
  });

describe("allowed support reads are audited at home", () => {
  it("the tenant's own staff read without writing anything", async () => {
    const rows = await added(async () => {
      expect((await read(`/cases/${caseId}`, t.users.investigator!.token)).status).toBe(200);
      expect((await read("/cases", t.users.investigator!.token)).status).toBe(200);
      expect((await read(`/cases/${caseId}/audit`, t.users.auditor!.token)).status).toBe(200);
    });
    expect(rows).toEqual([]);
  });

  it("a case read: who, from where, which case, when, the decision; one link, no command, no event", async () => {
    const correlationId = `support-read-${uuidv7()}`;
    const from = new Date();
    let body: any;
    const rows = await added(async () => {
      const r = await read(`/cases/${caseId}`, await support("ap-sg"), correlationId);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      body = r.body;
    });
    expect(body.summary).toBe(newCase.summary);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row).toMatchObject({
      action_type: "support.access_allowed",
      actor_id: supportUser,
      home_region: "ap-id",
      region_epoch: 1,
      aggregate_type: "support_access",
      aggregate_id: supportUser,
      command_id: null,
      correlation_id: correlationId,
    });
    expect(row!.metadata).toEqual({
      outcome: "ALLOWED",
      sink: "support_access",
      policy: "APAC_SHARED",
      targetRegion: "ap-sg",
      payload: { permission: "case.read", resource: "case", caseId, supportRegion: "ap-sg" },
    });
    expect(row!.occurred_at.getTime()).toBeGreaterThanOrEqual(from.getTime() - 1000);
    expect(row!.occurred_at.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it("a list read names the page asked for; an audit read names the case", async () => {
    const list = await added(async () => {
      const r = await read("/cases?status=INTAKE&limit=5", await support("ap-au"));
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.items.map((c: { caseId: string }) => c.caseId)).toContain(caseId);
    });
    expect(list.map((r) => r.metadata)).toEqual([
      {
        outcome: "ALLOWED",
        sink: "support_access",
        policy: "APAC_SHARED",
        targetRegion: "ap-au",
        payload: {
          permission: "case.read",
          resource: "case_list",
          query: { status: "INTAKE", limit: 5 },
          supportRegion: "ap-au",
        },
      },
    ]);
    const audit = await added(async () => {
      const r = await read(`/cases/${caseId}/audit`, await support("ap-id"));
      expect(r.status).toBe(200);
    });
    expect(audit.map((r) => [r.action_type, r.metadata.payload])).toEqual([
      [
        "support.access_allowed",
        { permission: "audit.read", resource: "case_audit", caseId, supportRegion: "ap-id" },
      ],
    ]);
  });

  it("a refused read is recorded as before, and no allowed record is written for it", async () => {
    const rows = await added(async () => {
      const r = await read(`/cases/${caseId}`, await support("eu"));
      expect(r.status).toBe(451);
      expect(r.body).toMatchObject({
        code: "RESIDENCY_VIOLATION",
        policy: "APAC_SHARED",
        targetRegion: "eu",
      });
      expect(JSON.stringify(r.body)).not.toContain(newCase.summary);
    });
    expect(rows.map((r) => [r.action_type, r.metadata])).toEqual([
      [
        "support.access_refused",
        {
          outcome: "REFUSED",
          reason: "RESIDENCY_VIOLATION",
          sink: "support_access",
          refusal: "region_not_allowed",
          policy: "APAC_SHARED",
          targetRegion: "eu",
          payload: { permission: "case.read", resource: "case", caseId, supportRegion: "eu" },
        },
      ],
    ]);
  });

  it("the case's audit trail shows its support reads, allowed and refused, and the chain verifies", async () => {
    const other = (await createCase(h, t)).caseId;
    expect((await read(`/cases/${other}`, await support("ap-sg"))).status).toBe(200);
    expect((await read(`/cases/${other}/audit`, await support("ap-id"))).status).toBe(200);
    expect((await read(`/cases/${other}`, await support("us"))).status).toBe(451);
    const trail = await read(`/cases/${other}/audit`, t.users.auditor!.token);
    expect(trail.status).toBe(200);
    const items = trail.body.items as { actionType: string; actorId: string }[];
    expect(items.map((i) => i.actionType)).toEqual([
      "case.created",
      "support.access_allowed", // case read from ap-sg
      "support.access_allowed", // audit read from ap-id
      "support.access_refused", // case read from us
    ]);
    expect(items.slice(1).every((i) => i.actorId === supportUser)).toBe(true);
    const verify = await h.internal("GET", `/internal/v1/tenants/${t.tenantId}/audit/verify`);
    const v = (await verify.json()) as { ok: boolean; checked: number; lastSeq: number };
    expect(v).toMatchObject({ ok: true });
    expect(v.checked).toBe(v.lastSeq);
  });

  it("fail closed: a support read whose record cannot be written is not served", async () => {
    // Fault injection in this test's own database: the chain refuses support records for a moment.
    await h.sql.unsafe(`
      CREATE FUNCTION test_refuse_support_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$;
      CREATE TRIGGER test_refuse_support_audit BEFORE INSERT ON global_audit_event FOR EACH ROW
        WHEN (NEW.action_type = 'support.access_allowed') EXECUTE FUNCTION test_refuse_support_audit();`);
    try {
      const r = await read(`/cases/${caseId}`, await support("ap-sg"));
      expect(r.status).toBe(500);
      expect(JSON.stringify(r.body)).not.toContain(newCase.summary);
      // The tenant's own staff are not affected: their reads write nothing.
      expect((await read(`/cases/${caseId}`, t.users.investigator!.token)).status).toBe(200);
    } finally {
      await h.sql.unsafe(`
        DROP TRIGGER test_refuse_support_audit ON global_audit_event;
        DROP FUNCTION test_refuse_support_audit();`);
    }
    expect((await read(`/cases/${caseId}`, await support("ap-sg"))).status).toBe(200);
  });
});
