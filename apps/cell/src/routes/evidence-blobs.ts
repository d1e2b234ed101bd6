import { createHash } from "node:crypto";
import { DomainError } from "@homeroute/contracts";
import { jsonBody, parseWith, type ServiceHono } from "@homeroute/service-kit";
import { Hono } from "hono";
import { z } from "zod";
import type { CellDeps } from "../deps.js";

// Evidence blobs follow their tenant in a migration (DESIGN §9): the target cell pulls from the
// source cell's store the blobs it lacks, checking each against the sha256 the metadata recorded.
// The catalog decides beforehand whether the policy lets blobs into the target's store (451 if
// not); the cells only move bytes between the stores they were told to. Blobs are immutable, so a
// copy taken before the cutover stays right and the cutover only adds what arrived since.

interface BlobRow {
  object_key: string;
  sha256: string;
  size: number;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function tenantBlobRows(deps: CellDeps, tenantId: string): Promise<BlobRow[]> {
  return deps.sql<BlobRow[]>`
    SELECT object_key, sha256, size FROM evidence_object WHERE tenant_id = ${tenantId} ORDER BY object_key`;
}

/** The tenant's blobs this region's store holds intact (validation reads every byte). */
export async function blobsHeld(deps: CellDeps, tenantId: string) {
  const held: BlobRow[] = [];
  for (const r of await tenantBlobRows(deps, tenantId)) {
    const bytes = await deps.objectStore.get(r.object_key);
    if (bytes && sha256(bytes) === r.sha256) held.push(r);
  }
  return {
    name: "evidence_blob",
    count: held.length,
    checksum: createHash("md5")
      .update(held.map((r) => `${r.object_key}|${r.sha256}`).join(","))
      .digest("hex"),
  };
}

const objectKey = z.string().regex(/^[0-9a-f-]{36}\/[0-9a-f-]{36}\/[0-9a-f-]{36}$/);

export function evidenceBlobRoutes(deps: CellDeps): Hono<ServiceHono> {
  const app = new Hono<ServiceHono>();
  const tenantParam = z.object({ tenantId: z.uuid() });

  app.get("/internal/v1/evidence-blobs/:t/:c/:e", async (c) => {
    const key = parseWith(objectKey, `${c.req.param("t")}/${c.req.param("c")}/${c.req.param("e")}`, "path");
    const bytes = await deps.objectStore.get(key);
    if (!bytes) throw new DomainError("NOT_FOUND", "this region's store does not hold the blob");
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/octet-stream" });
  });

  app.post("/internal/v1/tenants/:tenantId/evidence-blobs/copy", async (c) => {
    const { tenantId } = parseWith(tenantParam, c.req.param(), "path");
    const { sourceUrl } = parseWith(z.object({ sourceUrl: z.url() }), await jsonBody(c), "body");
    let copied = 0;
    let present = 0;
    const missing: string[] = [];
    // The rows come from this cell's own copy of the metadata (the standby), so only blobs whose
    // metadata already arrived are pulled; the cutover's second pass takes the rest.
    for (const r of await tenantBlobRows(deps, tenantId)) {
      const have = await deps.objectStore.get(r.object_key);
      if (have && sha256(have) === r.sha256) {
        present++;
        continue;
      }
      const res = await fetch(`${sourceUrl}/internal/v1/evidence-blobs/${r.object_key}`, {
        headers: { authorization: `Bearer ${deps.env.INTERNAL_TOKEN}` },
        signal: AbortSignal.timeout(10_000),
      }).catch(() => null);
      const bytes = res?.ok ? new Uint8Array(await res.arrayBuffer()) : null;
      if (!bytes || sha256(bytes) !== r.sha256) {
        missing.push(r.object_key);
        continue;
      }
      await deps.objectStore.put(r.object_key, bytes);
      copied++;
    }
    return c.json({ tenantId, region: deps.region, copied, present, missing });
  });

  return app;
}
