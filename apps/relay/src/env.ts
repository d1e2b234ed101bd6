import { regionCode } from "@homeroute/contracts";
import { loadEnv } from "@homeroute/service-kit";
import { z } from "zod";

export const relayEnvSchema = z.object({
  REGION: regionCode,
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//),
  NATS_URL: z.string().regex(/^nats:\/\//),
  PORT: z.coerce.number().int().min(0).max(65535).default(0),
  HOST: z.string().default("127.0.0.1"),
  /** Subject/stream root: "gr" in production; tests use their own so each has its own streams. */
  SUBJECT_ROOT: z
    .string()
    .regex(/^[a-z][a-z0-9]{0,15}$/)
    .default("gr"),
  BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(500),
  POLL_MS: z.coerce.number().int().positive().default(500),
  HEARTBEAT_MS: z.coerce.number().int().positive().default(1000),
  LOG_LEVEL: z.enum(["info", "silent"]).default("info"),
});
export type RelayEnv = z.infer<typeof relayEnvSchema>;

export function loadRelayEnv(source: NodeJS.ProcessEnv = process.env): RelayEnv {
  return loadEnv("relay", relayEnvSchema, source);
}
