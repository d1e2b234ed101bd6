import { z } from "zod";
import { CASE_STATUSES, DECISION_OUTCOMES } from "./case-status.js";
import {
  dataFreshness,
  epoch,
  isoTime,
  readSource,
  regionCode,
  storableText,
  uuid,
  version,
} from "./common.js";

export const caseStatus = z.enum(CASE_STATUSES);
export const CHANNELS = ["web", "email", "phone", "post", "in_person"] as const;

// Bodies are strict: an unknown field is a client mistake worth telling about, not ignoring.
export const createCaseBody = z.strictObject({
  category: z.string().regex(/^[a-z][a-z0-9_]{1,63}$/, "a violation category code"),
  countryCode: z.string().regex(/^[A-Z]{2}$/, "ISO 3166-1 alpha-2"),
  summary: storableText(1, 4000),
  channel: z.enum(CHANNELS),
});
export type CreateCaseBody = z.infer<typeof createCaseBody>;

export const transitionBody = z.strictObject({
  to: caseStatus,
  expectedStatus: caseStatus.optional(),
  expectedVersion: version,
  reason: storableText(1, 2000),
});
export type TransitionBody = z.infer<typeof transitionBody>;

export const decisionBody = z.strictObject({
  outcome: z.enum(DECISION_OUTCOMES),
  expectedVersion: version,
  rationale: storableText(1, 8000),
});
export type DecisionBody = z.infer<typeof decisionBody>;

export const createTaskBody = z.strictObject({
  title: storableText(1, 500),
  assigneeId: uuid,
  dueAt: isoTime.optional(),
});
export type CreateTaskBody = z.infer<typeof createTaskBody>;

export const completeTaskBody = z.strictObject({ expectedVersion: version });
export type CompleteTaskBody = z.infer<typeof completeTaskBody>;

export const RECOMMENDATIONS = [
  "ESCALATE",
  "NO_VIOLATION",
  "ENFORCEMENT_ACTION",
  "MORE_INVESTIGATION",
] as const;
export const reviewRecommendationBody = z.strictObject({
  recommendation: z.enum(RECOMMENDATIONS),
  rationale: storableText(1, 8000),
});
export type ReviewRecommendationBody = z.infer<typeof reviewRecommendationBody>;

export const listCasesQuery = z.strictObject({
  status: caseStatus.optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const getCaseQuery = z.strictObject({
  consistency: z.enum(["strong", "session", "eventual"]).default("strong"),
});

export const caseView = z.object({
  caseId: uuid,
  tenantId: uuid,
  caseNumber: z.string(),
  homeRegion: regionCode,
  regionEpoch: epoch,
  status: caseStatus,
  category: z.string(),
  countryCode: z.string(),
  summary: z.string(),
  version,
  createdAt: isoTime,
  updatedAt: isoTime,
});
export type CaseView = z.infer<typeof caseView>;

export const caseReadView = caseView.extend({ source: readSource, dataFreshness });
export const createdCaseView = caseView.extend({ accessCode: z.string() });

export const TASK_STATUSES = ["OPEN", "COMPLETED"] as const;
export const taskView = z.object({
  taskId: uuid,
  caseId: uuid,
  tenantId: uuid,
  title: z.string(),
  assigneeId: uuid,
  dueAt: isoTime.nullable(),
  status: z.enum(TASK_STATUSES),
  version,
  createdAt: isoTime,
  updatedAt: isoTime,
});
export type TaskView = z.infer<typeof taskView>;

export const evidenceView = z.object({
  evidenceId: uuid,
  caseId: uuid,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  contentType: z.string(),
  filename: z.string(),
  storageRegion: regionCode,
  createdAt: isoTime,
});
export type EvidenceView = z.infer<typeof evidenceView>;

export const evidenceHeaders = z.object({
  "content-type": z.string().regex(/^[\w.+-]+\/[\w.+-]+(;.*)?$/, "a media type"),
  "x-evidence-filename": storableText(1, 255).refine(
    (s) => !/[/\\]/.test(s) && s !== "." && s !== "..",
    "a file name without path separators",
  ),
});

export const reviewRecommendationView = z.object({
  recommendationId: uuid,
  caseId: uuid,
  reviewerId: uuid,
  reviewerRegion: regionCode,
  recommendation: z.enum(RECOMMENDATIONS),
  rationale: z.string(),
  createdAt: isoTime,
});
export type ReviewRecommendationView = z.infer<typeof reviewRecommendationView>;

export const auditItemView = z.object({
  auditEventId: uuid,
  actionType: z.string(),
  actorId: uuid.nullable(),
  aggregateType: z.string(),
  aggregateId: uuid,
  aggregateVersion: z.number().int().nullable(),
  homeRegion: regionCode,
  regionEpoch: z.number().int().nullable(),
  commandId: uuid.nullable(),
  correlationId: z.string().nullable(),
  occurredAt: isoTime,
  recordedAt: isoTime,
  payloadHash: z.string(),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditItemView = z.infer<typeof auditItemView>;
