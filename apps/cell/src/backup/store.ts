import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, rename, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type BackupManifest, backupManifest, DomainError } from "@homeroute/contracts";
import type { Sql, TransactionSql } from "postgres";

// The backup store: a folder per region standing for a bucket in that jurisdiction (production: an
// R2 or S3-compatible bucket per region, configured in infra/). Layout:
//   <BACKUP_STORE_DIR>/<storeRegion>/<backupId>/manifest.json
//                                              /schema.sql           (pg_dump --schema-only)
//                                              /tenants/<tenantId>.sql (pg_dump of its staging schema)

/** Ids and region codes are validated by the routes (uuid, region regex): no path can escape. */
export function backupDir(root: string, storeRegion: string, backupId: string): string {
  return join(resolve(root), storeRegion, backupId);
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

export async function fileRef(dir: string, path: string) {
  const full = join(dir, path);
  return { path, sha256: await sha256File(full), bytes: (await stat(full)).size };
}

export async function writeManifest(dir: string, manifest: BackupManifest): Promise<void> {
  // Written last and renamed into place: a backup without a manifest is not a backup.
  const tmp = join(dir, "manifest.json.tmp");
  await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(tmp, join(dir, "manifest.json"));
}

export async function readManifest(dir: string): Promise<BackupManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, "manifest.json"), "utf8");
  } catch {
    throw new DomainError("NOT_FOUND", "no such backup in this store");
  }
  const parsed = backupManifest.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new DomainError(
      "INVALID_TRANSITION",
      "the backup's manifest is not readable; refusing to restore",
      {
        allowed: [],
      },
    );
  }
  return parsed.data;
}

/** Every table of the cell schema that holds tenant rows (a tenant_id column). */
export async function tenantTables(sql: Sql | TransactionSql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    SELECT c.relname AS name FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
    WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname`;
  return rows.map((r) => r.name);
}

/** The last drizzle migration applied: a restore needs a database at the same schema. */
export async function schemaVersion(
  sql: Sql | TransactionSql,
): Promise<{ migrations: number; lastHash: string | null }> {
  const [r] = await sql<{ n: number; last: string | null }[]>`
    SELECT count(*)::int AS n, (SELECT hash FROM drizzle.__drizzle_migrations ORDER BY created_at DESC, id DESC LIMIT 1) AS last
    FROM drizzle.__drizzle_migrations`;
  return { migrations: r!.n, lastHash: r!.last };
}
