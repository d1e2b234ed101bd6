import { bigint, boolean, integer, jsonb, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { tstz } from "../../cell/schema/columns.js";

// The warehouse in the analytics region (DESIGN §4, seed §16): what each tenant's policy lets
// analytics see (packages/contracts residency, sink warehouse_ingestion). Tenants ingested in full
// have a row per case; anonymised tenants only counters without any id; excluded tenants nothing.

/** Cases of tenants whose policy lets analytics see them in full (ids, status, category). */
export const caseFact = pgTable(
  "case_fact",
  {
    tenantId: uuid().notNull(),
    caseId: uuid().notNull(),
    homeRegion: text().notNull(),
    policyCode: text().notNull(),
    status: text().notNull(),
    category: text(),
    version: bigint({ mode: "number" }).notNull(),
    updatedAt: tstz().notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.caseId] })],
);

/** Anonymised tenants: counts only, by region, policy, status and category; no tenant or case id. */
export const caseAggregate = pgTable(
  "case_aggregate",
  {
    homeRegion: text().notNull(),
    policyCode: text().notNull(),
    status: text().notNull(),
    category: text().notNull(),
    cases: bigint({ mode: "number" }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.homeRegion, t.policyCode, t.status, t.category] })],
);

/**
 * Events taken, once (an anonymised counter cannot be made idempotent by version: it has no
 * case). Event ids are random and carry nothing of the tenant. `mode` records what was kept.
 */
export const ingestedEvent = pgTable("ingested_event", {
  eventId: uuid().primaryKey(),
  region: text().notNull(),
  mode: text().notNull(),
  late: boolean().notNull().default(false),
  ingestedAt: tstz().notNull().defaultNow(),
});

/** Per source region: complete up to asOf (last event or heartbeat taken, in stream order). */
export const ingestionWatermark = pgTable("ingestion_watermark", {
  region: text().primaryKey(),
  lastStreamSeq: bigint({ mode: "number" }).notNull().default(0),
  asOf: tstz().notNull(),
  lateEvents: bigint({ mode: "number" }).notNull().default(0),
  updatedAt: tstz().notNull().defaultNow(),
});

/** Which event schema versions arrived, per region and type (a new version is visible here). */
export const schemaVersionSeen = pgTable(
  "schema_version_seen",
  {
    region: text().notNull(),
    eventType: text().notNull(),
    schemaVersion: integer().notNull(),
    events: bigint({ mode: "number" }).notNull().default(0),
    firstSeenAt: tstz().notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.region, t.eventType, t.schemaVersion] })],
);

/** Every report served, byte for byte: `?snapshotId=` returns the same body later. */
export const reportSnapshot = pgTable("report_snapshot", {
  snapshotId: uuid().primaryKey(),
  report: text().notNull(),
  body: text().notNull(),
  checksum: text().notNull(),
  createdAt: tstz().notNull().defaultNow(),
  meta: jsonb(),
});
