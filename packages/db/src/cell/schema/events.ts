import { sql } from "drizzle-orm";
import { bigint, bigserial, index, jsonb, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { tstz } from "./columns.js";

/** Transactional outbox: written in the command's transaction, relayed to JetStream later. */
export const outboxEvent = pgTable(
  "outbox_event",
  {
    seq: bigserial({ mode: "number" }).primaryKey(),
    eventId: uuid().notNull().unique(),
    tenantId: uuid().notNull(),
    aggregateType: text().notNull(),
    aggregateId: uuid().notNull(),
    aggregateVersion: bigint({ mode: "number" }).notNull(),
    eventType: text().notNull(),
    envelope: jsonb().notNull(),
    createdAt: tstz().notNull().defaultNow(),
    publishedAt: tstz(),
  },
  (t) => [
    index("ix_outbox_unpublished").on(t.seq).where(sql`${t.publishedAt} IS NULL`),
    // A tenant's outbox head, asked every few ms while a migration drains it.
    index("ix_outbox_tenant_seq").on(t.tenantId, t.seq),
  ],
);

/**
 * Append-only audit with one hash chain per tenant (DESIGN §13). prev_hash, hash, chain_seq and
 * payload_hash are set by a trigger under a per-tenant chain-head lock; UPDATE/DELETE are refused.
 */
export const globalAuditEvent = pgTable(
  "global_audit_event",
  {
    auditEventId: uuid().primaryKey(),
    tenantId: uuid().notNull(),
    homeRegion: text().notNull(),
    regionEpoch: bigint({ mode: "number" }),
    actorId: uuid(),
    actionType: text().notNull(),
    aggregateType: text().notNull(),
    aggregateId: uuid().notNull(),
    aggregateVersion: bigint({ mode: "number" }),
    commandId: uuid(),
    correlationId: text(),
    causationId: text(),
    occurredAt: tstz().notNull(),
    recordedAt: tstz().notNull().defaultNow(),
    payloadHash: text().notNull().default(""),
    metadata: jsonb().notNull(),
    chainSeq: bigint({ mode: "number" }).notNull().default(0),
    prevHash: text().notNull().default(""),
    hash: text().notNull().default(""),
  },
  (t) => [
    index("ix_audit_tenant_chain").on(t.tenantId, t.chainSeq),
    index("ix_audit_aggregate").on(t.tenantId, t.aggregateId, t.aggregateVersion),
  ],
);

export const auditChainHead = pgTable("audit_chain_head", {
  tenantId: uuid().primaryKey(),
  lastSeq: bigint({ mode: "number" }).notNull(),
  lastHash: text().notNull(),
});

export const crossRegionConflictCase = pgTable("cross_region_conflict_case", {
  conflictId: uuid().primaryKey(),
  tenantId: uuid().notNull(),
  aggregateType: text().notNull(),
  aggregateId: uuid().notNull(),
  homeRegion: text().notNull(),
  conflictingRegion: text().notNull(),
  conflictType: text().notNull(),
  localVersion: bigint({ mode: "number" }),
  remoteVersion: bigint({ mode: "number" }),
  payload: jsonb().notNull(),
  status: text().notNull().default("OPEN"),
  detectedAt: tstz().notNull().defaultNow(),
  resolvedAt: tstz(),
  resolutionNote: text(),
  /** The event that revealed the conflict: one conflict row per orphaned event, however often it arrives. */
  sourceEventId: uuid().unique(),
  resolvedBy: uuid(),
});

/** How far this cell's DR standby copy of a tenant is (DESIGN §8): per source region. */
export const standbyProgress = pgTable("standby_progress", {
  tenantId: uuid().primaryKey(),
  sourceRegion: text().notNull(),
  lastEventId: uuid(),
  lastEventAt: tstz(),
  lastAppliedAt: tstz(),
  eventsApplied: bigint({ mode: "number" }).notNull().default(0),
});

/**
 * Every event a standby took, once: a migration compares this count per source with the source's
 * outbox to know the copy has no gap (a redelivered batch can arrive after later events).
 */
export const standbyAppliedEvent = pgTable(
  "standby_applied_event",
  {
    tenantId: uuid().notNull(),
    eventId: uuid().notNull(),
    sourceRegion: text().notNull(),
    appliedAt: tstz().notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.eventId] }),
    index("ix_standby_applied_source").on(t.tenantId, t.sourceRegion),
  ],
);
