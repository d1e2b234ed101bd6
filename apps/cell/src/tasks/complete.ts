import { type CompleteTaskBody, DomainError } from "@homeroute/contracts";
import { iso, taskView } from "../cases/view.js";
import type { DecideInput } from "../commands/execute.js";
import type { WritePlan } from "../commands/plan.js";
import type { CellDeps } from "../deps.js";

export function planCompleteTask(
  deps: CellDeps,
  caseId: string,
  input: CompleteTaskBody,
  d: DecideInput,
): WritePlan {
  const task = d.prelude.taskRow;
  if (!task || task.caseId !== caseId) throw new DomainError("NOT_FOUND", "unknown task");
  if (task.status !== "OPEN") {
    throw new DomainError("INVALID_TRANSITION", `the task is ${task.status}`, {
      currentStatus: task.status,
      allowed: [],
    });
  }
  if (task.version !== input.expectedVersion) {
    throw new DomainError("VERSION_CONFLICT", `the task is at version ${task.version}`, {
      currentVersion: task.version,
    });
  }
  const version = task.version + 1;
  return {
    ctes: deps.sql`,
      mutation AS (
        UPDATE case_task SET status = 'COMPLETED', version = ${version}, updated_at = ${d.now}
        WHERE tenant_id = ${task.tenantId} AND task_id = ${task.taskId} AND version = ${task.version}
          AND status = 'OPEN' AND EXISTS (SELECT 1 FROM gate)
        RETURNING '{}'::jsonb AS patch
      )`,
    statusCode: 200,
    response: { ...taskView(task), status: "COMPLETED", version, updatedAt: iso(d.now) },
    aggregate: { type: "task", id: task.taskId, version },
    event: { type: "task.completed", aggregateType: "task", payload: { caseId } },
  };
}
