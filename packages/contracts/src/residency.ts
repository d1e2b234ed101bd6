import { DomainError } from "./errors.js";

// The one residency decision (DESIGN §10, issue 8): every placement, copy, export, access and log
// line asks `decide` before data lands somewhere. Pure and table-tested, so a sink cannot drift
// from the policy table. The rules per sink, in readable form, are in docs/residency.md.

export interface ResidencyPolicy {
  policyCode: string;
  allowedRegions: string[];
  backupRegions: string[];
  analyticsAllowed: boolean;
  crossBorderExportAllowed: boolean;
  /**
   * With the region's evidence store down, may an upload commit its metadata now and leave the
   * bytes in the cell's spool (same region) until the store returns? Absent from a source that
   * does not carry it: false (the upload waits for the store).
   */
  deferredUploadAllowed: boolean;
  /** "anonymised": analytics may only ever see aggregates, even inside the allowed regions. */
  analyticsMode?: "full" | "anonymised";
  // The catalog's residency_policy table carries these per-sink lists; absent, they are the
  // allowed regions, which is what the catalog seeds today.
  projectionRegions?: string[];
  searchRegions?: string[];
  logRegions?: string[];
  supportRegions?: string[];
}

/** Snake case, so each is also a metric label value. */
export const RESIDENCY_SINKS = [
  "tenant_placement",
  "entity_placement",
  "migration_target",
  "dr_target",
  "standby_copy",
  "edge_projection",
  "search_projection",
  "warehouse_ingestion",
  "export",
  "backup_store",
  "restore_target",
  "evidence_blob_store",
  "support_access",
  "log_fields",
  "audit_replica",
] as const;
export type ResidencySink = (typeof RESIDENCY_SINKS)[number];

export const EXPORT_KINDS = ["analytics", "support", "backup"] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

/**
 * `targetRegion` is always where the data would be (or, for support access, where the person
 * reading it sits): the label a refusal is counted under.
 */
export type ResidencyRequest =
  | { sink: "tenant_placement"; targetRegion: string }
  | { sink: "entity_placement"; targetRegion: string }
  | { sink: "migration_target"; targetRegion: string }
  | { sink: "dr_target"; homeRegion: string; targetRegion: string }
  | { sink: "standby_copy"; targetRegion: string }
  | { sink: "edge_projection"; fields: "public_status" | "personal"; targetRegion: string }
  | { sink: "search_projection"; targetRegion: string }
  | { sink: "warehouse_ingestion"; targetRegion: string }
  | { sink: "export"; kind: ExportKind; targetRegion: string }
  | { sink: "backup_store"; targetRegion: string }
  | { sink: "restore_target"; backupRegion: string; targetRegion: string }
  | { sink: "evidence_blob_store"; targetRegion: string; storeAvailable?: boolean }
  | { sink: "support_access"; targetRegion: string }
  | { sink: "log_fields"; fields: readonly string[]; targetRegion: string }
  | { sink: "audit_replica"; targetRegion: string };

export const RESIDENCY_MODES = [
  "full",
  "public_status",
  "anonymised_aggregates",
  "excluded",
  "deferred_upload",
  "store_only",
  "redacted",
] as const;
export type ResidencyMode = (typeof RESIDENCY_MODES)[number];

export const RESIDENCY_REFUSAL_REASONS = [
  "region_not_allowed",
  "not_a_backup_region",
  "same_as_home",
  "analytics_not_allowed",
  "cross_border_export_not_allowed",
] as const;
export type ResidencyRefusalReason = (typeof RESIDENCY_REFUSAL_REASONS)[number];

export interface ResidencyAllowed {
  allowed: true;
  sink: ResidencySink;
  mode: ResidencyMode;
  /** Only with mode "redacted": the fields to drop before the line leaves for targetRegion. */
  redactFields?: string[];
}

export interface ResidencyRefusal {
  allowed: false;
  code: "RESIDENCY_VIOLATION";
  sink: ResidencySink;
  reason: ResidencyRefusalReason;
  policy: string;
  targetRegion: string;
  detail: string;
}

export type ResidencyDecision = ResidencyAllowed | ResidencyRefusal;

/**
 * Log fields that may leave a tenant's log regions. An allow list, not a deny list: a field
 * someone adds tomorrow (a name, a free-text reason, an error message quoting a summary) is
 * held back until it is classified here.
 */
export const LOG_FIELDS_SAFE_ANYWHERE: ReadonlySet<string> = new Set([
  "level",
  "time",
  "msg",
  "service",
  "requestId",
  "correlationId",
  "causationId",
  "route",
  "method",
  "status",
  "code",
  "outcome",
  "latencyMs",
  "operation",
  "region",
  "homeRegion",
  "sourceRegion",
  "targetRegion",
  "regionEpoch",
  "epoch",
  "tenantId",
  "caseId",
  "taskId",
  "evidenceId",
  "migrationId",
  "aggregateType",
  "aggregateVersion",
  "caseStatus",
  "category",
  "countryCode",
  "policy",
  "sink",
]);

const ok = (sink: ResidencySink, mode: ResidencyMode = "full"): ResidencyAllowed => ({
  allowed: true,
  sink,
  mode,
});

function refuse(
  policy: ResidencyPolicy,
  req: ResidencyRequest,
  reason: ResidencyRefusalReason,
  detail: string,
): ResidencyRefusal {
  return {
    allowed: false,
    code: "RESIDENCY_VIOLATION",
    sink: req.sink,
    reason,
    policy: policy.policyCode,
    targetRegion: req.targetRegion,
    detail: `policy ${policy.policyCode}: ${req.sink} in ${req.targetRegion} refused: ${detail}`,
  };
}

function inRegions(
  policy: ResidencyPolicy,
  req: ResidencyRequest,
  regions: string[],
  onAllowed: ResidencyDecision = ok(req.sink),
): ResidencyDecision {
  return regions.includes(req.targetRegion)
    ? onAllowed
    : refuse(policy, req, "region_not_allowed", `allowed: ${regions.join(", ")}`);
}

function inBackupRegions(policy: ResidencyPolicy, req: ResidencyRequest): ResidencyDecision {
  return policy.backupRegions.includes(req.targetRegion)
    ? ok(req.sink)
    : refuse(policy, req, "not_a_backup_region", `backup regions: ${policy.backupRegions.join(", ")}`);
}

/**
 * What analytics may see in `region`: nothing without analytics_allowed; aggregates only when the
 * policy says so, or when the region is outside the allowed ones (aggregates carry no personal
 * data, rows do; the seed's "analytics export allowed or anonymized"), unless the policy allows
 * cross-border export.
 */
function analyticsModeIn(
  policy: ResidencyPolicy,
  region: string,
): "full" | "anonymised_aggregates" | "excluded" {
  if (!policy.analyticsAllowed) return "excluded";
  if (policy.analyticsMode === "anonymised") return "anonymised_aggregates";
  if (policy.allowedRegions.includes(region) || policy.crossBorderExportAllowed) return "full";
  return "anonymised_aggregates";
}

function evidenceModeOf(policy: ResidencyPolicy, storeAvailable: boolean | undefined): ResidencyMode {
  if (storeAvailable !== false) return "full";
  return policy.deferredUploadAllowed ? "deferred_upload" : "store_only";
}

export function decide(policy: ResidencyPolicy, req: ResidencyRequest): ResidencyDecision {
  const allowed = policy.allowedRegions;
  switch (req.sink) {
    case "tenant_placement":
    case "entity_placement":
    case "migration_target":
    case "standby_copy":
      return inRegions(policy, req, allowed);
    case "dr_target":
      // CONTRACT.md: a DR target is an allowed region other than home; home survives nothing.
      if (req.targetRegion === req.homeRegion && allowed.includes(req.targetRegion)) {
        return refuse(policy, req, "same_as_home", "a DR target must be another region than home");
      }
      return inRegions(policy, req, allowed);
    case "edge_projection":
      // Public status (case number, public status, access-code hash, timestamps) carries no
      // personal data, so it may sit at every edge; the case view only where the policy allows.
      if (req.fields === "public_status") return ok(req.sink, "public_status");
      return inRegions(policy, req, policy.projectionRegions ?? allowed);
    case "search_projection":
      return inRegions(policy, req, policy.searchRegions ?? allowed);
    case "warehouse_ingestion":
      // Never a refusal: the warehouse consumer is told what it may take, and takes that.
      return ok(req.sink, analyticsModeIn(policy, req.targetRegion));
    case "export":
      return decideExport(policy, req);
    case "backup_store":
    case "audit_replica":
      return inBackupRegions(policy, req);
    case "restore_target":
      // The backup must come from a store the policy allows, and the restored rows become live
      // data, so the target is held to the allowed regions (home included), not the backup ones.
      if (!policy.backupRegions.includes(req.backupRegion)) {
        return refuse(
          policy,
          req,
          "not_a_backup_region",
          `the backup in ${req.backupRegion} is outside backup regions ${policy.backupRegions.join(", ")}`,
        );
      }
      return inRegions(policy, req, allowed);
    case "evidence_blob_store":
      // Seed failover table: store down → "deferred upload if policy allows": metadata now, the
      // bytes waiting in the cell's spool (same region) until the store returns. A policy that
      // does not allow it gets "store_only": the caller answers 503 until the store is back. That
      // is not a residency refusal (nothing would leave the region), so it is not counted as one.
      // A region the bytes may not be in is refused either way.
      return inRegions(policy, req, allowed, ok(req.sink, evidenceModeOf(policy, req.storeAvailable)));
    case "support_access":
      return inRegions(policy, req, policy.supportRegions ?? allowed);
    case "log_fields":
      return decideLogFields(policy, req);
  }
}

function decideExport(
  policy: ResidencyPolicy,
  req: Extract<ResidencyRequest, { sink: "export" }>,
): ResidencyDecision {
  const allowed = policy.allowedRegions;
  switch (req.kind) {
    case "backup":
      return inBackupRegions(policy, req);
    case "analytics": {
      const mode = analyticsModeIn(policy, req.targetRegion);
      return mode === "excluded"
        ? refuse(policy, req, "analytics_not_allowed", "analytics_allowed is false")
        : ok(req.sink, mode);
    }
    case "support":
      if (allowed.includes(req.targetRegion) || policy.crossBorderExportAllowed) return ok(req.sink);
      return refuse(
        policy,
        req,
        "cross_border_export_not_allowed",
        `cross_border_export_allowed is false; allowed: ${allowed.join(", ")}`,
      );
  }
}

function decideLogFields(
  policy: ResidencyPolicy,
  req: Extract<ResidencyRequest, { sink: "log_fields" }>,
): ResidencyDecision {
  if ((policy.logRegions ?? policy.allowedRegions).includes(req.targetRegion)) return ok(req.sink);
  // A log line is never refused (losing it helps nobody): its personal fields are dropped.
  const redactFields = req.fields.filter((f) => !LOG_FIELDS_SAFE_ANYWHERE.has(f));
  return redactFields.length === 0 ? ok(req.sink) : { ...ok(req.sink, "redacted"), redactFields };
}

/** The first refusal among requests (e.g. one per region for a store replicated everywhere). */
export function firstRefusal(
  policy: ResidencyPolicy,
  requests: readonly ResidencyRequest[],
): ResidencyRefusal | null {
  for (const r of requests) {
    const d = decide(policy, r);
    if (!d.allowed) return d;
  }
  return null;
}

/** The 451 a refused sink throws, after it has audited and counted the refusal. */
export function residencyViolation(refusal: ResidencyRefusal): DomainError {
  return new DomainError("RESIDENCY_VIOLATION", refusal.detail, {
    policy: refusal.policy,
    targetRegion: refusal.targetRegion,
  });
}

export interface AuditReplicaChoice {
  region: string | null;
  /** Set when no backup region other than home exists: the audit chain dies with its region. */
  warning?: string;
}

/** Protected audit replica (DESIGN §13): the first backup region other than home, in list order. */
export function auditReplicaRegionOf(policy: ResidencyPolicy, homeRegion: string): AuditReplicaChoice {
  const region = policy.backupRegions.find(
    (r) => r !== homeRegion && decide(policy, { sink: "audit_replica", targetRegion: r }).allowed,
  );
  if (region) return { region };
  return {
    region: null,
    warning: `policy ${policy.policyCode} has no backup region other than ${homeRegion}: the audit replica cannot survive the loss of ${homeRegion}`,
  };
}

export function allowsPlacement(policy: ResidencyPolicy, region: string): boolean {
  return decide(policy, { sink: "tenant_placement", targetRegion: region }).allowed;
}

/** CONTRACT.md: the first allowed region other than home, or none (ID_STRICT, EU_GDPR). */
export function drTargetOf(policy: ResidencyPolicy, homeRegion: string): string | null {
  return (
    policy.allowedRegions.find(
      (r) => decide(policy, { sink: "dr_target", homeRegion, targetRegion: r }).allowed,
    ) ?? null
  );
}

/**
 * The policy as far as a routing snapshot tells it (code and allowed regions): enough for the
 * placement-shaped sinks (standby copies, edge projections). Everything the snapshot does not carry
 * is fail-closed: no backup regions, no analytics, no cross-border export, no deferred upload.
 */
export function policyFromSnapshot(t: { policy: string; allowedRegions: string[] }): ResidencyPolicy {
  return {
    policyCode: t.policy,
    allowedRegions: t.allowedRegions,
    backupRegions: [],
    analyticsAllowed: false,
    crossBorderExportAllowed: false,
    deferredUploadAllowed: false,
  };
}
