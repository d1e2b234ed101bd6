import { type CliContext, CliError, call, edge } from "./context.js";

// globalctl backup / restore (CONTRACT.md "CLI"; docs/backups.md): POST /v1/ops/backups and
// /v1/ops/restores through the edge. The catalog decides residency; these only ask and print.

interface VerbShape {
  usage: string;
  help: string;
  options: Record<string, { type: "string" | "boolean" }>;
  run(ctx: CliContext, args: string[], o: Record<string, unknown>): Promise<unknown>;
}

const pick = (...vs: unknown[]) =>
  vs.find((v) => typeof v === "string" && v.length > 0) as string | undefined;

export const backupVerb = {
  usage: "backup --region REGION [--store REGION] | backup show ID",
  help:
    "Dumps a region's cell (pg_dump) into the backup store of --store (default: the same region). " +
    "Tenants whose policy's backup_regions exclude the store are left out (and audited); prints the " +
    "backup id, the tenants included with their files and checksums, and the tenants excluded with why.",
  options: { region: { type: "string" }, store: { type: "string" } },
  async run(ctx, [sub, id], o) {
    if (sub === "show") {
      return call(ctx, "GET", `${edge(ctx)}/v1/ops/backups/${pick(id) ?? usage("backup show ID")}`);
    }
    if (sub !== undefined) usage("backup --region REGION [--store REGION] | backup show ID");
    const region = pick(o.region) ?? usage("missing --region");
    const storeRegion = pick(o.store);
    return call(ctx, "POST", `${edge(ctx)}/v1/ops/backups`, {
      region,
      ...(storeRegion ? { storeRegion } : {}),
    });
  },
} satisfies VerbShape;

export const restoreVerb = {
  usage: "restore --backup ID --target-region REGION [--tenant T]",
  help:
    "Restores a backup (or one tenant of it) into a fresh database in the target region, and checks " +
    "every table's count and checksum against the backup; refused with 451 RESIDENCY_VIOLATION " +
    "where a tenant's policy does not allow the target. Exits non-zero when the checksums differ. " +
    "(Also accepted: restore ID --to REGION.)",
  options: {
    backup: { type: "string" },
    "target-region": { type: "string" },
    to: { type: "string" },
    tenant: { type: "string" },
  },
  async run(ctx, [positional], o) {
    const backupId = pick(o.backup, positional) ?? usage("missing --backup");
    const targetRegion = pick(o["target-region"], o.to) ?? usage("missing --target-region");
    const tenantId = pick(o.tenant);
    const r = (await call(ctx, "POST", `${edge(ctx)}/v1/ops/restores`, {
      backupId,
      targetRegion,
      ...(tenantId ? { tenantId } : {}),
    })) as { verified?: boolean };
    if (r.verified !== true) {
      throw new CliError(
        "RESTORE_NOT_VERIFIED",
        "the restored counts or checksums differ from the backup's",
        r,
      );
    }
    return r;
  },
} satisfies VerbShape;

function usage(message: string): never {
  throw new CliError("USAGE", message);
}
