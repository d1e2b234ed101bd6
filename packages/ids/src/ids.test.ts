import { describe, expect, it } from "vitest";
import {
  CASE_NUMBER_RE,
  formatCaseNumber,
  parseCaseNumber,
  UUIDV7_RE,
  uuidv7,
  uuidv7Timestamp,
} from "./index.js";

describe("uuidv7", () => {
  it("is a version 7 RFC 9562 uuid carrying its timestamp", () => {
    const t = Date.UTC(2026, 10, 26, 6, 0, 0);
    const id = uuidv7(t);
    expect(id).toMatch(UUIDV7_RE);
    expect(uuidv7Timestamp(id)).toBe(t);
  });
  it("sorts in creation order even within one millisecond", () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7(1_800_000_000_000));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("case numbers", () => {
  it("formats <PREFIX>-<YEAR>-<8 digits> and parses back", () => {
    const n = formatCaseNumber("ID", 2026, 123);
    expect(n).toBe("ID-2026-00000123");
    expect(n).toMatch(CASE_NUMBER_RE);
    expect(parseCaseNumber(n)).toEqual({ prefix: "ID", year: 2026, value: 123 });
  });
  it("refuses overflow instead of widening", () => {
    expect(() => formatCaseNumber("EU", 2026, 100_000_000)).toThrow(RangeError);
  });
  it("rejects malformed numbers", () => {
    expect(parseCaseNumber("ID-26-1")).toBeNull();
  });
});
