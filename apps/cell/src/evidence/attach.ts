import { DomainError } from "@homeroute/contracts";
import { iso } from "../cases/view.js";
import type { DecideInput } from "../commands/execute.js";
import type { WritePlan } from "../commands/plan.js";
import type { CellDeps } from "../deps.js";

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
