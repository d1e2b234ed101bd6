import { cellBackupRequest, cellRestoreRequest } from "@homeroute/contracts";
import { jsonBody, parseWith, type ServiceHono } from "@homeroute/service-kit";
import { Hono } from "hono";
import { dumpTenants, tenantsPresent } from "../backup/dump.js";
import { restoreIntoFreshDatabase } from "../backup/restore.js";
import { type BackupSettings, loadBackupSettings } from "../backup/settings.js";
import type { CellDeps } from "../deps.js";

/**
 * Backups and restores, for the catalog only (internal: app.ts puts them behind internalAuth). The
 * catalog makes every residency decision (`backup_store`, `restore_target`) and audits it; a cell
 * dumps and loads exactly the tenants it is given (docs/backups.md).
 */
export function backupRoutes(
  deps: CellDeps,
  settings: BackupSettings = loadBackupSettings(),
): Hono<ServiceHono> {
  const app = new Hono<ServiceHono>();

  app.get("/internal/v1/backups/tenants", async (c) =>
    c.json({ region: deps.region, tenantIds: await tenantsPresent(deps.sql) }),
  );

  app.post("/internal/v1/backups", async (c) => {
    const body = parseWith(cellBackupRequest, await jsonBody(c), "body");
    return c.json(await dumpTenants(deps, settings, body), 201);
  });

  app.post("/internal/v1/restores", async (c) => {
    const body = parseWith(cellRestoreRequest, await jsonBody(c), "body");
    return c.json(await restoreIntoFreshDatabase(deps, settings, body), 201);
  });

  return app;
}
