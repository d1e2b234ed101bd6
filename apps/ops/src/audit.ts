import { auditVerifyResponse } from "@homeroute/contracts";
import { type CliContext, CliError, call, edge } from "./context.js";

// globalctl audit verify (CONTRACT.md "CLI", DESIGN §13): GET /v1/ops/audit/verify through the
// edge. Prints the verdict of the home and of the protected replica; exits non-zero when either
// is broken or the home did not answer, naming the first broken link.

export const auditVerb = {
  usage: "audit verify --tenant T",
  help:
    "Recomputes a tenant's audit hash chain at home and in the protected replica: prints " +
    "{ok, home: {region, ok, checked, firstBrokenAt?}, replica: {region, ok, checked, " +
    "firstBrokenAt?, behindByLinks} | null, warning?}; exits 1 with AUDIT_CHAIN_BROKEN (the first " +
    "broken link named) or AUDIT_HOME_UNREACHABLE (the replica's verdict still printed).",
  options: { tenant: { type: "string" } },
  async run(ctx: CliContext, [sub, id]: string[], o: Record<string, unknown>): Promise<unknown> {
    if (sub !== "verify") throw new CliError("USAGE", "audit verify --tenant T");
    const tenantId = (typeof o.tenant === "string" && o.tenant) || id;
    if (!tenantId) throw new CliError("USAGE", "missing --tenant");
    const r = auditVerifyResponse.parse(
      await call(ctx, "GET", `${edge(ctx)}/v1/ops/audit/verify?tenantId=${encodeURIComponent(tenantId)}`),
    );
    if (r.ok) return r;
    const broken = [r.home, r.replica].find((v) => v?.reachable && !v.ok && v.firstBrokenAt);
    if (broken?.firstBrokenAt) {
      const b = broken.firstBrokenAt;
      throw new CliError(
        "AUDIT_CHAIN_BROKEN",
        `${broken === r.home ? "home" : "replica"} ${broken.region}: link ${b.chainSeq} (${b.auditEventId}): ${b.reason}`,
        r,
      );
    }
    const unreachable = [r.home, r.replica].find((v) => v && !v.reachable);
    throw new CliError(
      unreachable === r.home ? "AUDIT_HOME_UNREACHABLE" : "AUDIT_REPLICA_UNREACHABLE",
      `${unreachable?.region ?? "?"} did not answer`,
      r,
    );
  },
} as const satisfies {
  usage: string;
  help: string;
  options: Record<string, { type: "string" | "boolean" }>;
  run(ctx: CliContext, args: string[], o: Record<string, unknown>): Promise<unknown>;
};
