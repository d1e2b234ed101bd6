import { z } from "zod";

// Opaque to clients (CONTRACT.md), structured for us: the aggregate, the version the write
// produced, the home region and epoch. A read with it must see at least that version (DESIGN §6).
export const consistencyTokenPayload = z.object({
  aggregateType: z.string().min(1).max(32),
  aggregateId: z.uuid(),
  version: z.number().int().nonnegative(),
  region: z.string().min(2).max(32),
  epoch: z.number().int().positive(),
});
export type ConsistencyToken = z.infer<typeof consistencyTokenPayload>;

function toBase64Url(s: string): string {
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function fromBase64Url(s: string): string {
  const b = s.replace(/-/g, "+").replace(/_/g, "/");
  return atob(b + "===".slice((b.length + 3) % 4));
}

export function encodeConsistencyToken(t: ConsistencyToken): string {
  return `ct1.${toBase64Url(JSON.stringify([t.aggregateType, t.aggregateId, t.version, t.region, t.epoch]))}`;
}

/** Returns null for anything that is not a token we issued (never throws on client input). */
export function decodeConsistencyToken(token: string): ConsistencyToken | null {
  if (!token.startsWith("ct1.") || token.length > 512) return null;
  try {
    const arr = JSON.parse(fromBase64Url(token.slice(4)));
    if (!Array.isArray(arr) || arr.length !== 5) return null;
    const [aggregateType, aggregateId, version, region, epoch] = arr;
    const parsed = consistencyTokenPayload.safeParse({ aggregateType, aggregateId, version, region, epoch });
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
