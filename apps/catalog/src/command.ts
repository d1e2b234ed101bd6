import { DomainError } from "@homeroute/contracts";
import { requestHash } from "@homeroute/service-kit";
import type { TransactionSql } from "postgres";
import type { CatalogDeps } from "./deps.js";

export interface CatalogCommand {
  commandId: string;
  operation: string;
  actorId: string;
  request: unknown;
}

export interface CatalogResult {
  statusCode: number;
  body: Record<string, unknown>;
  replayed: boolean;
}

/**
 * One transaction per control-plane command, with the idempotency record inside it: a replay
 * returns the stored result; a reused key with another request is 422 (CONTRACT.md).
 */
export async function runCatalogCommand(
  deps: CatalogDeps,
  cmd: CatalogCommand,
  apply: (tx: TransactionSql) => Promise<{ statusCode: number; body: Record<string, unknown> }>,
): Promise<CatalogResult> {
  const hash = requestHash(cmd.operation, cmd.actorId, cmd.request);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      return await deps.sql.begin(async (tx) => {
        const [stored] = await tx<
          { request_hash: string; status_code: number; response: Record<string, unknown> }[]
        >`
          SELECT request_hash, status_code, response FROM catalog_command_log WHERE command_id = ${cmd.commandId}`;
        if (stored) {
          if (stored.request_hash !== hash) {
            throw new DomainError(
              "IDEMPOTENCY_KEY_REUSED",
              "this Idempotency-Key was used for a different request",
            );
          }
          return { statusCode: stored.status_code, body: stored.response, replayed: true };
        }
        const r = await apply(tx);
        await tx`
          INSERT INTO catalog_command_log (command_id, operation, request_hash, status_code, response)
          VALUES (${cmd.commandId}, ${cmd.operation}, ${hash}, ${r.statusCode}, ${tx.json(r.body as never)})`;
        return { ...r, replayed: false };
      });
    } catch (e) {
      const err = e as { code?: string; constraint_name?: string };
      if (err.code === "23505" && err.constraint_name === "catalog_command_log_pkey") continue;
      throw e;
    }
  }
  throw new DomainError("VERSION_CONFLICT", "a concurrent request with the same key is in flight; retry");
}
