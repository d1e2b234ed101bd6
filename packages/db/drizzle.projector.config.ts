import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./src/projector/schema/index.ts",
  out: "./drizzle/projector",
  casing: "snake_case",
});
