import {
  domainEvent,
  firstRefusal,
  policyFromSnapshot,
  routingSnapshot,
  scrubText,
} from "@homeroute/contracts";
import { runMigrations } from "@homeroute/db";
import { projectorDurable, RegionConsumers } from "@homeroute/events";
import { createLogger, createSql, type Logger } from "@homeroute/service-kit";
import { type JsMsg, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type postgres from "postgres";
import type { Sql } from "postgres";
import { applyEvent, type Change } from "./apply.js";
import { buildBatch, pushToEdge } from "./edge-push.js";
import type { ProjectorEnv } from "./env.js";
import { type StandbyLag, standbyLag } from "./metrics.js";
import { StandbyForwarder } from "./standby.js";

// Durable JetStream consumers, one per source region's stream. Every event is validated with the
// shared zod union, applied in its own small transaction with the region's watermark, then acked
// (at-least-once delivery, exactly-once effect through version checks). Heartbeats move the
// watermark when a region is idle.

const decoder = new TextDecoder();

export interface ProjectorStatus {
  regions: Record<string, { asOf: string | null; lagSeconds: number | null; lastStreamSeq: number }>;
  applied: number;
  rejected: number;
  pendingEdgeChanges: number;
  standbyForwarded: number;
  standbyPending: Record<string, number>;
  /** Per source region: seconds the DR standbys trail its stream (0 caught up, null unknown). */
  replicationLagSeconds: Record<string, number | null>;
  lastPushError: string | null;
}

/** A rejected event's body may carry personal fields of a tenant this store may not hold. */
const WITHHELD_BODY =
  "(withheld: the body may carry personal fields; the event is in its home region's stream)";

export class Projector {
  readonly sql: Sql;
  private readonly log: Logger;
  private streams: RegionConsumers | null = null;
  private pending: Change[] = [];
  private watermarkDirty = false;
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private policyTimer: NodeJS.Timeout | null = null;
  private policiesFailedAt = 0;
  private viewAllowed = new Map<string, boolean>();
  applied = 0;
  rejected = 0;
  private lastPushError: string | null = null;
  private standby: StandbyForwarder | null = null;

  constructor(private readonly env: ProjectorEnv) {
    this.sql = createSql(env.DATABASE_URL, { max: 4 });
    this.log = createLogger(env.LOG_LEVEL, "global");
  }

  async start(): Promise<void> {
    await runMigrations(this.env.DATABASE_URL, "projector");
    await this.refreshPolicies();
    this.policyTimer = setInterval(() => void this.refreshPolicies(), 5000);
    this.policyTimer.unref();
    this.timer = setInterval(() => void this.flush(), this.env.PUSH_INTERVAL_MS);
    this.timer.unref();
    this.connect();
  }

  /** Consumes each region's stream (packages/events); the standby forwarder shares the connection. */
  private connect(): void {
    this.streams = new RegionConsumers({
      natsUrl: this.env.NATS_URL,
      client: "projector",
      root: this.env.SUBJECT_ROOT,
      regions: this.env.REGIONS,
      durable: projectorDurable,
      log: this.log,
      onConnected: async (jsm, js) => {
        if (Object.keys(this.env.CELL_URLS).length === 0) return;
        this.standby = new StandbyForwarder({
          root: this.env.SUBJECT_ROOT,
          regions: this.env.REGIONS,
          cellUrls: this.env.CELL_URLS,
          catalogUrl: this.env.CATALOG_URL,
          internalToken: this.env.INTERNAL_TOKEN,
          log: this.log,
        });
        await this.standby.start(jsm, js);
      },
      handle: async (region, m) => {
        await this.handle(region, m);
        return "ack";
      },
    });
    this.streams.start();
  }

  private get nc(): NatsConnection | null {
    return this.streams?.connection ?? null;
  }

  private async handle(region: string, m: JsMsg): Promise<void> {
    const text = decoder.decode(m.data);
    if (m.subject.includes(".heartbeat.")) {
      const at = (JSON.parse(text) as { at?: string }).at;
      if (at) await this.advance(region, m.seq, at, null);
      return;
    }
    const parsed = domainEvent.safeParse(JSON.parse(text));
    if (!parsed.success) {
      this.rejected++;
      await this.sql`
        INSERT INTO rejected_event (stream_seq, region, subject, body, reason)
        VALUES (${m.seq}, ${region}, ${m.subject}, ${WITHHELD_BODY}, ${scrubText(parsed.error.message).slice(0, 2000)})`;
      return;
    }
    const event = parsed.data;
    // This read model serves every region, so it holds personal fields only of tenants whose
    // policy lets their case view sit everywhere (unknown: ask the catalog, else fail closed).
    if (!this.viewAllowed.has(event.tenantId)) await this.refreshPolicies();
    const keepPersonal = this.viewAllowed.get(event.tenantId) === true;
    const change = await this.sql.begin(async (tx) => {
      const c = await applyEvent(tx, event, keepPersonal);
      await this.advance(region, m.seq, event.recordedAt, tx);
      return c;
    });
    this.applied++;
    if (change) this.pending.push(change);
    if (this.pending.length >= this.env.PUSH_BATCH) void this.flush();
  }

  private async advance(
    region: string,
    seq: number,
    at: string,
    tx: postgres.TransactionSql | null,
  ): Promise<void> {
    const q = tx ?? this.sql;
    await q`
      INSERT INTO region_watermark (region, last_stream_seq, last_event_at, as_of)
      VALUES (${region}, ${seq}, ${tx ? at : null}, ${at})
      ON CONFLICT (region) DO UPDATE SET last_stream_seq = greatest(region_watermark.last_stream_seq, EXCLUDED.last_stream_seq),
        last_event_at = coalesce(EXCLUDED.last_event_at, region_watermark.last_event_at),
        as_of = greatest(region_watermark.as_of, EXCLUDED.as_of), updated_at = now()`;
    this.watermarkDirty = true;
  }

  /** The catalog's snapshot says which tenants' case views may be held at every edge. */
  private async refreshPolicies(): Promise<void> {
    if (!this.env.CATALOG_URL) return;
    // A catalog that is down is asked at most once a second, not once per event (and its timeout).
    if (Date.now() - this.policiesFailedAt < 1000) return;
    try {
      const res = await fetch(`${this.env.CATALOG_URL}/internal/v1/routing-snapshot`, {
        headers: { authorization: `Bearer ${this.env.INTERNAL_TOKEN}` },
        signal: AbortSignal.timeout(2000),
      });
      const s = routingSnapshot.parse(await res.json());
      const all = Object.keys(s.regions);
      for (const [tenantId, t] of Object.entries(s.tenants)) {
        // Edge KV is held in every region: a case view goes there only if every region may hold it.
        const refusal = firstRefusal(
          policyFromSnapshot(t),
          all.map((r) => ({
            sink: "edge_projection" as const,
            fields: "personal" as const,
            targetRegion: r,
          })),
        );
        this.viewAllowed.set(tenantId, refusal === null);
      }
    } catch {
      // keep the last known answer; unknown tenants get no edge view (fail closed)
      this.policiesFailedAt = Date.now();
    }
  }

  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (!this.env.EDGE_URL || (this.pending.length === 0 && !this.watermarkDirty)) return;
    const changes = this.pending.splice(0, this.env.PUSH_BATCH);
    this.watermarkDirty = false;
    this.flushing = (async () => {
      let again = false;
      try {
        // A tenant placed after our last look: ask the catalog now rather than push it view-less.
        if (changes.some((c) => !this.viewAllowed.has(c.tenantId))) await this.refreshPolicies();
        const batch = await buildBatch(this.sql, changes, (t) => this.viewAllowed.get(t) === true);
        await pushToEdge(this.env.EDGE_URL!, this.env.INTERNAL_TOKEN, batch);
        this.lastPushError = null;
        // What arrived during this push goes now, not at the next tick: under load it otherwise
        // waited a push plus up to a tick (the events bench's applied → pushed tail). Only after a
        // success: a failing edge is retried at the tick's pace, not in a tight loop.
        again = this.pending.length > 0;
      } catch (e) {
        this.pending.unshift(...changes);
        this.watermarkDirty = true;
        this.lastPushError = (e as Error).message;
      } finally {
        this.flushing = null;
      }
      if (again) void this.flush();
    })();
    return this.flushing;
  }

  /** How far the DR standbys trail each source region's stream; empty without standbys. */
  async standbyLag(): Promise<Record<string, StandbyLag | null>> {
    if (!this.standby || !this.nc) return {};
    return standbyLag(await jetstreamManager(this.nc), this.env.SUBJECT_ROOT, this.env.REGIONS);
  }

  async status(): Promise<ProjectorStatus> {
    const rows = await this.sql<{ region: string; as_of: Date; last_stream_seq: number }[]>`
      SELECT region, as_of, last_stream_seq FROM region_watermark`;
    const regions: ProjectorStatus["regions"] = {};
    for (const r of this.env.REGIONS) regions[r] = { asOf: null, lagSeconds: null, lastStreamSeq: 0 };
    for (const r of rows) {
      regions[r.region] = {
        asOf: r.as_of.toISOString(),
        lagSeconds: Math.max(0, (Date.now() - r.as_of.getTime()) / 1000),
        lastStreamSeq: r.last_stream_seq,
      };
    }
    const lag = await this.standbyLag().catch(() => ({}) as Record<string, StandbyLag | null>);
    return {
      regions,
      applied: this.applied,
      rejected: this.rejected,
      pendingEdgeChanges: this.pending.length,
      standbyForwarded: this.standby?.forwarded ?? 0,
      standbyPending:
        this.standby && this.nc ? await this.standby.pending(await jetstreamManager(this.nc)) : {},
      replicationLagSeconds: Object.fromEntries(
        Object.entries(lag).map(([r, l]) => [r, l?.lagSeconds ?? null]),
      ),
      lastPushError: this.lastPushError,
    };
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.policyTimer) clearInterval(this.policyTimer);
    await this.streams?.stop(async () => {
      await this.standby?.stop();
      await this.flush();
    });
    await this.sql.end({ timeout: 5 });
  }
}
