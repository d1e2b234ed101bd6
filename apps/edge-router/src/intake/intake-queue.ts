import { routingSnapshot } from "@homeroute/contracts";
import type { EdgeBindings } from "../env.js";

// Queued intake (seed §7: "queue intake if allowed"): while a tenant's home is unreachable, the
// edge accepts a new complaint durably in this Durable Object (one per tenant) and delivers it
// when the home returns. Exactly once: the complaint's Idempotency-Key travels with every
// attempt, and the home's command log turns repeats into replays.

export interface QueuedIntake {
  receiptId: string;
  tenantId: string;
  idempotencyKey: string;
  authorization: string;
  correlationId: string;
  body: string;
  receivedAt: string;
  status: "QUEUED" | "DELIVERED" | "REJECTED";
  attempts: number;
  caseId?: string;
  caseNumber?: string;
  accessCode?: string;
  problem?: unknown;
}

export class IntakeQueue {
  constructor(
    private readonly state: DurableObjectState,
    private readonly env: EdgeBindings,
  ) {}

  async fetch(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (req.method === "POST" && url.pathname === "/enqueue") {
      const item = (await req.json()) as QueuedIntake;
      const existing = await this.state.storage.get<QueuedIntake>(`r:${item.receiptId}`);
      if (!existing) await this.state.storage.put(`r:${item.receiptId}`, item);
      await this.state.storage.setAlarm(Date.now() + 500);
      return Response.json(existing ?? item);
    }
    if (req.method === "GET" && url.pathname.startsWith("/receipt/")) {
      const item = await this.state.storage.get<QueuedIntake>(`r:${url.pathname.slice(9)}`);
      if (!item) return new Response(null, { status: 404 });
      if (item.status === "QUEUED") await this.deliver(item); // a reader asking is a good moment to try
      return Response.json(item);
    }
    return new Response(null, { status: 404 });
  }

  async alarm(): Promise<void> {
    const items = await this.state.storage.list<QueuedIntake>({ prefix: "r:" });
    let pending = 0;
    for (const item of items.values()) {
      if (item.status !== "QUEUED") continue;
      await this.deliver(item);
      if (item.status === "QUEUED") pending++;
    }
    if (pending > 0) await this.state.storage.setAlarm(Date.now() + 1000);
  }

  private async deliver(item: QueuedIntake): Promise<void> {
    const held = await this.env.ROUTING.get<{ snapshot: unknown }>("routing-snapshot", "json");
    const snapshot = held ? routingSnapshot.safeParse(held.snapshot) : null;
    const home = snapshot?.success ? snapshot.data.tenants[item.tenantId] : undefined;
    const cells = JSON.parse(this.env.CELL_URLS) as Record<string, string>;
    const base = home ? cells[home.homeRegion] : undefined;
    if (!home || !base) return;
    item.attempts++;
    try {
      const res = await fetch(`${base}/v1/tenants/${item.tenantId}/cases`, {
        method: "POST",
        headers: {
          authorization: item.authorization,
          "idempotency-key": item.idempotencyKey,
          "content-type": "application/json",
          "x-region-epoch": String(home.epoch),
          "x-correlation-id": item.correlationId,
        },
        body: item.body,
        signal: AbortSignal.timeout(3000),
      });
      const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
      if (res.status === 201 || res.status === 200) {
        item.status = "DELIVERED";
        item.caseId = body?.caseId as string;
        item.caseNumber = body?.caseNumber as string;
        if (body?.accessCode) item.accessCode = body.accessCode as string;
      } else if (res.status >= 400 && res.status < 500 && res.status !== 421 && res.status !== 409) {
        item.status = "REJECTED";
        item.problem = body;
      }
      // 5xx, WRONG_REGION or a stale epoch: still queued, tried again with the next snapshot.
    } catch {
      // home still unreachable
    }
    await this.state.storage.put(`r:${item.receiptId}`, item);
  }
}
