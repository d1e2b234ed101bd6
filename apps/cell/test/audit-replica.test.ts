import type { AuditLink } from "@homeroute/contracts";
import { readAuditLinks } from "@homeroute/db/cell";
import { uuidv7 } from "@homeroute/ids";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CellHarness,
  createCase,
  setupTenant,
  startCellHarness,
  type TenantFixture,
} from "./harness.js";

// The replica's intake and verification (docs/audit.md) on a real cell: links read from a real
// chain (this cell's own, standing in for another region's) are offered to the replica route in
// and out of order; each test copies into its own source region, so none depends on another.
// The cross-region flow is test/audit-replica.test.ts.

let h: CellHarness;
let t: TenantFixture;
let links: AuditLink[];

interface Verdict {
  ok: boolean;
  checked: number;
  lastSeq: number;
  head?: { seq: number; hash: string };
}

beforeAll(async () => {
  h = await startCellHarness("auditreplica");
  t = await setupTenant(h);
  for (let i = 0; i < 4; i++) await createCase(h, t);
  links = await readAuditLinks(h.sql, t.tenantId, 0, 1000);
});
afterAll(() => h?.close());

const offer = async (body: unknown, tenantId = t.tenantId) => {
  const res = await h.internal("POST", `/internal/v1/tenants/${tenantId}/audit-replica/links`, body);
  return { status: res.status, body: (await res.json()) as any };
};
const replicaVerify = async (source: string) =>
  (await (
    await h.internal("GET", `/internal/v1/tenants/${t.tenantId}/audit-replica/verify?sourceRegion=${source}`)
  ).json()) as Verdict;

describe("audit replica intake", () => {
  it("takes links in order, ignores ones it holds, and verifies as the home does", async () => {
    // 6 grants + 4 creates: more than nine links, so link 10 must follow link 9 (number order).
    expect(links.length).toBeGreaterThanOrEqual(10);
    const first = await offer({ sourceRegion: "ap-sg", links: links.slice(0, 3) });
    expect(first).toMatchObject({ status: 200, body: { accepted: 3, duplicates: 0, head: { seq: 3 } } });
    // A redelivery overlapping what it holds: the held ones are duplicates, the rest continue.
    const again = await offer({ sourceRegion: "ap-sg", links: links.slice(1) });
    expect(again.body).toMatchObject({ accepted: links.length - 3, duplicates: 2 });
    expect(again.body.refused).toBeUndefined();
    const home = (await (
      await h.internal("GET", `/internal/v1/tenants/${t.tenantId}/audit/verify`)
    ).json()) as Verdict;
    const replica = await replicaVerify("ap-sg");
    expect(replica).toMatchObject({ ok: true, checked: links.length, lastSeq: links.length });
    expect(replica.head).toEqual(home.head);
  });

  it("serves its own links after a sequence, in the form the relay publishes (for filling gaps)", async () => {
    const res = await h.internal("GET", `/internal/v1/tenants/${t.tenantId}/audit/links?afterSeq=2&limit=9`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { links: AuditLink[] };
    expect(body.links).toEqual(links.slice(2, 11));
    const tooMany = await h.internal(
      "GET",
      `/internal/v1/tenants/${t.tenantId}/audit/links?afterSeq=0&limit=501`,
    );
    expect(tooMany.status).toBe(400);
  });

  it("refuses a link ahead of its head (gap) and one that does not continue the copy (diverged)", async () => {
    const head = links.length;
    expect((await offer({ sourceRegion: "ap-au", links })).body).toMatchObject({ accepted: head });
    const ahead = { ...links[0]!, chainSeq: head + 2, prevHash: "a".repeat(64), hash: "b".repeat(64) };
    const gap = await offer({ sourceRegion: "ap-au", links: [ahead] });
    expect(gap.body).toMatchObject({
      accepted: 0,
      head: { seq: head },
      refused: { chainSeq: head + 2, reason: "gap" },
    });
    const forked = { ...links[0]!, chainSeq: head + 1, prevHash: "c".repeat(64), hash: "d".repeat(64) };
    const fork = await offer({ sourceRegion: "ap-au", links: [forked] });
    expect(fork.body).toMatchObject({ accepted: 0, refused: { chainSeq: head + 1, reason: "diverged" } });
    // A link it holds, with another hash: the sender's chain is not the one copied.
    const rewritten = { ...links[2]!, hash: "e".repeat(64) };
    const rw = await offer({ sourceRegion: "ap-au", links: [rewritten] });
    expect(rw.body).toMatchObject({
      accepted: 0,
      duplicates: 0,
      refused: { chainSeq: 3, reason: "diverged" },
    });
    expect(await replicaVerify("ap-au")).toMatchObject({ ok: true, lastSeq: head });
  });

  it("keeps copies of different source regions apart", async () => {
    expect((await offer({ sourceRegion: "eu", links })).body).toMatchObject({ accepted: links.length });
    const other = await offer({ sourceRegion: "us", links: links.slice(0, 2) });
    expect(other.body).toMatchObject({ accepted: 2, head: { seq: 2 } });
    expect(await replicaVerify("eu")).toMatchObject({ ok: true, lastSeq: links.length });
    expect(await replicaVerify("us")).toMatchObject({ ok: true, lastSeq: 2, checked: 2 });
  });

  it("refuses links of another tenant than the path's, malformed bodies, and callers without the internal token", async () => {
    const mismatch = await offer({ sourceRegion: "ap-id", links: links.slice(0, 1) }, uuidv7());
    expect(mismatch.status).toBe(400);
    const malformed = await offer({ sourceRegion: "ap-id", links: [{ ...links[0]!, hash: "not-a-hash" }] });
    expect(malformed.status).toBe(400);
    const empty = await offer({ sourceRegion: "ap-id", links: [] });
    expect(empty.status).toBe(400);
    for (const [method, path] of [
      ["POST", `/internal/v1/tenants/${t.tenantId}/audit-replica/links`],
      ["GET", `/internal/v1/tenants/${t.tenantId}/audit-replica/verify?sourceRegion=ap-id`],
      ["GET", `/internal/v1/tenants/${t.tenantId}/audit/verify`],
    ] as const) {
      const res = await fetch(`${h.cell.url}${path}`, {
        method,
        headers: { "content-type": "application/json" },
        body:
          method === "POST" ? JSON.stringify({ sourceRegion: "ap-id", links: links.slice(0, 1) }) : undefined,
      });
      expect(res.status, path).toBe(401);
    }
    expect(await replicaVerify("ap-id")).toMatchObject({ ok: true, checked: 0, lastSeq: 0 });
  });

  it("is append-only in the database itself", async () => {
    expect((await offer({ sourceRegion: "ap-au", links: links.slice(0, 1) })).status).toBe(200);
    await expect(
      h.sql`UPDATE audit_replica_event SET action_type = 'x' WHERE tenant_id = ${t.tenantId}`,
    ).rejects.toThrow(/append-only/);
    await expect(h.sql`DELETE FROM audit_replica_event WHERE tenant_id = ${t.tenantId}`).rejects.toThrow(
      /append-only/,
    );
    await expect(h.sql`TRUNCATE audit_replica_event`).rejects.toThrow(/append-only/);
  });
});
