import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uuid,
} from "drizzle-orm/pg-core";
import { createdAt, tstz } from "../../cell/schema/columns.js";

/** Versioned reference data (countries, violation categories); edges fall back to the last valid. */
export const referenceData = pgTable(
  "reference_data",
  {
    kind: text().notNull(),
    version: integer().notNull(),
    items: jsonb().notNull(),
    publishedAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.kind, t.version] })],
);

/** Every catalog change yields a new, immutable routing snapshot version for the edges. */
export const routingSnapshot = pgTable("routing_snapshot", {
  version: bigserial({ mode: "number" }).primaryKey(),
  snapshot: jsonb().notNull(),
  createdAt: createdAt(),
});

/**
 * Cell control calls the catalog owes (register tenant, fence, grants), kept until the cell
 * acknowledges them, so a cell that is down gets them when it returns (an outbox for control).
 */
export const cellSyncTask = pgTable(
  "cell_sync_task",
  {
    taskId: bigserial({ mode: "number" }).primaryKey(),
    region: text().notNull(),
    method: text().notNull(),
    path: text().notNull(),
    body: jsonb(),
    attempts: integer().notNull().default(0),
    lastError: text(),
    createdAt: createdAt(),
    nextAttemptAt: tstz().notNull().defaultNow(),
    doneAt: tstz(),
  },
  (t) => [index("ix_cell_sync_pending").on(t.region, t.taskId)],
);

/** The control plane's own audit trail: every placement, refusal and mode change. */
export const catalogAuditEvent = pgTable(
  "catalog_audit_event",
  {
    auditEventId: uuid().primaryKey(),
    actorId: uuid(),
    actionType: text().notNull(),
    tenantId: uuid(),
    targetRegion: text(),
    outcome: text().notNull(),
    correlationId: text(),
    metadata: jsonb().notNull(),
    occurredAt: createdAt(),
    seq: bigint({ mode: "number" }),
  },
  (t) => [index("ix_catalog_audit_tenant").on(t.tenantId, t.occurredAt)],
);

/** Idempotency for control-plane commands, same semantics as the cells' command_log. */
export const catalogCommandLog = pgTable("catalog_command_log", {
  commandId: uuid().primaryKey(),
  operation: text().notNull(),
  requestHash: text().notNull(),
  statusCode: integer().notNull(),
  response: jsonb().notNull(),
  createdAt: createdAt(),
});

/** DR drills (DESIGN §14 "DR readiness: last drill"): measured RTO and RPO per tenant. */
export const drDrill = pgTable("dr_drill", {
  drillId: uuid().primaryKey(),
  tenantId: uuid().notNull(),
  fromRegion: text().notNull(),
  toRegion: text().notNull(),
  fencedBy: text().notNull(),
  rtoMs: integer().notNull(),
  rpoSeconds: integer(),
  failedBack: text().notNull(),
  result: jsonb().notNull(),
  ranAt: createdAt(),
});

/** The seed's tenant_region_migration, plus step timings and the measured write freeze (DESIGN §9). */
export const tenantRegionMigration = pgTable("tenant_region_migration", {
  migrationId: uuid().primaryKey(),
  tenantId: uuid().notNull(),
  sourceRegion: text().notNull(),
  targetRegion: text().notNull(),
  status: text().notNull(),
  reason: text().notNull(),
  startedAt: tstz(),
  cutoverAt: tstz(),
  completedAt: tstz(),
  validationSummary: jsonb(),
  errorMessage: text(),
  stepTimings: jsonb().notNull().default({}),
  writeFreezeMs: integer(),
  createdAt: createdAt(),
});

/**
 * Where each export went (`POST /v1/ops/exports`, docs/residency.md "Exports"): one row per
 * export the residency module allowed. Refusals are in catalog_audit_event, not here.
 */
export const tenantExport = pgTable(
  "tenant_export",
  {
    exportId: uuid().primaryKey(),
    tenantId: uuid().notNull(),
    kind: text().notNull(),
    /** The tenant's home, which wrote the export. */
    sourceRegion: text().notNull(),
    targetRegion: text().notNull(),
    mode: text().notNull(),
    location: text().notNull(),
    rowCount: integer().notNull(),
    sha256: text().notNull(),
    actorId: uuid(),
    correlationId: text(),
    createdAt: createdAt(),
  },
  (t) => [
    index("ix_tenant_export_tenant").on(t.tenantId, t.createdAt),
    check("ck_tenant_export_kind", sql`${t.kind} IN ('analytics','support','backup')`),
    check("ck_tenant_export_mode", sql`${t.mode} IN ('full','anonymised_aggregates')`),
  ],
);
