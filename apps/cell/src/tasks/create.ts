import { type CreateTaskBody, DomainError } from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import { iso } from "../cases/view.js";
import type { DecideInput } from "../commands/execute.js";
import type { WritePlan } from "../commands/plan.js";
import type { CellDeps } from "../deps.js";

const TERMINAL = new Set(["CLOSED", "CLOSED_NO_VIOLATION", "WITHDRAWN"]);

/** A task belongs to its case's home; assigning work on a closed case is refused. */
export function planCreateTask(deps: CellDeps, input: CreateTaskBody, d: DecideInput): WritePlan {
  const row = d.prelude.caseRow;
  if (!row) throw new DomainError("NOT_FOUND", "unknown case");
  if (TERMINAL.has(row.status)) {
    throw new DomainError("STATUS_PRECONDITION_FAILED", `no new tasks on a ${row.status} case`, {
      currentStatus: row.status,
    });
  }
  const taskId = uuidv7(d.now.getTime());
  const dueAt = input.dueAt ? new Date(input.dueAt) : null;
  const at = iso(d.now);
  return {
    ctes: deps.sql`,
      mutation AS (
        INSERT INTO case_task (tenant_id, task_id, case_id, title, assignee_id, due_at, status, version, created_at, updated_at)
        SELECT ${row.tenantId}, ${taskId}, ${row.caseId}, ${input.title}, ${input.assigneeId}, ${dueAt}, 'OPEN', 1,
          ${d.now}, ${d.now}
        WHERE EXISTS (SELECT 1 FROM gate)
          AND EXISTS (SELECT 1 FROM regulatory_case WHERE tenant_id = ${row.tenantId} AND case_id = ${row.caseId}
            AND status NOT IN ('CLOSED', 'CLOSED_NO_VIOLATION', 'WITHDRAWN'))
        RETURNING '{}'::jsonb AS patch
      )`,
    statusCode: 201,
    response: {
      taskId,
      caseId: row.caseId,
      tenantId: row.tenantId,
      title: input.title,
      assigneeId: input.assigneeId,
      dueAt: dueAt ? iso(dueAt) : null,
      status: "OPEN",
      version: 1,
      createdAt: at,
      updatedAt: at,
    },
    aggregate: { type: "task", id: taskId, version: 1 },
    event: {
      type: "task.created",
      aggregateType: "task",
      payload: {
        caseId: row.caseId,
        title: input.title,
        assigneeId: input.assigneeId,
        dueAt: dueAt ? iso(dueAt) : null,
      },
    },
  };
}
