import { domainEvent } from "@homeroute/contracts";
import {
  connectNats,
  ensureAuditStream,
  ensureStream,
  eventSubjectFor,
  heartbeatSubject,
} from "@homeroute/events";
import { createLogger, createSql, type Logger } from "@homeroute/service-kit";
import { type JetStreamClient, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Sql } from "postgres";
import { publishAuditLinks } from "./audit.js";
import type { RelayEnv } from "./env.js";

// The outbox relay (DESIGN §11): committed outbox rows → JetStream, Nats-Msg-Id = eventId.
//
// No cursor: a row is sent while `published_at IS NULL` and marked after JetStream acknowledged
// it. A transaction that took seq 10 but committed after seq 11 was published is simply still
// unpublished on the next pass, so out-of-order commits can never be skipped. A crash between
// publish and mark re-sends rows JetStream already has; the duplicate window drops them.

export interface RelayStatus {
  region: string;
  natsConnected: boolean;
  backlog: number;
  oldestUnpublishedAgeSeconds: number | null;
  publishedTotal: number;
  lastPublishAt: string | null;
  lastError: string | null;
  /** Audit links published to the region's audit stream (protected audit replica, docs/audit.md). */
  auditLinksPublishedTotal: number;
  lastAuditError: string | null;
}

interface OutboxRow {
  seq: number;
  event_id: string;
  tenant_id: string;
  aggregate_type: string;
  envelope: unknown;
}

const encoder = new TextEncoder();

export class Relay {
  private readonly sql: Sql;
  private readonly log: Logger;
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private running = false;
  private wake: (() => void) | null = null;
  private publishedTotal = 0;
  private auditLinksPublishedTotal = 0;
  private lastAuditError: string | null = null;
  private lastPublishAt: Date | null = null;
  private lastError: string | null = null;
  private lastActivity = 0;
  private loopDone: Promise<void> = Promise.resolve();
  private auditWake: (() => void) | null = null;
  private auditLoopDone: Promise<void> = Promise.resolve();

  constructor(private readonly env: RelayEnv) {
    this.sql = createSql(env.DATABASE_URL, { max: 3 });
    this.log = createLogger(env.LOG_LEVEL);
  }

  async start(): Promise<void> {
    this.running = true;
    await this.sql
      .listen("outbox_event", () => {
        this.wake?.();
        this.auditWake?.();
      })
      .catch((e) => {
        this.log.error("listen failed; polling only", { error: (e as Error).message });
      });
    void this.connect();
    this.loopDone = this.loop();
    this.auditLoopDone = this.auditLoop();
  }

  /** NATS may be down at start: keep trying in the background; commits never wait for it. */
  private async connect(): Promise<void> {
    while (this.running && !this.nc) {
      try {
        const nc = await connectNats(this.env.NATS_URL, `relay-${this.env.REGION}`);
        const jsm = await jetstreamManager(nc);
        await ensureStream(jsm, this.env.SUBJECT_ROOT, this.env.REGION);
        await ensureAuditStream(jsm, this.env.SUBJECT_ROOT, this.env.REGION);
        this.nc = nc;
        this.js = jetstream(nc, { timeout: 3000 });
        this.wake?.();
        this.auditWake?.();
      } catch (e) {
        this.lastError = `nats: ${(e as Error).message}`;
        await sleep(1000);
      }
    }
  }

  private async loop(): Promise<void> {
    let backoff = 100;
    while (this.running) {
      try {
        const n = this.js ? await this.drainOnce() : 0;
        backoff = 100;
        if (n > 0) continue;
        if (this.js && Date.now() - this.lastActivity >= this.env.HEARTBEAT_MS) await this.heartbeat();
        await this.idle(Math.min(this.env.POLL_MS, this.env.HEARTBEAT_MS));
      } catch (e) {
        this.lastError = (e as Error).message;
        await this.idle(backoff);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  private idle(ms: number, which: "wake" | "auditWake" = "wake"): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this[which] = done;
    });
  }

  /**
   * Audit links go in a loop of their own (docs/audit.md): publishing a tenant's links one after
   * the other must never delay the outbox, whose lag a migration's write freeze waits on.
   */
  private async auditLoop(): Promise<void> {
    while (this.running) {
      const n = this.js ? await this.drainAuditOnce() : 0;
      if (n === 0) await this.idle(this.env.POLL_MS, "auditWake");
    }
  }

  /** One batch: publish every unpublished row (in flight together), then mark them. */
  async drainOnce(): Promise<number> {
    const js = this.js;
    if (!js) return 0;
    const rows = await this.sql<OutboxRow[]>`
      SELECT seq, event_id, tenant_id, aggregate_type, envelope FROM outbox_event
      WHERE published_at IS NULL ORDER BY seq LIMIT ${this.env.BATCH_SIZE}`;
    if (rows.length === 0) return 0;
    await Promise.all(
      rows.map((r) => {
        // Validate what we send: a malformed event must not reach consumers (STYLE §7).
        const event = domainEvent.parse(r.envelope);
        return js.publish(
          eventSubjectFor(this.env.SUBJECT_ROOT, this.env.REGION, r.tenant_id, r.aggregate_type),
          encoder.encode(JSON.stringify(event)),
          { msgID: r.event_id },
        );
      }),
    );
    await this.sql`UPDATE outbox_event SET published_at = now() WHERE seq = ANY(${rows.map((r) => r.seq)})`;
    this.publishedTotal += rows.length;
    this.lastPublishAt = new Date();
    this.lastActivity = Date.now();
    this.lastError = null;
    return rows.length;
  }

  /**
   * New audit links of the tenants homed here, to the audit stream. Its failures are its own: a
   * link JetStream refuses must not hold back the outbox.
   */
  private async drainAuditOnce(): Promise<number> {
    try {
      const n = await publishAuditLinks(
        this.sql,
        this.js!,
        this.env.SUBJECT_ROOT,
        this.env.REGION,
        this.env.BATCH_SIZE,
      );
      this.auditLinksPublishedTotal += n;
      if (n > 0) this.lastAuditError = null;
      return n;
    } catch (e) {
      this.lastAuditError = (e as Error).message;
      return 0;
    }
  }

  /** Idle regions still say "nothing new up to now", so lag is measurable without traffic. */
  private async heartbeat(): Promise<void> {
    const at = new Date().toISOString();
    await this.js!.publish(
      heartbeatSubject(this.env.SUBJECT_ROOT, this.env.REGION),
      encoder.encode(JSON.stringify({ region: this.env.REGION, at })),
    );
    this.lastActivity = Date.now();
  }

  async status(): Promise<RelayStatus> {
    const [row] = await this.sql<{ backlog: number; oldest: Date | null }[]>`
      SELECT count(*)::int AS backlog, min(created_at) AS oldest FROM outbox_event WHERE published_at IS NULL`;
    return {
      region: this.env.REGION,
      natsConnected: this.nc !== null && !this.nc.isClosed(),
      backlog: row!.backlog,
      oldestUnpublishedAgeSeconds: row!.oldest ? (Date.now() - row!.oldest.getTime()) / 1000 : null,
      publishedTotal: this.publishedTotal,
      lastPublishAt: this.lastPublishAt?.toISOString() ?? null,
      lastError: this.lastError,
      auditLinksPublishedTotal: this.auditLinksPublishedTotal,
      lastAuditError: this.lastAuditError,
    };
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    this.auditWake?.();
    await this.loopDone;
    await this.auditLoopDone;
    // Bounded: a drain can wait on a pull request in flight; shutting down must not hang.
    await Promise.race([this.nc?.drain().catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
    await this.nc?.close().catch(() => {});
    await this.sql.end({ timeout: 5 });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
