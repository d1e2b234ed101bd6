import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";

export type DatabaseKind = "cell" | "catalog" | "projector" | "warehouse";

export function migrationsFolder(kind: DatabaseKind): string {
  return fileURLToPath(new URL(`../drizzle/${kind}`, import.meta.url));
}

/** Applies the committed SQL migrations of one database kind (the same ones tests use). */
export async function runMigrations(databaseUrl: string, kind: DatabaseKind): Promise<void> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await migrate(drizzle(sql), { migrationsFolder: migrationsFolder(kind) });
  } finally {
    await sql.end({ timeout: 5 });
  }
}
