import { uuidv7 } from "@homeroute/ids";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { edgeCall, type Planet, placeTenant, startPlanet } from "./support/planet.js";

// Queued intake with the real Worker's Durable Object in workerd, against a real cell that goes away.

const newCase = {
  category: "consumer_protection",
  countryCode: "US",
  summary: "Queued complaint",
  channel: "web",
};
let p: Planet;

beforeAll(async () => {
  p = await startPlanet("intake", ["us"]);
}, 120_000);
afterAll(() => p?.close());

describe("queued intake", () => {
  it("home unreachable: 202 with a receipt, delivered exactly once when the home returns", async () => {
    const placed = await edgeCall(
      p,
      "POST",
      "/v1/ops/tenants",
      {
        name: "Queue-friendly regulator",
        homeRegion: "us",
        residencyPolicy: "GLOBAL_STANDARD",
        queuedIntake: true,
      },
      { token: p.opsToken },
    );
    expect(placed.status).toBe(201);
    const tenantId = placed.body.tenantId as string;
    const reporter = uuidv7();
    await fetch(`${p.cells.us!.url}/internal/v1/tenants/${tenantId}/grants/${reporter}/reporter`, {
      method: "PUT",
      headers: { authorization: "Bearer internal-test-token-0123456789" },
    });
    const { makeToken } = await import("@homeroute/testkit");
    const token = await makeToken({ sub: reporter, tid: tenantId });
    await p.stopCell("us");
    const key = uuidv7();
    const queued = await edgeCall(p, "POST", `/v1/tenants/${tenantId}/cases`, newCase, { token, key });
    expect(queued.status).toBe(202);
    expect(queued.body).toMatchObject({ status: "QUEUED" });
    const receipt = () =>
      edgeCall(p, "GET", `/v1/tenants/${tenantId}/intake-receipts/${queued.body.receiptId}`, undefined, {
        token,
      });
    expect((await receipt()).body.status).toBe("QUEUED");
    await p.restartCell("us");
    let delivered: any = null;
    for (let i = 0; i < 100 && !delivered; i++) {
      const r = await receipt();
      if (r.body.status === "DELIVERED") delivered = r.body;
      else await new Promise((res) => setTimeout(res, 100));
    }
    expect(delivered).toMatchObject({ status: "DELIVERED", caseNumber: expect.stringMatching(/^US-/) });
    // Exactly once: asking again (each read may retry delivery) changes nothing at home.
    await receipt();
    const rows = await p.cells.us!.deps
      .sql`SELECT case_id FROM regulatory_case WHERE tenant_id = ${tenantId}`;
    expect(rows.map((r) => r.case_id)).toEqual([delivered.caseId]);
    const [logged] = await p.cells.us!.deps
      .sql`SELECT count(*)::int AS n FROM command_log WHERE command_id = ${key}`;
    expect(logged!.n).toBe(1);
  });

  it("where the tenant's configuration does not allow it: 503 REGION_UNAVAILABLE", async () => {
    const t = await placeTenant(p, "us", "GLOBAL_STANDARD", ["reporter"]);
    await p.stopCell("us");
    try {
      const r = await edgeCall(p, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
        token: t.tokens.reporter,
      });
      expect(r.status).toBe(503);
      expect(r.body.code).toBe("REGION_UNAVAILABLE");
    } finally {
      await p.restartCell("us");
    }
  });

  it("is refused at placement (451) for a policy that keeps data in one jurisdiction", async () => {
    const r = await edgeCall(
      p,
      "POST",
      "/v1/ops/tenants",
      {
        name: "Strict",
        homeRegion: "ap-id",
        residencyPolicy: "ID_STRICT",
        queuedIntake: true,
      },
      { token: p.opsToken },
    );
    expect(r.status).toBe(451);
  });
});
