import { type DatabaseKind, runMigrations } from "./migrate.js";

// Usage: pnpm migrate -- <kind> (DATABASE_URL from the environment). Applies committed migrations.
const kind = (process.argv[2] ?? "cell") as DatabaseKind;
const url = process.env.DATABASE_URL;
if (!url) {
  console.error("DATABASE_URL is required");
  process.exit(2);
}
await runMigrations(url, kind);
console.log(JSON.stringify({ migrated: kind }));
