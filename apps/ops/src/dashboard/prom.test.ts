import { describe, expect, it } from "vitest";
import { bucketDelta, histogramsBy, parsePrometheus, quantile, sumBy } from "./prom.js";

const text = `# HELP homeroute_command_duration_seconds x
# TYPE homeroute_command_duration_seconds histogram
homeroute_command_duration_seconds_bucket{le="0.01",region="eu",tenant_id="a",operation="case.create",outcome="ok",service="cell"} 1
homeroute_command_duration_seconds_bucket{le="0.1",region="eu",tenant_id="a",operation="case.create",outcome="ok",service="cell"} 3
homeroute_command_duration_seconds_bucket{le="+Inf",region="eu",tenant_id="a",operation="case.create",outcome="ok",service="cell"} 4
homeroute_command_duration_seconds_bucket{le="0.01",region="eu",tenant_id="b",operation="case.create",outcome="ok",service="cell"} 1
homeroute_command_duration_seconds_bucket{le="0.1",region="eu",tenant_id="b",operation="case.create",outcome="ok",service="cell"} 1
homeroute_command_duration_seconds_bucket{le="+Inf",region="eu",tenant_id="b",operation="case.create",outcome="ok",service="cell"} 1
homeroute_command_duration_seconds_sum{region="eu",tenant_id="a",operation="case.create",outcome="ok",service="cell"} 1.5
homeroute_residency_violation_attempts_total{policy="ID_STRICT",target_region="eu",note="a \\"quoted\\" \\\\ value"} 2
homeroute_residency_violation_attempts_total{policy="ID_STRICT",target_region="us"} 1
homeroute_up 1 1700000000000
`;

describe("the Prometheus text the dashboard scrapes", () => {
  it("parses samples, escaped label values and timestamps", () => {
    const s = parsePrometheus(text);
    expect(s).toHaveLength(10);
    expect(s[7]!.labels.note).toBe('a "quoted" \\ value');
    expect(s[9]).toEqual({ name: "homeroute_up", labels: {}, value: 1 });
    expect(s[2]!.labels.le).toBe("+Inf");
  });

  it("sums histograms over tenants and takes quantiles from the buckets", () => {
    const h = histogramsBy(parsePrometheus(text), "homeroute_command_duration_seconds", [
      "region",
      "operation",
    ]);
    const b = h.get(JSON.stringify(["eu", "case.create"]))!;
    expect([...b.entries()]).toEqual([
      [0.01, 2],
      [0.1, 4],
      [Number.POSITIVE_INFINITY, 5],
    ]);
    // rank 2.5 of 5 falls in (0.01, 0.1]: a quarter of the way in.
    expect(quantile(0.5, b)).toBeCloseTo(0.0325, 6);
    expect(quantile(0.2, b)).toBeCloseTo(0.005, 6);
    // In +Inf: the highest finite bound.
    expect(quantile(0.99, b)).toBe(0.1);
    expect(quantile(0.5, new Map())).toBeNull();
  });

  it("takes the observations between two scrapes, and notices a restart", () => {
    const now = new Map([
      [0.1, 5],
      [Number.POSITIVE_INFINITY, 6],
    ]);
    expect([...bucketDelta(now, new Map([[0.1, 4]]))!.values()]).toEqual([1, 6]);
    expect(bucketDelta(new Map([[0.1, 1]]), new Map([[0.1, 4]]))).toBeNull();
  });

  it("sums a counter over the labels it drops", () => {
    const m = sumBy(parsePrometheus(text), "homeroute_residency_violation_attempts_total", ["policy"]);
    expect(m.get(JSON.stringify(["ID_STRICT"]))).toBe(3);
  });
});
