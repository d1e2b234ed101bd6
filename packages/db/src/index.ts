export { type DatabaseKind, migrationsFolder, runMigrations } from "./migrate.js";
