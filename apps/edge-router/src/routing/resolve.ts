import { DomainError, type RoutingSnapshot } from "@homeroute/contracts";

export interface RouteTarget {
  homeRegion: string;
  epoch: number;
}

/**
 * Owner of a command (DESIGN §5 step 2): the entity's own home if it has one, else the tenant's.
 * Two hash lookups, O(1) in the number of tenants. Defence in depth: a home the tenant's policy
 * forbids is refused here, whatever the snapshot says.
 */
export function resolveHome(s: RoutingSnapshot, tenantId: string, caseId?: string): RouteTarget | null {
  const tenant = s.tenants[tenantId];
  if (!tenant) return null;
  const entity = caseId ? s.entities[caseId] : undefined;
  const target = entity ?? { homeRegion: tenant.homeRegion, epoch: tenant.epoch };
  if (!tenant.allowedRegions.includes(target.homeRegion)) {
    throw new DomainError(
      "RESIDENCY_VIOLATION",
      `routing to ${target.homeRegion} is outside policy ${tenant.policy}`,
      {
        policy: tenant.policy,
        targetRegion: target.homeRegion,
      },
    );
  }
  return target;
}
