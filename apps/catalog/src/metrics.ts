// In-process counters; exposed as Prometheus series with the observability issue (DESIGN §14).
export interface CatalogMetrics {
  residencyViolationAttempts: Map<string, number>;
  /** Last observed outbox backlog per region (from its relay) and projection lag (from the projector). */
  outboxBacklog: Map<string, number>;
  projectionLagSeconds: Map<string, number>;
  countResidencyViolation(policy: string, targetRegion: string): void;
}

export function createMetrics(): CatalogMetrics {
  const residencyViolationAttempts = new Map<string, number>();
  return {
    residencyViolationAttempts,
    outboxBacklog: new Map(),
    projectionLagSeconds: new Map(),
    countResidencyViolation(policy, targetRegion) {
      const key = `${policy}|${targetRegion}`;
      residencyViolationAttempts.set(key, (residencyViolationAttempts.get(key) ?? 0) + 1);
    },
  };
}
