import { DomainError, domainEvent } from "@homeroute/contracts";
import { verifyAuditChain } from "@homeroute/db/cell";
import { uuidv7 } from "@homeroute/ids";
import { jsonBody, parseWith, type ServiceHono } from "@homeroute/service-kit";
import { Hono } from "hono";
import { z } from "zod";
import { iso } from "../cases/view.js";
import type { CellDeps } from "../deps.js";
import { applyStandbyEvents } from "../standby/apply-events.js";
import { tenantTableChecksums } from "../standby/checksums.js";
import { blobsHeld } from "./evidence-blobs.js";

/** DR standby, conflicts and promotion support (internal: app.ts puts them behind internalAuth). */
export function standbyRoutes(deps: CellDeps): Hono<ServiceHono> {
  const app = new Hono<ServiceHono>();
  const tenantParam = z.object({ tenantId: z.uuid() });

  app.post("/internal/v1/standby/events", async (c) => {
    const body = parseWith(z.object({ events: z.array(domainEvent).max(2000) }), await jsonBody(c), "body");
    return c.json(await applyStandbyEvents(deps, body.events));
  });

  app.get("/internal/v1/standby/:tenantId", async (c) => {
    const { tenantId } = parseWith(tenantParam, c.req.param(), "path");
    const [p] = await deps.sql<
      {
        source_region: string;
        last_event_id: string | null;
        last_event_at: Date | null;
        last_applied_at: Date | null;
        events_applied: number;
      }[]
    >`SELECT * FROM standby_progress WHERE tenant_id = ${tenantId}`;
    const [agg] = await deps.sql<{ cases: number }[]>`
      SELECT count(*)::int AS cases FROM regulatory_case WHERE tenant_id = ${tenantId}`;
    const applied = await deps.sql<{ source_region: string; n: number }[]>`
      SELECT source_region, count(*)::int AS n FROM standby_applied_event WHERE tenant_id = ${tenantId}
      GROUP BY source_region`;
    return c.json({
      tenantId,
      region: deps.region,
      sourceRegion: p?.source_region ?? null,
      lastEventId: p?.last_event_id ?? null,
      lastEventAt: p?.last_event_at ? iso(p.last_event_at) : null,
      lastAppliedAt: p?.last_applied_at ? iso(p.last_applied_at) : null,
      eventsApplied: p?.events_applied ?? 0,
      /** Distinct events taken per source region (compare with that source's outbox count). */
      appliedBySource: Object.fromEntries(applied.map((r) => [r.source_region, r.n])),
      cases: agg!.cases,
    });
  });

  /** What this cell has committed for a tenant, and how much of it is not yet relayed. */
  app.get("/internal/v1/tenants/:tenantId/outbox-head", async (c) => {
    const { tenantId } = parseWith(tenantParam, c.req.param(), "path");
    const [h] = await deps.sql<
      { last_event_id: string | null; last_at: Date | null; events: number; unpublished: number }[]
    >`
      SELECT h.event_id AS last_event_id, h.created_at AS last_at,
        (SELECT count(*)::int FROM outbox_event WHERE tenant_id = ${tenantId}) AS events,
        (SELECT count(*)::int FROM outbox_event WHERE tenant_id = ${tenantId} AND published_at IS NULL) AS unpublished
      FROM (SELECT 1) one LEFT JOIN LATERAL (
        SELECT event_id, created_at FROM outbox_event WHERE tenant_id = ${tenantId} ORDER BY seq DESC LIMIT 1) h ON true`;
    return c.json({
      tenantId,
      lastEventId: h!.last_event_id,
      lastCommittedAt: h!.last_at ? iso(h!.last_at) : null,
      events: h!.events,
      unpublished: h!.unpublished,
    });
  });

  /**
   * Row counts and content checksums of a tenant's tables (migration validation, DESIGN §9), its
   * audit chain verified, and the evidence blobs this region's store holds.
   */
  app.get("/internal/v1/tenants/:tenantId/checksums", async (c) => {
    const { tenantId } = parseWith(tenantParam, c.req.param(), "path");
    const tables = await tenantTableChecksums(deps.sql, tenantId);
    // A chain verified up to a link moments ago (before the cutover) is verified from that link
    // on: the write freeze does not grow with the tenant's whole history.
    const from = parseWith(
      z.object({
        chainFromSeq: z.coerce.number().int().min(0).optional(),
        chainFromHash: z
          .string()
          .regex(/^[0-9a-f]{64}$/)
          .optional(),
      }),
      c.req.query(),
      "query",
    );
    const auditChain = await verifyAuditChain(
      deps.sql,
      tenantId,
      from.chainFromSeq && from.chainFromHash
        ? { seq: from.chainFromSeq, hash: from.chainFromHash }
        : undefined,
    );
    tables.push(await blobsHeld(deps, tenantId));
    return c.json({ tenantId, region: deps.region, tables, auditChain });
  });

  app.get("/internal/v1/conflicts", async (c) => {
    const rows = await deps.sql<Record<string, unknown>[]>`
      SELECT * FROM cross_region_conflict_case ORDER BY detected_at`;
    return c.json({
      items: rows.map((r) => ({
        conflictId: r.conflict_id,
        tenantId: r.tenant_id,
        aggregateType: r.aggregate_type,
        aggregateId: r.aggregate_id,
        homeRegion: r.home_region,
        conflictingRegion: r.conflicting_region,
        conflictType: r.conflict_type,
        localVersion: r.local_version,
        remoteVersion: r.remote_version,
        payload: r.payload,
        status: r.status,
        detectedAt: iso(r.detected_at as Date),
        resolvedAt: r.resolved_at ? iso(r.resolved_at as Date) : null,
        resolutionNote: r.resolution_note ?? null,
      })),
    });
  });

  /** Resolving a conflict is an audited decision at the tenant's home. */
  app.post("/internal/v1/conflicts/:conflictId/resolve", async (c) => {
    const conflictId = parseWith(z.uuid(), c.req.param("conflictId"), "path");
    const body = parseWith(
      z.object({ note: z.string().trim().min(1).max(4000), resolvedBy: z.uuid() }),
      await jsonBody(c),
      "body",
    );
    const row = await deps.sql.begin(async (tx) => {
      const [r] = await tx<{ tenant_id: string; aggregate_type: string; aggregate_id: string }[]>`
        UPDATE cross_region_conflict_case SET status = 'RESOLVED', resolved_at = now(), resolution_note = ${body.note},
          resolved_by = ${body.resolvedBy}
        WHERE conflict_id = ${conflictId} AND status = 'OPEN' RETURNING tenant_id, aggregate_type, aggregate_id`;
      if (!r) return null;
      await tx`
        INSERT INTO global_audit_event (audit_event_id, tenant_id, home_region, actor_id, action_type, aggregate_type,
          aggregate_id, occurred_at, metadata)
        VALUES (${uuidv7()}, ${r.tenant_id}, ${deps.region}, ${body.resolvedBy}, 'conflict.resolved', ${r.aggregate_type},
          ${r.aggregate_id}, now(), ${tx.json({ payload: { conflictId, note: body.note } })})`;
      return r;
    });
    if (!row) throw new DomainError("NOT_FOUND", "no open conflict with this id here");
    return c.json({ conflictId, status: "RESOLVED" });
  });

  return app;
}
