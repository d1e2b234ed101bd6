import { createHash } from "node:crypto";
import { DomainError } from "@homeroute/contracts";
import { UUID_RE } from "@homeroute/ids";
import type { Context } from "hono";

/** Every command needs `Idempotency-Key: <uuid>` (CONTRACT.md "Conventions"). */
export function idempotencyKey(c: Context): string {
  const key = c.req.header("idempotency-key");
  if (!key || !UUID_RE.test(key)) {
    throw new DomainError("VALIDATION_FAILED", "Idempotency-Key must be a UUID", {
      issues: [{ path: ["header", "Idempotency-Key"], message: key ? "not a UUID" : "required" }],
    });
  }
  return key.toLowerCase();
}

/** JSON with sorted keys, so the same request hashes the same whatever the client's key order. */
export function stableStringify(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
    .join(",")}}`;
}

/** The hash a command log stores to tell a replay from a reused key. */
export function requestHash(operation: string, actorId: string, request: unknown): string {
  return createHash("sha256")
    .update(stableStringify([operation, actorId, request]))
    .digest("hex");
}
