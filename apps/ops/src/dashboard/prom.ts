// Just enough of the Prometheus text exposition format (0.0.4) for the dashboard: samples with
// their labels, and quantiles from a histogram's cumulative buckets, the way Prometheus's own
// histogram_quantile() interpolates them.

export type Labels = Record<string, string>;

export interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?\s*$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/g;

const unescapeLabel = (v: string) => v.replace(/\\(["\\n])/g, (_, ch: string) => (ch === "n" ? "\n" : ch));

function parseValue(raw: string): number {
  if (raw === "+Inf") return Number.POSITIVE_INFINITY;
  if (raw === "-Inf") return Number.NEGATIVE_INFINITY;
  return Number(raw);
}

export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Labels = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1]!] = unescapeLabel(l[2]!);
    out.push({ name: m[1]!, labels, value: parseValue(m[3]!) });
  }
  return out;
}

/** Cumulative bucket counts by upper bound (`le`), +Inf last. */
export type Buckets = Map<number, number>;

/**
 * Sums a histogram's `_bucket` series over every label not in `keep` (tenants, outcomes), giving
 * one bucket set per combination of the kept labels.
 */
export function histogramsBy(samples: Sample[], name: string, keep: string[]): Map<string, Buckets> {
  const out = new Map<string, Buckets>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || s.labels.le === undefined) continue;
    const key = JSON.stringify(keep.map((k) => s.labels[k] ?? ""));
    let b = out.get(key);
    if (!b) {
      b = new Map();
      out.set(key, b);
    }
    const le = parseValue(s.labels.le);
    b.set(le, (b.get(le) ?? 0) + s.value);
  }
  return out;
}

export const bucketTotal = (b: Buckets): number => b.get(Number.POSITIVE_INFINITY) ?? 0;

/** b minus earlier, per bound: the observations made between two scrapes (null after a reset). */
export function bucketDelta(b: Buckets, earlier: Buckets | undefined): Buckets | null {
  if (!earlier) return b;
  const d: Buckets = new Map();
  for (const [le, n] of b) {
    const diff = n - (earlier.get(le) ?? 0);
    if (diff < 0) return null; // the process restarted: its counters began again from zero
    d.set(le, diff);
  }
  return d;
}

/** histogram_quantile(q, buckets): linear within the bucket holding the q-th observation. */
export function quantile(q: number, b: Buckets): number | null {
  const bounds = [...b.keys()].sort((x, y) => x - y);
  const total = bucketTotal(b);
  if (total <= 0 || bounds.length === 0) return null;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const le of bounds) {
    const count = b.get(le)!;
    if (count >= rank) {
      // In the +Inf bucket: the best answer is the highest finite bound, as Prometheus does.
      if (le === Number.POSITIVE_INFINITY) return prevBound;
      if (count === prevCount) return le;
      return prevBound + ((le - prevBound) * (rank - prevCount)) / (count - prevCount);
    }
    prevBound = le;
    prevCount = count;
  }
  return prevBound;
}

/** Sum of a series' samples over every label not in `keep`. */
export function sumBy(samples: Sample[], name: string, keep: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== name) continue;
    const key = JSON.stringify(keep.map((k) => s.labels[k] ?? ""));
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

export const keyParts = (key: string): string[] => JSON.parse(key) as string[];
