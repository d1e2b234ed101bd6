import { describe, expect, it } from "vitest";
import { allows, jwtClaims, PERMISSIONS, readsAsSupport } from "./auth.js";
import { ROLES, role } from "./common.js";

// Support access (docs/residency.md): which reads are held to the tenant's `support_access` rule.

describe("support role and support sessions", () => {
  it("support may read cases and audit trails, and nothing else", () => {
    for (const [permission, roles] of Object.entries(PERMISSIONS)) {
      expect(allows(["support"], permission as keyof typeof PERMISSIONS), permission).toBe(
        (roles as readonly string[]).includes("support"),
      );
    }
    expect(allows(["support"], "case.read")).toBe(true);
    expect(allows(["support"], "audit.read")).toBe(true);
    expect(allows(["support"], "case.transition")).toBe(false);
  });

  it("is a grantable role, not one of the tenant's staff roles", () => {
    expect(role.parse("support")).toBe("support");
    expect(ROLES as readonly string[]).not.toContain("support");
  });

  it("a read is support access with the claim, or when only the support role allows it", () => {
    expect(readsAsSupport(["investigator"], "case.read", undefined)).toBe(false);
    expect(readsAsSupport(["investigator"], "case.read", "eu")).toBe(true);
    expect(readsAsSupport(["support"], "case.read", undefined)).toBe(true);
    expect(readsAsSupport(["support", "auditor"], "audit.read", undefined)).toBe(false);
    expect(readsAsSupport(["support", "reporter"], "audit.read", undefined)).toBe(true);
  });

  it("supportRegion must be a region code", () => {
    const base = { sub: "01a21673-5e78-7004-b9d3-ef8d02711d36", exp: 1, iss: "i", aud: "a" };
    expect(jwtClaims.parse({ ...base, supportRegion: "ap-sg" }).supportRegion).toBe("ap-sg");
    expect(jwtClaims.safeParse({ ...base, supportRegion: "Not A Region" }).success).toBe(false);
  });
});
