import { sql } from "drizzle-orm";
import { check, index, jsonb, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { createdAt, tstz } from "../../cell/schema/columns.js";

/**
 * Cell backups (issue 8, docs/backups.md): which tenants went to which regional store and which
 * were kept out by their policy's backup_regions, with the manifest the cell wrote. The catalog's
 * record is what a restore is checked against (files by sha256, tables by count and checksum).
 */
export const cellBackup = pgTable(
  "cell_backup",
  {
    backupId: uuid().primaryKey(),
    sourceRegion: text().notNull(),
    storeRegion: text().notNull(),
    status: text().notNull(),
    requestedBy: uuid(),
    /** [{tenantId, policy, homeRegion}] */
    includedTenants: jsonb().notNull().default([]),
    /** [{tenantId, policy, reason, detail}]: named here, only counted in the store's manifest. */
    excludedTenants: jsonb().notNull().default([]),
    manifest: jsonb(),
    errorMessage: text(),
    createdAt: createdAt(),
    completedAt: tstz(),
  },
  (t) => [
    check("ck_cell_backup_status", sql`${t.status} IN ('RUNNING','COMPLETED','FAILED')`),
    index("ix_cell_backup_source").on(t.sourceRegion, t.createdAt),
  ],
);
