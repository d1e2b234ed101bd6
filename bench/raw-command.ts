import { createHash } from "node:crypto";
import { uuidv7 } from "@homeroute/ids";
import postgres from "postgres";

// Variant (a): the cell's status transition without HTTP, Hono, JWT or zod — the same two round
// trips the cell makes (DESIGN §5): the prelude read, then ONE write statement (gate, mutation,
// audit, outbox, command_log CTEs). The SQL text is copied from apps/cell/src/commands/prelude.ts,
// apps/cell/src/commands/execute.ts (writePlan) and apps/cell/src/cases/transition.ts
// (planStatusChange); the audit metadata, outbox envelope and command_log response have the
// cell's shape. Like the cell, no explicit BEGIN/COMMIT: the write is one atomic statement.
// If those files change, update the copies here (the bench's verification would catch a drift in
// row counts, not in SQL text).

export type BenchStatus = "INVESTIGATING" | "UNDER_REVIEW";

export interface CaseState {
  caseId: string;
  status: BenchStatus;
  version: number;
}

export const nextStatus = (s: BenchStatus): BenchStatus =>
  s === "INVESTIGATING" ? "UNDER_REVIEW" : "INVESTIGATING";

export const REASON = "bench: periodic review of the investigation";

export interface RawContext {
  sql: postgres.Sql<any>;
  region: string;
  tenantId: string;
  actorId: string;
}

export interface PhaseTimes {
  prelude: number;
  write: number;
}

/** Same options as apps/cell/src/deps.ts (int8 as numbers, undefined as null). */
export function rawSql(url: string, max: number): postgres.Sql<any> {
  return postgres(url, {
    max,
    onnotice: () => {},
    types: {
      bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
    },
    transform: { undefined: null },
    connection: { statement_timeout: 10_000 },
  }) as postgres.Sql<any>;
}

const NIL = "00000000-0000-0000-0000-000000000000";
const tenantScope = (tenantId: string) => `tenant:${tenantId}`;
const regionScope = (region: string) => `region:${region}`;
const iso = (t: string | Date): string => new Date(t).toISOString();

// Copy of execute.ts requestHash/stableStringify, so the command_log row is the cell's.
function stableStringify(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
    .join(",")}}`;
}

export function requestHash(operation: string, actorId: string, request: unknown): string {
  return createHash("sha256")
    .update(stableStringify([operation, actorId, request]))
    .digest("hex");
}

interface RawCaseRow {
  caseId: string;
  tenantId: string;
  caseNumber: string;
  homeRegion: string;
  regionEpoch: number;
  status: string;
  category: string;
  countryCode: string;
  summary: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

interface RawFence {
  activeRegion: string;
  epoch: number;
  status: string;
  leaseExpiresAt: string | null;
}

/**
 * One status transition INVESTIGATING ↔ UNDER_REVIEW of `c`, committed with its audit row,
 * outbox event and command_log row; updates `c` on success, throws otherwise.
 */
export async function rawTransition(
  ctx: RawContext,
  c: CaseState,
  correlationPrefix: string,
  phases?: PhaseTimes,
): Promise<void> {
  const { sql, region, tenantId, actorId } = ctx;
  const commandId = uuidv7();
  const correlationId = `${correlationPrefix}.${commandId}`;
  const to = nextStatus(c.status);
  const body = { to, expectedVersion: c.version, reason: REASON };
  const hash = requestHash("case.transition", actorId, { caseId: c.caseId, ...body });

  const t0 = performance.now();
  // --- prelude.ts readPrelude (caseId set, no taskId) ---
  const [r] = await sql`
    SELECT
      (SELECT json_build_object('status', status, 'homeRegion', home_region, 'residencyPolicy', residency_policy)
         FROM tenant_registration WHERE tenant_id = ${tenantId}) AS tenant,
      (SELECT json_build_object('activeRegion', active_region, 'epoch', epoch, 'status', status,
          'leaseExpiresAt', lease_expires_at)
         FROM region_write_epoch WHERE logical_scope = ${tenantScope(tenantId)}) AS tenant_fence,
      (SELECT json_build_object('activeRegion', active_region, 'epoch', epoch, 'status', status,
          'leaseExpiresAt', lease_expires_at)
         FROM region_write_epoch WHERE logical_scope = ${regionScope(region)}) AS region_fence,
      (SELECT coalesce(array_agg(role), '{}') FROM authorization_grant
         WHERE tenant_id = ${tenantId} AND user_id = ${actorId}) AS roles,
      (SELECT json_build_object('requestHash', request_hash, 'statusCode', status_code, 'response', response)
         FROM command_log WHERE tenant_id = ${tenantId} AND command_id = ${commandId}) AS command,
      (SELECT json_build_object('caseId', case_id, 'tenantId', tenant_id, 'caseNumber', case_number,
          'homeRegion', home_region, 'regionEpoch', region_epoch, 'status', status, 'category', category,
          'countryCode', country_code, 'summary', summary, 'version', version,
          'createdAt', created_at, 'updatedAt', updated_at)
         FROM regulatory_case WHERE tenant_id = ${tenantId} AND case_id = ${c.caseId}) AS case_row,
      (SELECT json_build_object('taskId', task_id, 'caseId', case_id, 'tenantId', tenant_id, 'title', title,
          'assigneeId', assignee_id, 'dueAt', due_at, 'status', status, 'version', version,
          'createdAt', created_at, 'updatedAt', updated_at)
         FROM case_task WHERE tenant_id = ${tenantId} AND task_id = ${NIL}) AS task_row`;
  const t1 = performance.now();

  // --- decide: the same checks as executeCommand/checkWriteGate/planTransition, minimal ---
  const tenant = r!.tenant as { status: string; homeRegion: string } | null;
  const tenantFence = r!.tenant_fence as RawFence | null;
  const regionFence = r!.region_fence as RawFence | null;
  const roles = r!.roles as string[];
  const row = r!.case_row as RawCaseRow | null;
  if (r!.command) throw new Error("idempotency key already used");
  if (
    tenant?.status !== "ACTIVE" ||
    tenantFence?.activeRegion !== region ||
    tenantFence.status !== "WRITABLE" ||
    regionFence?.activeRegion !== region ||
    regionFence.status !== "WRITABLE"
  ) {
    throw new Error("write gate refused");
  }
  if (!roles.includes("investigator") && !roles.includes("supervisor")) throw new Error("forbidden");
  if (!row) throw new Error("unknown case");
  if (row.version !== c.version || row.status !== c.status) {
    throw new Error(
      `VERSION_CONFLICT: case at ${row.status} v${row.version}, expected ${c.status} v${c.version}`,
    );
  }
  const epoch = tenantFence.epoch;
  const now = new Date();
  const version = row.version + 1;

  // --- transition.ts planStatusChange + planTransition: response and event ---
  const response = {
    caseId: row.caseId,
    tenantId: row.tenantId,
    caseNumber: row.caseNumber,
    homeRegion: row.homeRegion,
    regionEpoch: epoch,
    status: to,
    category: row.category,
    countryCode: row.countryCode,
    summary: row.summary,
    version,
    createdAt: iso(row.createdAt),
    updatedAt: iso(now),
  };
  const eventType = "case.status_changed";

  // --- execute.ts writePlan ---
  const eventId = uuidv7();
  const payload = sql.json({ caseNumber: row.caseNumber, from: row.status, to, reason: REASON });
  const envelope = sql.json({
    eventId,
    type: eventType,
    tenantId,
    aggregateType: "case",
    aggregateId: row.caseId,
    aggregateVersion: version,
    homeRegion: region,
    regionEpoch: epoch,
    occurredAt: now.toISOString(),
    recordedAt: now.toISOString(),
    commandId,
    correlationId,
    causationId: commandId,
    schemaVersion: 1,
    payload: {},
  });
  const requestMeta = sql.json({ operation: "case.transition", requestHash: hash });
  const rows = await sql`
    WITH gate AS (
      SELECT 1 FROM region_write_epoch tf, region_write_epoch rf, tenant_registration t
      WHERE tf.logical_scope = ${tenantScope(tenantId)} AND tf.active_region = ${region}
        AND tf.epoch = ${epoch} AND tf.status = 'WRITABLE'
        AND (tf.lease_expires_at IS NULL OR tf.lease_expires_at > now())
        AND rf.logical_scope = ${regionScope(region)} AND rf.active_region = ${region} AND rf.status = 'WRITABLE'
        AND (rf.lease_expires_at IS NULL OR rf.lease_expires_at > now())
        AND t.tenant_id = ${tenantId} AND t.status = 'ACTIVE'
      FOR SHARE OF tf, rf, t
    ),
      mutation AS (
        UPDATE regulatory_case SET status = ${to}, version = ${version}, region_epoch = ${epoch}, updated_at = ${now}
        WHERE tenant_id = ${row.tenantId} AND case_id = ${row.caseId} AND home_region = ${region}
          AND version = ${row.version} AND status = ${row.status} AND EXISTS (SELECT 1 FROM gate)
        RETURNING '{}'::jsonb AS patch
      ),
    audit AS (
      INSERT INTO global_audit_event (audit_event_id, tenant_id, home_region, region_epoch, actor_id, action_type,
        aggregate_type, aggregate_id, aggregate_version, command_id, correlation_id, causation_id, occurred_at, metadata)
      SELECT ${uuidv7()}, ${tenantId}, ${region}, ${epoch}, ${actorId}, ${eventType},
        ${"case"}, ${row.caseId}, ${version}, ${commandId},
        ${correlationId}, ${commandId}, ${now},
        jsonb_build_object('payload', ${payload}::jsonb || m.patch, 'request', ${requestMeta}::jsonb)
      FROM mutation m
    ),
    outbox AS (
      INSERT INTO outbox_event (event_id, tenant_id, aggregate_type, aggregate_id, aggregate_version, event_type, envelope)
      SELECT ${eventId}, ${tenantId}, ${"case"}, ${row.caseId}, ${version},
        ${eventType}, jsonb_set(${envelope}::jsonb, '{payload}', ${payload}::jsonb || m.patch)
      FROM mutation m
    ),
    cmd AS (
      INSERT INTO command_log (tenant_id, command_id, operation, request_hash, status_code, response)
      SELECT ${tenantId}, ${commandId}, ${"case.transition"}, ${hash}, ${200},
        ${sql.json(response)}::jsonb || m.patch
      FROM mutation m
    )
    SELECT m.patch FROM mutation m`;
  const t2 = performance.now();
  if (rows.length !== 1) throw new Error("write statement matched zero rows");
  c.status = to;
  c.version = version;
  if (phases) {
    phases.prelude = t1 - t0;
    phases.write = t2 - t1;
  }
}
