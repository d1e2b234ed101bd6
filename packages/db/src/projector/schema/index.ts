import { sql } from "drizzle-orm";
import { bigint, index, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { tstz } from "../../cell/schema/columns.js";

/**
 * The projector's copy of each case: public fields for every tenant, the full view only for
 * tenants whose policy lets it leave the home region (DESIGN §4, §10). `version` makes applying
 * idempotent and order-tolerant: an event applies only if newer than what is held.
 */
export const caseProjection = pgTable(
  "case_projection",
  {
    tenantId: uuid().notNull(),
    caseId: uuid().notNull(),
    caseNumber: text(),
    homeRegion: text().notNull(),
    regionEpoch: bigint({ mode: "number" }).notNull(),
    status: text(),
    publicStatus: text(),
    version: bigint({ mode: "number" }).notNull(),
    category: text(),
    countryCode: text(),
    summary: text(),
    accessCodeHash: text(),
    createdAt: tstz(),
    updatedAt: tstz().notNull(),
    appliedAt: tstz().notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.caseId] }),
    index("ix_case_projection_number").on(t.tenantId, t.caseNumber),
  ],
);

/** Per source region: how far the projection is complete (last event or heartbeat applied). */
export const regionWatermark = pgTable("region_watermark", {
  region: text().primaryKey(),
  lastStreamSeq: bigint({ mode: "number" }).notNull().default(0),
  lastEventAt: tstz(),
  asOf: tstz().notNull(),
  updatedAt: tstz().notNull().defaultNow(),
});

/** Roles per user, for the edge's authorization cache (revokes bust it). */
export const grantProjection = pgTable(
  "grant_projection",
  {
    tenantId: uuid().notNull(),
    userId: uuid().notNull(),
    roles: text().array().notNull().default(sql`'{}'::text[]`),
    version: bigint({ mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.userId] })],
);

/** Events that failed validation: kept for an operator, never applied (STYLE §7). */
export const rejectedEvent = pgTable("rejected_event", {
  streamSeq: bigint({ mode: "number" }).notNull(),
  region: text().notNull(),
  subject: text().notNull(),
  body: text().notNull(),
  reason: text().notNull(),
  rejectedAt: tstz().notNull().defaultNow(),
});
