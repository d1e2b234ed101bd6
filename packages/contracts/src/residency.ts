// Pure residency decisions over a policy row (DESIGN §10). Grows into the one module every sink
// calls (issue 8); for now placement, the edge's defence in depth and DR targets use it.

export interface ResidencyPolicy {
  policyCode: string;
  allowedRegions: string[];
  backupRegions: string[];
  analyticsAllowed: boolean;
  crossBorderExportAllowed: boolean;
}

export function allowsPlacement(policy: ResidencyPolicy, region: string): boolean {
  return policy.allowedRegions.includes(region);
}

/** CONTRACT.md: the first allowed region other than home, or none (ID_STRICT, EU_GDPR). */
export function drTargetOf(policy: ResidencyPolicy, homeRegion: string): string | null {
  return policy.allowedRegions.find((r) => r !== homeRegion) ?? null;
}
