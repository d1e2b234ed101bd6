import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./src/warehouse/schema/index.ts",
  out: "./drizzle/warehouse",
  casing: "snake_case",
});
