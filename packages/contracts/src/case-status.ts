// The case status machine (CONTRACT.md "Cases"). Pure: shared by cells, edges and tests.

export const CASE_STATUSES = [
  "INTAKE",
  "TRIAGE",
  "INVESTIGATING",
  "UNDER_REVIEW",
  "DECISION_PENDING",
  "CLOSED_NO_VIOLATION",
  "ENFORCEMENT_ACTION",
  "CLOSED",
  "WITHDRAWN",
] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

/** Transitions reachable through POST .../transitions. */
export const TRANSITIONS: Readonly<Record<CaseStatus, readonly CaseStatus[]>> = {
  INTAKE: ["TRIAGE", "WITHDRAWN"],
  TRIAGE: ["INVESTIGATING", "CLOSED_NO_VIOLATION", "WITHDRAWN"],
  INVESTIGATING: ["UNDER_REVIEW"],
  UNDER_REVIEW: ["INVESTIGATING", "DECISION_PENDING"],
  DECISION_PENDING: [],
  CLOSED_NO_VIOLATION: [],
  ENFORCEMENT_ACTION: ["CLOSED"],
  CLOSED: [],
  WITHDRAWN: [],
};

/** DECISION_PENDING leaves only through POST .../decision. */
export const DECISION_TRANSITIONS: Readonly<Partial<Record<CaseStatus, readonly CaseStatus[]>>> = {
  DECISION_PENDING: ["CLOSED_NO_VIOLATION", "ENFORCEMENT_ACTION"],
};

export const DECISION_OUTCOMES = ["NO_VIOLATION", "ENFORCEMENT_ACTION"] as const;
export type DecisionOutcome = (typeof DECISION_OUTCOMES)[number];
export const DECISION_TARGET: Record<DecisionOutcome, CaseStatus> = {
  NO_VIOLATION: "CLOSED_NO_VIOLATION",
  ENFORCEMENT_ACTION: "ENFORCEMENT_ACTION",
};

export function canTransition(from: CaseStatus, to: CaseStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export const PUBLIC_STATUSES = ["RECEIVED", "IN_PROGRESS", "RESOLVED", "WITHDRAWN"] as const;
export type PublicStatus = (typeof PUBLIC_STATUSES)[number];

export const PUBLIC_STATUS_OF: Record<CaseStatus, PublicStatus> = {
  INTAKE: "RECEIVED",
  TRIAGE: "RECEIVED",
  INVESTIGATING: "IN_PROGRESS",
  UNDER_REVIEW: "IN_PROGRESS",
  DECISION_PENDING: "IN_PROGRESS",
  CLOSED_NO_VIOLATION: "RESOLVED",
  ENFORCEMENT_ACTION: "RESOLVED",
  CLOSED: "RESOLVED",
  WITHDRAWN: "WITHDRAWN",
};
