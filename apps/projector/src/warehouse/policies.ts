import { readFileSync } from "node:fs";
import { decide, type ResidencyPolicy, routingSnapshot, topologySchema } from "@homeroute/contracts";

/**
 * Which policy each tenant has (the catalog's routing snapshot) and what each policy says (the
 * topology file the catalog seeds its policies from). A tenant the snapshot does not show yet is
 * unknown: its events wait (nak) rather than be ingested under a guess.
 */
export class TenantPolicies {
  private readonly rules: Map<string, ResidencyPolicy>;
  private tenants = new Map<string, string>();
  private failedAt = 0;

  constructor(
    topologyFile: string,
    private readonly catalogUrl: string | undefined,
    private readonly token: string,
  ) {
    const topology = topologySchema.parse(JSON.parse(readFileSync(topologyFile, "utf8")));
    this.rules = new Map(topology.residencyPolicies.map((p) => [p.policyCode, p]));
  }

  async of(tenantId: string): Promise<ResidencyPolicy | null> {
    if (!this.tenants.has(tenantId)) await this.refresh();
    const code = this.tenants.get(tenantId);
    // A code this file does not know reads as excluded from analytics (fail closed).
    if (code === undefined) return null;
    return (
      this.rules.get(code) ?? {
        policyCode: code,
        allowedRegions: [],
        backupRegions: [],
        analyticsAllowed: false,
        crossBorderExportAllowed: false,
        deferredUploadAllowed: false,
      }
    );
  }

  /** Whether a policy's cases reach a warehouse in `region` at all (full or anonymised). */
  ingests(policyCode: string, region: string): boolean {
    const rule = this.rules.get(policyCode);
    if (!rule) return false;
    const d = decide(rule, { sink: "warehouse_ingestion", targetRegion: region });
    return d.allowed && d.mode !== "excluded";
  }

  private async refresh(): Promise<void> {
    if (!this.catalogUrl || Date.now() - this.failedAt < 1000) return;
    try {
      const res = await fetch(`${this.catalogUrl}/internal/v1/routing-snapshot`, {
        headers: { authorization: `Bearer ${this.token}` },
        signal: AbortSignal.timeout(2000),
      });
      const s = routingSnapshot.parse(await res.json());
      this.tenants = new Map(Object.entries(s.tenants).map(([id, t]) => [id, t.policy]));
    } catch {
      this.failedAt = Date.now();
    }
  }
}
