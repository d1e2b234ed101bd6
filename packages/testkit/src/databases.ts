import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type DatabaseKind, migrationsFolder, runMigrations } from "@homeroute/db";
import postgres from "postgres";

// Each test file gets its own database, cloned from a migrated template (STYLE §8). The template's
// name carries a hash of the migrations, so a changed migration builds a new template.

export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

function migrationsHash(kind: DatabaseKind): string {
  const dir = migrationsFolder(kind);
  const h = createHash("sha256");
  for (const f of readdirSync(dir).sort()) if (f.endsWith(".sql")) h.update(readFileSync(join(dir, f)));
  return h.digest("hex").slice(0, 12);
}

async function ensureTemplate(admin: postgres.Sql, kind: DatabaseKind): Promise<string> {
  const name = `hr_tpl_${kind}_${migrationsHash(kind)}`;
  // Serialise template creation across parallel test files.
  await admin`SELECT pg_advisory_lock(hashtext(${name}))`;
  try {
    const [exists] = await admin`SELECT 1 FROM pg_database WHERE datname = ${name}`;
    if (!exists) {
      await admin.unsafe(`CREATE DATABASE "${name}_build"`).catch(() => {});
      await runMigrations(withDatabase(ADMIN_URL, `${name}_build`), kind);
      await admin.unsafe(`ALTER DATABASE "${name}_build" RENAME TO "${name}"`);
    }
  } finally {
    await admin`SELECT pg_advisory_unlock(hashtext(${name}))`;
  }
  return name;
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database of `kind` for one test file; `drop()` removes it. */
export async function createTestDatabase(kind: DatabaseKind, label = "t"): Promise<TestDatabase> {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    const template = await ensureTemplate(admin, kind);
    const safe = label
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "_")
      .slice(0, 30);
    const name = `hr_test_${kind}_${safe}_${process.pid}_${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
    await admin.unsafe(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
    const url = withDatabase(ADMIN_URL, name);
    return {
      name,
      url,
      async drop() {
        const a = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
        try {
          await a.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        } finally {
          await a.end({ timeout: 5 });
        }
      },
    };
  } finally {
    await admin.end({ timeout: 5 });
  }
}
