import { DomainError, decide } from "@homeroute/contracts";
import { iso } from "../cases/view.js";
import type { CommandMeta, DecideInput } from "../commands/execute.js";
import type { WritePlan } from "../commands/plan.js";
import type { Prelude } from "../commands/prelude.js";
import type { CellDeps } from "../deps.js";
import { policyFor } from "../residency/policies.js";
import { refuseForResidency } from "../residency/refusal.js";
import { ObjectStoreUnavailable } from "./http-object-store.js";

export interface StoredBlob {
  evidenceId: string;
  objectKey: string;
  sha256: string;
  size: number;
  contentType: string;
  filename: string;
}

const CLOSED = new Set(["CLOSED", "WITHDRAWN"]);

/**
 * Evidence metadata commits at the case's home once the bytes are in this region's store. The
 * blob is written first (by the route) so a committed row never points at nothing; a refused
 * command removes its blob again.
 */
export function planAttachEvidence(
  deps: CellDeps,
  blob: StoredBlob,
  uploadedBy: string,
  d: DecideInput,
): WritePlan {
  const row = d.prelude.caseRow;
  if (!row) throw new DomainError("NOT_FOUND", "unknown case");
  if (CLOSED.has(row.status)) {
    throw new DomainError("STATUS_PRECONDITION_FAILED", `no evidence on a ${row.status} case`, {
      currentStatus: row.status,
    });
  }
  const storageRegion = deps.objectStore.region;
  return {
    ctes: deps.sql`,
      mutation AS (
        INSERT INTO evidence_object (tenant_id, evidence_id, case_id, sha256, size, content_type, filename,
          storage_region, object_key, uploaded_by, created_at)
        SELECT ${row.tenantId}, ${blob.evidenceId}, ${row.caseId}, ${blob.sha256}, ${blob.size}, ${blob.contentType},
          ${blob.filename}, ${storageRegion}, ${blob.objectKey}, ${uploadedBy}, ${d.now}
        WHERE EXISTS (SELECT 1 FROM gate)
        RETURNING '{}'::jsonb AS patch
      )`,
    statusCode: 201,
    response: {
      evidenceId: blob.evidenceId,
      caseId: row.caseId,
      sha256: blob.sha256,
      size: blob.size,
      contentType: blob.contentType,
      filename: blob.filename,
      storageRegion,
      createdAt: iso(d.now),
    },
    aggregate: { type: "evidence", id: blob.evidenceId, version: 1 },
    event: {
      type: "evidence.attached",
      aggregateType: "evidence",
      payload: {
        caseId: row.caseId,
        sha256: blob.sha256,
        size: blob.size,
        storageRegion,
        contentType: blob.contentType,
        filename: blob.filename,
        objectKey: blob.objectKey,
        uploadedBy,
      },
    },
  };
}

/**
 * Puts the bytes in this region's store; with the store down, spools them beside it when the
 * tenant's policy allows a deferred upload (seed §19, `deferredUploadAllowed`), else refuses the
 * upload (503 REGION_UNAVAILABLE, nothing written). "DEFERRED": the metadata commits now and the
 * bytes follow when the store returns. The 503 is an outage answer, not a residency refusal: no
 * byte would have left the region, so it is neither audited nor counted as a violation attempt.
 */
export async function storeOrDefer(
  deps: CellDeps,
  prelude: Prelude,
  meta: Pick<CommandMeta, "tenantId" | "actorId" | "correlationId">,
  blob: Pick<StoredBlob, "evidenceId" | "objectKey">,
  bytes: Uint8Array,
): Promise<"STORED" | "DEFERRED"> {
  const objectKey = blob.objectKey;
  const tenant = prelude.tenant!;
  const policy = policyFor(deps.residencyPolicies, tenant.residencyPolicy, tenant.homeRegion);
  // Defence in depth: the catalog never homes a tenant where its policy forbids, but the bytes
  // are placed by the policy here too.
  const placed = decide(policy, { sink: "evidence_blob_store", targetRegion: deps.region });
  if (!placed.allowed)
    await refuseForResidency(deps, {
      tenantId: meta.tenantId,
      epoch: prelude.tenantFence?.epoch ?? null,
      actorId: meta.actorId,
      correlationId: meta.correlationId,
      actionType: "evidence.store_refused",
      aggregateType: "evidence",
      aggregateId: blob.evidenceId,
      refusal: placed,
      payload: { caseId: prelude.caseRow?.caseId, storeRegion: deps.region },
    });
  try {
    await deps.objectStore.put(objectKey, bytes);
    return "STORED";
  } catch (e) {
    if (!(e instanceof ObjectStoreUnavailable)) throw e;
    const d = decide(policy, {
      sink: "evidence_blob_store",
      targetRegion: deps.region,
      storeAvailable: false,
    });
    // Mode "store_only": the policy wants the bytes in the store of record or not at all.
    if (!d.allowed || d.mode !== "deferred_upload") {
      throw new DomainError(
        "REGION_UNAVAILABLE",
        "this region's evidence store is down and the tenant's policy does not allow a deferred upload",
        { region: deps.region, retryAfterSeconds: 30 },
      );
    }
    await deps.deferredUploads.spool.put(objectKey, bytes);
    return "DEFERRED";
  }
}
