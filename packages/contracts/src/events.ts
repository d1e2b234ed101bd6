import { z } from "zod";
import { DECISION_OUTCOMES } from "./case-status.js";
import { caseStatus, RECOMMENDATIONS } from "./cases.js";
import { isoTime, regionCode, role, uuid } from "./common.js";

// The event envelope of DESIGN §11 and one discriminated union on `type` (STYLE §7).
// Validated when produced (the cell) and when consumed (relay, projector).

const envelopeBase = z.object({
  eventId: uuid,
  tenantId: uuid,
  aggregateId: uuid,
  aggregateVersion: z.number().int().nonnegative(),
  homeRegion: regionCode,
  regionEpoch: z.number().int().positive(),
  occurredAt: isoTime,
  recordedAt: isoTime,
  commandId: uuid.nullable(),
  correlationId: z.string().nullable(),
  causationId: z.string().nullable(),
  schemaVersion: z.literal(1),
});

export const AGGREGATE_TYPES = ["case", "task", "evidence", "review", "grant"] as const;
export const aggregateType = z.enum(AGGREGATE_TYPES);
export type AggregateType = z.infer<typeof aggregateType>;

const caseCreated = envelopeBase.extend({
  type: z.literal("case.created"),
  aggregateType: z.literal("case"),
  payload: z.object({
    caseNumber: z.string(),
    status: caseStatus,
    category: z.string(),
    countryCode: z.string(),
    channel: z.string(),
    /** Personal data: consumers outside the home keep it only where the tenant's policy allows. */
    summary: z.string(),
    accessCodeHash: z.string(),
  }),
});
const caseStatusChanged = envelopeBase.extend({
  type: z.literal("case.status_changed"),
  aggregateType: z.literal("case"),
  payload: z.object({ caseNumber: z.string(), from: caseStatus, to: caseStatus, reason: z.string() }),
});
const caseDecisionRecorded = envelopeBase.extend({
  type: z.literal("case.decision_recorded"),
  aggregateType: z.literal("case"),
  payload: z.object({
    caseNumber: z.string(),
    from: caseStatus,
    to: caseStatus,
    outcome: z.enum(DECISION_OUTCOMES),
  }),
});
const taskCreated = envelopeBase.extend({
  type: z.literal("task.created"),
  aggregateType: z.literal("task"),
  payload: z.object({ caseId: uuid, title: z.string(), assigneeId: uuid, dueAt: isoTime.nullable() }),
});
const taskCompleted = envelopeBase.extend({
  type: z.literal("task.completed"),
  aggregateType: z.literal("task"),
  payload: z.object({ caseId: uuid }),
});
const evidenceAttached = envelopeBase.extend({
  type: z.literal("evidence.attached"),
  aggregateType: z.literal("evidence"),
  payload: z.object({
    caseId: uuid,
    sha256: z.string(),
    size: z.number().int(),
    storageRegion: regionCode,
    contentType: z.string(),
    filename: z.string(),
    objectKey: z.string(),
    uploadedBy: uuid.nullable(),
  }),
});
const reviewRecommended = envelopeBase.extend({
  type: z.literal("review.recommended"),
  aggregateType: z.literal("review"),
  payload: z.object({
    caseId: uuid,
    reviewerId: uuid,
    reviewerRegion: regionCode,
    recommendation: z.enum(RECOMMENDATIONS),
    rationale: z.string(),
  }),
});
const grantGranted = envelopeBase.extend({
  type: z.literal("grant.granted"),
  aggregateType: z.literal("grant"),
  payload: z.object({ userId: uuid, role }),
});
const grantRevoked = envelopeBase.extend({
  type: z.literal("grant.revoked"),
  aggregateType: z.literal("grant"),
  payload: z.object({ userId: uuid, role }),
});

export const domainEvent = z.discriminatedUnion("type", [
  caseCreated,
  caseStatusChanged,
  caseDecisionRecorded,
  taskCreated,
  taskCompleted,
  evidenceAttached,
  reviewRecommended,
  grantGranted,
  grantRevoked,
]);

export type DomainEvent = z.infer<typeof domainEvent>;
export type EventType = DomainEvent["type"];
/** What a command supplies; the envelope's ids, times and region context are filled in by the cell. */
export type EventBody = {
  [T in EventType]: Pick<Extract<DomainEvent, { type: T }>, "type" | "aggregateType" | "payload">;
}[EventType];

export function eventSubject(region: string, tenantId: string, aggType: AggregateType): string {
  return `gr.events.${region}.${tenantId}.${aggType}`;
}

// The protected audit replica's message (`auditLinkMessage`) travels on the backbone too, on each
// region's audit stream; its schemas live in audit.ts and are exported with the events.
export * from "./audit.js";
