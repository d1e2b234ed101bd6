import { allows, DomainError, encodeConsistencyToken, type Permission } from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import { requestHash, timeDb } from "@homeroute/service-kit";
import type { CellDeps } from "../deps.js";
import { leasesRequired } from "../fences/lease.js";
import { assertHomedHere, checkWriteGate, regionScope, tenantScope } from "../fences/write-gate.js";
import type { WritePlan } from "./plan.js";
import { type Prelude, type PreludeKeys, readPrelude } from "./prelude.js";

export interface CommandMeta {
  tenantId: string;
  actorId: string;
  /** The Idempotency-Key. */
  commandId: string;
  /** X-Region-Epoch, when the caller sent it. */
  commandEpoch: number | null;
  correlationId: string;
  operation: string;
  permission: Permission;
  /** Canonical request (route params + validated body); its hash detects a reused key. */
  request: unknown;
  caseId?: string;
  taskId?: string;
}

export interface CommandResult {
  statusCode: number;
  body: Record<string, unknown>;
  replayed: boolean;
  epoch: number | null;
  consistencyToken: string | null;
}

export interface DecideInput {
  prelude: Prelude;
  epoch: number;
  now: Date;
}

const MAX_ATTEMPTS = 3;

/**
 * The command path of DESIGN §5: read (fence, grants, command log, aggregate) in one round trip,
 * decide in TypeScript, then write change + audit + outbox + command log in ONE statement whose
 * gate re-checks the fence under a shared lock. Zero rows means something changed in between: we
 * read again and let the gate or the domain name the precise reason. Never a 500 for that.
 */
export async function executeCommand(
  deps: CellDeps,
  meta: CommandMeta,
  decide: (input: DecideInput) => WritePlan | Promise<WritePlan>,
): Promise<CommandResult> {
  const hash = requestHash(meta.operation, meta.actorId, meta.request);
  const keys: PreludeKeys = {
    tenantId: meta.tenantId,
    userId: meta.actorId,
    commandId: meta.commandId,
    caseId: meta.caseId,
    taskId: meta.taskId,
  };
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const prelude = await timeDb(() => readPrelude(deps, keys));
    if (prelude.command) {
      if (prelude.command.requestHash !== hash) {
        throw new DomainError(
          "IDEMPOTENCY_KEY_REUSED",
          "this Idempotency-Key was used for a different request",
        );
      }
      return {
        statusCode: prelude.command.statusCode,
        body: prelude.command.response,
        replayed: true,
        epoch: prelude.tenantFence?.epoch ?? null,
        consistencyToken: tokenFromStored(prelude.command.response, deps.region),
      };
    }
    assertHomedHere({ region: deps.region, tenant: prelude.tenant, tenantFence: prelude.tenantFence });
    if (!allows(prelude.roles, meta.permission)) {
      throw new DomainError("FORBIDDEN", `the caller may not ${meta.permission}`);
    }
    const now = new Date(Date.now() + deps.env.CLOCK_SKEW_MS);
    const epoch = checkWriteGate({
      region: deps.region,
      tenant: prelude.tenant,
      tenantFence: prelude.tenantFence,
      regionFence: prelude.regionFence,
      commandEpoch: meta.commandEpoch,
      now,
      leasesRequired: leasesRequired(deps),
    });
    const plan = await decide({ prelude, epoch, now });
    let patch: Record<string, unknown> | null;
    try {
      patch = await timeDb(() => writePlan(deps, meta, hash, epoch, now, plan));
    } catch (e) {
      // A concurrent request with the same key committed first: the next read replays it.
      if (isUniqueViolation(e, "command_log_tenant_id_command_id_pk")) continue;
      // Deadlock victim or serialization failure: nothing was written; decide again from a fresh read.
      if (isRetryable(e)) continue;
      throw e;
    }
    if (patch === null) continue;
    const body = { ...plan.response, ...patch };
    return {
      statusCode: plan.statusCode,
      body: { ...body, ...plan.once },
      replayed: false,
      epoch,
      consistencyToken: encodeConsistencyToken({
        aggregateType: plan.aggregate.type,
        aggregateId: plan.aggregate.id,
        version: plan.aggregate.version,
        region: deps.region,
        epoch,
      }),
    };
  }
  throw new DomainError("VERSION_CONFLICT", "the aggregate kept changing; read it again and retry");
}

function tokenFromStored(response: Record<string, unknown>, region: string): string | null {
  const id = (response.caseId ?? response.taskId) as string | undefined;
  const version = response.version as number | undefined;
  const epoch = response.regionEpoch as number | undefined;
  if (!id || typeof version !== "number" || typeof epoch !== "number") return null;
  const aggregateType = response.taskId ? "task" : "case";
  return encodeConsistencyToken({ aggregateType, aggregateId: id, version, region, epoch });
}

function isRetryable(e: unknown): boolean {
  const code = (e as { code?: string })?.code;
  return code === "40P01" || code === "40001";
}

function isUniqueViolation(e: unknown, constraint: string): boolean {
  const err = e as { code?: string; constraint_name?: string };
  return err?.code === "23505" && err.constraint_name === constraint;
}

async function writePlan(
  deps: CellDeps,
  meta: CommandMeta,
  hash: string,
  epoch: number,
  now: Date,
  plan: WritePlan,
): Promise<Record<string, unknown> | null> {
  const { sql, region } = deps;
  const eventId = uuidv7();
  const payload = sql.json(plan.event.payload as never);
  const envelope = sql.json({
    eventId,
    type: plan.event.type,
    tenantId: meta.tenantId,
    aggregateType: plan.aggregate.type,
    aggregateId: plan.aggregate.id,
    aggregateVersion: plan.aggregate.version,
    homeRegion: region,
    regionEpoch: epoch,
    occurredAt: now.toISOString(),
    recordedAt: now.toISOString(),
    commandId: meta.commandId,
    correlationId: meta.correlationId,
    causationId: meta.commandId,
    schemaVersion: 1,
    payload: {},
  });
  const requestMeta = sql.json({
    operation: meta.operation,
    requestHash: hash,
    ...plan.auditDetail,
  } as never);
  const rows = await sql`
    WITH gate AS (
      SELECT 1 FROM region_write_epoch tf, region_write_epoch rf, tenant_registration t
      WHERE tf.logical_scope = ${tenantScope(meta.tenantId)} AND tf.active_region = ${region}
        AND tf.epoch = ${epoch} AND tf.status = 'WRITABLE'
        AND (tf.lease_expires_at IS NULL OR tf.lease_expires_at > now())
        AND rf.logical_scope = ${regionScope(region)} AND rf.active_region = ${region} AND rf.status = 'WRITABLE'
        AND (rf.lease_expires_at > now() OR (rf.lease_expires_at IS NULL AND ${!leasesRequired(deps)}))
        AND t.tenant_id = ${meta.tenantId} AND t.status = 'ACTIVE'
      FOR SHARE OF tf, rf, t
    )
    ${plan.ctes},
    audit AS (
      INSERT INTO global_audit_event (audit_event_id, tenant_id, home_region, region_epoch, actor_id, action_type,
        aggregate_type, aggregate_id, aggregate_version, command_id, correlation_id, causation_id, occurred_at, metadata)
      SELECT ${uuidv7()}, ${meta.tenantId}, ${region}, ${epoch}, ${meta.actorId}, ${plan.event.type},
        ${plan.aggregate.type}, ${plan.aggregate.id}, ${plan.aggregate.version}, ${meta.commandId},
        ${meta.correlationId}, ${meta.commandId}, ${now},
        jsonb_build_object('payload', ${payload}::jsonb || m.patch, 'request', ${requestMeta}::jsonb)
      FROM mutation m
    ),
    outbox AS (
      INSERT INTO outbox_event (event_id, tenant_id, aggregate_type, aggregate_id, aggregate_version, event_type, envelope)
      SELECT ${eventId}, ${meta.tenantId}, ${plan.aggregate.type}, ${plan.aggregate.id}, ${plan.aggregate.version},
        ${plan.event.type}, jsonb_set(${envelope}::jsonb, '{payload}', ${payload}::jsonb || m.patch)
      FROM mutation m
    ),
    cmd AS (
      INSERT INTO command_log (tenant_id, command_id, operation, request_hash, status_code, response)
      SELECT ${meta.tenantId}, ${meta.commandId}, ${meta.operation}, ${hash}, ${plan.statusCode},
        ${sql.json(plan.response as never)}::jsonb || m.patch
      FROM mutation m
    )
    SELECT m.patch FROM mutation m`;
  const first = rows[0] as { patch: Record<string, unknown> } | undefined;
  return first ? first.patch : null;
}
