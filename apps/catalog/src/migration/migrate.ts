import { DomainError, firstRefusal, residencyViolation } from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import type { TransactionSql } from "postgres";
import { appendCatalogAudit } from "../audit.js";
import { cellCall } from "../cells.js";
import type { CatalogDeps } from "../deps.js";
import type { Actor } from "../placement/place-tenant.js";
import { loadPolicy } from "../placement/policies.js";
import { publishSnapshot } from "../snapshot/publish.js";
import { queueCellCall } from "../sync/cell-sync.js";

// Tenant migration by epoch cutover (DESIGN §9). The copy is the target's standby, kept from the
// event stream while the source keeps writing (COPYING). CUTOVER fences the source at epoch+1 with
// status MIGRATING (its writes answer TENANT_MIGRATING + Retry-After), waits until the source's
// outbox is relayed and the target has applied its last event, then VALIDATING compares row counts
// and content checksums per table. COMPLETED makes the target WRITABLE at epoch+1 and publishes the
// snapshot; any failure before that ROLLS BACK: the source is unfenced at a fresh epoch.

interface Progress {
  lastEventId: string | null;
  lastEventAt: string | null;
  appliedBySource?: Record<string, number>;
}
interface Head {
  lastEventId: string | null;
  events?: number;
  unpublished: number;
}
interface Checksums {
  tables: { name: string; count: number; checksum: string }[];
  auditChain?: {
    ok: boolean;
    checked: number;
    head?: { seq: number; hash: string };
    firstBrokenAt?: unknown;
  };
}

const STEP_TIMEOUT_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startMigration(
  deps: CatalogDeps,
  tenantId: string,
  body: { targetRegion: string; reason: string },
  actor: Actor,
) {
  const [t] = await deps.sql<
    { residency_policy: string; active_region: string; epoch: number; status: string }[]
  >`
    SELECT a.residency_policy, f.active_region, f.epoch, f.status FROM tenant_region_assignment a
    JOIN region_write_epoch f ON f.logical_scope = 'tenant:' || a.tenant_id WHERE a.tenant_id = ${tenantId}`;
  if (!t) throw new DomainError("NOT_FOUND", "unknown tenant");
  const policy = await loadPolicy(deps.sql, t.residency_policy);
  // The target must be allowed for the tenant's rows and for its evidence blobs, which move with
  // it: a target whose store the policy does not allow refuses the whole migration up front.
  const refusal = firstRefusal(policy, [
    { sink: "migration_target", targetRegion: body.targetRegion },
    { sink: "evidence_blob_store", targetRegion: body.targetRegion },
  ]);
  if (refusal) {
    deps.metrics.countResidencyViolation(policy.policyCode, body.targetRegion);
    await appendCatalogAudit(deps.sql, {
      actorId: actor.actorId,
      actionType: "tenant.migrate",
      tenantId,
      targetRegion: body.targetRegion,
      outcome: "REFUSED",
      correlationId: actor.correlationId,
      metadata: { reason: "RESIDENCY_VIOLATION", policy: policy.policyCode, sink: refusal.sink },
    });
    throw residencyViolation(refusal);
  }
  if (body.targetRegion === t.active_region) {
    throw new DomainError("INVALID_TRANSITION", `${body.targetRegion} is already the tenant's home`, {
      allowed: [],
    });
  }
  if (t.status !== "WRITABLE") {
    throw new DomainError(
      "INVALID_TRANSITION",
      `the tenant's scope is ${t.status}; migrations need it WRITABLE`,
      { allowed: [] },
    );
  }
  // Migrations are frozen while a region involved is degraded (DESIGN §9).
  for (const r of [t.active_region, body.targetRegion]) {
    const ready = await cellCall(deps, r, "GET", "/readyz");
    const [mode] = await deps.sql<{ mode: string }[]>`SELECT mode FROM region WHERE code = ${r}`;
    if (ready?.status !== 200 || mode?.mode !== "WRITABLE") {
      throw new DomainError(
        "REGION_UNAVAILABLE",
        `region ${r} is not healthy and writable; migrations are frozen`,
        {
          region: r,
          retryAfterSeconds: 30,
        },
      );
    }
  }
  const migrationId = uuidv7();
  await deps.sql.begin(async (tx) => {
    const [running] = await tx`
      SELECT 1 FROM tenant_region_migration WHERE tenant_id = ${tenantId}
        AND status IN ('PLANNED', 'COPYING', 'CUTOVER', 'VALIDATING', 'ROLLBACK_REQUESTED') FOR UPDATE`;
    if (running)
      throw new DomainError("INVALID_TRANSITION", "another migration of this tenant is running", {
        allowed: [],
      });
    await tx`
      INSERT INTO tenant_region_migration (migration_id, tenant_id, source_region, target_region, status, reason, started_at)
      VALUES (${migrationId}, ${tenantId}, ${t.active_region}, ${body.targetRegion}, 'PLANNED', ${body.reason}, now())`;
    await appendCatalogAudit(tx, {
      actorId: actor.actorId,
      actionType: "tenant.migrate.planned",
      tenantId,
      targetRegion: body.targetRegion,
      outcome: "ACCEPTED",
      correlationId: actor.correlationId,
      metadata: { migrationId, fromRegion: t.active_region, reason: body.reason },
    });
  });
  void runMigration(deps, migrationId, tenantId, t.active_region, body.targetRegion, t.epoch, actor).catch(
    (e) => deps.log.error("migration failed", { migrationId, error: (e as Error).message }),
  );
  return { migrationId, status: "PLANNED" };
}

interface MigrationRef {
  migrationId: string;
  tenantId: string;
  source: string;
  target: string;
  actor: Actor;
}

/** Records a step and audits it in one transaction: every step of a migration is an audit event. */
async function step(
  deps: CatalogDeps,
  m: MigrationRef,
  status: string,
  timings: Record<string, number>,
  extra: Record<string, unknown> = {},
) {
  await deps.sql.begin(async (tx) => {
    const changed = await tx`
      UPDATE tenant_region_migration SET status = ${status}, step_timings = ${tx.json(timings)},
        cutover_at = CASE WHEN ${status} = 'CUTOVER' THEN now() ELSE cutover_at END,
        completed_at = CASE WHEN ${status} IN ('COMPLETED', 'ROLLED_BACK') THEN now() ELSE completed_at END,
        validation_summary = coalesce(${extra.validation ? tx.json(extra.validation as never) : null}, validation_summary),
        error_message = coalesce(${(extra.error as string | undefined) ?? null}, error_message),
        write_freeze_ms = coalesce(${(extra.writeFreezeMs as number | undefined) ?? null}, write_freeze_ms)
      WHERE migration_id = ${m.migrationId}
        AND (status <> 'ROLLBACK_REQUESTED' OR ${status} = 'ROLLED_BACK') RETURNING 1`;
    if (changed.length === 0) return;
    const { validation, ...rest } = extra as { validation?: { valid: boolean } };
    await appendCatalogAudit(tx, {
      actorId: m.actor.actorId,
      actionType: `tenant.migrate.${status.toLowerCase()}`,
      tenantId: m.tenantId,
      targetRegion: m.target,
      outcome: "ACCEPTED",
      correlationId: m.actor.correlationId,
      metadata: {
        migrationId: m.migrationId,
        fromRegion: m.source,
        stepTimings: timings,
        ...(validation ? { valid: validation.valid } : {}),
        ...rest,
      },
    });
  });
}

/** A region that does not answer for this long ends the migration (rolled back), not the timeout. */
const UNREACHABLE_MS = 3000;

class Unreachable extends Error {}

function reachability() {
  const lastSeen = new Map<string, number>();
  return <T>(region: string, r: T | null): T | null => {
    const now = Date.now();
    if (r !== null) lastSeen.set(region, now);
    else if (!lastSeen.has(region)) lastSeen.set(region, now);
    else if (now - lastSeen.get(region)! > UNREACHABLE_MS) throw new Unreachable(`${region} does not answer`);
    return r;
  };
}

/**
 * The copy holds everything the source committed: nothing unrelayed, and the target took as many
 * distinct events from the source as the source's outbox holds for the tenant. (The last event
 * alone is not enough: a batch redelivered after a projector stopped can land after later ones.)
 */
async function copyState(
  deps: CatalogDeps,
  tenantId: string,
  source: string,
  target: string,
  seen: ReturnType<typeof reachability>,
): Promise<{ complete: boolean; sourceEvents: number; applied: number } | null> {
  const head = seen(
    source,
    await cellCall<Head>(deps, source, "GET", `/internal/v1/tenants/${tenantId}/outbox-head`),
  );
  const prog = seen(
    target,
    await cellCall<Progress>(deps, target, "GET", `/internal/v1/standby/${tenantId}`),
  );
  if (!head || !prog) return null;
  const sourceEvents = head.body.events ?? 0;
  const applied = prog.body.appliedBySource?.[source] ?? 0;
  return { complete: head.body.unpublished === 0 && applied >= sourceEvents, sourceEvents, applied };
}

async function caughtUp(
  deps: CatalogDeps,
  tenantId: string,
  source: string,
  target: string,
  seen: ReturnType<typeof reachability>,
): Promise<boolean> {
  return (await copyState(deps, tenantId, source, target, seen))?.complete === true;
}

async function runMigration(
  deps: CatalogDeps,
  migrationId: string,
  tenantId: string,
  source: string,
  target: string,
  epoch: number,
  actor: Actor,
): Promise<void> {
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const ref: MigrationRef = { migrationId, tenantId, source, target, actor };
  const fence = (region: string, body: Record<string, unknown>) =>
    cellCall(deps, region, "PUT", `/internal/v1/fences/tenant:${tenantId}`, body);
  let frozenAt = 0;
  const rollBack = async (error: string) => {
    // The source is unfenced at a fresh epoch; the target keeps only a standby copy, as before.
    const unfenced = { activeRegion: source, epoch: epoch + 2, status: "WRITABLE" };
    await deps.sql.begin(async (tx) => {
      await tx`UPDATE region_write_epoch SET active_region = ${source}, epoch = ${epoch + 2}, status = 'WRITABLE', updated_at = now()
        WHERE logical_scope = ${`tenant:${tenantId}`}`;
      await queueCellCall(tx, source, "PUT", `/internal/v1/fences/tenant:${tenantId}`, unfenced);
      await queueCellCall(tx, target, "PUT", `/internal/v1/fences/tenant:${tenantId}`, unfenced);
      await publishSnapshot(tx);
    });
    await fence(source, unfenced);
    deps.kickSync();
    timings.rollbackMs = Date.now() - t0;
    await step(deps, ref, "ROLLED_BACK", timings, {
      error,
      writeFreezeMs: frozenAt ? Date.now() - frozenAt : null,
      newEpoch: epoch + 2,
    });
  };
  const seen = reachability();
  try {
    await orchestrate();
  } catch (e) {
    if (e instanceof Unreachable) await rollBack(e.message);
    else throw e;
  }

  /** Counts, checksums and the audit chain of one side, the chain from a verified link on. */
  async function checksums(region: string, from?: { body: Checksums } | null) {
    const head = from?.body.auditChain?.head;
    const query = head ? `?chainFromSeq=${head.seq}&chainFromHash=${head.hash}` : "";
    return seen(
      region,
      await cellCall<Checksums>(
        deps,
        region,
        "GET",
        `/internal/v1/tenants/${tenantId}/checksums${query}`,
        undefined,
        30_000,
      ),
    );
  }

  /** The target pulls the blobs it lacks; validation's evidence_blob row says if any are missing. */
  async function copyBlobs(): Promise<void> {
    const sourceUrl = deps.env.CELL_URLS[source];
    if (!sourceUrl) return;
    seen(
      target,
      await cellCall(
        deps,
        target,
        "POST",
        `/internal/v1/tenants/${tenantId}/evidence-blobs/copy`,
        { sourceUrl },
        30_000,
      ),
    );
  }

  async function orchestrate(): Promise<void> {
    const isRollbackRequested = async () => {
      const [m] = await deps.sql<
        { status: string }[]
      >`SELECT status FROM tenant_region_migration WHERE migration_id = ${migrationId}`;
      return m?.status === "ROLLBACK_REQUESTED";
    };

    // COPYING: the target's standby catches up while the source keeps writing: it is ready when it
    // holds every event the source had committed when the copy began (a busy source is never
    // idle; what arrives after that is the cutover's drain).
    await step(deps, ref, "COPYING", timings);
    const copyStarted = Date.now();
    // A big tenant's copy takes as long as it takes; a copy that stops moving is what fails.
    let copyDeadline = copyStarted + STEP_TIMEOUT_MS;
    let lastApplied = -1;
    let atStart: number | null = null;
    const copied = async () => {
      const state = await copyState(deps, tenantId, source, target, seen);
      if (!state) return false;
      if (state.complete) return true;
      atStart ??= state.sourceEvents;
      if (state.applied !== lastApplied) {
        lastApplied = state.applied;
        copyDeadline = Date.now() + STEP_TIMEOUT_MS;
      }
      return state.applied >= atStart;
    };
    while (!(await copied())) {
      if (Date.now() > copyDeadline) return rollBack("the copy stopped making progress");
      if (await isRollbackRequested()) return rollBack("rollback requested");
      await sleep(100);
    }
    await copyBlobs();
    timings.copyMs = Date.now() - t0;
    if (await isRollbackRequested()) return rollBack("rollback requested");

    // Before the freeze, both audit chains are verified in full; inside it, only the links added
    // since (a broken chain stops the migration here, with the tenant still writable).
    const chains = await Promise.all([checksums(source), checksums(target)]);
    if (chains.some((x) => !x)) return rollBack("the audit chains could not be read before the cutover");
    const broken = chains.find((x) => x?.body.auditChain?.ok !== true);
    if (broken)
      return rollBack(`an audit chain is broken: ${JSON.stringify(broken.body.auditChain?.firstBrokenAt)}`);
    timings.chainsVerifiedMs = Date.now() - t0;

    // CUTOVER: fence the source (MIGRATING at epoch+1), drain, let the copy take the last events.
    const migrating = { activeRegion: source, epoch: epoch + 1, status: "MIGRATING" };
    await deps.sql`UPDATE region_write_epoch SET epoch = ${epoch + 1}, status = 'MIGRATING', updated_at = now()
    WHERE logical_scope = ${`tenant:${tenantId}`}`;
    frozenAt = Date.now();
    await step(deps, ref, "CUTOVER", timings);
    const [ack] = await Promise.all([fence(source, migrating), fence(target, migrating)]);
    if (ack?.status !== 200) return rollBack("the source did not acknowledge the cutover fence");
    const drainDeadline = Date.now() + STEP_TIMEOUT_MS;
    while (!(await caughtUp(deps, tenantId, source, target, seen))) {
      if (Date.now() > drainDeadline) return rollBack("the source's last writes did not reach the target");
      await sleep(20);
    }
    await copyBlobs(); // only what was attached since the first pass
    timings.cutoverMs = Date.now() - t0;

    // VALIDATING: counts and content checksums per table on both sides.
    await step(deps, ref, "VALIDATING", timings);
    const [a, b] = await Promise.all([checksums(source, chains[0]), checksums(target, chains[1])]);
    if (!a || !b) return rollBack("validation could not read both sides");
    const tables = a.body.tables.map((s) => {
      const t = b.body.tables.find((x) => x.name === s.name);
      return {
        name: s.name,
        sourceCount: s.count,
        targetCount: t?.count ?? 0,
        sourceChecksum: s.checksum,
        targetChecksum: t?.checksum ?? "",
      };
    });
    // The audit chain must verify on both sides: the target's is the one regulators read next.
    const auditChains = { source: a.body.auditChain ?? null, target: b.body.auditChain ?? null };
    const valid =
      tables.every((x) => x.sourceCount === x.targetCount && x.sourceChecksum === x.targetChecksum) &&
      auditChains.source?.ok === true &&
      auditChains.target?.ok === true;
    timings.validateMs = Date.now() - t0;
    if (!valid || (await isRollbackRequested())) {
      await step(deps, ref, "VALIDATING", timings, { validation: { tables, valid, auditChains } });
      return rollBack(valid ? "rollback requested" : "counts or checksums differ");
    }

    // COMPLETED: the target is the home at epoch+1.
    const live = { activeRegion: target, epoch: epoch + 1, status: "WRITABLE" };
    await deps.sql.begin(async (tx) => {
      await tx`UPDATE region_write_epoch SET active_region = ${target}, status = 'WRITABLE', updated_at = now()
      WHERE logical_scope = ${`tenant:${tenantId}`}`;
      await tx`UPDATE tenant_region_assignment SET home_region = ${target}, updated_at = now() WHERE tenant_id = ${tenantId}`;
      await queueCellCall(tx, target, "PUT", `/internal/v1/fences/tenant:${tenantId}`, live);
      await queueCellCall(tx, source, "PUT", `/internal/v1/fences/tenant:${tenantId}`, live);
      await publishSnapshot(tx);
    });
    // The freeze ends when the target takes writes; the source's fence goes out alongside (it is
    // already MIGRATING at this epoch, so it refuses writes either way).
    let writeFreezeMs = 0;
    await Promise.all([
      fence(target, live).then(() => {
        writeFreezeMs = Date.now() - frozenAt;
      }),
      fence(source, live),
    ]);
    deps.kickSync();
    timings.completedMs = Date.now() - t0;
    await step(deps, ref, "COMPLETED", timings, {
      validation: { tables, valid, auditChains },
      writeFreezeMs,
      newEpoch: epoch + 1,
    });
  }
}

export async function getMigration(deps: CatalogDeps, migrationId: string) {
  const [m] = await deps.sql<
    Record<string, unknown>[]
  >`SELECT * FROM tenant_region_migration WHERE migration_id = ${migrationId}`;
  if (!m) throw new DomainError("NOT_FOUND", "unknown migration");
  const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : null);
  return {
    migrationId: m.migration_id,
    tenantId: m.tenant_id,
    sourceRegion: m.source_region,
    targetRegion: m.target_region,
    status: m.status,
    reason: m.reason,
    startedAt: iso(m.started_at),
    cutoverAt: iso(m.cutover_at),
    completedAt: iso(m.completed_at),
    stepTimings: m.step_timings,
    validation: m.validation_summary ?? null,
    writeFreezeMs: m.write_freeze_ms ?? null,
    errorMessage: m.error_message ?? null,
  };
}

/** A rollback request is honoured at the orchestrator's next step boundary, before COMPLETED. */
export async function requestRollback(deps: CatalogDeps, migrationId: string) {
  const [m] = await deps.sql<{ status: string }[]>`
    UPDATE tenant_region_migration SET status = 'ROLLBACK_REQUESTED'
    WHERE migration_id = ${migrationId} AND status IN ('PLANNED', 'COPYING') RETURNING status`;
  if (!m) {
    const current = await getMigration(deps, migrationId);
    throw new DomainError(
      "INVALID_TRANSITION",
      `the migration is ${current.status}; only a PLANNED or COPYING one can be rolled back`,
      {
        allowed: [],
      },
    );
  }
  return { migrationId, status: "ROLLBACK_REQUESTED" };
}

/**
 * At catalog start: a migration the previous process left mid-way is finished the safe way. If the
 * tenant's fence already names the target, the cutover had committed: record COMPLETED. Otherwise
 * roll back: the source is unfenced at a fresh epoch. Never two writers, never a tenant left frozen.
 */
export async function recoverMigrations(deps: CatalogDeps): Promise<number> {
  const stuck = await deps.sql<
    { migration_id: string; tenant_id: string; source_region: string; target_region: string }[]
  >`
    SELECT migration_id, tenant_id, source_region, target_region FROM tenant_region_migration
    WHERE status IN ('PLANNED', 'COPYING', 'CUTOVER', 'VALIDATING', 'ROLLBACK_REQUESTED')`;
  for (const m of stuck) {
    await deps.sql.begin(async (tx) => {
      const [f] = await tx<{ active_region: string; epoch: number; status: string }[]>`
        SELECT active_region, epoch, status FROM region_write_epoch WHERE logical_scope = ${`tenant:${m.tenant_id}`} FOR UPDATE`;
      if (f && f.active_region === m.target_region && f.status === "WRITABLE") {
        await tx`UPDATE tenant_region_migration SET status = 'COMPLETED', completed_at = now(),
          error_message = 'completed at recovery: the cutover had committed' WHERE migration_id = ${m.migration_id}`;
        await auditRecovery(tx, m, "COMPLETED");
        return;
      }
      const unfenced = { activeRegion: m.source_region, epoch: (f?.epoch ?? 1) + 1, status: "WRITABLE" };
      await tx`UPDATE region_write_epoch SET active_region = ${m.source_region}, epoch = ${unfenced.epoch}, status = 'WRITABLE',
        updated_at = now() WHERE logical_scope = ${`tenant:${m.tenant_id}`}`;
      await tx`UPDATE tenant_region_assignment SET home_region = ${m.source_region}, updated_at = now() WHERE tenant_id = ${m.tenant_id}`;
      await queueCellCall(tx, m.source_region, "PUT", `/internal/v1/fences/tenant:${m.tenant_id}`, unfenced);
      await queueCellCall(tx, m.target_region, "PUT", `/internal/v1/fences/tenant:${m.tenant_id}`, unfenced);
      await tx`UPDATE tenant_region_migration SET status = 'ROLLED_BACK', completed_at = now(),
        error_message = 'rolled back at recovery: the orchestrator stopped mid-way' WHERE migration_id = ${m.migration_id}`;
      await auditRecovery(tx, m, "ROLLED_BACK", unfenced.epoch);
      await publishSnapshot(tx);
    });
  }
  return stuck.length;
}

/** The catalog itself (no operator) finished the migration; the audit row says so. */
function auditRecovery(
  tx: TransactionSql,
  m: { migration_id: string; tenant_id: string; source_region: string; target_region: string },
  status: "COMPLETED" | "ROLLED_BACK",
  newEpoch?: number,
) {
  return appendCatalogAudit(tx, {
    actorId: null,
    actionType: `tenant.migrate.${status.toLowerCase()}`,
    tenantId: m.tenant_id,
    targetRegion: m.target_region,
    outcome: "ACCEPTED",
    correlationId: m.migration_id,
    metadata: { migrationId: m.migration_id, fromRegion: m.source_region, atRecovery: true, newEpoch },
  });
}
