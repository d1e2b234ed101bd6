import {
  type DomainEvent,
  decide,
  domainEvent,
  policyFromSnapshot,
  type RoutingSnapshot,
  routingSnapshot,
} from "@homeroute/contracts";
import { ensureStream, streamName } from "@homeroute/events";
import type { Logger } from "@homeroute/service-kit";
import {
  AckPolicy,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from "@nats-io/jetstream";

// Keeps each tenant's DR standby in its DR region (DESIGN §8; CONTRACT.md: the first allowed
// region other than the event's home), and in its other allowed regions too (see standbyRegions). A durable consumer of its own per region stream delivers
// events in batches to the DR cell's standby endpoint and acks only what that cell accepted, so
// the standby is exactly as complete as the cell says. Tenants whose policy allows no other
// region (ID_STRICT, EU_GDPR) have no standby: their events are acknowledged and not copied.

const DURABLE = "dr-standby";
// Short, because a batch a stopped projector had pulled but not yet seen (in flight when it
// unsubscribed) comes back only when this runs out; batches being delivered are kept alive with
// working() instead.
const ACK_WAIT_NS = 3e9;
const decoder = new TextDecoder();

export interface StandbyOptions {
  root: string;
  regions: string[];
  cellUrls: Record<string, string>;
  catalogUrl: string | undefined;
  internalToken: string;
  log: Logger;
}

export class StandbyForwarder {
  private snapshot: RoutingSnapshot | null = null;
  private running = true;
  private readonly consuming = new Set<ConsumerMessages>();
  private readonly loops: Promise<void>[] = [];
  private refreshedAt = 0;
  private readonly wakers = new Set<() => void>();
  forwarded = 0;

  constructor(private readonly o: StandbyOptions) {}

  async start(jsm: JetStreamManager, js: JetStreamClient): Promise<void> {
    for (const region of this.o.regions) {
      const stream = await ensureStream(jsm, this.o.root, region);
      // A batch one projector took and never acknowledged comes back after ack_wait; until then
      // the standby has a gap, so ack_wait is kept short.
      try {
        const info = await jsm.consumers.info(stream, DURABLE);
        if (info.config.ack_wait !== ACK_WAIT_NS)
          await jsm.consumers.update(stream, DURABLE, { ack_wait: ACK_WAIT_NS });
      } catch {
        await jsm.consumers.add(stream, {
          durable_name: DURABLE,
          ack_policy: AckPolicy.Explicit,
          ack_wait: ACK_WAIT_NS,
        });
      }
      const consumer = await js.consumers.get(stream, DURABLE);
      this.loops.push(this.loop(region, consumer));
    }
  }

  /** Messages of each region's stream not yet delivered to a standby (promotion readiness). */
  async pending(jsm: JetStreamManager): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const region of this.o.regions) {
      try {
        const info = await jsm.consumers.info(streamName(this.o.root, region), DURABLE);
        out[region] = info.num_pending + info.num_ack_pending;
      } catch {
        out[region] = -1;
      }
    }
    return out;
  }

  /**
   * Stops taking messages, lets the batch in flight finish and be acknowledged, and hands back the
   * ones not yet sent so the next projector gets them at once, in order: a standby must not be
   * left with a gap that only closes when ack_wait runs out.
   */
  async stop(): Promise<void> {
    this.running = false;
    for (const m of this.consuming) m.stop();
    for (const w of this.wakers) w();
    // Bounded: a batch stuck on a cell that does not answer is redelivered later, not waited for.
    await Promise.race([Promise.all(this.loops), new Promise((r) => setTimeout(r, 10_000))]);
  }

  /**
   * Messages stream in as they are published (a pull that waited for a full batch or its expiry
   * held the last writes before a migration cutover back by a second) and go out in batches of
   * whatever arrived while the previous batch was being delivered.
   */
  private async loop(
    region: string,
    consumer: Awaited<ReturnType<JetStreamClient["consumers"]["get"]>>,
  ): Promise<void> {
    while (this.running) {
      const buffer: JsMsg[] = [];
      const signal: { wake?: () => void } = {};
      let ended = false;
      try {
        const messages = await consumer.consume({ max_messages: 1000 });
        this.consuming.add(messages);
        const reader = (async () => {
          try {
            for await (const m of messages) {
              buffer.push(m);
              signal.wake?.();
            }
          } catch {
            // the connection closed under the iterator; the outer loop consumes again
          } finally {
            ended = true;
            this.consuming.delete(messages);
            signal.wake?.();
          }
        })();
        while (this.running && !(ended && buffer.length === 0)) {
          if (buffer.length === 0) {
            await new Promise<void>((r) => {
              signal.wake = r;
              this.wakers.add(r);
              setTimeout(r, 1000);
            });
            if (signal.wake) this.wakers.delete(signal.wake);
            signal.wake = undefined;
          }
          if (!this.running) break;
          const batch = buffer.splice(0, 500);
          if (batch.length > 0) await this.forwardInOrder(region, batch, buffer);
        }
        messages.stop();
        await reader;
        for (const m of buffer.splice(0)) m.nak();
      } catch (e) {
        this.o.log.error("standby: consume failed", { region, error: (e as Error).message });
      }
      if (this.running) await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Sends each target its events; acks what every target took; returns what must be retried. */
  private async forward(region: string, msgs: JsMsg[]): Promise<JsMsg[]> {
    const byTarget = new Map<string, { events: DomainEvent[]; msgs: JsMsg[] }>();
    const skip: JsMsg[] = [];
    // A tenant the catalog's snapshot does not show (yet, or the catalog is unreachable) is not
    // skipped: its standby copy would silently miss the event.
    const unknown: JsMsg[] = [];
    for (const m of msgs) {
      if (m.subject.includes(".heartbeat.")) {
        skip.push(m);
        continue;
      }
      const parsed = domainEvent.safeParse(JSON.parse(decoder.decode(m.data)));
      const regions = parsed.success ? await this.standbyRegions(parsed.data) : [];
      if (regions === null) {
        unknown.push(m);
        continue;
      }
      const targets = regions.filter((r) => this.o.cellUrls[r]);
      if (!parsed.success || targets.length === 0) {
        skip.push(m);
        continue;
      }
      for (const target of targets) {
        const group = byTarget.get(target) ?? { events: [], msgs: [] };
        group.events.push(parsed.data);
        group.msgs.push(m);
        byTarget.set(target, group);
      }
    }
    for (const m of skip) m.ack();
    // A message is acknowledged only when every standby it goes to accepted it.
    const failed = new Set<JsMsg>();
    for (const [target, g] of byTarget) {
      try {
        const res = await fetch(`${this.o.cellUrls[target]}/internal/v1/standby/events`, {
          method: "POST",
          headers: { authorization: `Bearer ${this.o.internalToken}`, "content-type": "application/json" },
          body: JSON.stringify({ events: g.events }),
          signal: AbortSignal.timeout(10_000),
        });
        if (!res.ok) throw new Error(`standby cell ${target} answered ${res.status}`);
        this.forwarded += g.events.length;
      } catch (e) {
        for (const m of g.msgs) failed.add(m);
        this.o.log.error("standby: delivery failed", { region, target, error: (e as Error).message });
      }
    }
    const sent = new Set([...byTarget.values()].flatMap((g) => g.msgs));
    for (const m of sent) if (!failed.has(m)) m.ack();
    return [...sent, ...unknown].filter((m) => failed.has(m) || unknown.includes(m));
  }

  /**
   * Delivers a batch before anything after it: a failed delivery is retried in place (the messages
   * behind it kept alive with working()), never nak'd and overtaken — a status change applied
   * before the creation it follows would be dropped by the standby's version check. The price: a
   * standby region that stays down holds back this stream's copies to the others until it returns.
   */
  private async forwardInOrder(region: string, batch: JsMsg[], behind: JsMsg[]): Promise<void> {
    let pending = batch;
    for (let attempt = 0; ; attempt++) {
      const alive = setInterval(() => {
        for (const m of [...pending, ...behind]) m.working();
      }, 1000);
      try {
        pending = await this.forward(region, pending);
      } finally {
        clearInterval(alive);
      }
      if (pending.length === 0) return;
      if (!this.running) {
        for (const m of pending) m.nak();
        return;
      }
      for (const m of [...pending, ...behind]) m.working();
      await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** attempt)));
    }
  }

  /**
   * Every allowed region other than the event's home keeps a standby: the DR target of the contract
   * (the first of them) and the others, so that after a promotion the former home is itself a
   * caught-up standby to fail back to. Never a region outside the policy.
   */
  private async standbyRegions(e: DomainEvent): Promise<string[] | null> {
    let tenant = this.snapshot?.tenants[e.tenantId];
    if (!tenant) {
      await this.refresh();
      tenant = this.snapshot?.tenants[e.tenantId];
    }
    if (!tenant) return this.o.catalogUrl ? null : [];
    const policy = policyFromSnapshot(tenant);
    return Object.keys(this.o.cellUrls).filter(
      (r) => r !== e.homeRegion && decide(policy, { sink: "standby_copy", targetRegion: r }).allowed,
    );
  }

  async refresh(): Promise<void> {
    if (!this.o.catalogUrl) return;
    // Once a second at most: a burst of events of an unknown tenant, or a catalog that is down,
    // must not turn into a request per event.
    if (Date.now() - this.refreshedAt < 1000) return;
    this.refreshedAt = Date.now();
    try {
      const res = await fetch(`${this.o.catalogUrl}/internal/v1/routing-snapshot`, {
        headers: { authorization: `Bearer ${this.o.internalToken}` },
        signal: AbortSignal.timeout(2000),
      });
      this.snapshot = routingSnapshot.parse(await res.json());
    } catch {
      // keep the last snapshot
    }
  }
}
