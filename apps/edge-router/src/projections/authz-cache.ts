import type { EdgeBindings } from "../env.js";
import { type AuthzEntry, keys } from "./store.js";

// Roles for non-sensitive checks at the edge: an isolate cache bounded by AUTHZ_CACHE_SECONDS over
// the KV copy the projector keeps current (a revoke overwrites it). Unknown → the caller goes home.
// Sensitive actions (decision, grants, exports) never use this: the home cell decides them.

const cache = new Map<string, { entry: AuthzEntry; at: number }>();

export async function cachedRoles(env: EdgeBindings, tenantId: string, userId: string, boundSeconds: number) {
  const key = keys.authz(tenantId, userId);
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < boundSeconds * 1000) return hit.entry.roles;
  const entry = await env.PROJECTIONS.get<AuthzEntry>(key, "json");
  if (!entry) {
    cache.delete(key);
    return null;
  }
  cache.set(key, { entry, at: Date.now() });
  return entry.roles;
}
