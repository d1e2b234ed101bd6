import { DomainError, type ReviewRecommendationBody } from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import { iso } from "../cases/view.js";
import type { DecideInput } from "../commands/execute.js";
import type { WritePlan } from "../commands/plan.js";
import type { CellDeps } from "../deps.js";

/**
 * Cross-region collaboration without cross-region ownership (seed §10): a reviewer anywhere adds
 * a recommendation, recorded at the case's home with the region the reviewer acted from. It never
 * changes the case's status; the home's investigators and supervisors do.
 */
export function planRecommendation(
  deps: CellDeps,
  input: ReviewRecommendationBody,
  reviewerId: string,
  reviewerRegion: string,
  d: DecideInput,
): WritePlan {
  const row = d.prelude.caseRow;
  if (!row) throw new DomainError("NOT_FOUND", "unknown case");
  const recommendationId = uuidv7(d.now.getTime());
  return {
    ctes: deps.sql`,
      mutation AS (
        INSERT INTO review_recommendation (tenant_id, recommendation_id, case_id, reviewer_id, reviewer_region,
          recommendation, rationale, created_at)
        SELECT ${row.tenantId}, ${recommendationId}, ${row.caseId}, ${reviewerId}, ${reviewerRegion},
          ${input.recommendation}, ${input.rationale}, ${d.now}
        WHERE EXISTS (SELECT 1 FROM gate)
        RETURNING '{}'::jsonb AS patch
      )`,
    statusCode: 201,
    response: {
      recommendationId,
      caseId: row.caseId,
      reviewerId,
      reviewerRegion,
      recommendation: input.recommendation,
      rationale: input.rationale,
      createdAt: iso(d.now),
    },
    aggregate: { type: "review", id: recommendationId, version: 1 },
    event: {
      type: "review.recommended",
      aggregateType: "review",
      payload: {
        caseId: row.caseId,
        reviewerId,
        reviewerRegion,
        recommendation: input.recommendation,
        rationale: input.rationale,
      },
    },
  };
}
