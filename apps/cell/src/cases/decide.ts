import { DECISION_TARGET, type DecisionBody, DomainError } from "@homeroute/contracts";
import type { DecideInput } from "../commands/execute.js";
import type { WritePlan } from "../commands/plan.js";
import type { CellDeps } from "../deps.js";
import { planStatusChange, requireCase } from "./transition.js";

/** DECISION_PENDING leaves only through a recorded decision (a sensitive action, checked at home). */
export function planDecision(deps: CellDeps, input: DecisionBody, d: DecideInput): WritePlan {
  const row = requireCase(d.prelude.caseRow, input.expectedVersion);
  if (row.status !== "DECISION_PENDING") {
    throw new DomainError(
      "INVALID_TRANSITION",
      `a decision needs DECISION_PENDING, the case is ${row.status}`,
      {
        currentStatus: row.status,
        allowed: [],
      },
    );
  }
  const to = DECISION_TARGET[input.outcome];
  return {
    ...planStatusChange(deps, row, to, d, {
      type: "case.decision_recorded",
      aggregateType: "case",
      payload: { caseNumber: row.caseNumber, from: row.status, to, outcome: input.outcome },
    }),
    auditDetail: { rationale: input.rationale },
  };
}
