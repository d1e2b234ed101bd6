import { regionCode } from "@homeroute/contracts";
import { createLogger, runService } from "@homeroute/service-kit";
import { z } from "zod";
import { startObjectStoreServer } from "./store-server.js";

// A region's evidence object store as its own process (the simulation runs one per region; in
// production this is an R2 or S3-compatible bucket in the jurisdiction, infra/object-stores.json).
const storeEnvSchema = z.object({
  REGION: regionCode,
  PORT: z.coerce.number().int().min(0).max(65535),
  HOST: z.string().default("127.0.0.1"),
  /** Blobs live under `<dir>/<REGION>/<tenant>/<case>/<evidence>`. */
  OBJECT_STORE_DIR: z.string().min(1),
  INTERNAL_TOKEN: z.string().min(16, "at least 16 characters"),
});

await runService(async () => {
  const parsed = storeEnvSchema.safeParse(process.env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`evidence store: invalid environment\n${lines.join("\n")}`);
  }
  const env = parsed.data;
  const store = await startObjectStoreServer({
    dir: env.OBJECT_STORE_DIR,
    region: env.REGION,
    token: env.INTERNAL_TOKEN,
    port: env.PORT,
    host: env.HOST,
  });
  createLogger("info").info("evidence store listening", { region: env.REGION, url: store.url });
  return store;
});
