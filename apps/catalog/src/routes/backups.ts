import { backupBody, DomainError, restoreBody } from "@homeroute/contracts";
import {
  authenticate,
  idempotencyKey,
  jsonBody,
  parseWith,
  requestHash,
  type ServiceHono,
} from "@homeroute/service-kit";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { backupCell, backupView, loadBackup } from "../backups/backup.js";
import { restoreBackup } from "../backups/restore.js";
import type { CatalogDeps } from "../deps.js";
import type { Actor } from "../placement/place-tenant.js";

/**
 * Backups and restores (issue 8, docs/backups.md), reached through the edge's /v1/ops proxy.
 * Operators only: checked here too, though opsRoutes (which mounts these) checks first.
 */
export function backupRoutes(deps: CatalogDeps): Hono<ServiceHono> {
  const app = new Hono<ServiceHono>();
  const operator = async (c: Context<ServiceHono>, next: () => Promise<void>) => {
    const principal = await authenticate(c.req.header("authorization"), deps.jwtKey);
    if (!principal.ops) throw new DomainError("FORBIDDEN", "an operator token is required");
    c.set("principal", principal);
    await next();
  };
  app.use("/v1/ops/backups", operator);
  app.use("/v1/ops/backups/*", operator);
  app.use("/v1/ops/restores", operator);
  const actor = (c: Context<ServiceHono>): Actor => ({
    actorId: c.get("principal").userId,
    commandId: idempotencyKey(c),
    correlationId: c.get("correlationId"),
  });

  /**
   * A backup or restore takes seconds and writes files, so it is not one catalog transaction: a
   * repeated Idempotency-Key gets the stored answer (like promotions), a different body 422.
   */
  const once = async (
    c: Context<ServiceHono>,
    operation: string,
    request: unknown,
    run: (a: Actor) => Promise<Record<string, unknown>>,
  ) => {
    const a = actor(c);
    const hash = requestHash(operation, a.actorId, request);
    const [stored] = await deps.sql<{ request_hash: string; response: Record<string, unknown> }[]>`
      SELECT request_hash, response FROM catalog_command_log WHERE command_id = ${a.commandId}`;
    if (stored) {
      if (stored.request_hash !== hash) {
        throw new DomainError(
          "IDEMPOTENCY_KEY_REUSED",
          "this Idempotency-Key was used for a different request",
        );
      }
      c.header("idempotent-replayed", "true");
      return c.json(stored.response, 201);
    }
    const result = await run(a);
    await deps.sql`
      INSERT INTO catalog_command_log (command_id, operation, request_hash, status_code, response)
      VALUES (${a.commandId}, ${operation}, ${hash}, 201, ${deps.sql.json(result as never)}) ON CONFLICT DO NOTHING`;
    return c.json(result, 201);
  };

  app.post("/v1/ops/backups", async (c) => {
    const body = parseWith(backupBody, await jsonBody(c), "body");
    return once(c, "cell.backup", body, (a) => backupCell(deps, body, a));
  });

  app.get("/v1/ops/backups/:backupId", async (c) =>
    c.json(backupView(await loadBackup(deps, parseWith(z.uuid(), c.req.param("backupId"), "path")))),
  );

  app.post("/v1/ops/restores", async (c) => {
    const body = parseWith(restoreBody, await jsonBody(c), "body");
    return once(c, "cell.restore", body, (a) => restoreBackup(deps, body, a));
  });

  return app;
}
