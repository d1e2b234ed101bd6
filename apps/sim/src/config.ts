import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";

export const simEnvSchema = z.object({
  SIM_STATE_DIR: z.string().default(".sim"),
  SIM_PORT_BASE: z.coerce.number().int().min(1024).max(65000).default(4400),
  AUTH_JWT_SECRET: z.string().min(32).optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//)
    .optional(),
  NATS_URL: z
    .string()
    .regex(/^nats:\/\//)
    .optional(),
  /** Write lease length (DESIGN §7: 30 s in the simulation); chaos tests shorten it. */
  SIM_LEASE_TTL_SECONDS: z.coerce.number().positive().default(30),
});

export interface SimConfig {
  root: string;
  stateDir: string;
  logDir: string;
  portBase: number;
  jwtSecret: string;
  internalToken: string;
  databaseUrl: string | undefined;
  fresh: boolean;
  leaseTtlSeconds: number;
}

/** Port layout, all on 127.0.0.1, all moving with SIM_PORT_BASE. */
export const ports = (base: number) => ({
  catalog: base,
  cell: (i: number) => base + 1 + i,
  catalogProxy: base + 10,
  cellProxy: (i: number) => base + 11 + i,
  edge: base + 20,
  sim: base + 21,
  dashboard: base + 22,
  postgres: base + 30,
  dbProxy: (i: number) => base + 31 + i,
  nats: base + 40,
  natsProxy: base + 42,
  relay: (i: number) => base + 50 + i,
  projector: base + 56,
  warehouse: base + 57,
  warehouseProxy: base + 58,
  store: (i: number) => base + 61 + i,
  storeProxy: (i: number) => base + 71 + i,
});

/** Secrets the simulation made for itself, kept in the state dir so restarts and globalctl agree. */
export function loadSimConfig(root: string, argv: string[]): SimConfig {
  const env = simEnvSchema.parse(process.env);
  const stateDir = resolve(root, env.SIM_STATE_DIR);
  const logDir = join(stateDir, "logs");
  mkdirSync(logDir, { recursive: true });
  const secretsFile = join(stateDir, "secrets.json");
  const stored = existsSync(secretsFile)
    ? (JSON.parse(readFileSync(secretsFile, "utf8")) as { jwtSecret: string; internalToken: string })
    : { jwtSecret: randomBytes(32).toString("hex"), internalToken: randomBytes(24).toString("hex") };
  const jwtSecret = env.AUTH_JWT_SECRET ?? stored.jwtSecret;
  writeFileSync(secretsFile, JSON.stringify({ ...stored, jwtSecret }, null, 2), { mode: 0o600 });
  return {
    root,
    stateDir,
    logDir,
    portBase: env.SIM_PORT_BASE,
    jwtSecret,
    internalToken: stored.internalToken,
    databaseUrl: env.DATABASE_URL,
    fresh: argv.includes("--fresh"),
    leaseTtlSeconds: env.SIM_LEASE_TTL_SECONDS,
  };
}
