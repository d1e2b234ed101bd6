import {
  type AuditLinkMessage,
  type AuditReplicaLinksResult,
  auditLink,
  auditLinkMessage,
  auditReplicaLinksResult,
  auditReplicaRegionOf,
  decide,
  type ResidencyPolicy,
} from "@homeroute/contracts";
import { auditStreamName, connectNats, ensureAuditStream } from "@homeroute/events";
import type { Logger } from "@homeroute/service-kit";
import { AckPolicy, type Consumer, type JsMsg, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";

// The protected audit replica's consumer (DESIGN §13, docs/audit.md). A durable consumer of each
// region's audit stream delivers every tenant's links, in chain order, to the one region the
// residency module picks for the chain's home (`auditReplicaRegionOf`: a backup region other than
// home) and nowhere else; a policy without one (ID_STRICT, EU_GDPR) gets no copy. A link is
// acknowledged only once the replica cell took it (or already held it).
//
// Order is per tenant: each tenant's links wait in a queue of their own and go out in order; the
// replica takes a link only if it continues its copy, and fills a gap from the home's cell, so a
// link that comes back out of order is never copied out of order. One tenant whose replica region
// is away does not hold back the others' copies.

const DURABLE = "audit-replica";
const ACK_WAIT_NS = 10e9;
/** Links held unacknowledged across all queues before the stream stops delivering more. */
const MAX_ACK_PENDING = 20_000;
/** Well under the cells' 1 MiB request limit. */
const MAX_POST_BYTES = 512 * 1024;
const decoder = new TextDecoder();

export interface AuditReplicatorOptions {
  natsUrl: string;
  root: string;
  regions: string[];
  cellUrls: Record<string, string>;
  catalogUrl: string | undefined;
  internalToken: string;
  log: Logger;
}

export interface AuditReplicatorStatus {
  linksReplicated: number;
  /** Links of tenants whose policy has no replica region: acknowledged, copied nowhere. */
  linksWithoutReplica: number;
  /** Links a replica refused as not continuing its copy (`diverged`): needs an operator. */
  linksDiverged: number;
  /** Links a replica lacked before the one it was sent (`gap`), fetched from the home's cell. */
  linksBackfilled: number;
  /** Links sent back to the stream after a `gap` the home could not fill (home unreachable). */
  linksRedeliveredAfterGap: number;
  /** Links sent back to the stream, for later, because the replica or the catalog was away. */
  linksDeferred: number;
  lastError: string | null;
}

/** The link counts of `AuditReplicatorStatus` (every field but `lastError`). */
export type AuditReplicaCounts = Omit<AuditReplicatorStatus, "lastError">;

const zeroCounts = (): AuditReplicaCounts => ({
  linksReplicated: 0,
  linksWithoutReplica: 0,
  linksDiverged: 0,
  linksBackfilled: 0,
  linksRedeliveredAfterGap: 0,
  linksDeferred: 0,
});

type Outcome = "done" | "later";

/** One tenant's links of one region's chain, waiting to be delivered in order. */
interface ChainQueue {
  region: string;
  tenantId: string;
  msgs: JsMsg[];
  messages: AuditLinkMessage[];
  draining: boolean;
}

export class AuditReplicator {
  private nc: NatsConnection | null = null;
  private running = true;
  private readonly loops: Promise<void>[] = [];
  private readonly queues = new Map<string, ChainQueue>();
  /** Consecutive deliveries of a queue that could not be made: the redelivery delay grows with it. */
  private readonly failures = new Map<string, number>();
  private readonly drains = new Set<Promise<void>>();
  private readonly sleepers = new Set<() => void>();
  private keepAlive: NodeJS.Timeout | null = null;
  private readonly policies = new Map<string, { policy: ResidencyPolicy; at: number }>();
  private connecting: Promise<void> = Promise.resolve();
  readonly stats: AuditReplicatorStatus = { ...zeroCounts(), lastError: null };
  /**
   * The same counts per source region (the audit stream's region: the chains' home), from 0 at
   * each start, every region present from the start (/metrics, docs/metrics.md).
   */
  readonly countsByRegion: Record<string, AuditReplicaCounts> = {};

  constructor(private readonly o: AuditReplicatorOptions) {
    for (const region of o.regions) this.countsByRegion[region] = zeroCounts();
  }

  private count(region: string, key: keyof AuditReplicaCounts, n: number): void {
    this.stats[key] += n;
    const counts = this.countsByRegion[region] ?? zeroCounts();
    counts[key] += n;
    this.countsByRegion[region] = counts;
  }

  /** Connects in the background: NATS being down at start is a state, not a failure. */
  start(): void {
    // Links waiting behind a delivery that is being retried must not come back by ack_wait.
    this.keepAlive = setInterval(() => {
      for (const q of this.queues.values()) for (const m of q.msgs) m.working();
    }, 3000);
    this.keepAlive.unref();
    this.connecting = this.connect();
  }

  private async connect(): Promise<void> {
    while (this.running) {
      try {
        this.nc = await connectNats(this.o.natsUrl, "audit-replicator");
        const jsm = await jetstreamManager(this.nc);
        const js = jetstream(this.nc);
        for (const region of this.o.regions) {
          const stream = await ensureAuditStream(jsm, this.o.root, region);
          const config = {
            ack_policy: AckPolicy.Explicit,
            ack_wait: ACK_WAIT_NS,
            max_ack_pending: MAX_ACK_PENDING,
          };
          await jsm.consumers
            .update(stream, DURABLE, config)
            .catch(() => jsm.consumers.add(stream, { durable_name: DURABLE, ...config }));
          this.loops.push(this.loop(region, await js.consumers.get(stream, DURABLE)));
        }
        return;
      } catch (e) {
        this.stats.lastError = `nats: ${(e as Error).message}`;
        await this.nc?.close().catch(() => {});
        this.nc = null;
        await this.sleep(1000);
      }
    }
  }

  /** Takes what the stream delivers and queues it per tenant; each queue drains on its own. */
  private async loop(region: string, consumer: Consumer): Promise<void> {
    while (this.running) {
      try {
        for await (const m of await consumer.fetch({ max_messages: 500, expires: 1000 })) {
          if (!this.running) {
            m.nak();
            continue;
          }
          this.enqueue(region, m);
        }
      } catch (e) {
        this.stats.lastError = (e as Error).message;
        if (this.running) await this.sleep(500);
      }
    }
  }

  private enqueue(region: string, m: JsMsg): void {
    const parsed = auditLinkMessage.safeParse(safeJson(decoder.decode(m.data)));
    if (!parsed.success || parsed.data.sourceRegion !== region) {
      // Validated when published; anything else on the subject is not a link of this stream.
      this.o.log.error("audit replica: malformed message dropped", { region, subject: m.subject });
      m.term();
      return;
    }
    const tenantId = parsed.data.link.tenantId;
    const key = `${region}|${tenantId}`;
    let q = this.queues.get(key);
    if (!q) {
      q = { region, tenantId, msgs: [], messages: [], draining: false };
      this.queues.set(key, q);
    }
    q.msgs.push(m);
    q.messages.push(parsed.data);
    if (!q.draining) {
      q.draining = true;
      const d = this.drain(key, q).finally(() => this.drains.delete(d));
      this.drains.add(d);
    }
  }

  /**
   * Delivers the queue in order until it is empty. When nothing can be delivered now (replica or
   * catalog away), the links go back to the stream with a delay that grows per tenant, rather
   * than being held here: a long outage then costs neither memory nor keep-alive traffic. They
   * may return behind later ones; the replica refuses those as a `gap`, filled from the home.
   */
  private async drain(key: string, q: ChainQueue): Promise<void> {
    try {
      while (q.msgs.length > 0 && this.running) {
        const outcome = await this.deliverChain(q.region, q.tenantId, q.msgs, q.messages);
        // Stopping: what was not delivered goes back at once (finally), not after a backoff.
        if (!this.running) break;
        if (outcome === "done") {
          this.failures.delete(key);
          continue;
        }
        const failures = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, failures);
        const delayMs = Math.min(60_000, 500 * 2 ** failures);
        this.count(q.region, "linksDeferred", q.msgs.length);
        for (const m of q.msgs.splice(0)) m.nak(delayMs);
        q.messages.splice(0);
      }
    } finally {
      // Stopping: what is left goes back to the stream at once, for the next replicator, in order.
      for (const m of q.msgs.splice(0)) m.nak();
      q.messages.splice(0);
      q.draining = false;
      this.queues.delete(key);
    }
  }

  /**
   * Sends one tenant's links to its replica in chunks. Acknowledges what the replica took;
   * "later" means nothing more can be done now (catalog or replica unreachable): the links not
   * yet acknowledged go back to the stream.
   */
  private async deliverChain(
    region: string,
    tenantId: string,
    msgs: JsMsg[],
    messages: AuditLinkMessage[],
  ): Promise<Outcome> {
    const policy = await this.policyOf(tenantId);
    if (!policy) return "later";
    const target = auditReplicaRegionOf(policy, region).region;
    if (target === null) {
      // The policy keeps the chain in its home only: no copy anywhere (docs/audit.md).
      for (const m of msgs) m.ack();
      this.count(region, "linksWithoutReplica", msgs.length);
      msgs.splice(0);
      messages.splice(0);
      return "done";
    }
    // auditReplicaRegionOf only names a region the policy allows; asked again at the sink.
    if (!decide(policy, { sink: "audit_replica", targetRegion: target }).allowed) return "later";
    const url = this.o.cellUrls[target];
    if (!url) {
      this.stats.lastError = `no cell URL for audit replica region ${target}`;
      return "later";
    }
    while (msgs.length > 0) {
      // A long queue (a 5,000-case tenant's chain) is many requests: stopping must not wait for
      // all of them. What is left goes back to the stream for the next replicator.
      if (!this.running) return "later";
      const n = chunkSize(messages);
      let r: AuditReplicaLinksResult;
      try {
        const res = await fetch(`${url}/internal/v1/tenants/${tenantId}/audit-replica/links`, {
          method: "POST",
          headers: { authorization: `Bearer ${this.o.internalToken}`, "content-type": "application/json" },
          body: JSON.stringify({ sourceRegion: region, links: messages.slice(0, n).map((x) => x.link) }),
          signal: AbortSignal.timeout(10_000),
        });
        if (!res.ok) throw new Error(`replica cell ${target} answered ${res.status}`);
        r = auditReplicaLinksResult.parse(await res.json());
      } catch (e) {
        this.stats.lastError = (e as Error).message;
        this.o.log.error("audit replica: delivery failed", {
          region,
          target,
          tenantId,
          error: this.stats.lastError,
        });
        return "later";
      }
      const taken = r.accepted + r.duplicates;
      for (const m of msgs.splice(0, taken)) m.ack();
      messages.splice(0, taken);
      this.count(region, "linksReplicated", r.accepted);
      if (!r.refused) continue;
      if (r.refused.reason === "gap") {
        // Links the stream no longer has (retention, a purge) or has not redelivered yet: the
        // home's cell has them. Filled, the queue is sent again from where it stopped.
        if (await this.backfill(region, tenantId, url, r.head.seq, r.refused.chainSeq)) continue;
        if (!this.running) return "later";
        // The home cannot say: this link and the rest come again from the stream, after the
        // earlier ones, so the copy stays a prefix of the home's chain.
        this.count(region, "linksRedeliveredAfterGap", msgs.length);
        for (const m of msgs.splice(0)) m.nak(1000);
        messages.splice(0);
        return "done";
      }
      // The home's chain is not the one copied so far (restored or forked home): sending again
      // cannot fix it. Verification shows the replica behind; an operator decides.
      this.count(region, "linksDiverged", msgs.length);
      this.stats.lastError = `replica ${target} of tenant ${tenantId}: ${r.refused.detail}`;
      this.o.log.error("audit replica: chain diverged", {
        region,
        target,
        tenantId,
        detail: r.refused.detail,
      });
      for (const m of msgs.splice(0)) m.term();
      messages.splice(0);
    }
    return "done";
  }

  /**
   * Copies the home's links after `head` up to (not including) `upTo` from the home's cell to the
   * replica; true when the replica then holds them all.
   */
  private async backfill(
    region: string,
    tenantId: string,
    replicaUrl: string,
    head: number,
    upTo: number,
  ): Promise<boolean> {
    const homeUrl = this.o.cellUrls[region];
    if (!homeUrl) return false;
    try {
      while (head < upTo - 1) {
        if (!this.running) return false;
        const limit = Math.min(500, upTo - 1 - head);
        const res = await fetch(
          `${homeUrl}/internal/v1/tenants/${tenantId}/audit/links?afterSeq=${head}&limit=${limit}`,
          {
            headers: { authorization: `Bearer ${this.o.internalToken}` },
            signal: AbortSignal.timeout(10_000),
          },
        );
        if (!res.ok) throw new Error(`home cell ${region} answered ${res.status}`);
        const links = z.object({ links: z.array(auditLink) }).parse(await res.json()).links;
        if (links.length === 0) return false;
        const sent = await fetch(`${replicaUrl}/internal/v1/tenants/${tenantId}/audit-replica/links`, {
          method: "POST",
          headers: { authorization: `Bearer ${this.o.internalToken}`, "content-type": "application/json" },
          body: JSON.stringify({ sourceRegion: region, links }),
          signal: AbortSignal.timeout(10_000),
        });
        if (!sent.ok) throw new Error(`replica cell answered ${sent.status}`);
        const r = auditReplicaLinksResult.parse(await sent.json());
        this.count(region, "linksBackfilled", r.accepted);
        this.count(region, "linksReplicated", r.accepted);
        if (r.refused || r.head.seq <= head) return false;
        head = r.head.seq;
      }
      return true;
    } catch (e) {
      this.stats.lastError = `backfill: ${(e as Error).message}`;
      return false;
    }
  }

  /** The tenant's residency policy from the catalog, kept for a minute (policies change rarely). */
  private async policyOf(tenantId: string): Promise<ResidencyPolicy | null> {
    const cached = this.policies.get(tenantId);
    if (cached && Date.now() - cached.at < 60_000) return cached.policy;
    if (!this.o.catalogUrl) return null;
    try {
      const res = await fetch(`${this.o.catalogUrl}/internal/v1/tenants/${tenantId}/residency`, {
        headers: { authorization: `Bearer ${this.o.internalToken}` },
        signal: AbortSignal.timeout(2000),
      });
      if (!res.ok) throw new Error(`catalog answered ${res.status} for tenant ${tenantId}`);
      const policy = ((await res.json()) as { policy: ResidencyPolicy }).policy;
      this.policies.set(tenantId, { policy, at: Date.now() });
      return policy;
    } catch (e) {
      // Unknown (not yet) or catalog down: the links wait, they are never copied on a guess.
      this.stats.lastError = (e as Error).message;
      return cached?.policy ?? null;
    }
  }

  /** Links of each region's audit stream not yet delivered to a replica. */
  async pending(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    if (!this.nc) return out;
    const jsm = await jetstreamManager(this.nc);
    for (const region of this.o.regions) {
      const info = await jsm.consumers.info(auditStreamName(this.o.root, region), DURABLE).catch(() => null);
      out[region] = info ? info.num_pending + info.num_ack_pending : -1;
    }
    return out;
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const wake of this.sleepers) wake();
    await Promise.race([this.connecting, sleep(2000)]);
    await Promise.all(this.loops);
    await Promise.all([...this.drains]);
    if (this.keepAlive) clearInterval(this.keepAlive);
    await Promise.race([this.nc?.drain().catch(() => {}), sleep(2000)]);
    await this.nc?.close().catch(() => {});
  }

  /** A pause that stop() cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.sleepers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }
}

/** How many of the links fit one request to the replica cell. */
function chunkSize(messages: AuditLinkMessage[]): number {
  let bytes = 0;
  let n = 0;
  for (const m of messages) {
    bytes += m.link.metadataText.length * 3 + 1024;
    if (n > 0 && (bytes > MAX_POST_BYTES || n >= 500)) break;
    n++;
  }
  return n;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
