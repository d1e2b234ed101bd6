import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { uuidv7 } from "@homeroute/ids";
import { signDevToken } from "@homeroute/service-kit";

// Where globalctl finds the planet: flags, then environment, then the simulation's state dir
// (topology.json and the secrets the simulation made for itself).

export interface CliContext {
  edgeUrl: string | null;
  simUrl: string | null;
  secret: string | null;
  json: boolean;
}

export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly problem?: unknown,
  ) {
    super(message);
  }
}

export function loadContext(flags: { edge?: string; json?: boolean }): CliContext {
  const stateDir = resolve(process.env.SIM_STATE_DIR ?? ".sim");
  const topoFile = resolve(stateDir, "topology.json");
  const topo = existsSync(topoFile)
    ? (JSON.parse(readFileSync(topoFile, "utf8")) as { edgeUrl: string; simUrl: string })
    : null;
  const secretsFile = resolve(stateDir, "secrets.json");
  const secrets = existsSync(secretsFile)
    ? (JSON.parse(readFileSync(secretsFile, "utf8")) as { jwtSecret: string })
    : null;
  return {
    edgeUrl: flags.edge ?? process.env.HOMEROUTE_EDGE_URL ?? topo?.edgeUrl ?? null,
    simUrl: process.env.HOMEROUTE_SIM_URL ?? topo?.simUrl ?? null,
    secret: process.env.AUTH_JWT_SECRET ?? secrets?.jwtSecret ?? null,
    json: flags.json === true,
  };
}

/** The edge's base URL, or a CONFIG error saying how to get one. */
export function edge(ctx: CliContext): string {
  if (!ctx.edgeUrl) {
    throw new CliError(
      "CONFIG",
      "no edge URL: start the simulation (./run.sh start), pass --edge URL, or set HOMEROUTE_EDGE_URL",
    );
  }
  return ctx.edgeUrl;
}

export async function signToken(
  ctx: CliContext,
  claims: { sub: string; tid?: string; ops?: boolean; supportRegion?: string | undefined },
  ttlSeconds: number,
) {
  if (!ctx.secret) throw new CliError("CONFIG", "no signing key: set AUTH_JWT_SECRET or run the simulation");
  return signDevToken(ctx.secret, claims, ttlSeconds);
}

/** Calls the platform as an operator; a problem+json answer becomes a CliError with its code. */
export async function call(ctx: CliContext, method: string, url: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (ctx.edgeUrl && url.startsWith(ctx.edgeUrl)) {
    headers.authorization = `Bearer ${await signToken(ctx, { sub: uuidv7(), ops: true }, 300)}`;
  }
  if (method !== "GET") headers["idempotency-key"] = uuidv7();
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new CliError("UNREACHABLE", `${url}: ${(e as Error).message}`);
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  if (!res.ok) {
    const p = parsed as { code?: string; detail?: string };
    throw new CliError(p?.code ?? `HTTP_${res.status}`, p?.detail ?? text.slice(0, 200), parsed);
  }
  return parsed;
}
