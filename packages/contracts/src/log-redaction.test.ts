import { describe, expect, it } from "vitest";
import { redactForGlobalStore, scrubText } from "./log-redaction.js";

describe("log lines bound for a global store", () => {
  it("keep ids, codes, timings, numbers and flags; drop personal fields and name them", () => {
    const line = redactForGlobalStore({
      t: "2026-11-26T00:00:00.000Z",
      msg: "request",
      tenantId: "t-1",
      caseId: "c-1",
      status: 201,
      code: "OK",
      latencyMs: 4.2,
      replayed: false,
      summary: "Budi Santoso reported a bribe",
      filename: "ktp-budi.jpg",
      reporterName: "Budi",
    });
    expect(line).toEqual({
      t: "2026-11-26T00:00:00.000Z",
      msg: "request",
      tenantId: "t-1",
      caseId: "c-1",
      status: 201,
      code: "OK",
      latencyMs: 4.2,
      replayed: false,
      redacted: ["summary", "filename", "reporterName"],
    });
    expect(JSON.stringify(line)).not.toMatch(/Budi|ktp/);
  });

  it("scrub error text of the values a database error quotes", () => {
    const e =
      'duplicate key value violates unique constraint "uq_case" Key (tenant_id, summary)=(t-1, Budi Santoso) already exists';
    const out = redactForGlobalStore({ msg: "apply failed", error: e });
    expect(out.error).not.toMatch(/Budi|uq_case/);
    expect(out.error).toMatch(/duplicate key value violates unique constraint/);
    expect(scrubText("value 'Siti' is invalid")).toBe("value '…' is invalid");
  });

  it("drop free text that is not an error message, and structured values", () => {
    const out = redactForGlobalStore({ msg: "x", note: "Siti called", payload: { summary: "Siti" } });
    expect(out).toEqual({ msg: "x", redacted: ["note", "payload"] });
  });
});
