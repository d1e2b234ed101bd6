import {
  DomainError,
  exportBody,
  placeTenantBody,
  promotionBody,
  regionCode,
  regionModeBody,
  storableText,
} from "@homeroute/contracts";
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
import type { CatalogResult } from "../command.js";
import { listConflicts, resolveConflict } from "../conflicts/conflicts.js";
import type { CatalogDeps } from "../deps.js";
import { createExport } from "../exports/export.js";
import { getMigration, requestRollback, startMigration } from "../migration/migrate.js";
import { type Actor, placeTenant } from "../placement/place-tenant.js";
import { getTenant, listTenants } from "../placement/tenants.js";
import { drillRecordBody, drReadiness, recordDrill } from "../promotion/drills.js";
import { promoteTenant } from "../promotion/promote.js";
import { listRegions, setRegionMode } from "../regions/regions.js";
import { backupRoutes } from "./backups.js";

function reply(c: Context<ServiceHono>, r: CatalogResult): Response {
  if (r.replayed) c.header("idempotent-replayed", "true");
  return c.json(r.body, r.statusCode as 200);
}

/** Control-plane routes of CONTRACT.md; operators carry `"ops": true` in their token. */
export function opsRoutes(deps: CatalogDeps): Hono<ServiceHono> {
  const app = new Hono<ServiceHono>();
  app.use("/v1/ops/*", async (c, next) => {
    const principal = await authenticate(c.req.header("authorization"), deps.jwtKey);
    if (!principal.ops) throw new DomainError("FORBIDDEN", "an operator token is required");
    c.set("principal", principal);
    await next();
  });
  const actor = (c: Context<ServiceHono>): Actor => ({
    actorId: c.get("principal").userId,
    commandId: idempotencyKey(c),
    correlationId: c.get("correlationId"),
  });

  app.get("/v1/ops/regions", async (c) => c.json(await listRegions(deps)));

  app.post("/v1/ops/regions/:region/mode", async (c) => {
    const region = parseWith(regionCode, c.req.param("region"), "path");
    const body = parseWith(regionModeBody, await jsonBody(c), "body");
    return reply(c, await setRegionMode(deps, region, body, actor(c)));
  });

  app.post("/v1/ops/tenants", async (c) => {
    const body = parseWith(placeTenantBody, await jsonBody(c), "body");
    return reply(c, await placeTenant(deps, body, actor(c)));
  });

  app.get("/v1/ops/tenants", async (c) => c.json({ items: await listTenants(deps.sql) }));

  app.post("/v1/ops/tenants/:tenantId/promotions", async (c) => {
    const tenantId = parseWith(z.uuid(), c.req.param("tenantId"), "path");
    const body = parseWith(promotionBody, await jsonBody(c), "body");
    const a = actor(c);
    // Promotion is not replay-safe halfway: a repeated key gets the stored answer.
    const [stored] = await deps.sql<{ request_hash: string; response: Record<string, unknown> }[]>`
      SELECT request_hash, response FROM catalog_command_log WHERE command_id = ${a.commandId}`;
    const hash = requestHash("tenant.promote", a.actorId, { tenantId, ...body });
    if (stored) {
      if (stored.request_hash !== hash)
        throw new DomainError(
          "IDEMPOTENCY_KEY_REUSED",
          "this Idempotency-Key was used for a different request",
        );
      c.header("idempotent-replayed", "true");
      return c.json(stored.response);
    }
    const result = await promoteTenant(deps, tenantId, body, a);
    await deps.sql`
      INSERT INTO catalog_command_log (command_id, operation, request_hash, status_code, response)
      VALUES (${a.commandId}, 'tenant.promote', ${hash}, 200, ${deps.sql.json(result as never)}) ON CONFLICT DO NOTHING`;
    return c.json(result);
  });

  app.post("/v1/ops/tenants/:tenantId/migrations", async (c) => {
    const tenantId = parseWith(z.uuid(), c.req.param("tenantId"), "path");
    const body = parseWith(
      z.strictObject({ targetRegion: regionCode, reason: storableText(1, 2000) }),
      await jsonBody(c),
      "body",
    );
    return c.json(await startMigration(deps, tenantId, body, actor(c)), 202);
  });

  app.get("/v1/ops/migrations/:migrationId", async (c) =>
    c.json(await getMigration(deps, parseWith(z.uuid(), c.req.param("migrationId"), "path"))),
  );

  app.post("/v1/ops/migrations/:migrationId/rollback", async (c) =>
    c.json(await requestRollback(deps, parseWith(z.uuid(), c.req.param("migrationId"), "path"))),
  );

  app.post("/v1/ops/exports", async (c) => {
    const body = parseWith(exportBody, await jsonBody(c), "body");
    return reply(c, await createExport(deps, body, actor(c)));
  });

  app.get("/v1/ops/conflicts", async (c) => c.json(await listConflicts(deps)));

  app.post("/v1/ops/conflicts/:conflictId/resolve", async (c) => {
    const conflictId = parseWith(z.uuid(), c.req.param("conflictId"), "path");
    const body = parseWith(z.strictObject({ note: storableText(1, 4000) }), await jsonBody(c), "body");
    return c.json(await resolveConflict(deps, conflictId, body.note, actor(c)));
  });

  app.get("/v1/ops/tenants/:tenantId", async (c) => {
    const tenantId = parseWith(z.uuid(), c.req.param("tenantId"), "path");
    return c.json({
      ...(await getTenant(deps.sql, tenantId)),
      drReadiness: await drReadiness(deps, tenantId),
    });
  });

  app.post("/v1/ops/dr-drills", async (c) => {
    const body = parseWith(drillRecordBody, await jsonBody(c), "body");
    return c.json(await recordDrill(deps, body, actor(c)), 201);
  });

  // Backups and restores (docs/backups.md), behind the same operator check.
  app.route("/", backupRoutes(deps));

  return app;
}
