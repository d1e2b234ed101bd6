import { connectNats, streamName } from "@homeroute/events";
import { type RelayEnv, type RunningRelay, relayEnvSchema, startRelay } from "@homeroute/relay";
import { startTestNats, type TestNats } from "@homeroute/testkit";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CellHarness,
  call,
  newCase,
  setupTenant,
  startCellHarness,
  type TenantFixture,
} from "../apps/cell/test/harness.js";
import { until } from "./support/until.js";

// The outbox relay against a real cell database and a real nats-server of this file's own.

let h: CellHarness;
let t: TenantFixture;
let nats: TestNats;
let relay: RunningRelay;
const root = `r${Math.floor(Math.random() * 1e8).toString(36)}`;

const relayEnv = (): RelayEnv =>
  relayEnvSchema.parse({
    REGION: "ap-id",
    DATABASE_URL: h.db.url,
    NATS_URL: nats.url,
    SUBJECT_ROOT: root,
    POLL_MS: "200",
    HEARTBEAT_MS: "300",
    LOG_LEVEL: "silent",
  });

async function streamEventIds(): Promise<string[]> {
  const nc = await connectNats(nats.url, "test-reader");
  try {
    const jsm = await jetstreamManager(nc);
    const name = streamName(root, "ap-id");
    const info = await jsm.streams.info(name);
    const ids: string[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(name, { seq }).catch(() => null);
      if (m?.subject.includes(".events.")) ids.push(JSON.parse(new TextDecoder().decode(m.data)).eventId);
    }
    return ids;
  } finally {
    await nc.close();
  }
}

const backlog = async () => {
  const [r] = await h.sql<
    { n: number }[]
  >`SELECT count(*)::int AS n FROM outbox_event WHERE published_at IS NULL`;
  return r!.n;
};

beforeAll(async () => {
  h = await startCellHarness("relay");
  t = await setupTenant(h);
  nats = await startTestNats();
  relay = await startRelay(relayEnv());
});
afterAll(async () => {
  await relay?.close();
  await nats?.destroy();
  await h?.close();
});

describe("outbox relay", () => {
  it("publishes committed events with Nats-Msg-Id = eventId and marks them published", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await call(h, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, {
        token: t.users.reporter!.token,
      });
      expect(r.status).toBe(201);
    }
    await until("drain", async () => (await backlog()) === 0);
    const ids = await streamEventIds();
    const outbox = await h.sql`SELECT event_id FROM outbox_event`;
    expect(new Set(ids)).toEqual(new Set(outbox.map((r) => r.event_id)));
  });

  it("never skips a row whose transaction committed after later rows (out-of-order commit)", async () => {
    const [template] = await h.sql`SELECT envelope FROM outbox_event ORDER BY seq LIMIT 1`;
    const heldId = crypto.randomUUID();
    const held = h.sql.reserve();
    const tx = await held;
    await tx`BEGIN`;
    await tx`INSERT INTO outbox_event (event_id, tenant_id, aggregate_type, aggregate_id, aggregate_version, event_type, envelope)
      VALUES (${heldId}, ${t.tenantId}, 'case', ${template!.envelope.aggregateId}, 99, 'case.created',
        ${tx.json({ ...template!.envelope, eventId: heldId, aggregateVersion: 99 })})`;
    const [heldSeq] = await tx`SELECT currval('outbox_event_seq_seq') AS seq`;
    // Later-numbered rows commit and are published while the held row is invisible.
    for (let i = 0; i < 3; i++)
      await call(h, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token: t.users.reporter!.token });
    await until("later rows published", async () => (await backlog()) === 0);
    const [later] = await h.sql`SELECT max(seq) AS seq FROM outbox_event WHERE published_at IS NOT NULL`;
    expect(Number(later!.seq)).toBeGreaterThan(Number(heldSeq!.seq));
    await tx`COMMIT`;
    tx.release();
    await until("held row published", async () => (await backlog()) === 0);
    expect(await streamEventIds()).toContain(heldId);
  });

  it("NATS stopped: commands commit, the backlog is reported, and drains when NATS returns, once each", async () => {
    await nats.stop();
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        call(h, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token: t.users.reporter!.token }),
      ),
    );
    expect(results.every((r) => r.status === 201)).toBe(true);
    const status: any = await (await fetch(`${relay.url}/status`)).json();
    expect(status).toMatchObject({ region: "ap-id", backlog: 50 });
    expect(status.oldestUnpublishedAgeSeconds).toBeGreaterThanOrEqual(0);
    await nats.start();
    await until("drain after NATS returns", async () => (await backlog()) === 0, 30_000);
    const ids = await streamEventIds();
    expect(ids.length).toBe(new Set(ids).size);
    const outbox = await h.sql`SELECT event_id FROM outbox_event`;
    expect(new Set(ids)).toEqual(new Set(outbox.map((r) => r.event_id)));
  });

  it("a relay that died between publish and mark re-sends; JetStream keeps one copy of each", async () => {
    await relay.close();
    for (let i = 0; i < 10; i++)
      await call(h, "POST", `/v1/tenants/${t.tenantId}/cases`, newCase, { token: t.users.reporter!.token });
    // What the dead relay managed: publish everything, mark nothing.
    const pending =
      await h.sql`SELECT event_id, tenant_id, aggregate_type, envelope FROM outbox_event WHERE published_at IS NULL`;
    const nc = await connectNats(nats.url, "dead-relay");
    const js = jetstream(nc);
    for (const r of pending) {
      await js.publish(
        `${root}.events.ap-id.${r.tenant_id}.${r.aggregate_type}`,
        new TextEncoder().encode(JSON.stringify(r.envelope)),
        {
          msgID: r.event_id,
        },
      );
    }
    await nc.close();
    relay = await startRelay(relayEnv());
    await until("re-send", async () => (await backlog()) === 0);
    const ids = await streamEventIds();
    expect(ids.length).toBe(new Set(ids).size);
    for (const r of pending) expect(ids.filter((id) => id === r.event_id)).toHaveLength(1);
  });

  it("an idle region sends heartbeats, so lag is measurable without traffic", async () => {
    const nc = await connectNats(nats.url, "hb-reader");
    try {
      const jsm = await jetstreamManager(nc);
      const last = () =>
        jsm.streams
          .getMessage(streamName(root, "ap-id"), { last_by_subj: `${root}.heartbeat.ap-id` })
          .catch(() => null);
      await until("a heartbeat", async () => (await last()) != null);
      const hb = JSON.parse(new TextDecoder().decode((await last())!.data));
      expect(hb.region).toBe("ap-id");
      expect(Date.now() - Date.parse(hb.at)).toBeLessThan(60_000);
    } finally {
      await nc.close();
    }
  });
});
