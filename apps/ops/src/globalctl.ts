#!/usr/bin/env -S node --import tsx
import { parseArgs } from "node:util";
import { auditVerb } from "./audit.js";
import { backupVerb, restoreVerb } from "./backup.js";
import { type CliContext, CliError, call, edge, loadContext, signToken } from "./context.js";
import { runDrill } from "./drill.js";
import { exportVerb } from "./export.js";

// globalctl: the operator's CLI (CONTRACT.md "CLI"). Every verb has --help, prints JSON with
// --json, and exits non-zero with the problem's code on failure. It only calls the catalog (via
// the edge) and the simulation controller; it owns nothing.

interface Verb {
  usage: string;
  help: string;
  options?: Record<string, { type: "string" | "boolean"; multiple?: boolean }>;
  run(ctx: CliContext, args: string[], o: Record<string, unknown>): Promise<unknown>;
}

const need = (v: unknown, what: string): string => {
  if (typeof v !== "string" || v.length === 0) throw new CliError("USAGE", `missing ${what}`);
  return v;
};

const VERBS: Record<string, Verb> = {
  status: {
    usage: "status",
    help: "Regions (mode, lease, health) from the catalog, and the simulation's processes and faults.",
    async run(ctx) {
      const regions = await call(ctx, "GET", `${edge(ctx)}/v1/ops/regions`);
      const sim = ctx.simUrl ? await call(ctx, "GET", `${ctx.simUrl}/sim/status`).catch(() => null) : null;
      return {
        regions,
        simulation: sim && {
          processes: (sim as { processes: unknown }).processes,
          faults: (sim as { faults: unknown }).faults,
        },
      };
    },
  },
  token: {
    usage: "token --tenant T --user U [--ops] [--support-region REGION] [--ttl SECONDS]",
    help: "Prints a development JWT (HS256, iss homeroute-dev, aud homeroute).",
    options: {
      tenant: { type: "string" },
      user: { type: "string" },
      ops: { type: "boolean" },
      "support-region": { type: "string" },
      ttl: { type: "string" },
    },
    async run(ctx, _a, o) {
      const token = await signToken(
        ctx,
        {
          sub: need(o.user, "--user"),
          tid: o.tenant as string | undefined,
          ops: o.ops === true,
          supportRegion: o["support-region"] as string | undefined,
        },
        Number(o.ttl ?? 8 * 3600),
      );
      return ctx.json ? { token } : token;
    },
  },
  tenant: {
    usage:
      "tenant place --name N --home REGION --policy CODE [--admin USER]... | tenant show ID | tenant list",
    help: "Places a tenant (policy-checked: 451 outside its residency policy), shows or lists placements.",
    options: {
      name: { type: "string" },
      home: { type: "string" },
      policy: { type: "string" },
      admin: { type: "string", multiple: true },
      id: { type: "string" },
    },
    async run(ctx, [sub, id], o) {
      if (sub === "place") {
        return call(ctx, "POST", `${edge(ctx)}/v1/ops/tenants`, {
          ...(o.id ? { tenantId: o.id } : {}),
          name: need(o.name, "--name"),
          homeRegion: need(o.home, "--home"),
          residencyPolicy: need(o.policy, "--policy"),
          adminUserIds: (o.admin as string[] | undefined) ?? [],
        });
      }
      if (sub === "show") return call(ctx, "GET", `${edge(ctx)}/v1/ops/tenants/${need(id, "tenant id")}`);
      if (sub === "list") return call(ctx, "GET", `${edge(ctx)}/v1/ops/tenants`);
      throw new CliError("USAGE", "tenant place|show|list");
    },
  },
  region: {
    usage: "region mode REGION WRITABLE|READ_ONLY --reason TEXT",
    help: "Sets a region's mode: READ_ONLY refuses its writes with REGION_READ_ONLY; reads go on.",
    options: { reason: { type: "string" } },
    async run(ctx, [sub, region, mode], o) {
      if (sub !== "mode") throw new CliError("USAGE", "region mode REGION WRITABLE|READ_ONLY --reason TEXT");
      return call(ctx, "POST", `${edge(ctx)}/v1/ops/regions/${need(region, "region")}/mode`, {
        mode: need(mode, "mode"),
        reason: need(o.reason, "--reason"),
      });
    },
  },
  promote: {
    usage: "promote TENANT --to REGION --reason TEXT --approved-by NAME [--confirmed-source-down]",
    help: "DR promotion of a tenant to its standby region (fenced; 451 where the policy allows none).",
    options: {
      to: { type: "string" },
      reason: { type: "string" },
      "approved-by": { type: "string" },
      "confirmed-source-down": { type: "boolean" },
    },
    run: (ctx, [tenant], o) =>
      call(ctx, "POST", `${edge(ctx)}/v1/ops/tenants/${need(tenant, "tenant id")}/promotions`, {
        targetRegion: need(o.to, "--to"),
        reason: need(o.reason, "--reason"),
        approvedBy: need(o["approved-by"], "--approved-by"),
        ...(o["confirmed-source-down"] ? { confirmedSourceDown: true } : {}),
      }),
  },
  migrate: {
    usage: "migrate TENANT --to REGION --reason TEXT",
    help: "Starts a tenant migration (epoch cutover); prints the migration id.",
    options: { to: { type: "string" }, reason: { type: "string" } },
    run: (ctx, [tenant], o) =>
      call(ctx, "POST", `${edge(ctx)}/v1/ops/tenants/${need(tenant, "tenant id")}/migrations`, {
        targetRegion: need(o.to, "--to"),
        reason: need(o.reason, "--reason"),
      }),
  },
  migration: {
    usage: "migration show ID | migration rollback ID",
    help: "Shows a migration's steps, validation and write-freeze window, or rolls it back.",
    async run(ctx, [sub, id]) {
      const mid = need(id, "migration id");
      if (sub === "show") return call(ctx, "GET", `${edge(ctx)}/v1/ops/migrations/${mid}`);
      if (sub === "rollback") return call(ctx, "POST", `${edge(ctx)}/v1/ops/migrations/${mid}/rollback`, {});
      throw new CliError("USAGE", "migration show|rollback ID");
    },
  },
  export: exportVerb,
  backup: backupVerb,
  restore: restoreVerb,
  audit: auditVerb,
  conflicts: {
    usage: "conflicts",
    help: "Lists cross_region_conflict_case rows awaiting review.",
    run: (ctx) => call(ctx, "GET", `${edge(ctx)}/v1/ops/conflicts`),
  },
  report: {
    usage: "report [--snapshot ID]",
    help: "Cases by status from the warehouse, with per-region watermarks.",
    options: { snapshot: { type: "string" } },
    run: (ctx, _a, o) =>
      call(
        ctx,
        "GET",
        `${edge(ctx)}/v1/reports/cases-by-status${o.snapshot ? `?snapshotId=${o.snapshot}` : ""}`,
      ),
  },
  fault: {
    usage: "fault inject TARGET kill|pause|partition | fault heal ID | fault list",
    help: "Breaks the local simulation on purpose. Targets: cell:<r>, db:<r>, relay:<r>, store:<r> (evidence store), nats, catalog, projector, warehouse.",
    async run(ctx, [sub, a, b]) {
      if (!ctx.simUrl) throw new CliError("CONFIG", "no simulation found (start it with ./run.sh start)");
      if (sub === "inject")
        return call(ctx, "POST", `${ctx.simUrl}/sim/faults`, {
          target: need(a, "target"),
          kind: need(b, "kind"),
        });
      if (sub === "heal") return call(ctx, "DELETE", `${ctx.simUrl}/sim/faults/${need(a, "fault id")}`);
      if (sub === "list") return call(ctx, "GET", `${ctx.simUrl}/sim/faults`);
      throw new CliError("USAGE", "fault inject|heal|list");
    },
  },
  latency: {
    usage: "latency realistic|none",
    help: "Applies (or removes) DESIGN §2's inter-region round trips in the simulation.",
    async run(ctx, [profile]) {
      if (!ctx.simUrl) throw new CliError("CONFIG", "no simulation found (start it with ./run.sh start)");
      return call(ctx, "POST", `${ctx.simUrl}/sim/latency`, { profile: need(profile, "profile") });
    },
  },
  drill: {
    usage: "drill TENANT",
    help: "A DR drill in the simulation: kill the home, promote, measure RTO/RPO, fail back, record DR readiness.",
    run: (ctx, [tenant]) => runDrill(ctx, need(tenant, "tenant id"), (l) => process.stderr.write(`${l}\n`)),
  },
};

function usage(): string {
  const lines = Object.values(VERBS).map((v) => `  globalctl ${v.usage}\n      ${v.help}`);
  return `globalctl — operate homeroute\n\n${lines.join("\n")}\n\nCommon flags: --json (machine output), --edge URL (default: the simulation's edge), --help\n`;
}

async function main(argv: string[]): Promise<number> {
  const [verbName, ...rest] = argv;
  if (!verbName || verbName === "--help" || verbName === "help") {
    process.stdout.write(usage());
    return verbName ? 0 : 2;
  }
  const verb = VERBS[verbName];
  if (!verb) {
    process.stderr.write(`unknown verb ${verbName}\n\n${usage()}`);
    return 2;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    strict: true,
    options: {
      ...verb.options,
      json: { type: "boolean" },
      edge: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(`globalctl ${verb.usage}\n\n${verb.help}\n`);
    return 0;
  }
  const json = values.json === true;
  try {
    const ctx = loadContext({ edge: values.edge as string | undefined, json });
    const out = await verb.run(ctx, positionals, values);
    process.stdout.write(
      typeof out === "string" ? `${out}\n` : `${JSON.stringify(out, null, json ? 0 : 2)}\n`,
    );
    return 0;
  } catch (e) {
    const err = e instanceof CliError ? e : new CliError("USAGE", (e as Error).message);
    if (json)
      process.stdout.write(
        `${JSON.stringify({ code: err.code, detail: err.message, problem: err.problem ?? null })}\n`,
      );
    else process.stderr.write(`${err.code}: ${err.message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
