import { sql } from "drizzle-orm";
import { bigint, check, index, jsonb, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { tstz } from "./columns.js";

// Protected audit replica (DESIGN §13, docs/audit.md). The home's relay publishes each tenant's
// audit links in chain order; a consumer delivers them to the replica region the residency
// module picks, where they are kept verbatim and re-verified with the home's canonical form.

/** How far the home's relay has published each tenant's audit chain (home side). */
export const auditRelayProgress = pgTable("audit_relay_progress", {
  tenantId: uuid().primaryKey(),
  lastChainSeq: bigint({ mode: "number" }).notNull(),
  updatedAt: tstz().notNull().defaultNow(),
});

/**
 * A copy of another region's audit links, field for field and hash for hash (replica side).
 * `sourceRegion` is the region whose chain it is (the tenant's home when the link was written);
 * the row's own `homeRegion` is a field of the link. Append-only, like global_audit_event.
 */
export const auditReplicaEvent = pgTable(
  "audit_replica_event",
  {
    tenantId: uuid().notNull(),
    sourceRegion: text().notNull(),
    chainSeq: bigint({ mode: "number" }).notNull(),
    auditEventId: uuid().notNull(),
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
    recordedAt: tstz().notNull(),
    payloadHash: text().notNull(),
    metadata: jsonb().notNull(),
    prevHash: text().notNull(),
    hash: text().notNull(),
    replicatedAt: tstz().notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.sourceRegion, t.chainSeq] }),
    index("ix_audit_replica_event_id").on(t.auditEventId),
    check("ck_audit_replica_seq_positive", sql`${t.chainSeq} > 0`),
  ],
);

/** The replica's head per copied chain: the next link must continue it. */
export const auditReplicaHead = pgTable(
  "audit_replica_head",
  {
    tenantId: uuid().notNull(),
    sourceRegion: text().notNull(),
    chainSeq: bigint({ mode: "number" }).notNull(),
    hash: text().notNull(),
    updatedAt: tstz().notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.sourceRegion] })],
);
