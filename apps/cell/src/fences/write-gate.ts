import { DomainError, type FenceStatus, type TenantStatus } from "@homeroute/contracts";

// Pure decision of whether this cell may write for a tenant right now (DESIGN §5 step 4, §7).
// The same conditions are re-checked atomically inside the write statement (commands/sql.ts);
// this function turns "zero rows" into the precise code.

export interface FenceRow {
  activeRegion: string;
  epoch: number;
  status: FenceStatus;
  leaseExpiresAt: Date | null;
}

export interface GateInput {
  region: string;
  tenant: { status: TenantStatus; homeRegion: string } | null;
  tenantFence: FenceRow | null;
  regionFence: FenceRow | null;
  commandEpoch: number | null;
  now: Date;
  /**
   * The cell writes under leases from a catalog (CATALOG_URL set): a region fence with no lease
   * at all is then no authority, not an unlimited one. Without a catalog (cell tests) null means
   * "no lease kept".
   */
  leasesRequired?: boolean;
}

export const READ_ONLY_RETRY_SECONDS = 5;
export const MIGRATING_RETRY_SECONDS = 2;

export const tenantScope = (tenantId: string) => `tenant:${tenantId}`;
export const regionScope = (region: string) => `region:${region}`;

/** Who owns the tenant, as far as this cell knows; throws WRONG_REGION or NOT_FOUND. */
export function assertHomedHere(input: Pick<GateInput, "region" | "tenant" | "tenantFence">): void {
  const owner = input.tenantFence?.activeRegion ?? input.tenant?.homeRegion;
  if (owner === undefined) throw new DomainError("NOT_FOUND", "unknown tenant");
  if (owner !== input.region) {
    // A migration's target hears of the cutover too: a request routed here by an edge that already
    // sees the new home is told to retry shortly, not sent back to the frozen source.
    if (input.tenantFence?.status === "MIGRATING") {
      throw new DomainError("TENANT_MIGRATING", "the tenant is in a migration cutover", {
        retryAfterSeconds: MIGRATING_RETRY_SECONDS,
      });
    }
    throw new DomainError("WRONG_REGION", `this cell (${input.region}) is not the tenant's home`, {
      homeRegion: owner,
    });
  }
}

/** Returns the epoch the write must carry; throws the precise refusal otherwise. */
export function checkWriteGate(input: GateInput): number {
  assertHomedHere(input);
  const { tenant, tenantFence, regionFence, region, now } = input;
  if (!tenant) throw new DomainError("NOT_FOUND", "unknown tenant");
  if (tenant.status === "SUSPENDED" || tenant.status === "DECOMMISSIONED") {
    throw new DomainError("TENANT_SUSPENDED", `the tenant is ${tenant.status}`);
  }
  if (tenant.status === "MIGRATING" || tenantFence?.status === "MIGRATING") {
    throw new DomainError("TENANT_MIGRATING", "the tenant is in a migration cutover", {
      retryAfterSeconds: MIGRATING_RETRY_SECONDS,
    });
  }
  const readOnly = (detail: string) =>
    new DomainError("REGION_READ_ONLY", detail, { region, retryAfterSeconds: READ_ONLY_RETRY_SECONDS });
  if (!tenantFence) throw readOnly("no write fence is held for this tenant");
  if (input.commandEpoch !== null && input.commandEpoch !== tenantFence.epoch) {
    throw new DomainError(
      "STALE_REGION_EPOCH",
      `command epoch ${input.commandEpoch} is not the current epoch`,
      {
        homeRegion: tenantFence.activeRegion,
        currentEpoch: tenantFence.epoch,
      },
    );
  }
  if (tenantFence.status !== "WRITABLE") throw readOnly(`the tenant scope is ${tenantFence.status}`);
  if (tenantFence.leaseExpiresAt && tenantFence.leaseExpiresAt <= now)
    throw readOnly("the tenant's lease expired");
  if (!regionFence || regionFence.activeRegion !== region)
    throw readOnly("this region holds no write authority");
  if (regionFence.status !== "WRITABLE") throw readOnly(`the region is ${regionFence.status}`);
  if (regionFence.leaseExpiresAt && regionFence.leaseExpiresAt <= now)
    throw readOnly("the region's lease expired");
  if (regionFence.leaseExpiresAt === null && input.leasesRequired)
    throw readOnly("the region holds no lease");
  return tenantFence.epoch;
}
