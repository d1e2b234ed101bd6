import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { type BackupManifest, type CellBackupRequest, DomainError } from "@homeroute/contracts";
import { verifyAuditChain } from "@homeroute/db/cell";
import type { Sql } from "postgres";
import type { CellDeps } from "../deps.js";
import { tenantTableChecksums } from "../standby/checksums.js";
import { checkDumpTools, PgToolError, runPgTool } from "./pg-tools.js";
import type { BackupSettings } from "./settings.js";
import { backupDir, fileRef, schemaVersion, tenantTables, writeManifest } from "./store.js";

// A backup of this cell, filtered by tenant (issue 8, docs/backups.md). pg_dump cannot filter rows,
// and a dump of the whole database would carry every tenant into the store, including those whose
// policy keeps them out of it. So, in one REPEATABLE READ transaction (one point in time for every
// tenant and table), each tenant the catalog allowed gets a staging schema holding a copy of its
// rows; pg_dump then dumps each staging schema to its own plain SQL file, and the schemas are
// dropped. Rows of a tenant not on the list are never read, let alone written to the store. One
// file per tenant, so a restore loads only the tenants it is allowed to load.

const STAGING_PREFIX = "hr_backup_";
/** One backup per cell at a time; leftovers of a crashed one are dropped under the same lock. */
const BACKUP_LOCK = "homeroute.cell.backup";

const quote = (ident: string) => `"${ident.replace(/"/g, '""')}"`;

export async function dumpTenants(
  deps: CellDeps,
  settings: BackupSettings,
  req: CellBackupRequest,
): Promise<BackupManifest> {
  const createdAt = new Date().toISOString();
  const tools = await checkDumpTools(deps.sql, settings.PG_BIN_DIR, deps.region);
  const dir = backupDir(settings.BACKUP_STORE_DIR, req.storeRegion, req.backupId);
  const lock = await deps.sql.reserve();
  const staging: string[] = [];
  try {
    const [got] = await lock<{ ok: boolean }[]>`SELECT pg_try_advisory_lock(hashtext(${BACKUP_LOCK})) AS ok`;
    if (!got?.ok) {
      throw new DomainError("INVALID_TRANSITION", `a backup of ${deps.region} is already running`, {
        allowed: [],
      });
    }
    try {
      await dropStaging(lock, await leftoverStaging(lock));
      await mkdir(join(dir, "tenants"), { recursive: true });
      const short = req.backupId.replace(/-/g, "").slice(-12);
      const snapshot = await deps.sql.begin("isolation level repeatable read", async (tx) => {
        const tables = await tenantTables(tx);
        const version = await schemaVersion(tx);
        const copied = [];
        for (const [i, t] of req.tenants.entries()) {
          const schema = `${STAGING_PREFIX}${short}_${i}`;
          staging.push(schema);
          await tx.unsafe(`CREATE SCHEMA ${quote(schema)}`);
          const rows: Record<string, number> = {};
          for (const table of tables) {
            await tx.unsafe(
              `CREATE UNLOGGED TABLE ${quote(schema)}.${quote(table)} (LIKE public.${quote(table)})`,
            );
            const r = await tx.unsafe(
              `INSERT INTO ${quote(schema)}.${quote(table)} SELECT * FROM public.${quote(table)} WHERE tenant_id = $1`,
              [t.tenantId],
            );
            rows[table] = r.count;
          }
          // Same snapshot as the copy: the checksums describe exactly the rows in the dump.
          const checksums = await tenantTableChecksums(tx, t.tenantId);
          const chain = await verifyAuditChain(tx as unknown as Sql, t.tenantId);
          copied.push({
            ...t,
            stagingSchema: schema,
            rows,
            tables: checksums,
            auditChain: { ok: chain.ok, checked: chain.checked },
          });
        }
        return { version, copied };
      });
      const tenants: BackupManifest["tenants"] = [];
      for (const t of snapshot.copied) {
        const path = join("tenants", `${t.tenantId}.sql`);
        await pgDump(deps, settings, [`--schema=${t.stagingSchema}`, `--file=${join(dir, path)}`]);
        tenants.push({ ...t, file: await fileRef(dir, path) });
      }
      // The cell schema the rows belong to, for the record and for a restore outside a cell; a
      // cell restores into a database its own migrations made (restore.ts).
      await pgDump(deps, settings, ["--schema-only", "--schema=public", `--file=${join(dir, "schema.sql")}`]);
      const manifest: BackupManifest = {
        backupId: req.backupId,
        sourceRegion: deps.region,
        storeRegion: req.storeRegion,
        createdAt,
        completedAt: new Date().toISOString(),
        format: "pg_dump-plain-per-tenant",
        tools,
        schemaVersion: snapshot.version,
        schemaFile: await fileRef(dir, "schema.sql"),
        tenants,
        excluded: req.excluded,
      };
      await writeManifest(dir, manifest);
      return manifest;
    } catch (e) {
      // No half-written backup is left in a store: it would look like one.
      await rm(dir, { recursive: true, force: true });
      throw e;
    } finally {
      await dropStaging(lock, staging).catch((e: Error) =>
        deps.log.error("backup staging not dropped", { error: e.message }),
      );
      await lock`SELECT pg_advisory_unlock(hashtext(${BACKUP_LOCK}))`;
    }
  } finally {
    lock.release();
  }
}

async function pgDump(deps: CellDeps, settings: BackupSettings, args: string[]): Promise<void> {
  try {
    await runPgTool(settings.PG_BIN_DIR, "pg_dump", [
      "--format=plain",
      "--no-owner",
      "--no-privileges",
      `--dbname=${deps.env.DATABASE_URL}`,
      ...args,
    ]);
  } catch (e) {
    if (!(e instanceof PgToolError)) throw e;
    // stderr names hosts and databases: it goes to this region's log, not to the operator.
    deps.log.error("pg_dump failed", { region: deps.region, exitCode: e.exitCode, stderr: e.stderr });
    throw new DomainError("REGION_UNAVAILABLE", `pg_dump of ${deps.region} failed; see the cell's log`, {
      region: deps.region,
    });
  }
}

async function leftoverStaging(sql: Sql): Promise<string[]> {
  const rows = await sql<{ nspname: string }[]>`
    SELECT nspname FROM pg_namespace WHERE starts_with(nspname, ${STAGING_PREFIX})`;
  return rows.map((r) => r.nspname);
}

async function dropStaging(sql: Sql, schemas: string[]): Promise<void> {
  for (const s of schemas) await sql.unsafe(`DROP SCHEMA IF EXISTS ${quote(s)} CASCADE`);
}

/** Every tenant with a row in this cell (home data and standby copies alike). */
export async function tenantsPresent(sql: Sql): Promise<string[]> {
  const tables = await tenantTables(sql);
  if (tables.length === 0) return [];
  const rows = await sql.unsafe<{ tenant_id: string }[]>(
    `${tables.map((t) => `SELECT tenant_id FROM public.${quote(t)}`).join(" UNION ")} ORDER BY 1`,
  );
  return rows.map((r) => r.tenant_id);
}
