import { type CliContext, CliError, call, edge } from "./context.js";

// globalctl export (CONTRACT.md "CLI"): POST /v1/ops/exports through the edge. Prints where the
// export went (201) or exits non-zero with RESIDENCY_VIOLATION (451) outside the tenant's policy.

const KINDS = ["analytics", "support", "backup"];

export const exportVerb = {
  usage: "export --tenant T --kind analytics|support|backup --target-region REGION",
  help:
    "Exports a tenant's data into the export store of a region, as its residency policy allows: " +
    "prints {exportId, mode (full|anonymised_aggregates), location, rowCount, ...}; refused with 451 " +
    "RESIDENCY_VIOLATION outside the policy. (Also accepted: export TENANT --kind K --to REGION.)",
  options: {
    tenant: { type: "string" },
    kind: { type: "string" },
    "target-region": { type: "string" },
    to: { type: "string" },
  },
  run(ctx: CliContext, args: string[], o: Record<string, unknown>): Promise<unknown> {
    const pick = (...vs: unknown[]) =>
      vs.find((v) => typeof v === "string" && v.length > 0) as string | undefined;
    const tenantId = pick(o.tenant, args[0]);
    const kind = pick(o.kind);
    const targetRegion = pick(o["target-region"], o.to);
    if (!tenantId) throw new CliError("USAGE", "missing --tenant");
    if (!kind || !KINDS.includes(kind))
      throw new CliError("USAGE", `--kind must be one of ${KINDS.join(", ")}`);
    if (!targetRegion) throw new CliError("USAGE", "missing --target-region");
    return call(ctx, "POST", `${edge(ctx)}/v1/ops/exports`, { tenantId, kind, targetRegion });
  },
} as const satisfies {
  usage: string;
  help: string;
  options: Record<string, { type: "string" | "boolean" }>;
  run(ctx: CliContext, args: string[], o: Record<string, unknown>): Promise<unknown>;
};
