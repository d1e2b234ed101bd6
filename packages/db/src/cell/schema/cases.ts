import { sql } from "drizzle-orm";
import { bigint, check, index, integer, pgTable, primaryKey, text, unique, uuid } from "drizzle-orm/pg-core";
import { createdAt, tstz, updatedAt } from "./columns.js";

export const regulatoryCase = pgTable(
  "regulatory_case",
  {
    tenantId: uuid().notNull(),
    caseId: uuid().notNull(),
    homeRegion: text().notNull(),
    regionEpoch: bigint({ mode: "number" }).notNull(),
    caseNumber: text().notNull(),
    status: text().notNull(),
    version: bigint({ mode: "number" }).notNull().default(0),
    category: text().notNull(),
    countryCode: text().notNull(),
    summary: text().notNull(),
    channel: text().notNull(),
    accessCodeHash: text().notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.caseId] }),
    unique("uq_case_number_region").on(t.tenantId, t.homeRegion, t.caseNumber),
    index("ix_case_tenant_status").on(t.tenantId, t.status, t.caseId),
    check("ck_case_version", sql`${t.version} >= 0`),
  ],
);

/** Per (tenant, region, year) display-number counter; the row lock makes numbers gap-free. */
export const caseNumberCounter = pgTable(
  "case_number_counter",
  {
    tenantId: uuid().notNull(),
    regionCode: text().notNull(),
    year: integer().notNull(),
    nextValue: bigint({ mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.regionCode, t.year] })],
);

export const caseTask = pgTable(
  "case_task",
  {
    tenantId: uuid().notNull(),
    taskId: uuid().notNull(),
    caseId: uuid().notNull(),
    title: text().notNull(),
    assigneeId: uuid().notNull(),
    dueAt: tstz(),
    status: text().notNull(),
    version: bigint({ mode: "number" }).notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.taskId] }), index("ix_task_case").on(t.tenantId, t.caseId)],
);

export const evidenceObject = pgTable(
  "evidence_object",
  {
    tenantId: uuid().notNull(),
    evidenceId: uuid().notNull(),
    caseId: uuid().notNull(),
    sha256: text().notNull(),
    size: bigint({ mode: "number" }).notNull(),
    contentType: text().notNull(),
    filename: text().notNull(),
    storageRegion: text().notNull(),
    objectKey: text().notNull(),
    uploadedBy: uuid(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.evidenceId] }),
    index("ix_evidence_case").on(t.tenantId, t.caseId),
  ],
);

/** A reviewer's input from any region, recorded at the case's home (seed §10). */
export const reviewRecommendation = pgTable(
  "review_recommendation",
  {
    tenantId: uuid().notNull(),
    recommendationId: uuid().notNull(),
    caseId: uuid().notNull(),
    reviewerId: uuid().notNull(),
    reviewerRegion: text().notNull(),
    recommendation: text().notNull(),
    rationale: text().notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.recommendationId] }),
    index("ix_review_case").on(t.tenantId, t.caseId),
  ],
);
