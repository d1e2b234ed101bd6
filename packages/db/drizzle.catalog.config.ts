import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./src/catalog/schema/index.ts",
  out: "./drizzle/catalog",
  casing: "snake_case",
});
