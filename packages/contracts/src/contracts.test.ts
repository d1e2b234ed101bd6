import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeConsistencyToken, encodeConsistencyToken } from "./consistency-token.js";
import { ERROR_CODES, ERROR_STATUS, problemOf } from "./errors.js";
import { domainEvent } from "./events.js";

describe("consistency token", () => {
  it("round-trips and rejects anything we did not issue", () => {
    const t = {
      aggregateType: "case",
      aggregateId: "01a21673-5e78-7004-b9d3-ef8d02711d36",
      version: 7,
      region: "ap-id",
      epoch: 3,
    };
    expect(decodeConsistencyToken(encodeConsistencyToken(t))).toEqual(t);
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(decodeConsistencyToken(s)).toBeNull();
      }),
    );
    expect(decodeConsistencyToken("ct1.bm90LWpzb24")).toBeNull();
  });
});

describe("error codes", () => {
  it("has the contract's statuses", () => {
    expect(ERROR_STATUS.WRONG_REGION).toBe(421);
    expect(ERROR_STATUS.RESIDENCY_VIOLATION).toBe(451);
    expect(ERROR_STATUS.TENANT_SUSPENDED).toBe(423);
    for (const code of ERROR_CODES) {
      const p = problemOf(code, "x");
      expect(p).toMatchObject({ code, status: ERROR_STATUS[code], detail: "x" });
      expect(p.type).toMatch(/^https:\/\//);
    }
  });
});

describe("event union", () => {
  const base = {
    eventId: "01a21673-5e78-7004-b9d3-ef8d02711d36",
    tenantId: "01a21673-5e78-7004-b9d3-ef8d02711d37",
    aggregateId: "01a21673-5e78-7004-b9d3-ef8d02711d38",
    aggregateVersion: 2,
    homeRegion: "ap-id",
    regionEpoch: 1,
    occurredAt: "2026-11-26T06:00:00.000Z",
    recordedAt: "2026-11-26T06:00:00.000Z",
    commandId: null,
    correlationId: null,
    causationId: null,
    schemaVersion: 1,
  };
  it("accepts a well-formed event and discriminates on type", () => {
    const e = domainEvent.parse({
      ...base,
      type: "case.status_changed",
      aggregateType: "case",
      payload: { caseNumber: "ID-2026-00000001", from: "INTAKE", to: "TRIAGE", reason: "r" },
    });
    expect(e.type).toBe("case.status_changed");
  });
  it("refuses an unknown type or a payload of another type", () => {
    expect(
      domainEvent.safeParse({ ...base, type: "case.deleted", aggregateType: "case", payload: {} }).success,
    ).toBe(false);
    expect(
      domainEvent.safeParse({ ...base, type: "task.completed", aggregateType: "task", payload: { to: "X" } })
        .success,
    ).toBe(false);
  });
});
