import { z } from "zod";
import { isoTime, regionCode, residencyPolicyCode, uuid } from "./common.js";

// Backups that respect jurisdiction (issue 8, DESIGN §10). The catalog decides which tenants may go
// to a backup store (`backup_store`) and where a backup may be restored (`restore_target`); the
// cell only dumps and loads the tenants it is told to. docs/backups.md has the whole story.

/** `POST /v1/ops/backups`: back up one region's cell into the store of `storeRegion` (default: the same region). */
export const backupBody = z.strictObject({ region: regionCode, storeRegion: regionCode.optional() });
export type BackupBody = z.infer<typeof backupBody>;

/** `POST /v1/ops/restores`: restore a backup (or one tenant of it) into a fresh database in `targetRegion`. */
export const restoreBody = z.strictObject({
  backupId: uuid,
  targetRegion: regionCode,
  tenantId: uuid.optional(),
});
export type RestoreBody = z.infer<typeof restoreBody>;

/** Row count and content checksum of one table for one tenant (the cell's migration checksums). */
export const tableChecksum = z.object({ name: z.string(), count: z.number().int(), checksum: z.string() });
export type TableChecksum = z.infer<typeof tableChecksum>;

const fileRef = z.object({ path: z.string(), sha256: z.string().length(64), bytes: z.number().int() });

/**
 * manifest.json, beside the dump files in `<store>/<storeRegion>/<backupId>/`. Excluded tenants are
 * counted per policy and reason but not named: their ids stay out of a store the policy keeps them
 * out of (the catalog's cell_backup row names them).
 */
export const backupManifest = z.object({
  backupId: uuid,
  sourceRegion: regionCode,
  storeRegion: regionCode,
  createdAt: isoTime,
  completedAt: isoTime,
  format: z.literal("pg_dump-plain-per-tenant"),
  tools: z.object({ pgDump: z.string(), serverVersion: z.string() }),
  /** The cell schema the rows belong to: the last applied drizzle migration. */
  schemaVersion: z.object({ migrations: z.number().int(), lastHash: z.string().nullable() }),
  schemaFile: fileRef,
  tenants: z.array(
    z.object({
      tenantId: uuid,
      policy: residencyPolicyCode,
      homeRegion: regionCode.nullable(),
      stagingSchema: z.string(),
      file: fileRef,
      /** Rows dumped per table (every table with a tenant_id column). */
      rows: z.record(z.string(), z.number().int()),
      /** Counts and checksums a restore must reproduce. */
      tables: z.array(tableChecksum),
      auditChain: z.object({ ok: z.boolean(), checked: z.number().int() }),
    }),
  ),
  excluded: z.array(
    z.object({ policy: residencyPolicyCode.nullable(), reason: z.string(), tenants: z.number().int() }),
  ),
});
export type BackupManifest = z.infer<typeof backupManifest>;

/** The catalog → cell request to dump (internal). */
export const cellBackupRequest = z.strictObject({
  backupId: uuid,
  storeRegion: regionCode,
  tenants: z
    .array(z.object({ tenantId: uuid, policy: residencyPolicyCode, homeRegion: regionCode.nullable() }))
    .max(10_000),
  excluded: backupManifest.shape.excluded,
});
export type CellBackupRequest = z.infer<typeof cellBackupRequest>;

/** The catalog → cell request to restore into a fresh database (internal). */
export const cellRestoreRequest = z.strictObject({
  restoreId: uuid,
  backupId: uuid,
  storeRegion: regionCode,
  /** sha256 of each tenant's dump as the catalog recorded it: a changed file is refused. */
  tenants: z
    .array(z.object({ tenantId: uuid, sha256: z.string().length(64) }))
    .min(1)
    .max(10_000),
});
export type CellRestoreRequest = z.infer<typeof cellRestoreRequest>;

export const cellRestoreResult = z.object({
  restoreId: uuid,
  region: regionCode,
  database: z.string(),
  tenants: z.array(
    z.object({
      tenantId: uuid,
      tables: z.array(tableChecksum),
      auditChain: z.object({ ok: z.boolean(), checked: z.number().int() }),
    }),
  ),
});
export type CellRestoreResult = z.infer<typeof cellRestoreResult>;
