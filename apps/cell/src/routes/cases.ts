import { createHash } from "node:crypto";
import {
  completeTaskBody,
  createCaseBody,
  createTaskBody,
  DomainError,
  decisionBody,
  evidenceHeaders,
  getCaseQuery,
  listCasesQuery,
  regionCode,
  reviewRecommendationBody,
  transitionBody,
} from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import type { ServiceHono } from "@homeroute/service-kit";
import { authenticate, jsonBody, parseWith, requireTenant } from "@homeroute/service-kit";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { readCaseAudit } from "../audit/read.js";
import { planCreateCase } from "../cases/create.js";
import { planDecision } from "../cases/decide.js";
import { getCase, listCases } from "../cases/read.js";
import { planTransition } from "../cases/transition.js";
import { type CommandMeta, executeCommand } from "../commands/execute.js";
import type { CellDeps } from "../deps.js";
import { planAttachEvidence, storeOrDefer } from "../evidence/attach.js";
import { commandEpoch, commandResponse, idempotencyKey, routedHeaders } from "../http/command-headers.js";
import type { Reader } from "../residency/support-access.js";
import { planRecommendation } from "../reviews/recommend.js";
import { planCompleteTask } from "../tasks/complete.js";
import { planCreateTask } from "../tasks/create.js";

const tenantParams = z.object({ tenantId: z.uuid() });
const caseParams = tenantParams.extend({ caseId: z.uuid() });
const taskParams = caseParams.extend({ taskId: z.uuid() });

/** Case routes of CONTRACT.md; the same paths the edge forwards to. HTTP maps, domain decides. */
export function caseRoutes(deps: CellDeps): Hono<ServiceHono> {
  const app = new Hono<ServiceHono>();
  // Authenticate before anything else is looked at; the tenant in the path must be the token's.
  app.use("/v1/tenants/:tenantId/*", async (c, next) => {
    const principal = await authenticate(c.req.header("authorization"), deps.jwtKey);
    const { tenantId } = parseWith(tenantParams, c.req.param(), "path");
    requireTenant(principal, tenantId);
    // A support session reads (where the tenant's policy allows it) and never writes.
    if (principal.supportRegion && c.req.method !== "GET") {
      throw new DomainError("FORBIDDEN", "a support session is read-only");
    }
    c.set("principal", principal);
    await next();
  });
  const reader = (c: Context<ServiceHono>): Reader => ({
    userId: c.get("principal").userId,
    supportRegion: c.get("principal").supportRegion,
    correlationId: c.get("correlationId"),
  });
  const meta = (
    c: Context<ServiceHono>,
    m: Pick<CommandMeta, "operation" | "permission" | "request"> & {
      tenantId: string;
      caseId?: string;
      taskId?: string;
    },
  ): CommandMeta => ({
    ...m,
    actorId: c.get("principal").userId,
    commandId: idempotencyKey(c),
    commandEpoch: commandEpoch(c),
    correlationId: c.get("correlationId"),
  });

  app.post("/v1/tenants/:tenantId/cases", async (c) => {
    const { tenantId } = parseWith(tenantParams, c.req.param(), "path");
    const body = parseWith(createCaseBody, await jsonBody(c), "body");
    const m = meta(c, { tenantId, operation: "case.create", permission: "case.create", request: body });
    const r = await executeCommand(deps, m, (d) => planCreateCase(deps, tenantId, body, d));
    return commandResponse(c, deps, r);
  });

  app.get("/v1/tenants/:tenantId/cases", async (c) => {
    const { tenantId } = parseWith(tenantParams, c.req.param(), "path");
    const q = parseWith(listCasesQuery, c.req.query(), "query");
    const page = await listCases(deps, tenantId, reader(c), q);
    routedHeaders(c, deps, page.epoch);
    return c.json({ items: page.items, nextCursor: page.nextCursor });
  });

  app.get("/v1/tenants/:tenantId/cases/:caseId", async (c) => {
    const { tenantId, caseId } = parseWith(caseParams, c.req.param(), "path");
    parseWith(getCaseQuery, c.req.query(), "query"); // at home every consistency level is served strongly
    const r = await getCase(deps, tenantId, reader(c), caseId);
    routedHeaders(c, deps, r.epoch);
    return c.json(r.view);
  });

  app.post("/v1/tenants/:tenantId/cases/:caseId/transitions", async (c) => {
    const { tenantId, caseId } = parseWith(caseParams, c.req.param(), "path");
    const body = parseWith(transitionBody, await jsonBody(c), "body");
    const m = meta(c, {
      tenantId,
      caseId,
      operation: "case.transition",
      permission: "case.transition",
      request: { caseId, ...body },
    });
    return commandResponse(c, deps, await executeCommand(deps, m, (d) => planTransition(deps, body, d)));
  });

  app.post("/v1/tenants/:tenantId/cases/:caseId/decision", async (c) => {
    const { tenantId, caseId } = parseWith(caseParams, c.req.param(), "path");
    const body = parseWith(decisionBody, await jsonBody(c), "body");
    const m = meta(c, {
      tenantId,
      caseId,
      operation: "case.decide",
      permission: "case.decide",
      request: { caseId, ...body },
    });
    return commandResponse(c, deps, await executeCommand(deps, m, (d) => planDecision(deps, body, d)));
  });

  app.post("/v1/tenants/:tenantId/cases/:caseId/tasks", async (c) => {
    const { tenantId, caseId } = parseWith(caseParams, c.req.param(), "path");
    const body = parseWith(createTaskBody, await jsonBody(c), "body");
    const m = meta(c, {
      tenantId,
      caseId,
      operation: "task.create",
      permission: "task.create",
      request: { caseId, ...body },
    });
    return commandResponse(c, deps, await executeCommand(deps, m, (d) => planCreateTask(deps, body, d)));
  });

  app.post("/v1/tenants/:tenantId/cases/:caseId/tasks/:taskId/complete", async (c) => {
    const { tenantId, caseId, taskId } = parseWith(taskParams, c.req.param(), "path");
    const body = parseWith(completeTaskBody, await jsonBody(c), "body");
    const m = meta(c, {
      tenantId,
      caseId,
      taskId,
      operation: "task.complete",
      permission: "task.complete",
      request: { caseId, taskId, ...body },
    });
    return commandResponse(
      c,
      deps,
      await executeCommand(deps, m, (d) => planCompleteTask(deps, caseId, body, d)),
    );
  });

  app.post("/v1/tenants/:tenantId/cases/:caseId/review-recommendations", async (c) => {
    const { tenantId, caseId } = parseWith(caseParams, c.req.param(), "path");
    const body = parseWith(reviewRecommendationBody, await jsonBody(c), "body");
    // The edge names the region the reviewer acted from; a direct staff call acts from this region.
    const edgeRegion = regionCode.safeParse(c.req.header("x-edge-region"));
    const reviewerRegion = edgeRegion.success ? edgeRegion.data : deps.region;
    const reviewerId = c.get("principal").userId;
    const m = meta(c, {
      tenantId,
      caseId,
      operation: "review.recommend",
      permission: "review.recommend",
      request: { caseId, reviewerRegion, ...body },
    });
    const r = await executeCommand(deps, m, (d) =>
      planRecommendation(deps, body, reviewerId, reviewerRegion, d),
    );
    return commandResponse(c, deps, r);
  });

  app.post("/v1/tenants/:tenantId/cases/:caseId/evidence", async (c) => {
    const { tenantId, caseId } = parseWith(caseParams, c.req.param(), "path");
    const headers = parseWith(
      evidenceHeaders,
      {
        "content-type": c.req.header("content-type"),
        "x-evidence-filename": c.req.header("x-evidence-filename"),
      },
      "header",
    );
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.length === 0) throw new DomainError("VALIDATION_FAILED", "evidence bytes are required");
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const evidenceId = uuidv7();
    const objectKey = `${tenantId}/${caseId}/${evidenceId}`;
    const blob = {
      evidenceId,
      objectKey,
      sha256,
      size: bytes.length,
      contentType: headers["content-type"],
      filename: headers["x-evidence-filename"],
    };
    const m = meta(c, {
      tenantId,
      caseId,
      operation: "evidence.attach",
      permission: "evidence.attach",
      request: { caseId, sha256, size: bytes.length, contentType: blob.contentType, filename: blob.filename },
    });
    let committed = false;
    try {
      const r = await executeCommand(deps, m, async (d) => {
        const plan = planAttachEvidence(deps, blob, m.actorId, d);
        // Bytes first, to the store or (store down, policy allowing) to the spool beside it: a
        // committed row never points at nothing.
        const upload = await storeOrDefer(deps, d.prelude, m, blob, bytes);
        return { ...plan, response: { ...plan.response, upload } };
      });
      committed = !r.replayed;
      return commandResponse(c, deps, r);
    } finally {
      if (!committed) {
        await deps.objectStore.remove(objectKey).catch(() => {});
        await deps.deferredUploads.spool.remove(objectKey);
      }
    }
  });

  app.get("/v1/tenants/:tenantId/cases/:caseId/audit", async (c) => {
    const { tenantId, caseId } = parseWith(caseParams, c.req.param(), "path");
    const items = await readCaseAudit(deps, tenantId, reader(c), caseId);
    routedHeaders(c, deps, null);
    return c.json({ items });
  });

  return app;
}
