import type { CaseStatus, FenceStatus, TenantStatus } from "@homeroute/contracts";
import type { CellDeps } from "../deps.js";
import { type FenceRow, regionScope, tenantScope } from "../fences/write-gate.js";

// Everything a command needs to decide, read in ONE round trip (DESIGN §5; issue 2's budget of
// two round trips per command: this read, then one write statement).

export interface CaseRow {
  caseId: string;
  tenantId: string;
  caseNumber: string;
  homeRegion: string;
  regionEpoch: number;
  status: CaseStatus;
  category: string;
  countryCode: string;
  summary: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface TaskRow {
  taskId: string;
  caseId: string;
  tenantId: string;
  title: string;
  assigneeId: string;
  dueAt: string | null;
  status: "OPEN" | "COMPLETED";
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface StoredCommand {
  requestHash: string;
  statusCode: number;
  response: Record<string, unknown>;
}

export interface Prelude {
  tenant: { status: TenantStatus; homeRegion: string; residencyPolicy: string } | null;
  tenantFence: FenceRow | null;
  regionFence: FenceRow | null;
  roles: string[];
  command: StoredCommand | null;
  caseRow: CaseRow | null;
  taskRow: TaskRow | null;
}

export interface PreludeKeys {
  tenantId: string;
  userId: string;
  commandId?: string | undefined;
  caseId?: string | undefined;
  taskId?: string | undefined;
}

type RawFence = { activeRegion: string; epoch: number; status: FenceStatus; leaseExpiresAt: string | null };
const fence = (f: RawFence | null): FenceRow | null =>
  f && { ...f, leaseExpiresAt: f.leaseExpiresAt ? new Date(f.leaseExpiresAt) : null };

const NIL = "00000000-0000-0000-0000-000000000000";

export async function readPrelude(deps: CellDeps, k: PreludeKeys): Promise<Prelude> {
  const { sql, region } = deps;
  const [row] = await sql`
    SELECT
      (SELECT json_build_object('status', status, 'homeRegion', home_region, 'residencyPolicy', residency_policy)
         FROM tenant_registration WHERE tenant_id = ${k.tenantId}) AS tenant,
      (SELECT json_build_object('activeRegion', active_region, 'epoch', epoch, 'status', status,
          'leaseExpiresAt', lease_expires_at)
         FROM region_write_epoch WHERE logical_scope = ${tenantScope(k.tenantId)}) AS tenant_fence,
      (SELECT json_build_object('activeRegion', active_region, 'epoch', epoch, 'status', status,
          'leaseExpiresAt', lease_expires_at)
         FROM region_write_epoch WHERE logical_scope = ${regionScope(region)}) AS region_fence,
      (SELECT coalesce(array_agg(role), '{}') FROM authorization_grant
         WHERE tenant_id = ${k.tenantId} AND user_id = ${k.userId}) AS roles,
      (SELECT json_build_object('requestHash', request_hash, 'statusCode', status_code, 'response', response)
         FROM command_log WHERE tenant_id = ${k.tenantId} AND command_id = ${k.commandId ?? NIL}) AS command,
      (SELECT json_build_object('caseId', case_id, 'tenantId', tenant_id, 'caseNumber', case_number,
          'homeRegion', home_region, 'regionEpoch', region_epoch, 'status', status, 'category', category,
          'countryCode', country_code, 'summary', summary, 'version', version,
          'createdAt', created_at, 'updatedAt', updated_at)
         FROM regulatory_case WHERE tenant_id = ${k.tenantId} AND case_id = ${k.caseId ?? NIL}) AS case_row,
      (SELECT json_build_object('taskId', task_id, 'caseId', case_id, 'tenantId', tenant_id, 'title', title,
          'assigneeId', assignee_id, 'dueAt', due_at, 'status', status, 'version', version,
          'createdAt', created_at, 'updatedAt', updated_at)
         FROM case_task WHERE tenant_id = ${k.tenantId} AND task_id = ${k.taskId ?? NIL}) AS task_row`;
  const r = row as Record<string, unknown>;
  return {
    tenant: r.tenant as Prelude["tenant"],
    tenantFence: fence(r.tenant_fence as RawFence | null),
    regionFence: fence(r.region_fence as RawFence | null),
    roles: r.roles as string[],
    command: r.command as StoredCommand | null,
    caseRow: r.case_row as CaseRow | null,
    taskRow: r.task_row as TaskRow | null,
  };
}
