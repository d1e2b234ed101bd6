import { describe, expect, it } from "vitest";
import {
  CASE_STATUSES,
  canTransition,
  DECISION_TRANSITIONS,
  PUBLIC_STATUS_OF,
  TRANSITIONS,
} from "./case-status.js";

// The status machine of CONTRACT.md, written out as a table: every pair is either listed or forbidden.
const ALLOWED: [string, string][] = [
  ["INTAKE", "TRIAGE"],
  ["INTAKE", "WITHDRAWN"],
  ["TRIAGE", "INVESTIGATING"],
  ["TRIAGE", "CLOSED_NO_VIOLATION"],
  ["TRIAGE", "WITHDRAWN"],
  ["INVESTIGATING", "UNDER_REVIEW"],
  ["UNDER_REVIEW", "INVESTIGATING"],
  ["UNDER_REVIEW", "DECISION_PENDING"],
  ["ENFORCEMENT_ACTION", "CLOSED"],
];

describe("case status machine", () => {
  const pairs = CASE_STATUSES.flatMap((from) => CASE_STATUSES.map((to) => [from, to] as const));
  it.each(pairs)("%s → %s", (from, to) => {
    const expected = ALLOWED.some(([f, t]) => f === from && t === to);
    expect(canTransition(from, to)).toBe(expected);
  });
  it("has 81 pairs of which exactly the contract's 9 are allowed through /transitions", () => {
    expect(pairs.length).toBe(81);
    expect(pairs.filter(([f, t]) => canTransition(f, t)).length).toBe(ALLOWED.length);
  });
  it("leaves DECISION_PENDING only through /decision", () => {
    expect(TRANSITIONS.DECISION_PENDING).toEqual([]);
    expect(DECISION_TRANSITIONS.DECISION_PENDING).toEqual(["CLOSED_NO_VIOLATION", "ENFORCEMENT_ACTION"]);
  });
  it("maps every status to its public status", () => {
    expect(PUBLIC_STATUS_OF).toEqual({
      INTAKE: "RECEIVED",
      TRIAGE: "RECEIVED",
      INVESTIGATING: "IN_PROGRESS",
      UNDER_REVIEW: "IN_PROGRESS",
      DECISION_PENDING: "IN_PROGRESS",
      CLOSED_NO_VIOLATION: "RESOLVED",
      ENFORCEMENT_ACTION: "RESOLVED",
      CLOSED: "RESOLVED",
      WITHDRAWN: "WITHDRAWN",
    });
  });
});
