import { type CaseStatus, DomainError, TRANSITIONS, type TransitionBody } from "@homeroute/contracts";
import type { DecideInput } from "../commands/execute.js";
import type { WritePlan } from "../commands/plan.js";
import type { CaseRow } from "../commands/prelude.js";
import type { CellDeps } from "../deps.js";
import { caseView, iso } from "./view.js";

/** Checks shared by every case mutation: existence, optimistic version, expected status. */
export function requireCase(
  row: CaseRow | null,
  expectedVersion: number,
  expectedStatus?: CaseStatus,
): CaseRow {
  if (!row) throw new DomainError("NOT_FOUND", "unknown case");
  if (expectedStatus !== undefined && row.status !== expectedStatus) {
    throw new DomainError("STATUS_PRECONDITION_FAILED", `the case is ${row.status}`, {
      currentStatus: row.status,
    });
  }
  if (row.version !== expectedVersion) {
    throw new DomainError("VERSION_CONFLICT", `the case is at version ${row.version}`, {
      currentVersion: row.version,
    });
  }
  return row;
}

/**
 * Moves a case along the status machine. The UPDATE is conditioned on the version and status we
 * decided from, so a concurrent writer makes it match zero rows and the runner re-diagnoses.
 */
export function planStatusChange(
  deps: CellDeps,
  row: CaseRow,
  to: CaseStatus,
  d: DecideInput,
  event: WritePlan["event"],
): WritePlan {
  const { sql, region } = deps;
  const version = row.version + 1;
  return {
    ctes: sql`,
      mutation AS (
        UPDATE regulatory_case SET status = ${to}, version = ${version}, region_epoch = ${d.epoch}, updated_at = ${d.now}
        WHERE tenant_id = ${row.tenantId} AND case_id = ${row.caseId} AND home_region = ${region}
          AND version = ${row.version} AND status = ${row.status} AND EXISTS (SELECT 1 FROM gate)
        RETURNING '{}'::jsonb AS patch
      )`,
    statusCode: 200,
    response: { ...caseView(row), status: to, version, regionEpoch: d.epoch, updatedAt: iso(d.now) },
    aggregate: { type: "case", id: row.caseId, version },
    event,
  };
}

export function planTransition(deps: CellDeps, input: TransitionBody, d: DecideInput): WritePlan {
  const row = requireCase(d.prelude.caseRow, input.expectedVersion, input.expectedStatus);
  const allowed = TRANSITIONS[row.status];
  if (!allowed.includes(input.to)) {
    throw new DomainError("INVALID_TRANSITION", `${row.status} → ${input.to} is not allowed`, {
      currentStatus: row.status,
      allowed: [...allowed],
    });
  }
  return planStatusChange(deps, row, input.to, d, {
    type: "case.status_changed",
    aggregateType: "case",
    payload: { caseNumber: row.caseNumber, from: row.status, to: input.to, reason: input.reason },
  });
}
