import { LOG_FIELDS_SAFE_ANYWHERE } from "./residency.js";

// Log lines bound for a store outside any one region (the catalog's, the projector's, the edge's)
// keep only what the residency module's log_fields rule calls safe anywhere. Pure, so the Worker
// and the Node services share it.

const SCRUBBED_TEXT_FIELDS = new Set(["error", "reason", "stderr"]);

/** Drops what may not leave a region; keeps ids, codes, timings, numbers and flags. */
export function redactForGlobalStore(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const redacted: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (k === "t" || LOG_FIELDS_SAFE_ANYWHERE.has(k)) out[k] = v;
    else if (typeof v === "number" || typeof v === "boolean") out[k] = v;
    else if (SCRUBBED_TEXT_FIELDS.has(k) && typeof v === "string") out[k] = scrubText(v);
    else redacted.push(k);
  }
  if (redacted.length > 0) out.redacted = redacted;
  return out;
}

/** Quoted values and Postgres' "Key (col)=(value)" details are where row contents hide. */
export function scrubText(s: string): string {
  return s
    .replace(/=\([^)]*\)/g, "=(…)")
    .replace(/"[^"]*"/g, '"…"')
    .replace(/'[^']*'/g, "'…'")
    .slice(0, 500);
}
