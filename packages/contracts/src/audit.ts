import { z } from "zod";
import { regionCode, uuid } from "./common.js";

// Protected audit replica (DESIGN §13, docs/audit.md): what travels from a home's relay through
// its region's audit stream to the replica cell, and what the ops verification answers.

const hash = z.string().regex(/^[0-9a-f]{64}$/);
/** UTC with microseconds: the precision audit_canonical() hashes, which a JS Date would lose. */
const microTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);

/** One audit link exactly as stored at home: every canonical field, the metadata text, the hashes. */
export const auditLink = z.object({
  chainSeq: z.number().int().positive(),
  prevHash: hash,
  hash,
  auditEventId: uuid,
  tenantId: uuid,
  homeRegion: regionCode,
  regionEpoch: z.number().int().nullable(),
  actorId: uuid.nullable(),
  actionType: z.string().min(1).max(200),
  aggregateType: z.string().min(1).max(100),
  aggregateId: uuid,
  aggregateVersion: z.number().int().nullable(),
  commandId: uuid.nullable(),
  correlationId: z.string().max(1000).nullable(),
  causationId: z.string().max(1000).nullable(),
  occurredAt: microTime,
  recordedAt: microTime,
  payloadHash: hash,
  /** metadata::text as the home database renders it (payload_hash is its sha256). */
  metadataText: z.string().max(1_000_000),
});
export type AuditLink = z.infer<typeof auditLink>;

/** A message on `<root>.audit.<region>.<tenantId>`: one link of `sourceRegion`'s chain of a tenant. */
export const auditLinkMessage = z.object({
  type: z.literal("audit.link"),
  sourceRegion: regionCode,
  link: auditLink,
});
export type AuditLinkMessage = z.infer<typeof auditLinkMessage>;

/** `POST /internal/v1/audit-replica/{tenantId}/links` on the replica cell. */
export const auditReplicaLinksBody = z.object({
  sourceRegion: regionCode,
  links: z.array(auditLink).min(1).max(1000),
});
export type AuditReplicaLinksBody = z.infer<typeof auditReplicaLinksBody>;

/**
 * The replica takes links only in chain order. `refused` names the first link it did not take:
 * `gap` (an earlier link is missing: send it first) or `diverged` (the link does not continue
 * the copy: the home's chain is not the one copied so far; retrying cannot help).
 */
export const auditReplicaLinksResult = z.object({
  accepted: z.number().int().nonnegative(),
  duplicates: z.number().int().nonnegative(),
  head: z.object({ seq: z.number().int().nonnegative(), hash: z.string() }),
  refused: z
    .object({ chainSeq: z.number().int(), reason: z.enum(["gap", "diverged"]), detail: z.string() })
    .optional(),
});
export type AuditReplicaLinksResult = z.infer<typeof auditReplicaLinksResult>;

/** A recomputation of one chain (home or replica): verifyAuditChain's result. */
export const auditChainVerdict = z.object({
  ok: z.boolean(),
  checked: z.number().int().nonnegative(),
  head: z.object({ seq: z.number().int().positive(), hash }).optional(),
  firstBrokenAt: z.object({ auditEventId: uuid, chainSeq: z.number().int(), reason: z.string() }).optional(),
});
export type AuditChainVerdict = z.infer<typeof auditChainVerdict>;

/** `GET /v1/ops/audit/verify?tenantId=` (CONTRACT.md), globalctl `audit verify`. */
export const auditVerifyResponse = z.object({
  tenantId: uuid,
  /** Home and replica (where the policy has one) both answered and verified. */
  ok: z.boolean(),
  home: auditChainVerdict.extend({
    region: regionCode,
    /** The chain's last link where the cell holds it (0: none, or not reachable). */
    lastSeq: z.number().int().nonnegative(),
    /** false: the home did not answer; `ok` is then false and the replica's verdict stands alone. */
    reachable: z.boolean(),
  }),
  replica: auditChainVerdict
    .extend({
      region: regionCode,
      reachable: z.boolean(),
      lastSeq: z.number().int().nonnegative(),
      /** Links the home has that the replica does not yet; null when the home did not answer. */
      behindByLinks: z.number().int().nullable(),
      /**
       * Caught up (same last link), the replica's head is the home's head; null when they cannot
       * be compared (home unreachable, replica behind, a chain broken). false: the copy is not of
       * this home's chain (rewritten consistently, or the home was restored): not ok.
       */
      headMatchesHome: z.boolean().nullable(),
    })
    .nullable(),
  /** DR readiness: set when the policy has no backup region other than home (no replica). */
  warning: z.string().optional(),
});
export type AuditVerifyResponse = z.infer<typeof auditVerifyResponse>;
