import { execFile } from "node:child_process";
import { join } from "node:path";
import { DomainError } from "@homeroute/contracts";
import type { Sql } from "postgres";

// The machine's PostgreSQL client tools (pg_dump, psql), run as child processes. pg_dump refuses a
// server newer than itself ("server version mismatch"); we say so first, with what to do about it,
// instead of passing its stderr (which names hosts and databases) to the operator.

export type PgTool = "pg_dump" | "psql";

export function pgToolPath(binDir: string | undefined, tool: PgTool): string {
  return binDir ? join(binDir, tool) : tool;
}

/** "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)" → 15; null when it is not a version line. */
export function toolMajor(versionLine: string): number | null {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(versionLine);
  if (!m) return null;
  // Before PostgreSQL 10 the major version had two parts (9.6); those servers are long gone here.
  return Number(m[1]);
}

/** server_version_num 150020 → 15, 180001 → 18. */
export function serverMajor(serverVersionNum: number): number {
  return Math.floor(serverVersionNum / 10000);
}

/** Why this pg_dump cannot dump this server, or null when it can. */
export function dumpIncompatibility(
  pgDumpVersion: string,
  serverVersionNum: number,
  serverVersion: string,
): string | null {
  const tool = toolMajor(pgDumpVersion);
  if (tool === null) return `could not read pg_dump's version from "${pgDumpVersion.trim()}"`;
  const server = serverMajor(serverVersionNum);
  if (server > tool) {
    return (
      `pg_dump ${tool} cannot dump a PostgreSQL ${server} server (${serverVersion}): ` +
      `install PostgreSQL ${server} client tools or point PG_BIN_DIR at them`
    );
  }
  return null;
}

export class PgToolError extends Error {
  constructor(
    readonly tool: PgTool,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${tool} failed (exit ${exitCode ?? "signal"})`);
  }
}

/** Runs a client tool; stdout is returned, stderr kept for the log (never for the client). */
export function runPgTool(
  binDir: string | undefined,
  tool: PgTool,
  args: string[],
  timeoutMs = 300_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      pgToolPath(binDir, tool),
      args,
      {
        timeout: timeoutMs,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, PGCONNECT_TIMEOUT: "10" },
      },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT") {
          return reject(
            new PgToolError(
              tool,
              null,
              `${tool} not found (${binDir ? `PG_BIN_DIR=${binDir}` : "PATH"}); install the PostgreSQL client tools`,
            ),
          );
        }
        reject(new PgToolError(tool, typeof code === "number" ? code : null, String(stderr)));
      },
    );
  });
}

/**
 * pg_dump's version and the server's, checked before anything is written: a mismatch is a 503 with
 * what to install, not a half-written backup.
 */
export async function checkDumpTools(
  sql: Sql,
  binDir: string | undefined,
  region: string,
): Promise<{ pgDump: string; serverVersion: string }> {
  let pgDump: string;
  try {
    pgDump = (await runPgTool(binDir, "pg_dump", ["--version"], 10_000)).trim();
  } catch (e) {
    const why = e instanceof PgToolError && e.exitCode === null ? e.stderr : "pg_dump --version failed";
    throw new DomainError("REGION_UNAVAILABLE", `backups of ${region} are unavailable: ${why}`, { region });
  }
  const [v] = await sql<{ num: string; version: string }[]>`
    SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version`;
  const problem = dumpIncompatibility(pgDump, Number(v!.num), v!.version);
  if (problem) {
    throw new DomainError("REGION_UNAVAILABLE", `backups of ${region} are unavailable: ${problem}`, {
      region,
    });
  }
  return { pgDump, serverVersion: v!.version };
}
