import { auditStreamName, connectNats, streamName } from "@homeroute/events";
import { jetstreamManager } from "@nats-io/jetstream";
import type { Miniflare } from "miniflare";
import type { Sql } from "postgres";

// The residency sweep's scanners (issue 8): find where a marker (a tenant id, a case summary)
// sits in every store a test can reach — each PostgreSQL database, each JetStream stream, each
// edge KV namespace. A hit names the store and the place, so a test can say which copy leaked.

export interface Hit {
  store: string;
  where: string;
  marker: string;
}

/** Every text, varchar, uuid and jsonb column of every table in the public schema. */
export async function scanDatabase(store: string, sql: Sql, markers: string[]): Promise<Hit[]> {
  const cols = await sql<{ table_name: string; column_name: string }[]>`
    SELECT c.table_name, c.column_name FROM information_schema.columns c
    JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema
    WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
      AND c.data_type IN ('text', 'character varying', 'uuid', 'jsonb', 'json')`;
  const hits: Hit[] = [];
  for (const { table_name, column_name } of cols) {
    for (const marker of markers) {
      const [r] = await sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM ${sql(table_name)} WHERE ${sql(column_name)}::text LIKE ${`%${marker}%`}`;
      if (r!.n > 0) hits.push({ store, where: `${table_name}.${column_name} (${r!.n} rows)`, marker });
    }
  }
  return hits;
}

/**
 * Subjects and bodies of every message of each region's stream; with "audit" in `kinds`, of each
 * region's audit stream too (the links the protected audit replica is copied from).
 */
export async function scanStreams(
  natsUrl: string,
  root: string,
  regions: string[],
  markers: string[],
  kinds: ("events" | "audit")[] = ["events"],
): Promise<Hit[]> {
  const nc = await connectNats(natsUrl, "residency-sweep");
  const hits: Hit[] = [];
  try {
    const jsm = await jetstreamManager(nc);
    const streams = regions.flatMap((region) => [
      ...(kinds.includes("events") ? [streamName(root, region)] : []),
      ...(kinds.includes("audit") ? [auditStreamName(root, region)] : []),
    ]);
    for (const stream of streams) {
      const info = await jsm.streams.info(stream).catch(() => null);
      if (!info) continue;
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
        if (!m) continue;
        const text = `${m.subject} ${new TextDecoder().decode(m.data)}`;
        for (const marker of markers)
          if (text.includes(marker)) hits.push({ store: `stream ${stream}`, where: `seq ${seq}`, marker });
      }
    }
  } finally {
    await nc.close();
  }
  return hits;
}

/** Keys and values of each KV namespace the Worker binds. */
export async function scanKv(mf: Miniflare, bindings: string[], markers: string[]): Promise<Hit[]> {
  const hits: Hit[] = [];
  for (const binding of bindings) {
    const kv = await mf.getKVNamespace(binding);
    let cursor: string | undefined;
    do {
      const page = await kv.list({ cursor });
      for (const k of page.keys) {
        const value = (await kv.get(k.name)) ?? "";
        for (const marker of markers)
          if (k.name.includes(marker) || value.includes(marker))
            hits.push({ store: `edge KV ${binding}`, where: k.name, marker });
      }
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
  }
  return hits;
}
