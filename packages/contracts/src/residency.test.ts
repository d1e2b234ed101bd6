import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_STATUS } from "./errors.js";
import {
  allowsPlacement,
  auditReplicaRegionOf,
  decide,
  drTargetOf,
  firstRefusal,
  policyFromSnapshot,
  RESIDENCY_REFUSAL_REASONS,
  RESIDENCY_SINKS,
  type ResidencyPolicy,
  type ResidencyRequest,
  residencyViolation,
} from "./residency.js";
import { topologySchema } from "./topology.js";

// The real policies and regions, as the catalog seeds them.
const topology = topologySchema.parse(
  JSON.parse(readFileSync(new URL("../../../infra/topology.json", import.meta.url), "utf8")),
);
const policies = new Map<string, ResidencyPolicy>(topology.residencyPolicies.map((p) => [p.policyCode, p]));
const regions = topology.regions.map((r) => r.code);
const policy = (code: string) => {
  const p = policies.get(code);
  if (!p) throw new Error(`no policy ${code} in infra/topology.json`);
  return p;
};

// Written out, not computed: the home each policy's rows are asked from, and where its restore
// reads its backup from (a backup region of the policy).
const HOME: Record<string, string> = {
  ID_STRICT: "ap-id",
  EU_GDPR: "eu",
  APAC_SHARED: "ap-id",
  GLOBAL_STANDARD: "ap-id",
};
const BACKUP_SOURCE: Record<string, string> = {
  ID_STRICT: "ap-id",
  EU_GDPR: "eu",
  APAC_SHARED: "ap-sg",
  GLOBAL_STANDARD: "ap-id",
};
const LOG_LINE = ["tenantId", "caseId", "route", "summary", "reporterName", "filename"];
const LOG_PERSONAL = ["summary", "reporterName", "filename"];

/** One row of the matrix: a request to `region` for a tenant of `code` homed in HOME[code]. */
const CASES: Record<string, (code: string, region: string) => ResidencyRequest> = {
  tenant_placement: (_, r) => ({ sink: "tenant_placement", targetRegion: r }),
  entity_placement: (_, r) => ({ sink: "entity_placement", targetRegion: r }),
  migration_target: (_, r) => ({ sink: "migration_target", targetRegion: r }),
  dr_target: (c, r) => ({ sink: "dr_target", homeRegion: HOME[c]!, targetRegion: r }),
  standby_copy: (_, r) => ({ sink: "standby_copy", targetRegion: r }),
  "edge_projection:public_status": (_, r) => ({
    sink: "edge_projection",
    fields: "public_status",
    targetRegion: r,
  }),
  "edge_projection:personal": (_, r) => ({ sink: "edge_projection", fields: "personal", targetRegion: r }),
  search_projection: (_, r) => ({ sink: "search_projection", targetRegion: r }),
  warehouse_ingestion: (_, r) => ({ sink: "warehouse_ingestion", targetRegion: r }),
  "export:analytics": (_, r) => ({ sink: "export", kind: "analytics", targetRegion: r }),
  "export:support": (_, r) => ({ sink: "export", kind: "support", targetRegion: r }),
  "export:backup": (_, r) => ({ sink: "export", kind: "backup", targetRegion: r }),
  backup_store: (_, r) => ({ sink: "backup_store", targetRegion: r }),
  restore_target: (c, r) => ({ sink: "restore_target", backupRegion: BACKUP_SOURCE[c]!, targetRegion: r }),
  "evidence_blob_store:up": (_, r) => ({
    sink: "evidence_blob_store",
    targetRegion: r,
    storeAvailable: true,
  }),
  "evidence_blob_store:down": (_, r) => ({
    sink: "evidence_blob_store",
    targetRegion: r,
    storeAvailable: false,
  }),
  support_access: (_, r) => ({ sink: "support_access", targetRegion: r }),
  log_fields: (_, r) => ({ sink: "log_fields", fields: LOG_LINE, targetRegion: r }),
  audit_replica: (_, r) => ({ sink: "audit_replica", targetRegion: r }),
};

// ok full · pub public_status · anon anonymised_aggregates · excl excluded · defer deferred_upload
// store store_only (store down, no deferral: 503 until it returns) · redact redacted (LOG_PERSONAL dropped) · refusals: R! region_not_allowed, B! not_a_backup_region,
// H! same_as_home, A! analytics_not_allowed, X! cross_border_export_not_allowed
const EXPECTED = `
policy           case                           ap-id  ap-sg  eu     us     ap-au
ID_STRICT        tenant_placement               ok     R!     R!     R!     R!
ID_STRICT        entity_placement               ok     R!     R!     R!     R!
ID_STRICT        migration_target               ok     R!     R!     R!     R!
ID_STRICT        dr_target                      H!     R!     R!     R!     R!
ID_STRICT        standby_copy                   ok     R!     R!     R!     R!
ID_STRICT        edge_projection:public_status  pub    pub    pub    pub    pub
ID_STRICT        edge_projection:personal       ok     R!     R!     R!     R!
ID_STRICT        search_projection              ok     R!     R!     R!     R!
ID_STRICT        warehouse_ingestion            excl   excl   excl   excl   excl
ID_STRICT        export:analytics               A!     A!     A!     A!     A!
ID_STRICT        export:support                 ok     X!     X!     X!     X!
ID_STRICT        export:backup                  ok     B!     B!     B!     B!
ID_STRICT        backup_store                   ok     B!     B!     B!     B!
ID_STRICT        restore_target                 ok     R!     R!     R!     R!
ID_STRICT        evidence_blob_store:up         ok     R!     R!     R!     R!
ID_STRICT        evidence_blob_store:down       store  R!     R!     R!     R!
ID_STRICT        support_access                 ok     R!     R!     R!     R!
ID_STRICT        log_fields                     ok     redact redact redact redact
ID_STRICT        audit_replica                  ok     B!     B!     B!     B!
EU_GDPR          tenant_placement               R!     R!     ok     R!     R!
EU_GDPR          entity_placement               R!     R!     ok     R!     R!
EU_GDPR          migration_target               R!     R!     ok     R!     R!
EU_GDPR          dr_target                      R!     R!     H!     R!     R!
EU_GDPR          standby_copy                   R!     R!     ok     R!     R!
EU_GDPR          edge_projection:public_status  pub    pub    pub    pub    pub
EU_GDPR          edge_projection:personal       R!     R!     ok     R!     R!
EU_GDPR          search_projection              R!     R!     ok     R!     R!
EU_GDPR          warehouse_ingestion            anon   anon   anon   anon   anon
EU_GDPR          export:analytics               anon   anon   anon   anon   anon
EU_GDPR          export:support                 X!     X!     ok     X!     X!
EU_GDPR          export:backup                  B!     B!     ok     B!     B!
EU_GDPR          backup_store                   B!     B!     ok     B!     B!
EU_GDPR          restore_target                 R!     R!     ok     R!     R!
EU_GDPR          evidence_blob_store:up         R!     R!     ok     R!     R!
EU_GDPR          evidence_blob_store:down       R!     R!     defer  R!     R!
EU_GDPR          support_access                 R!     R!     ok     R!     R!
EU_GDPR          log_fields                     redact redact ok     redact redact
EU_GDPR          audit_replica                  B!     B!     ok     B!     B!
APAC_SHARED      tenant_placement               ok     ok     R!     R!     ok
APAC_SHARED      entity_placement               ok     ok     R!     R!     ok
APAC_SHARED      migration_target               ok     ok     R!     R!     ok
APAC_SHARED      dr_target                      H!     ok     R!     R!     ok
APAC_SHARED      standby_copy                   ok     ok     R!     R!     ok
APAC_SHARED      edge_projection:public_status  pub    pub    pub    pub    pub
APAC_SHARED      edge_projection:personal       ok     ok     R!     R!     ok
APAC_SHARED      search_projection              ok     ok     R!     R!     ok
APAC_SHARED      warehouse_ingestion            ok     ok     anon   anon   ok
APAC_SHARED      export:analytics               ok     ok     anon   anon   ok
APAC_SHARED      export:support                 ok     ok     X!     X!     ok
APAC_SHARED      export:backup                  B!     ok     B!     B!     ok
APAC_SHARED      backup_store                   B!     ok     B!     B!     ok
APAC_SHARED      restore_target                 ok     ok     R!     R!     ok
APAC_SHARED      evidence_blob_store:up         ok     ok     R!     R!     ok
APAC_SHARED      evidence_blob_store:down       defer  defer  R!     R!     defer
APAC_SHARED      support_access                 ok     ok     R!     R!     ok
APAC_SHARED      log_fields                     ok     ok     redact redact ok
APAC_SHARED      audit_replica                  B!     ok     B!     B!     ok
GLOBAL_STANDARD  tenant_placement               ok     ok     ok     ok     ok
GLOBAL_STANDARD  entity_placement               ok     ok     ok     ok     ok
GLOBAL_STANDARD  migration_target               ok     ok     ok     ok     ok
GLOBAL_STANDARD  dr_target                      H!     ok     ok     ok     ok
GLOBAL_STANDARD  standby_copy                   ok     ok     ok     ok     ok
GLOBAL_STANDARD  edge_projection:public_status  pub    pub    pub    pub    pub
GLOBAL_STANDARD  edge_projection:personal       ok     ok     ok     ok     ok
GLOBAL_STANDARD  search_projection              ok     ok     ok     ok     ok
GLOBAL_STANDARD  warehouse_ingestion            ok     ok     ok     ok     ok
GLOBAL_STANDARD  export:analytics               ok     ok     ok     ok     ok
GLOBAL_STANDARD  export:support                 ok     ok     ok     ok     ok
GLOBAL_STANDARD  export:backup                  ok     ok     ok     ok     ok
GLOBAL_STANDARD  backup_store                   ok     ok     ok     ok     ok
GLOBAL_STANDARD  restore_target                 ok     ok     ok     ok     ok
GLOBAL_STANDARD  evidence_blob_store:up         ok     ok     ok     ok     ok
GLOBAL_STANDARD  evidence_blob_store:down       defer  defer  defer  defer  defer
GLOBAL_STANDARD  support_access                 ok     ok     ok     ok     ok
GLOBAL_STANDARD  log_fields                     ok     ok     ok     ok     ok
GLOBAL_STANDARD  audit_replica                  ok     ok     ok     ok     ok
`;

const CELL: Record<string, { allowed: boolean; redactFields?: string[]; [k: string]: unknown }> = {
  ok: { allowed: true, mode: "full" },
  pub: { allowed: true, mode: "public_status" },
  anon: { allowed: true, mode: "anonymised_aggregates" },
  excl: { allowed: true, mode: "excluded" },
  defer: { allowed: true, mode: "deferred_upload" },
  store: { allowed: true, mode: "store_only" },
  redact: { allowed: true, mode: "redacted", redactFields: LOG_PERSONAL },
  "R!": { allowed: false, code: "RESIDENCY_VIOLATION", reason: "region_not_allowed" },
  "B!": { allowed: false, code: "RESIDENCY_VIOLATION", reason: "not_a_backup_region" },
  "H!": { allowed: false, code: "RESIDENCY_VIOLATION", reason: "same_as_home" },
  "A!": { allowed: false, code: "RESIDENCY_VIOLATION", reason: "analytics_not_allowed" },
  "X!": { allowed: false, code: "RESIDENCY_VIOLATION", reason: "cross_border_export_not_allowed" },
};

const [header, ...lines] = EXPECTED.trim().split("\n");
const columns = header!.split(/\s+/).slice(2);
const rows = lines.map((l) => {
  const [code, name, ...cells] = l.trim().split(/\s+/);
  return { code: code!, name: name!, cells };
});

describe("residency matrix: every policy × region × sink", () => {
  it("covers every policy and region of infra/topology.json and every sink", () => {
    expect([...columns].sort()).toEqual([...regions].sort());
    expect(new Set(rows.map((r) => r.code))).toEqual(new Set(policies.keys()));
    for (const code of policies.keys()) {
      expect(rows.filter((r) => r.code === code).map((r) => r.name)).toEqual(Object.keys(CASES));
    }
    const sinks = new Set(Object.values(CASES).map((build) => build("GLOBAL_STANDARD", "eu").sink));
    expect(sinks).toEqual(new Set(RESIDENCY_SINKS));
    for (const r of rows) expect(r.cells).toHaveLength(columns.length);
  });

  describe.each(rows)("$code $name", ({ code, name, cells }) => {
    it.each(columns.map((region, i) => ({ region, cell: cells[i]! })))(
      "$region → $cell",
      ({ region, cell }) => {
        const expected = CELL[cell];
        if (!expected) throw new Error(`unknown cell ${cell}`);
        const d = decide(policy(code), CASES[name]!(code, region));
        expect(d).toMatchObject({ ...expected, sink: CASES[name]!(code, region).sink });
        if (d.allowed) {
          expect(d.redactFields).toEqual(expected.redactFields);
        } else {
          expect(d).toMatchObject({ policy: code, targetRegion: region });
          expect(d.detail).toContain(code);
        }
      },
    );
  });
});

describe("existing helpers keep their behaviour", () => {
  it("allowsPlacement is membership of allowed_regions", () => {
    const allowed: Record<string, string[]> = {
      ID_STRICT: ["ap-id"],
      EU_GDPR: ["eu"],
      APAC_SHARED: ["ap-id", "ap-sg", "ap-au"],
      GLOBAL_STANDARD: ["ap-id", "ap-sg", "eu", "us", "ap-au"],
    };
    for (const [code, yes] of Object.entries(allowed)) {
      for (const r of regions) expect(allowsPlacement(policy(code), r), `${code} ${r}`).toBe(yes.includes(r));
    }
  });

  it.each([
    ["ID_STRICT", "ap-id", null],
    ["EU_GDPR", "eu", null],
    ["APAC_SHARED", "ap-id", "ap-sg"],
    ["APAC_SHARED", "ap-sg", "ap-id"],
    ["APAC_SHARED", "ap-au", "ap-id"],
    ["GLOBAL_STANDARD", "ap-id", "ap-sg"],
    ["GLOBAL_STANDARD", "ap-sg", "ap-id"],
    ["GLOBAL_STANDARD", "eu", "ap-id"],
    ["GLOBAL_STANDARD", "us", "ap-id"],
    ["GLOBAL_STANDARD", "ap-au", "ap-id"],
  ])("drTargetOf %s homed in %s is %s", (code, home, target) => {
    expect(drTargetOf(policy(code), home)).toBe(target);
  });

  it("a DR target from another home: APAC_SHARED homed in ap-sg may fail over to ap-id, not to itself", () => {
    const p = policy("APAC_SHARED");
    expect(decide(p, { sink: "dr_target", homeRegion: "ap-sg", targetRegion: "ap-id" }).allowed).toBe(true);
    expect(decide(p, { sink: "dr_target", homeRegion: "ap-sg", targetRegion: "ap-sg" })).toMatchObject({
      allowed: false,
      reason: "same_as_home",
    });
  });
});

describe("protected audit replica", () => {
  it.each([
    ["ID_STRICT", "ap-id", null],
    ["EU_GDPR", "eu", null],
    ["APAC_SHARED", "ap-id", "ap-sg"],
    ["APAC_SHARED", "ap-sg", "ap-au"],
    ["APAC_SHARED", "ap-au", "ap-sg"],
    ["GLOBAL_STANDARD", "ap-id", "ap-sg"],
    ["GLOBAL_STANDARD", "eu", "ap-id"],
  ])("%s homed in %s → %s", (code, home, region) => {
    const choice = auditReplicaRegionOf(policy(code), home);
    expect(choice.region).toBe(region);
    if (region === null) {
      expect(choice.warning).toContain(code);
      expect(choice.warning).toContain(home);
    } else {
      expect(choice.warning).toBeUndefined();
    }
  });
});

describe("rules the seeded policies do not reach", () => {
  it("a restore reading a backup from outside backup_regions is refused, even into home", () => {
    const d = decide(policy("APAC_SHARED"), {
      sink: "restore_target",
      backupRegion: "ap-id",
      targetRegion: "ap-id",
    });
    expect(d).toMatchObject({ allowed: false, reason: "not_a_backup_region", targetRegion: "ap-id" });
  });

  it("cross_border_export_allowed opens support and analytics exports, never placements or backups", () => {
    const p: ResidencyPolicy = {
      policyCode: "EU_OPEN",
      allowedRegions: ["eu"],
      backupRegions: ["eu"],
      analyticsAllowed: true,
      crossBorderExportAllowed: true,
      deferredUploadAllowed: true,
    };
    expect(decide(p, { sink: "export", kind: "support", targetRegion: "us" })).toMatchObject({
      mode: "full",
    });
    expect(decide(p, { sink: "export", kind: "analytics", targetRegion: "us" })).toMatchObject({
      mode: "full",
    });
    expect(decide(p, { sink: "warehouse_ingestion", targetRegion: "us" })).toMatchObject({ mode: "full" });
    expect(decide(p, { sink: "export", kind: "backup", targetRegion: "us" })).toMatchObject({
      reason: "not_a_backup_region",
    });
    expect(decide(p, { sink: "tenant_placement", targetRegion: "us" })).toMatchObject({
      reason: "region_not_allowed",
    });
    expect(decide(p, { sink: "support_access", targetRegion: "us" })).toMatchObject({
      reason: "region_not_allowed",
    });
  });

  it("per-sink region lists, when a policy row sets them, replace allowed_regions for that sink only", () => {
    const p: ResidencyPolicy = {
      ...policy("ID_STRICT"),
      supportRegions: ["ap-id", "ap-sg"],
      logRegions: ["ap-id", "ap-sg"],
    };
    expect(decide(p, { sink: "support_access", targetRegion: "ap-sg" }).allowed).toBe(true);
    expect(decide(p, { sink: "log_fields", fields: LOG_LINE, targetRegion: "ap-sg" })).toMatchObject({
      mode: "full",
    });
    expect(decide(p, { sink: "edge_projection", fields: "personal", targetRegion: "ap-sg" }).allowed).toBe(
      false,
    );
  });

  it("a log line of safe fields only leaves whole; unknown fields are treated as personal", () => {
    const p = policy("ID_STRICT");
    expect(
      decide(p, { sink: "log_fields", fields: ["tenantId", "caseId", "latencyMs"], targetRegion: "eu" }),
    ).toEqual({ allowed: true, sink: "log_fields", mode: "full" });
    expect(
      decide(p, {
        sink: "log_fields",
        fields: ["tenantId", "error", "title", "rationale"],
        targetRegion: "eu",
      }),
    ).toMatchObject({ mode: "redacted", redactFields: ["error", "title", "rationale"] });
  });

  it("deferred_upload_allowed decides only the store-down answer, never the region", () => {
    const spoolOk: ResidencyPolicy = { ...policy("ID_STRICT"), deferredUploadAllowed: true };
    const noSpool: ResidencyPolicy = { ...policy("GLOBAL_STANDARD"), deferredUploadAllowed: false };
    const down = (targetRegion: string): ResidencyRequest => ({
      sink: "evidence_blob_store",
      targetRegion,
      storeAvailable: false,
    });
    expect(decide(spoolOk, down("ap-id"))).toMatchObject({ allowed: true, mode: "deferred_upload" });
    expect(decide(spoolOk, down("ap-sg"))).toMatchObject({ allowed: false, reason: "region_not_allowed" });
    for (const r of regions) {
      expect(decide(noSpool, down(r))).toMatchObject({ allowed: true, mode: "store_only" });
      expect(
        decide(noSpool, { sink: "evidence_blob_store", targetRegion: r, storeAvailable: true }),
      ).toMatchObject({ allowed: true, mode: "full" });
    }
  });

  it("a policy from a routing snapshot never allows a deferred upload (fail closed)", () => {
    const p = policyFromSnapshot({ policy: "GLOBAL_STANDARD", allowedRegions: regions });
    expect(
      decide(p, { sink: "evidence_blob_store", targetRegion: "eu", storeAvailable: false }),
    ).toMatchObject({
      mode: "store_only",
    });
  });

  it("evidence with storeAvailable unset is an ordinary upload", () => {
    expect(decide(policy("ID_STRICT"), { sink: "evidence_blob_store", targetRegion: "ap-id" })).toMatchObject(
      {
        mode: "full",
      },
    );
  });
});

describe("helpers for sinks", () => {
  it("firstRefusal: edge KV is held in every region, so only a policy allowing all of them gets case views", () => {
    const everywhere = regions.map(
      (r): ResidencyRequest => ({ sink: "edge_projection", fields: "personal", targetRegion: r }),
    );
    expect(firstRefusal(policy("GLOBAL_STANDARD"), everywhere)).toBeNull();
    expect(firstRefusal(policy("APAC_SHARED"), everywhere)).toMatchObject({ targetRegion: "eu" });
    expect(firstRefusal(policy("ID_STRICT"), everywhere)).toMatchObject({ targetRegion: "ap-sg" });
  });

  it("residencyViolation is the contract's 451 with policy and targetRegion", () => {
    const d = decide(policy("ID_STRICT"), { sink: "tenant_placement", targetRegion: "ap-sg" });
    if (d.allowed) throw new Error("expected a refusal");
    const e = residencyViolation(d);
    expect(e.status).toBe(ERROR_STATUS.RESIDENCY_VIOLATION);
    expect(e.toProblem()).toMatchObject({
      status: 451,
      code: "RESIDENCY_VIOLATION",
      policy: "ID_STRICT",
      targetRegion: "ap-sg",
    });
  });

  it("sink names and refusal reasons are snake_case label values", () => {
    for (const s of [...RESIDENCY_SINKS, ...RESIDENCY_REFUSAL_REASONS])
      expect(s).toMatch(/^[a-z]+(_[a-z]+)*$/);
    expect(new Set(RESIDENCY_SINKS).size).toBe(RESIDENCY_SINKS.length);
  });
});
