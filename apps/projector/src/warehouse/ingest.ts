import { type DomainEvent, decide, domainEvent } from "@homeroute/contracts";
import { RegionConsumers } from "@homeroute/events";
import type { Logger } from "@homeroute/service-kit";
import type { JsMsg } from "@nats-io/jetstream";
import type { Sql, TransactionSql } from "postgres";
import type { WarehouseEnv } from "./env.js";
import type { TenantPolicies } from "./policies.js";

// Ingestion from every region's stream into the warehouse (seed §16). Each event is taken once
// (ingested_event), kept as the residency module says for the analytics region — a case row
// (full), counters without ids (anonymised_aggregates) or nothing (excluded) — and advances that
// region's watermark. An event older than the watermark it arrives under is late: still counted
// (a report taken later includes it; one taken before does not change) and recorded as late.

const DURABLE = "warehouse";
const decoder = new TextDecoder();

export class WarehouseIngest {
  private readonly streams: RegionConsumers;
  ingested = 0;
  rejected = 0;

  constructor(
    private readonly env: WarehouseEnv,
    private readonly sql: Sql,
    private readonly policies: TenantPolicies,
    log: Logger,
  ) {
    this.streams = new RegionConsumers({
      natsUrl: env.NATS_URL,
      client: "warehouse",
      root: env.SUBJECT_ROOT,
      regions: env.REGIONS,
      durable: DURABLE,
      log,
      handle: async (region, m) => ((await this.handle(region, m)) ? "ack" : { retryInMs: 2000 }),
    });
  }

  async start(): Promise<void> {
    this.streams.start();
  }

  /** False: not yet (the tenant's policy is unknown); the message comes back. */
  private async handle(region: string, m: JsMsg): Promise<boolean> {
    const text = decoder.decode(m.data);
    if (m.subject.includes(".heartbeat.")) {
      const at = (JSON.parse(text) as { at?: string }).at;
      if (at) await advance(this.sql, region, m.seq, at, false);
      return true;
    }
    const parsed = domainEvent.safeParse(JSON.parse(text));
    if (!parsed.success) {
      this.rejected++; // its body stays in its home stream: this store may not hold it
      return true;
    }
    const e = parsed.data;
    const policy = await this.policies.of(e.tenantId);
    if (!policy) return false;
    const decision = decide(policy, { sink: "warehouse_ingestion", targetRegion: this.env.ANALYTICS_REGION });
    const mode = decision.allowed ? decision.mode : "excluded";
    await this.sql.begin(async (tx) => {
      const [wm] = await tx<
        { as_of: Date }[]
      >`SELECT as_of FROM ingestion_watermark WHERE region = ${region}`;
      const late = wm !== undefined && Date.parse(e.recordedAt) < wm.as_of.getTime();
      const fresh = await tx`
        INSERT INTO ingested_event (event_id, region, mode, late) VALUES (${e.eventId}, ${region}, ${mode}, ${late})
        ON CONFLICT DO NOTHING RETURNING 1`;
      if (fresh.length === 0) return; // taken before (a redelivery)
      await tx`
        INSERT INTO schema_version_seen (region, event_type, schema_version, events)
        VALUES (${region}, ${e.type}, ${e.schemaVersion}, 1)
        ON CONFLICT (region, event_type, schema_version) DO UPDATE SET events = schema_version_seen.events + 1`;
      if (mode === "full") await applyFull(tx, e, policy.policyCode);
      else if (mode === "anonymised_aggregates") await applyAggregate(tx, e, policy.policyCode);
      await advance(tx, region, m.seq, e.recordedAt, late);
    });
    this.ingested++;
    return true;
  }

  async stop(): Promise<void> {
    await this.streams.stop();
  }
}

async function advance(sql: Sql | TransactionSql, region: string, seq: number, at: string, late: boolean) {
  await sql`
    INSERT INTO ingestion_watermark (region, last_stream_seq, as_of, late_events, updated_at)
    VALUES (${region}, ${seq}, ${at}, ${late ? 1 : 0}, now())
    ON CONFLICT (region) DO UPDATE SET last_stream_seq = greatest(ingestion_watermark.last_stream_seq, EXCLUDED.last_stream_seq),
      as_of = greatest(ingestion_watermark.as_of, EXCLUDED.as_of),
      late_events = ingestion_watermark.late_events + EXCLUDED.late_events, updated_at = now()`;
}

async function applyFull(tx: TransactionSql, e: DomainEvent, policyCode: string) {
  if (e.type === "case.created") {
    await tx`
      INSERT INTO case_fact (tenant_id, case_id, home_region, policy_code, status, category, version, updated_at)
      VALUES (${e.tenantId}, ${e.aggregateId}, ${e.homeRegion}, ${policyCode}, ${e.payload.status}, ${e.payload.category},
        ${e.aggregateVersion}, ${e.occurredAt})
      ON CONFLICT (tenant_id, case_id) DO UPDATE SET category = coalesce(case_fact.category, EXCLUDED.category)`;
  } else if (e.type === "case.status_changed" || e.type === "case.decision_recorded") {
    // Order-tolerant: a change that arrives before its creation makes the row; the creation then
    // only fills in the category.
    await tx`
      INSERT INTO case_fact (tenant_id, case_id, home_region, policy_code, status, category, version, updated_at)
      VALUES (${e.tenantId}, ${e.aggregateId}, ${e.homeRegion}, ${policyCode}, ${e.payload.to}, ${null},
        ${e.aggregateVersion}, ${e.occurredAt})
      ON CONFLICT (tenant_id, case_id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version,
        home_region = EXCLUDED.home_region, updated_at = EXCLUDED.updated_at
      WHERE case_fact.version < EXCLUDED.version`;
  }
}

/** Counters only: +1 where a case starts, −1/+1 when it moves; no tenant or case id is kept. */
async function applyAggregate(tx: TransactionSql, e: DomainEvent, policyCode: string) {
  const bump = (status: string, by: number) => tx`
    INSERT INTO case_aggregate (home_region, policy_code, status, category, cases)
    VALUES (${e.homeRegion}, ${policyCode}, ${status}, '*', ${by})
    ON CONFLICT (home_region, policy_code, status, category) DO UPDATE SET cases = case_aggregate.cases + EXCLUDED.cases`;
  if (e.type === "case.created") await bump(e.payload.status, 1);
  else if (e.type === "case.status_changed" || e.type === "case.decision_recorded") {
    await bump(e.payload.from, -1);
    await bump(e.payload.to, 1);
  }
}
