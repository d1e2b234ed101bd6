// In-process counters; exposed as Prometheus series with the observability issue (DESIGN §14).
export interface CatalogMetrics {
  residencyViolationAttempts: Map<string, number>;
  countResidencyViolation(policy: string, targetRegion: string): void;
}

export function createMetrics(): CatalogMetrics {
  const residencyViolationAttempts = new Map<string, number>();
  return {
    residencyViolationAttempts,
    countResidencyViolation(policy, targetRegion) {
      const key = `${policy}|${targetRegion}`;
      residencyViolationAttempts.set(key, (residencyViolationAttempts.get(key) ?? 0) + 1);
    },
  };
}
