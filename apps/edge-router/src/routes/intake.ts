import { DomainError } from "@homeroute/contracts";
import { Hono } from "hono";
import { z } from "zod";
import { verifyBearer } from "../auth.js";
import { edgeConfig } from "../env.js";
import type { EdgeHono } from "../hono.js";
import type { QueuedIntake } from "../intake/intake-queue.js";
import { parseWith } from "../problem.js";

/** `GET .../intake-receipts/{receiptId}`: QUEUED, then DELIVERED with the case number, or REJECTED. */
export function intakeRoutes(): Hono<EdgeHono> {
  const app = new Hono<EdgeHono>();
  app.get("/v1/tenants/:tenantId/intake-receipts/:receiptId", async (c) => {
    const cfg = edgeConfig(c.env);
    const principal = await verifyBearer(c.req.header("authorization"), cfg.jwtKey);
    const { tenantId, receiptId } = parseWith(
      z.object({ tenantId: z.uuid(), receiptId: z.uuid() }),
      c.req.param(),
      "path",
    );
    if (principal.tenantId !== tenantId)
      throw new DomainError("FORBIDDEN", "the token is not for this tenant");
    const stub = c.env.INTAKE.get(c.env.INTAKE.idFromName(tenantId));
    const res = await stub.fetch(`https://intake/receipt/${receiptId}`);
    if (res.status === 404) throw new DomainError("NOT_FOUND", "unknown receipt");
    const item = (await res.json()) as QueuedIntake;
    return c.json({
      receiptId,
      status: item.status,
      ...(item.caseId ? { caseId: item.caseId, caseNumber: item.caseNumber } : {}),
      ...(item.accessCode ? { accessCode: item.accessCode } : {}),
      ...(item.problem ? { problem: item.problem } : {}),
      receivedAt: item.receivedAt,
    });
  });
  return app;
}

/** Holds a complaint for later delivery; the answer the client gets is 202 with the receipt. */
export async function enqueueIntake(
  env: EdgeHono["Bindings"],
  item: Omit<QueuedIntake, "status" | "attempts">,
): Promise<QueuedIntake> {
  const stub = env.INTAKE.get(env.INTAKE.idFromName(item.tenantId));
  const res = await stub.fetch("https://intake/enqueue", {
    method: "POST",
    body: JSON.stringify({ ...item, status: "QUEUED", attempts: 0 }),
  });
  return (await res.json()) as QueuedIntake;
}
