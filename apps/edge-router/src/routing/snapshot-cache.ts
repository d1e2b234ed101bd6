import { DomainError, type RoutingSnapshot, routingSnapshot } from "@homeroute/contracts";
import type { EdgeBindings, EdgeConfig } from "../env.js";

// The routing snapshot, cached per isolate with a TTL, KV behind it, the catalog behind that
// (DESIGN §5 step 2, §8 "catalog down"). When the catalog cannot be reached the edge keeps
// routing from the newest copy it has and says so (`source: cached`, with its age).

export interface RoutingView {
  snapshot: RoutingSnapshot;
  source: "live" | "cached";
  ageSeconds: number;
}

interface Held {
  snapshot: RoutingSnapshot;
  /** When this copy was last confirmed by the catalog (ms). */
  confirmedAt: number;
}

const KV_KEY = "routing-snapshot";
let held: Held | null = null;
/** After a failed catalog call, don't try again before this time: a dead catalog must not cost each request a timeout. */
let catalogQuietUntil = 0;
/** One catalog fetch at a time per isolate: concurrent misses share it (single flight). */
let inflight: Promise<Held | null> | null = null;
/** Refreshes forced by an unknown tenant id at most this often: made-up ids must not let a client
 * turn every request into a full snapshot download. (Ownership misses are never rate-limited.) */
const FORCE_MIN_INTERVAL_MS = 1000;
let lastForcedAt = 0;

function newer(a: Held | null, b: Held | null): Held | null {
  if (!a) return b;
  if (!b) return a;
  if (b.snapshot.version !== a.snapshot.version) return b.snapshot.version > a.snapshot.version ? b : a;
  return b.confirmedAt > a.confirmedAt ? b : a;
}

async function fromKv(env: EdgeBindings): Promise<Held | null> {
  const raw = await env.ROUTING.get<Held>(KV_KEY, "json");
  if (!raw) return null;
  const parsed = routingSnapshot.safeParse(raw.snapshot);
  return parsed.success ? { snapshot: parsed.data, confirmedAt: raw.confirmedAt } : null;
}

async function fromCatalog(cfg: EdgeConfig): Promise<Held | null> {
  if (Date.now() < catalogQuietUntil) return null;
  try {
    const res = await fetch(`${cfg.CATALOG_URL}/internal/v1/routing-snapshot`, {
      headers: { authorization: `Bearer ${cfg.INTERNAL_TOKEN}` },
      signal: AbortSignal.timeout(cfg.CATALOG_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`catalog answered ${res.status}`);
    const snapshot = routingSnapshot.parse(await res.json());
    return { snapshot, confirmedAt: Date.now() };
  } catch {
    catalogQuietUntil = Date.now() + cfg.SNAPSHOT_TTL_SECONDS * 1000;
    return null;
  }
}

function view(h: Held, cfg: EdgeConfig): RoutingView {
  const ageSeconds = Math.max(0, (Date.now() - h.confirmedAt) / 1000);
  return {
    snapshot: h.snapshot,
    source: ageSeconds <= cfg.SNAPSHOT_TTL_SECONDS ? "live" : "cached",
    ageSeconds,
  };
}

/**
 * `force` skips the caches (after WRONG_REGION / STALE_REGION_EPOCH from a cell, or an unknown
 * tenant). Only when no copy exists anywhere and the catalog is down is routing impossible.
 */
export async function getRouting(
  env: EdgeBindings,
  cfg: EdgeConfig,
  opts: { force?: boolean; rateLimited?: boolean; waitUntil?: (p: Promise<unknown>) => void } = {},
): Promise<RoutingView> {
  const ttlMs = cfg.SNAPSHOT_TTL_SECONDS * 1000;
  if (!opts.force && held && Date.now() - held.confirmedAt < ttlMs) return view(held, cfg);
  if (!opts.force) {
    held = newer(held, await fromKv(env));
    if (held && Date.now() - held.confirmedAt < ttlMs) return view(held, cfg);
  }
  if (opts.force) {
    if (opts.rateLimited) {
      if (held && Date.now() - lastForcedAt < FORCE_MIN_INTERVAL_MS) return view(held, cfg);
      lastForcedAt = Date.now();
    }
    catalogQuietUntil = 0;
  }
  inflight ??= fromCatalog(cfg).finally(() => {
    inflight = null;
  });
  const live = await inflight;
  if (live) {
    held = newer(held, live);
    const put = env.ROUTING.put(KV_KEY, JSON.stringify(held));
    opts.waitUntil ? opts.waitUntil(put) : await put;
    return view(held!, cfg);
  }
  held = newer(held, await fromKv(env));
  if (!held)
    throw new DomainError(
      "CATALOG_UNAVAILABLE",
      "no routing snapshot is available and the catalog is unreachable",
    );
  return view(held, cfg);
}

/** The catalog pushes each new version; older or equal versions are ignored. */
export async function acceptPushedSnapshot(env: EdgeBindings, snapshot: RoutingSnapshot): Promise<boolean> {
  const incoming: Held = { snapshot, confirmedAt: Date.now() };
  // The isolate's copy answers "is this newer?" without re-reading and re-parsing KV.
  const current = held ?? (await fromKv(env));
  if (current && current.snapshot.version > snapshot.version) return false;
  held = incoming;
  await env.ROUTING.put(KV_KEY, JSON.stringify(incoming));
  return true;
}

/** Tests and the benchmark reset isolate state between scenarios. */
export function resetRoutingCache(): void {
  held = null;
  catalogQuietUntil = 0;
  lastForcedAt = 0;
}
