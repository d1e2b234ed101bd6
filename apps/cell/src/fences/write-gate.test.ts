import { describe, expect, it } from "vitest";
import { checkWriteGate, type FenceRow, type GateInput } from "./write-gate.js";

const now = new Date("2026-11-26T06:00:00Z");
const fence = (o: Partial<FenceRow> = {}): FenceRow => ({
  activeRegion: "ap-id",
  epoch: 3,
  status: "WRITABLE",
  leaseExpiresAt: null,
  ...o,
});
const input = (o: Partial<GateInput> = {}): GateInput => ({
  region: "ap-id",
  tenant: { status: "ACTIVE", homeRegion: "ap-id" },
  tenantFence: fence(),
  regionFence: fence({ epoch: 1 }),
  commandEpoch: null,
  now,
  ...o,
});
const codeOf = (i: GateInput) => {
  try {
    checkWriteGate(i);
    return "OK";
  } catch (e) {
    return (e as { code: string }).code;
  }
};

describe("write gate", () => {
  it.each([
    ["writable, no epoch sent", input(), "OK"],
    ["writable, matching epoch", input({ commandEpoch: 3 }), "OK"],
    ["old epoch", input({ commandEpoch: 2 }), "STALE_REGION_EPOCH"],
    [
      "another region owns the tenant",
      input({ tenantFence: fence({ activeRegion: "ap-sg" }) }),
      "WRONG_REGION",
    ],
    ["unknown tenant", input({ tenant: null, tenantFence: null }), "NOT_FOUND"],
    ["suspended", input({ tenant: { status: "SUSPENDED", homeRegion: "ap-id" } }), "TENANT_SUSPENDED"],
    [
      "decommissioned",
      input({ tenant: { status: "DECOMMISSIONED", homeRegion: "ap-id" } }),
      "TENANT_SUSPENDED",
    ],
    ["migrating tenant", input({ tenantFence: fence({ status: "MIGRATING" }) }), "TENANT_MIGRATING"],
    ["tenant scope read-only", input({ tenantFence: fence({ status: "READ_ONLY" }) }), "REGION_READ_ONLY"],
    ["tenant scope fenced", input({ tenantFence: fence({ status: "FENCED" }) }), "REGION_READ_ONLY"],
    ["no tenant fence", input({ tenantFence: null }), "REGION_READ_ONLY"],
    ["region read-only", input({ regionFence: fence({ status: "READ_ONLY" }) }), "REGION_READ_ONLY"],
    ["no region fence", input({ regionFence: null }), "REGION_READ_ONLY"],
    [
      "lease expired",
      input({ regionFence: fence({ leaseExpiresAt: new Date(now.getTime() - 1) }) }),
      "REGION_READ_ONLY",
    ],
    ["lease valid", input({ regionFence: fence({ leaseExpiresAt: new Date(now.getTime() + 1000) }) }), "OK"],
    ["no lease kept, no catalog (cell tests)", input(), "OK"],
    ["no lease at all, under a catalog's leases", input({ leasesRequired: true }), "REGION_READ_ONLY"],
    [
      "lease valid, under a catalog's leases",
      input({
        leasesRequired: true,
        regionFence: fence({ leaseExpiresAt: new Date(now.getTime() + 1000) }),
      }),
      "OK",
    ],
  ])("%s → %s", (_name, i, expected) => {
    expect(codeOf(i)).toBe(expected);
  });
  it("names the owner and current epoch so the edge can re-route", () => {
    try {
      checkWriteGate(input({ commandEpoch: 1 }));
    } catch (e) {
      expect((e as { ext: unknown }).ext).toEqual({ homeRegion: "ap-id", currentEpoch: 3 });
    }
  });
});
