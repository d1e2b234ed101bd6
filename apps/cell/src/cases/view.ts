import type { CaseView, TaskView } from "@homeroute/contracts";
import type { CaseRow, TaskRow } from "../commands/prelude.js";

/** Postgres json renders timestamptz with an offset; the contract speaks RFC 3339 UTC ("Z"). */
export const iso = (t: string | Date): string => new Date(t).toISOString();

export function caseView(r: CaseRow): CaseView {
  return {
    caseId: r.caseId,
    tenantId: r.tenantId,
    caseNumber: r.caseNumber,
    homeRegion: r.homeRegion,
    regionEpoch: r.regionEpoch,
    status: r.status,
    category: r.category,
    countryCode: r.countryCode,
    summary: r.summary,
    version: r.version,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}

export function taskView(r: TaskRow): TaskView {
  return {
    taskId: r.taskId,
    caseId: r.caseId,
    tenantId: r.tenantId,
    title: r.title,
    assigneeId: r.assigneeId,
    dueAt: r.dueAt ? iso(r.dueAt) : null,
    status: r.status,
    version: r.version,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}
