import { loadEnv } from "@homeroute/service-kit";
import { z } from "zod";

// The backup feature's own settings, validated once when the cell's app is built (startup). They
// live beside the feature rather than in env.ts so that a cell which never backs up needs nothing.

export const backupSettingsSchema = z.object({
  /** Backup stores, one folder per region: `<dir>/<storeRegion>/<backupId>/` (docs/backups.md). */
  BACKUP_STORE_DIR: z.string().min(1).default(".backups"),
  /** Where pg_dump and psql live; unset, PATH. pg_dump must be at least the server's major version. */
  PG_BIN_DIR: z.string().min(1).optional(),
});
export type BackupSettings = z.infer<typeof backupSettingsSchema>;

export function loadBackupSettings(source: NodeJS.ProcessEnv = process.env): BackupSettings {
  return loadEnv("cell backups", backupSettingsSchema, source);
}
