import type { CatalogDeps } from "./deps.js";

/** A direct, bounded call to a cell's control API; null when the cell cannot be reached. */
export async function cellCall<T>(
  deps: CatalogDeps,
  region: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 2000,
): Promise<{ status: number; body: T } | null> {
  const base = deps.env.CELL_URLS[region];
  if (!base) return null;
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${deps.env.INTERNAL_TOKEN}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.status, body: (await res.json().catch(() => null)) as T };
  } catch {
    return null;
  }
}
