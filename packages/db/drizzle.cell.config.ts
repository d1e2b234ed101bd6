import { defineConfig } from "drizzle-kit";

// SQL migrations are generated from the schema and committed; never `drizzle-kit push` (STYLE §6).
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/cell/schema/index.ts",
  out: "./drizzle/cell",
  casing: "snake_case",
});
