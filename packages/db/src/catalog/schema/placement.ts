import { sql } from "drizzle-orm";
import { bigint, boolean, check, date, index, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { createdAt, tstz, updatedAt } from "../../cell/schema/columns.js";

/** Regions are data (infra/topology.json), seeded and updated by the catalog at start. */
export const region = pgTable(
  "region",
  {
    code: text().primaryKey(),
    displayPrefix: text().notNull(),
    jurisdiction: text().notNull(),
    mode: text().notNull().default("WRITABLE"),
    cellUrl: text(),
    modeReason: text(),
    lastHeartbeatAt: tstz(),
    updatedAt: updatedAt(),
  },
  (t) => [check("ck_region_mode", sql`${t.mode} IN ('WRITABLE','READ_ONLY')`)],
);

/** The seed's residency_policy, plus where each secondary sink may live (DESIGN §10). */
export const residencyPolicy = pgTable("residency_policy", {
  policyCode: text().primaryKey(),
  allowedRegions: text().array().notNull(),
  backupRegions: text().array().notNull(),
  analyticsAllowed: boolean().notNull(),
  analyticsMode: text().notNull().default("full"),
  crossBorderExportAllowed: boolean().notNull(),
  /** Evidence store down: metadata now and the bytes spooled in the region, or 503 until it returns. */
  deferredUploadAllowed: boolean().notNull().default(false),
  projectionRegions: text().array().notNull(),
  searchRegions: text().array().notNull(),
  logRegions: text().array().notNull(),
  supportRegions: text().array().notNull(),
  description: text().notNull(),
  effectiveFrom: date().notNull(),
  effectiveTo: date(),
});

export const tenantRegionAssignment = pgTable(
  "tenant_region_assignment",
  {
    tenantId: uuid().primaryKey(),
    name: text().notNull(),
    homeRegion: text().notNull(),
    residencyPolicy: text().notNull(),
    status: text().notNull(),
    /** The tenant's configuration allows queued intake at the edge while its home is unreachable. */
    queuedIntake: boolean().notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check("ck_tenant_region_status", sql`${t.status} IN ('ACTIVE','MIGRATING','SUSPENDED','DECOMMISSIONED')`),
  ],
);

export const entityHomeRegion = pgTable(
  "entity_home_region",
  {
    entityType: text().notNull(),
    entityId: uuid().notNull(),
    tenantId: uuid().notNull(),
    homeRegion: text().notNull(),
    regionEpoch: bigint({ mode: "number" }).notNull().default(1),
    assignedAt: tstz().notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.entityType, t.entityId] }),
    index("ix_entity_home_tenant").on(t.tenantId, t.entityType, t.homeRegion),
  ],
);

/** The authoritative fence per scope; cells hold copies (their own region_write_epoch). */
export const regionWriteEpoch = pgTable(
  "region_write_epoch",
  {
    logicalScope: text().primaryKey(),
    activeRegion: text().notNull(),
    epoch: bigint({ mode: "number" }).notNull(),
    status: text().notNull(),
    leaseExpiresAt: tstz(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check("ck_region_write_epoch_status", sql`${t.status} IN ('WRITABLE','READ_ONLY','FENCED','MIGRATING')`),
  ],
);
