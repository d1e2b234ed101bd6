import { DomainError, type Role } from "@homeroute/contracts";
import type { DecideInput } from "../commands/execute.js";
import type { WritePlan } from "../commands/plan.js";
import type { CellDeps } from "../deps.js";

export interface GrantState {
  roles: string[];
  version: number;
}

/** The target user's current roles and grant version (one read; grants are not a hot path). */
export async function readGrantState(deps: CellDeps, tenantId: string, userId: string): Promise<GrantState> {
  const [row] = await deps.sql<{ roles: string[]; version: number | null }[]>`
    SELECT (SELECT coalesce(array_agg(role), '{}') FROM authorization_grant WHERE tenant_id = ${tenantId} AND user_id = ${userId}) AS roles,
      (SELECT version FROM grant_version WHERE tenant_id = ${tenantId} AND user_id = ${userId}) AS version`;
  return { roles: row!.roles, version: row!.version ?? 0 };
}

/**
 * Grants and revokes are strong writes at the tenant's home (seed §7 "Role change"), versioned per
 * user so the edge's authorization cache can apply them in order and a revoke busts it.
 */
export function planGrantChange(
  deps: CellDeps,
  tenantId: string,
  change: { userId: string; role: Role; op: "grant" | "revoke"; by: string },
  state: GrantState,
  d: DecideInput,
): WritePlan {
  const has = state.roles.includes(change.role);
  if (change.op === "revoke" && !has) throw new DomainError("NOT_FOUND", "the user does not hold this role");
  const version = state.version + 1;
  const { sql } = deps;
  const bump =
    state.version === 0
      ? sql`INSERT INTO grant_version (tenant_id, user_id, version)
            SELECT ${tenantId}, ${change.userId}, 1 WHERE EXISTS (SELECT 1 FROM gate)
            ON CONFLICT DO NOTHING RETURNING '{}'::jsonb AS patch`
      : sql`UPDATE grant_version SET version = ${version}
            WHERE tenant_id = ${tenantId} AND user_id = ${change.userId} AND version = ${state.version}
              AND EXISTS (SELECT 1 FROM gate)
            RETURNING '{}'::jsonb AS patch`;
  const effect =
    change.op === "grant"
      ? sql`INSERT INTO authorization_grant (tenant_id, user_id, role, granted_by)
            SELECT ${tenantId}, ${change.userId}, ${change.role}, ${change.by} FROM mutation
            ON CONFLICT DO NOTHING`
      : sql`DELETE FROM authorization_grant
            WHERE tenant_id = ${tenantId} AND user_id = ${change.userId} AND role = ${change.role}
              AND EXISTS (SELECT 1 FROM mutation)`;
  return {
    ctes: sql`,
      mutation AS (${bump}),
      effect AS (${effect})`,
    statusCode: change.op === "grant" ? 201 : 200,
    response: {
      tenantId,
      userId: change.userId,
      role: change.role,
      status: change.op === "grant" ? "GRANTED" : "REVOKED",
      grantVersion: version,
      changedAt: d.now.toISOString(),
    },
    aggregate: { type: "grant", id: change.userId, version },
    event: {
      type: change.op === "grant" ? "grant.granted" : "grant.revoked",
      aggregateType: "grant",
      payload: { userId: change.userId, role: change.role },
    },
  };
}
