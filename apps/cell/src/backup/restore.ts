import { join } from "node:path";
import {
  type BackupManifest,
  type CellRestoreRequest,
  type CellRestoreResult,
  DomainError,
} from "@homeroute/contracts";
import { runMigrations } from "@homeroute/db";
import { verifyAuditChain } from "@homeroute/db/cell";
import { createSql } from "@homeroute/service-kit";
import type { TransactionSql } from "postgres";
import type { CellDeps } from "../deps.js";
import { tenantTableChecksums } from "../standby/checksums.js";
import { PgToolError, runPgTool } from "./pg-tools.js";
import type { BackupSettings } from "./settings.js";
import { backupDir, readManifest, schemaVersion, sha256File } from "./store.js";

// Restore into a fresh database beside this cell's (same server, same region): what a region
// rebuilt after a loss starts from, and what a restore drill checks without touching live data.
// The catalog has already decided that every tenant asked for may be restored here
// (`restore_target`); this cell loads only those tenants' files, checks each against the sha256
// the catalog recorded at backup time, and reports the restored counts and checksums.

const quote = (ident: string) => `"${ident.replace(/"/g, '""')}"`;

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Short, unique per restore, and says which region's server it sits on. */
export function restoreDatabaseName(region: string, restoreId: string): string {
  return `hr_restore_${region.replace(/-/g, "_")}_${restoreId.replace(/-/g, "").slice(-12)}`;
}

export async function restoreIntoFreshDatabase(
  deps: CellDeps,
  settings: BackupSettings,
  req: CellRestoreRequest,
): Promise<CellRestoreResult> {
  const dir = backupDir(settings.BACKUP_STORE_DIR, req.storeRegion, req.backupId);
  const manifest = await readManifest(dir);
  if (manifest.backupId !== req.backupId || manifest.storeRegion !== req.storeRegion) {
    throw new DomainError("INVALID_TRANSITION", "the manifest in the store names another backup", {
      allowed: [],
    });
  }
  const chosen: BackupManifest["tenants"] = [];
  for (const t of req.tenants) {
    const entry = manifest.tenants.find((m) => m.tenantId === t.tenantId);
    if (!entry) throw new DomainError("NOT_FOUND", `the backup holds no tenant ${t.tenantId}`);
    const actual = await sha256File(join(dir, entry.file.path));
    if (actual !== t.sha256 || actual !== entry.file.sha256) {
      throw new DomainError(
        "INVALID_TRANSITION",
        `the dump of tenant ${t.tenantId} differs from the sha256 recorded at backup time; refusing to restore it`,
        { allowed: [] },
      );
    }
    chosen.push(entry);
  }

  const database = restoreDatabaseName(deps.region, req.restoreId);
  const url = withDatabase(deps.env.DATABASE_URL, database);
  await deps.sql.unsafe(`CREATE DATABASE ${quote(database)}`);
  try {
    await runMigrations(url, "cell");
    const rsql = createSql(url, { max: 1 });
    try {
      const version = await schemaVersion(rsql);
      if (version.lastHash !== manifest.schemaVersion.lastHash) {
        throw new DomainError(
          "INVALID_TRANSITION",
          `the backup was taken at cell schema ${manifest.schemaVersion.migrations} migrations, this cell is at ${version.migrations}`,
          { allowed: [] },
        );
      }
      for (const t of chosen) await psqlFile(deps, settings, url, join(dir, t.file.path));
      await rsql.begin(async (tx) => {
        for (const t of chosen) await moveStagingRows(tx, t.stagingSchema);
        await resetSequences(tx);
      });
      const tenants = [];
      for (const t of chosen) {
        const chain = await verifyAuditChain(rsql, t.tenantId);
        tenants.push({
          tenantId: t.tenantId,
          tables: await tenantTableChecksums(rsql, t.tenantId),
          auditChain: { ok: chain.ok, checked: chain.checked },
        });
      }
      return { restoreId: req.restoreId, region: deps.region, database, tenants };
    } finally {
      await rsql.end({ timeout: 5 });
    }
  } catch (e) {
    // A restore that did not finish leaves no database behind that could pass for one.
    await deps.sql.unsafe(`DROP DATABASE IF EXISTS ${quote(database)} WITH (FORCE)`).catch(() => {});
    throw e;
  }
}

async function psqlFile(deps: CellDeps, settings: BackupSettings, url: string, file: string): Promise<void> {
  try {
    await runPgTool(settings.PG_BIN_DIR, "psql", [
      "-X",
      "-q",
      "-v",
      "ON_ERROR_STOP=1",
      "--single-transaction",
      `--dbname=${url}`,
      `--file=${file}`,
    ]);
  } catch (e) {
    if (!(e instanceof PgToolError)) throw e;
    deps.log.error("psql restore failed", { region: deps.region, exitCode: e.exitCode, stderr: e.stderr });
    throw new DomainError("REGION_UNAVAILABLE", `the restore in ${deps.region} failed; see the cell's log`, {
      region: deps.region,
    });
  }
}

/**
 * The dump recreated the tenant's staging schema; its rows move into the cell tables as they were
 * written. User triggers are off for the move: the audit chain trigger would re-link restored
 * events with new sequence numbers and hashes, and the chain must come back exactly as it was.
 */
async function moveStagingRows(tx: TransactionSql, schema: string): Promise<void> {
  const columnsOf = async (s: string, table: string) =>
    (
      await tx<{ column_name: string }[]>`
        SELECT column_name FROM information_schema.columns
        WHERE table_schema = ${s} AND table_name = ${table} ORDER BY ordinal_position`
    ).map((r) => r.column_name);
  const tables = await tx<{ table_name: string }[]>`
    SELECT table_name FROM information_schema.tables WHERE table_schema = ${schema} ORDER BY table_name`;
  for (const { table_name: table } of tables) {
    const cols = await columnsOf(schema, table);
    const target = await columnsOf("public", table);
    if (cols.length !== target.length || cols.some((c) => !target.includes(c))) {
      throw new DomainError("INVALID_TRANSITION", `table ${table} of the backup does not match this cell's`, {
        allowed: [],
      });
    }
    const list = cols.map(quote).join(", ");
    await tx.unsafe(`ALTER TABLE public.${quote(table)} DISABLE TRIGGER USER`);
    await tx.unsafe(
      `INSERT INTO public.${quote(table)} (${list}) SELECT ${list} FROM ${quote(schema)}.${quote(table)}`,
    );
    await tx.unsafe(`ALTER TABLE public.${quote(table)} ENABLE TRIGGER USER`);
  }
  await tx.unsafe(`DROP SCHEMA ${quote(schema)} CASCADE`);
}

/** Serial columns continue after the restored rows (the outbox's seq), as if written here. */
async function resetSequences(tx: TransactionSql): Promise<void> {
  const serials = await tx<{ table_name: string; column_name: string; seq: string }[]>`
    SELECT table_name, column_name, pg_get_serial_sequence(format('public.%I', table_name), column_name) AS seq
    FROM information_schema.columns
    WHERE table_schema = 'public' AND column_default LIKE 'nextval(%'`;
  for (const s of serials) {
    if (!s.seq) continue;
    await tx.unsafe(
      `SELECT setval($1::regclass, coalesce((SELECT max(${quote(s.column_name)}) FROM public.${quote(s.table_name)}), 0) + 1, false)`,
      [s.seq],
    );
  }
}
